package store

import (
	"fmt"
	"strings"
	"time"
)

// Queries for the operations console: lists newest first, and console
// sessions.

// escapeLike escapes LIKE's wildcards with a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// RequestCounts counts requests by state.
func (q *Q) RequestCounts() (map[string]int64, error) {
	var rows []struct {
		State string
		N     int64
	}
	if err := q.db.Model(&Request{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("counting requests: %w", err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// OrganizationsByID returns the organizations with these ids, keyed by id.
func (q *Q) OrganizationsByID(ids []string) (map[string]Organization, error) {
	out := map[string]Organization{}
	if len(ids) == 0 {
		return out, nil
	}
	var os []Organization
	if err := q.db.Where("id IN ?", ids).Find(&os).Error; err != nil {
		return nil, fmt.Errorf("loading organizations: %w", err)
	}
	for _, o := range os {
		out[o.ID] = o
	}
	return out, nil
}

// LinkFilter narrows ConsoleLinks.
type LinkFilter struct {
	Status    string
	PartnerID int64
	Limit     int
}

// ConsoleLinks lists links newest first.
func (q *Q) ConsoleLinks(f LinkFilter) ([]Link, error) {
	db := q.db.Model(&Link{})
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if f.PartnerID != 0 {
		db = db.Where("partner_id = ?", f.PartnerID)
	}
	var out []Link
	err := db.Order("id DESC").Limit(clampLimit(f.Limit)).Find(&out).Error
	return out, err
}

// RecentMessages lists received mails newest first, without their raw
// source; disposition "" lists all.
func (q *Q) RecentMessages(disposition string, limit int) ([]Message, error) {
	db := q.db.Omit("raw")
	if disposition != "" {
		db = db.Where("disposition = ?", disposition)
	}
	var out []Message
	err := db.Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error
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

// LastAuditID returns the id of a request's newest audit entry (0 when
// none). Every action on a request writes one, so it tells whether the
// request changed since a page was shown.
func (q *Q) LastAuditID(requestID int64) (int64, error) {
	var ids []int64
	err := q.db.Model(&AuditEntry{}).Where("request_id = ?", requestID).Order("id DESC").Limit(1).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

func clampLimit(n int) int {
	if n <= 0 || n > 1000 {
		return 500
	}
	return n
}

// ---- console sessions ----

// OpsSession is a logged-in console session; only the token's hash is kept.
type OpsSession struct {
	ID         int64
	TokenHash  string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// Role is the role the identity provider stated at a single sign-on
	// login; "" for a password login (the user's own role counts).
	Role string
}

// OpsUser returns one console user.
func (q *Q) OpsUser(id int64) (OpsUser, error) {
	var u OpsUser
	err := q.db.Where("id = ?", id).First(&u).Error
	return u, notFound(err, fmt.Sprintf("ops user %d", id))
}

// CreateOpsSession stores a new session.
func (q *Q) CreateOpsSession(s *OpsSession) error {
	if err := q.db.Create(s).Error; err != nil {
		return fmt.Errorf("creating session for ops user %d: %w", s.UserID, err)
	}
	return nil
}

// OpsSessionByHash returns the session with this token hash that has not
// expired at the time given.
func (q *Q) OpsSessionByHash(hash string, at time.Time) (OpsSession, error) {
	var s OpsSession
	err := q.db.Where("token_hash = ? AND expires_at > ?", hash, at.UTC()).First(&s).Error
	return s, notFound(err, "session")
}

// TouchOpsSession records activity and moves the expiry.
func (q *Q) TouchOpsSession(id int64, at, expires time.Time) error {
	return q.db.Model(&OpsSession{}).Where("id = ?", id).
		Updates(map[string]any{"last_seen_at": at.UTC(), "expires_at": expires.UTC()}).Error
}

// DeleteOpsSession ends a session (logout).
func (q *Q) DeleteOpsSession(hash string) error {
	return q.db.Where("token_hash = ?", hash).Delete(&OpsSession{}).Error
}

// DeleteExpiredOpsSessions removes sessions that expired before at.
func (q *Q) DeleteExpiredOpsSessions(at time.Time) error {
	return q.db.Where("expires_at <= ?", at.UTC()).Delete(&OpsSession{}).Error
}
