package store

import (
	"fmt"
	"strings"
	"time"
)

// Deferred is a handle on a transaction (a Q) that keeps some of the rows
// written through it and writes them together at Flush: in one round trip
// on PostgreSQL, where handling a received mail otherwise spent most of
// its time waiting for single inserts. The workflow runs every transition
// on one. It keeps findings, audit entries and answer-log rows (their ids
// stay 0), one new received-mail record (SaveMessage; its id is set by
// Flush, see FlushedMessageID), and on PostgreSQL, when the transaction is
// a Chunk's, new outbox rows (InsertOutbox; their ids are reserved at
// once).
//
// Everything else goes to the transaction at once. The reads and updates
// of the tables it keeps rows for that the workflow makes are its own
// methods (below): each writes the kept rows first, and AnswersSince
// counts them; other Q methods do not see kept rows. Call Flush before the
// transaction commits: rows not flushed are dropped.
type Deferred struct {
	*Q
	kept deferred
	// flushedMessage is the id Flush gave the last kept message.
	flushedMessage int64
}

// deferred are the rows a Deferred handle keeps.
type deferred struct {
	findings []Finding
	audit    []AuditEntry
	answers  []AnswerLog
	// outbox are new outbox rows, their ids reserved from the table's
	// sequence.
	outbox []*OutboxMail
	// message is a new received-mail record: on PostgreSQL inserted by the
	// same statement as the rest.
	message *Message
}

// Deferred returns a handle on q that keeps rows until Flush.
func (q *Q) Deferred() *Deferred {
	return &Deferred{Q: q}
}

// AddFinding keeps a finding for Flush.
func (d *Deferred) AddFinding(requestID int64, code, detail string) error {
	d.kept.findings = append(d.kept.findings, newFinding(requestID, code, detail))
	return nil
}

// AddAudit keeps an audit entry for Flush.
func (d *Deferred) AddAudit(e *AuditEntry) error {
	auditDefaults(e)
	d.kept.audit = append(d.kept.audit, *e)
	return nil
}

// LogAnswer keeps an answer-log row for Flush.
func (d *Deferred) LogAnswer(a *AnswerLog) error {
	answerDefaults(a)
	d.kept.answers = append(d.kept.answers, *a)
	return nil
}

// InsertOutbox keeps a new outbox row for Flush, with an id reserved now,
// on PostgreSQL in a Chunk; elsewhere it writes the row at once.
func (d *Deferred) InsertOutbox(m *OutboxMail) error {
	if d.dialect != Postgres || d.memo == nil {
		return d.Q.InsertOutbox(m)
	}
	outboxDefaults(m)
	id, err := d.memo.outboxID(d.Q)
	if err != nil {
		return err
	}
	m.ID = id
	d.kept.outbox = append(d.kept.outbox, m)
	return nil
}

// SaveMessage keeps a new received-mail record for Flush (writing one kept
// before first); it updates a recorded one at once.
func (d *Deferred) SaveMessage(m *Message) error {
	if m.ID != 0 {
		return d.Q.SaveMessage(m)
	}
	if d.kept.message != nil {
		if err := d.Flush(); err != nil {
			return err
		}
	}
	t := now()
	m.CreatedAt, m.UpdatedAt = t, t
	d.kept.message = m
	return nil
}

// AnswersSince is Q.AnswersSince counting the kept answer-log rows too.
func (d *Deferred) AnswersSince(recipient string, partnerID int64, since time.Time, capRecipient, capPartner int) (toRecipient, toPartner int64, err error) {
	toRecipient, toPartner, err = d.Q.AnswersSince(recipient, partnerID, since, capRecipient, capPartner)
	if err != nil {
		return 0, 0, err
	}
	since = since.UTC()
	for _, a := range d.kept.answers {
		if a.Held || a.At.Before(since) {
			continue
		}
		if a.Recipient == recipient {
			toRecipient++
		}
		if a.PartnerID == partnerID {
			toPartner++
		}
	}
	return min(toRecipient, int64(max(capRecipient, 0))), min(toPartner, int64(max(capPartner, 0))), nil
}

