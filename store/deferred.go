package store

import (
	"fmt"
	"strings"
	"time"
)

// deferred holds the rows a handle of one mail's work writes but never
// reads back: findings, audit entries and answer-log rows. They are
// written together by Flush, in one round trip on PostgreSQL.
type deferred struct {
	findings []Finding
	audit    []AuditEntry
	answers  []AnswerLog
	// outbox are new outbox rows (PostgreSQL, in a chunk: WithLookupMemo),
	// their ids reserved from the table's sequence when kept.
	outbox []*OutboxMail
	// message is a new received-mail record: on PostgreSQL inserted by the
	// same statement as the rest; its id is set on Flush.
	message *Message
	// flushedMessage is the id Flush gave the last kept message.
	flushedMessage int64
}

// Deferred returns a handle on q's transaction that keeps findings, audit
// entries and answer-log rows until Flush (their ids stay 0), one new
// received-mail record (SaveMessage; its id is set by Flush, see
// FlushedMessageID), and on PostgreSQL within a chunk (WithLookupMemo) new
// outbox rows (InsertOutbox; their ids are reserved at once). Reads that
// could see them (findings, audit, messages, outbox) flush first;
// AnswersSince counts the kept rows too. Call Flush before the transaction
// commits; rows not flushed are dropped.
func (q *Q) Deferred() *Q {
	d := *q
	d.pend = &deferred{}
	return &d
}

// Flush writes the rows a Deferred handle kept (nothing for other handles).
func (q *Q) Flush() error {
	p := q.pend
	if p == nil || (len(p.findings)+len(p.audit)+len(p.answers)+len(p.outbox) == 0 && p.message == nil) {
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
		args := make([]any, 0, 7*len(p.audit))
		for _, e := range p.audit {
			args = append(args, e.RequestID, e.LinkID, e.At, e.Actor, e.FromState, e.ToState, e.Reason)
		}
		ins = append(ins, insert{"INSERT INTO audit_entries (request_id, link_id, at, actor, from_state, to_state, reason) VALUES " + values(len(p.audit), 7), args})
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
		p.message, p.flushedMessage = nil, msg.ID
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
	flushed := p.flushedMessage
	*p = deferred{flushedMessage: flushed}
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
		p.flushedMessage = msg.ID
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
func (q *Q) FlushedMessageID() int64 {
	if q.pend == nil {
		return 0
	}
	return q.pend.flushedMessage
}

// keepOutbox keeps a new outbox row for Flush, with an id reserved now,
// when q is a Deferred handle on PostgreSQL in a chunk (WithLookupMemo),
// and reports whether it did.
func (q *Q) keepOutbox(m *OutboxMail) (bool, error) {
	if q.pend == nil || q.dialect != Postgres || q.memo == nil {
		return false, nil
	}
	id, err := q.memo.outboxID(q)
	if err != nil {
		return false, err
	}
	m.ID = id
	q.pend.outbox = append(q.pend.outbox, m)
	return true, nil
}

// keepMessage keeps a new message record for Flush when q is a Deferred
// handle, and reports whether it did.
func (q *Q) keepMessage(m *Message) (bool, error) {
	if q.pend == nil {
		return false, nil
	}
	if q.pend.message != nil {
		if err := q.Flush(); err != nil {
			return false, err
		}
	}
	q.pend.message = m
	return true, nil
}

// flushFirst writes kept rows before a read that could see them.
func (q *Q) flushFirst() error {
	if q.pend == nil {
		return nil
	}
	return q.Flush()
}

// keptAnswers counts the kept answer-log rows AnswersSince would count.
func (q *Q) keptAnswers(recipient string, partnerID int64, since time.Time) (toRecipient, toPartner int64) {
	if q.pend == nil {
		return 0, 0
	}
	for _, a := range q.pend.answers {
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
	return toRecipient, toPartner
}
