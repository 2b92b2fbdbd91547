package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxBounced = "bounced"
)

// OutboxMail is one mail exactly as it will be sent. It is written in the
// same transaction as the state change that causes it; its Message-ID is
// fixed then, so a retry sends the same mail.
type OutboxMail struct {
	ID            int64
	Kind          string
	RequestID     *int64
	FromAddr      string
	ReplyTo       string
	ToAddrs       string // the recipients as JSON; use Recipients, SetRecipients, To
	Subject       string
	TextBody      string
	HTMLBody      string
	MessageID     string // without angle brackets
	InReplyTo     string // without angle brackets
	Refs          string // space-separated, without angle brackets
	AutoSubmitted string
	Delivery
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Recipient is one addressee of an outbox mail, kept apart (never one
// joined string): directories write names such as "Doe, Jane".
type Recipient struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// SetRecipients stores the recipients in ToAddrs.
func (m *OutboxMail) SetRecipients(rs ...Recipient) {
	b, _ := json.Marshal(rs) // strings only: cannot fail
	m.ToAddrs = string(b)
}

// Recipients lists the recipients. Rows written before recipients were
// stored as JSON hold an RFC 5322 address list, read as such.
func (m OutboxMail) Recipients() []Recipient {
	var rs []Recipient
	if strings.HasPrefix(m.ToAddrs, "[") {
		if json.Unmarshal([]byte(m.ToAddrs), &rs) == nil {
			return rs
		}
	}
	if list, err := mail.ParseAddressList(m.ToAddrs); err == nil {
		for _, a := range list {
			rs = append(rs, Recipient{Name: a.Name, Addr: a.Address})
		}
		return rs
	}
	for _, a := range strings.Split(m.ToAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			rs = append(rs, Recipient{Addr: a})
		}
	}
	return rs
}

// To lists the recipients' bare addresses.
func (m OutboxMail) To() []string {
	out := []string{}
	for _, r := range m.Recipients() {
		out = append(out, r.Addr)
	}
	return out
}

// ToDisplay is the recipients for people to read: "Name <addr>; …".
func (m OutboxMail) ToDisplay() string {
	var parts []string
	for _, r := range m.Recipients() {
		if r.Name != "" {
			parts = append(parts, r.Name+" <"+r.Addr+">")
		} else {
			parts = append(parts, r.Addr)
		}
	}
	return strings.Join(parts, "; ")
}

// References lists the References header's message ids.
func (m OutboxMail) References() []string { return strings.Fields(m.Refs) }

// TableName names the table.
func (OutboxMail) TableName() string { return "outbox_mails" }

// OutboxHeld marks an outbox mail that the workflow wrote but will not
// send on its own (a rate limit, a mailing list, a recipient that is no
// longer registered): LastError says why; RetryOutbox releases it.
const OutboxHeld = "held"

// InsertOutbox writes a new outbox row. Status defaults to pending and
// NextAttemptAt to now.
func (q *Q) InsertOutbox(m *OutboxMail) error {
	outboxDefaults(m)
	if err := q.db.Create(m).Error; err != nil {
		return fmt.Errorf("inserting outbox mail %s: %w", m.Kind, err)
	}
	return nil
}

func outboxDefaults(m *OutboxMail) {
	t := now()
	if m.Status == "" {
		m.Status = OutboxPending
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = t
	}
	m.CreatedAt, m.UpdatedAt = t, t
}

// ClaimOutbox takes up to limit due pending rows for holder: rows whose
// next attempt is due and whose lease is free or expired. The attempt is
// recorded before anything is sent: attempts+1, last_attempt_at, and a lease
// until now+lease. On PostgreSQL concurrent claimers skip each other's rows
// (FOR UPDATE SKIP LOCKED).
func (s *Store) ClaimOutbox(ctx context.Context, holder string, limit int, lease time.Duration, at time.Time) ([]OutboxMail, error) {
	rows, err := claimRows[OutboxMail](ctx, s, "outbox_mails", OutboxPending, holder, limit, lease, at)
	if err != nil {
		return nil, fmt.Errorf("claiming outbox mails: %w", err)
	}
	return rows, nil
}

// MarkOutboxSent records that the SMTP server accepted the mail. It only
// applies while holder still holds the row's lease; otherwise ErrConflict.
func (s *Store) MarkOutboxSent(ctx context.Context, id int64, holder string, at time.Time) error {
	return s.finishOutbox(ctx, id, holder, map[string]any{
		"status": OutboxSent, "sent_at": at.UTC(), "last_error": "",
	})
}

// MarkOutboxSentBatch records that the SMTP server accepted each of the
// mails ids, in one statement. Like MarkOutboxSent it applies only to rows
// whose lease holder still holds; lost lists the ids it did not apply to.
func (s *Store) MarkOutboxSentBatch(ctx context.Context, ids []int64, holder string, at time.Time) (lost []int64, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	at = at.UTC()
	var done []int64
	// sent_at names this statement in the tests' cutting proxy, as it does
	// MarkOutboxSent's.
	err = s.db.WithContext(ctx).Raw(`UPDATE outbox_mails
		SET status = ?, sent_at = ?, last_error = '', locked_by = '', locked_until = NULL, updated_at = ?
		WHERE id IN ? AND status = ? AND locked_by = ?
		RETURNING id`, OutboxSent, at, now(), ids, OutboxPending, holder).Scan(&done).Error
	if err != nil {
		return nil, fmt.Errorf("recording %d outbox mails as sent: %w", len(ids), err)
	}
	marked := make(map[int64]bool, len(done))
	for _, id := range done {
		marked[id] = true
	}
	for _, id := range ids {
		if !marked[id] {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// MarkOutboxRetry puts the row back for another attempt at next.
func (s *Store) MarkOutboxRetry(ctx context.Context, id int64, holder string, next time.Time, errText string) error {
	return s.finishOutbox(ctx, id, holder, map[string]any{
		"next_attempt_at": next.UTC(), "last_error": truncate(errText, 2000),
	})
}

// MarkOutboxFailed gives the row up for good (a permanent SMTP answer, or
// too many attempts).
func (s *Store) MarkOutboxFailed(ctx context.Context, id int64, holder string, errText string) error {
	return s.finishOutbox(ctx, id, holder, map[string]any{
		"status": OutboxFailed, "last_error": truncate(errText, 2000),
	})
}

func (s *Store) finishOutbox(ctx context.Context, id int64, holder string, set map[string]any) error {
	return finishClaimed[OutboxMail](ctx, s, "outbox mail", id, OutboxPending, holder, set)
}

// NextOutboxDue returns when the earliest pending row becomes due; ok is
// false when nothing is pending.
func (s *Store) NextOutboxDue(ctx context.Context) (due time.Time, ok bool, err error) {
	return nextDue(ctx, s, "outbox_mails", OutboxPending)
}

// RetryOutbox puts a failed or held row back to pending now (ops' retry,
// or ops releasing a held answer).
func (q *Q) RetryOutbox(id int64) error {
	t := now()
	res := q.db.Model(&OutboxMail{}).Where("id = ? AND status IN ?", id, []string{OutboxFailed, OutboxHeld}).
		Updates(map[string]any{"status": OutboxPending, "next_attempt_at": t, "updated_at": t})
	if res.Error != nil {
		return fmt.Errorf("retrying outbox mail %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("retrying outbox mail %d: neither failed nor held: %w", id, ErrConflict)
	}
	return nil
}

// Outbox returns one outbox row.
func (q *Q) Outbox(id int64) (OutboxMail, error) {
	var m OutboxMail
	err := q.db.Where("id = ?", id).First(&m).Error
	return m, notFound(err, fmt.Sprintf("outbox mail %d", id))
}

// OutboxFilter narrows ListOutbox.
type OutboxFilter struct {
	RequestID int64
	Status    string
	Limit     int
}

// ListOutbox lists outbox rows, oldest first.
func (q *Q) ListOutbox(f OutboxFilter) ([]OutboxMail, error) {
	db := q.db.Model(&OutboxMail{})
	if f.RequestID != 0 {
		db = db.Where("request_id = ?", f.RequestID)
	}
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if f.Limit > 0 {
		db = db.Limit(f.Limit)
	}
	var out []OutboxMail
	err := db.Order("id").Find(&out).Error
	return out, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// keep valid UTF-8
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// OutboxList filters the console's outbox list.
type OutboxList struct {
	Status string
	// Kind is a mail's template name (invitation, needs_info…).
	Kind string
}

var outboxKeyset = keyset[OutboxMail]{col: "created_at", key: func(m OutboxMail) (any, any) { return m.CreatedAt, m.ID }}

// OutboxPage lists one page of outbox mails, newest first, without their
// bodies.
func (q *Q) OutboxPage(f OutboxList, p Paging) (Page[OutboxMail], error) {
	db := q.db.Model(&OutboxMail{}).Omit("text_body", "html_body")
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if f.Kind != "" {
		db = db.Where("kind = ?", f.Kind)
	}
	pg, err := outboxKeyset.page(db, p)
	if err != nil {
		return pg, fmt.Errorf("listing the outbox: %w", err)
	}
	return pg, nil
}

// OutboxKinds lists the kinds of mail the outbox holds, for its filter.
func (q *Q) OutboxKinds() ([]string, error) {
	var out []string
	err := q.db.Model(&OutboxMail{}).Distinct("kind").Order("kind").Pluck("kind", &out).Error
	return out, err
}

// RecentOutbox lists outbox mails newest first, without their bodies;
// status "" lists all.
func (q *Q) RecentOutbox(status string, limit int) ([]OutboxMail, error) {
	db := q.db.Model(&OutboxMail{}).Omit("text_body", "html_body")
	if status != "" {
		db = db.Where("status = ?", status)
	}
	var out []OutboxMail
	err := db.Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error
	return out, err
}

// OutboxByMessageID returns the outbox row we sent with this Message-ID.
func (q *Q) OutboxByMessageID(messageID string) (OutboxMail, error) {
	var m OutboxMail
	err := q.db.Where("message_id = ?", messageID).First(&m).Error
	return m, notFound(err, "outbox mail "+messageID)
}

// MarkOutboxBounced records that a sent mail bounced.
func (q *Q) MarkOutboxBounced(id int64, detail string) error {
	return q.db.Model(&OutboxMail{}).Where("id = ?", id).Updates(map[string]any{
		"status": OutboxBounced, "last_error": truncate(detail, 2000), "updated_at": now(),
	}).Error
}

// CountOutbox counts the outbox mails in status.
func (q *Q) CountOutbox(status string) (int64, error) {
	var n int64
	err := q.db.Model(&OutboxMail{}).Where("status = ?", status).Count(&n).Error
	return n, err
}