// Flush writes the kept rows.
func (d *Deferred) Flush() error {
	p, q := &d.kept, d.Q
	if len(p.findings)+len(p.audit)+len(p.answers)+len(p.outbox) == 0 && p.message == nil {
		return nil
	}
	type insert struct {
		sql  string
		args []any
	}
	var ins []insert
	values := func(n, cols int) string {
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
		return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	}
	if len(p.outbox) > 0 { // first: answer-log rows refer to them
		args := make([]any, 0, 23*len(p.outbox))
		for _, m := range p.outbox {
			args = append(args, m.ID, m.Kind, m.RequestID, m.FromAddr, m.ReplyTo, m.ToAddrs, m.Subject, m.TextBody, m.HTMLBody,
				m.MessageID, m.InReplyTo, m.Refs, m.AutoSubmitted, m.Status, m.Attempts, m.NextAttemptAt, m.LastAttemptAt,
				m.LockedBy, m.LockedUntil, m.LastError, m.SentAt, m.CreatedAt, m.UpdatedAt)
		}
		ins = append(ins, insert{"INSERT INTO outbox_mails (id, kind, request_id, from_addr, reply_to, to_addrs, subject, text_body, " +
			"html_body, message_id, in_reply_to, refs, auto_submitted, status, attempts, next_attempt_at, last_attempt_at, locked_by, " +
			"locked_until, last_error, sent_at, created_at, updated_at) VALUES " + values(len(p.outbox), 23), args})
	}
	if len(p.findings) > 0 {
		args := make([]any, 0, 4*len(p.findings))
		for _, f := range p.findings {
			args = append(args, f.RequestID, f.Code, f.Detail, f.CreatedAt)
		}
		ins = append(ins, insert{"INSERT INTO findings (request_id, code, detail, created_at) VALUES " + values(len(p.findings), 4), args})
	}
	if len(p.audit) > 0 {
		args := make([]any, 0, 8*len(p.audit))
		for _, e := range p.audit {
			args = append(args, e.RequestID, e.LinkID, e.At, e.Actor, e.FromState, e.ToState, e.Reason, e.Subject)
		}
		ins = append(ins, insert{"INSERT INTO audit_entries (request_id, link_id, at, actor, from_state, to_state, reason, subject) VALUES " + values(len(p.audit), 8), args})
	}
	if len(p.answers) > 0 {
		args := make([]any, 0, 6*len(p.answers))
		for _, a := range p.answers {
			args = append(args, a.OutboxID, a.PartnerID, a.Recipient, a.Held, a.Reason, a.At)
		}
		ins = append(ins, insert{"INSERT INTO answer_log (outbox_id, partner_id, recipient, held, reason, at) VALUES " + values(len(p.answers), 6), args})
	}
	msg := p.message
	if msg != nil && q.dialect != Postgres {
		// SQLite: statement by statement, as SaveMessage would.
		if err := q.db.Create(msg).Error; err != nil {
			return fmt.Errorf("recording message uid %d: %w", msg.UID, err)
		}
		p.message, d.flushedMessage = nil, msg.ID
		if len(ins) == 0 {
			return nil
		}
		msg = nil
	}
	if msg != nil {
		m := msg
		ins = append(ins, insert{"INSERT INTO messages (mailbox, uid_validity, uid, message_id, from_addr, subject, disposition, detail, " +
			"request_id, size, raw, raw_sha256, raw_deleted_at, attempts, last_error, received_at, created_at, updated_at) VALUES " +
			values(1, 18) + " RETURNING id",
			[]any{m.Mailbox, m.UIDValidity, m.UID, m.MessageID, m.FromAddr, m.Subject, m.Disposition, m.Detail,
				m.RequestID, m.Size, m.Raw, m.RawSHA256, m.RawDeletedAt, m.Attempts, m.LastError, m.ReceivedAt, m.CreatedAt, m.UpdatedAt}})
	}
	*p = deferred{}
	if q.dialect == Postgres {
		// One statement: the first inserts as data-modifying WITH clauses.
		var sql strings.Builder
		var args []any
		for i, in := range ins {
			switch {
			case i == len(ins)-1 && i > 0:
				sql.WriteString(" ")
			case i == 0 && len(ins) > 1:
				sql.WriteString("WITH ")
			}
			if i < len(ins)-1 {
				fmt.Fprintf(&sql, "w%d AS (%s)", i, in.sql)
				if i < len(ins)-2 {
					sql.WriteString(", ")
				}
			} else {
				sql.WriteString(in.sql)
			}
			args = append(args, in.args...)
		}
		ins = []insert{{sql.String(), args}}
	}
	if msg != nil { // PostgreSQL: one statement, the message's insert last
		if err := q.db.Raw(ins[0].sql, ins[0].args...).Row().Scan(&msg.ID); err != nil {
			return fmt.Errorf("recording message uid %d (with its outbox rows, findings, audit entries and answer log): %w", msg.UID, err)
		}
		d.flushedMessage = msg.ID
		return nil
	}
	for _, in := range ins {
		if err := q.db.Exec(in.sql, in.args...).Error; err != nil {
			return fmt.Errorf("writing outbox rows, findings, audit entries and answer log: %w", err)
		}
	}
	return nil
}

// FlushedMessageID is the id Flush gave the last received-mail record this
// handle kept (0 when it kept none).
func (d *Deferred) FlushedMessageID() int64 { return d.flushedMessage }

// The reads and updates of the tables a Deferred handle keeps rows for:
// each writes the kept rows first.

// MessageAt is Q.MessageAt after Flush.
func (d *Deferred) MessageAt(mailbox string, uidValidity, uid int64) (Message, error) {
	return flushed(d, func() (Message, error) { return d.Q.MessageAt(mailbox, uidValidity, uid) })
}

// EarlierMessage is Q.EarlierMessage after Flush.
func (d *Deferred) EarlierMessage(messageID, from, sha string) (Message, error) {
	return flushed(d, func() (Message, error) { return d.Q.EarlierMessage(messageID, from, sha) })
}

// Message is Q.Message after Flush.
func (d *Deferred) Message(id int64) (Message, error) {
	return flushed(d, func() (Message, error) { return d.Q.Message(id) })
}

// MoveMessageLocation is Q.MoveMessageLocation after Flush.
func (d *Deferred) MoveMessageLocation(id int64, mailbox string, uidValidity, uid int64) error {
	return flushedDo(d, func() error { return d.Q.MoveMessageLocation(id, mailbox, uidValidity, uid) })
}

// ThreadRequest is Q.ThreadRequest after Flush.
func (d *Deferred) ThreadRequest(messageIDs []string) (id int64, ok bool, err error) {
	if err := d.Flush(); err != nil {
		return 0, false, err
	}
	return d.Q.ThreadRequest(messageIDs)
}

// OutboxByMessageID is Q.OutboxByMessageID after Flush.
func (d *Deferred) OutboxByMessageID(messageID string) (OutboxMail, error) {
	return flushed(d, func() (OutboxMail, error) { return d.Q.OutboxByMessageID(messageID) })
}

// MarkOutboxBounced is Q.MarkOutboxBounced after Flush.
func (d *Deferred) MarkOutboxBounced(id int64, detail string) error {
	return flushedDo(d, func() error { return d.Q.MarkOutboxBounced(id, detail) })
}

// Outbox is Q.Outbox after Flush.
func (d *Deferred) Outbox(id int64) (OutboxMail, error) {
	return flushed(d, func() (OutboxMail, error) { return d.Q.Outbox(id) })
}

// ListOutbox is Q.ListOutbox after Flush.
func (d *Deferred) ListOutbox(f OutboxFilter) ([]OutboxMail, error) {
	return flushed(d, func() ([]OutboxMail, error) { return d.Q.ListOutbox(f) })
}

// RecentOutbox is Q.RecentOutbox after Flush.
func (d *Deferred) RecentOutbox(status string, limit int) ([]OutboxMail, error) {
	return flushed(d, func() ([]OutboxMail, error) { return d.Q.RecentOutbox(status, limit) })
}

// RetryOutbox is Q.RetryOutbox after Flush.
func (d *Deferred) RetryOutbox(id int64) error {
	return flushedDo(d, func() error { return d.Q.RetryOutbox(id) })
}

// Findings is Q.Findings after Flush.
func (d *Deferred) Findings(requestID int64) ([]Finding, error) {
	return flushed(d, func() ([]Finding, error) { return d.Q.Findings(requestID) })
}

// FindingsFor is Q.FindingsFor after Flush.
func (d *Deferred) FindingsFor(requestIDs []int64) (map[int64][]Finding, error) {
	return flushed(d, func() (map[int64][]Finding, error) { return d.Q.FindingsFor(requestIDs) })
}

// DeleteFindings is Q.DeleteFindings after Flush.
func (d *Deferred) DeleteFindings(requestID int64, code string) error {
	return flushedDo(d, func() error { return d.Q.DeleteFindings(requestID, code) })
}

// Audit is Q.Audit after Flush.
func (d *Deferred) Audit(requestID int64) ([]AuditEntry, error) {
	return flushed(d, func() ([]AuditEntry, error) { return d.Q.Audit(requestID) })
}

// flushed runs read after writing d's kept rows.
func flushed[T any](d *Deferred, read func() (T, error)) (T, error) {
	if err := d.Flush(); err != nil {
		var zero T
		return zero, err
	}
	return read()
}

// flushedDo runs write after writing d's kept rows.
func flushedDo(d *Deferred, write func() error) error {
	if err := d.Flush(); err != nil {
		return err
	}
	return write()
}
