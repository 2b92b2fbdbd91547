package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// ConsentTokenPlaceholder stands where a consent link's token goes in the
// stored bodies of the mail that carries it, like InviteTokenPlaceholder.
const ConsentTokenPlaceholder = "__ONBOARDER_CONSENT_TOKEN__"

// Consent token purposes: whose consent the link asks for.
const (
	// ConsentPartner: a partner an organization's administrator asked for.
	ConsentPartner = "partner_consent"
	// ConsentReseller: a reseller its distributor named as reseller of record.
	ConsentReseller = "reseller_confirmation"
)

// Consent token statuses; a token works only while pending.
const (
	ConsentPending  = "pending"
	ConsentAccepted = "accepted"
	ConsentDeclined = "declined"
	// ConsentClosed: another contact of the partner answered, or the
	// request was closed otherwise; this token stopped working.
	ConsentClosed  = "closed"
	ConsentExpired = "expired"
	// ConsentReplaced: the reminder carried a new link in its place.
	ConsentReplaced = "replaced"
)

// ConsentToken is a single-use, expiring link that asks one of a partner's
// registered contacts for its consent to a request; only its SHA-256 is
// stored, and only from when the mail carrying it is sent.
type ConsentToken struct {
	ID        int64
	RequestID int64
	PartnerID int64
	Purpose   string
	TokenHash string
	Status    string
	Recipient string
	OutboxID  *int64
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InsertConsentToken records a consent token.
func (q *Q) InsertConsentToken(c *ConsentToken) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	c.UpdatedAt = c.CreatedAt
	if c.Status == "" {
		c.Status = ConsentPending
	}
	return q.db.Create(c).Error
}

// ConsentTokenByHash finds a consent token by its hash.
func (q *Q) ConsentTokenByHash(hash string) (ConsentToken, error) {
	return byTokenHash[ConsentToken](q, hash, "consent token")
}

// CloseConsentTokens moves every pending consent token of a request to
// status, except the one with id keep: their links stop working.
func (q *Q) CloseConsentTokens(requestID, keep int64, status string) error {
	t := now()
	set := map[string]any{"status": status, "updated_at": t}
	if status == ConsentAccepted || status == ConsentDeclined {
		set["used_at"] = t
	}
	err := q.db.Model(&ConsentToken{}).Where("request_id = ? AND status = ? AND id <> ?", requestID, ConsentPending, keep).
		Updates(set).Error
	if err != nil {
		return fmt.Errorf("closing the consent tokens of request %d: %w", requestID, err)
	}
	return nil
}

// UseConsentToken moves a pending consent token to accepted, declined or
// replaced; ErrConflict when it is no longer pending.
func (q *Q) UseConsentToken(id int64, to string) error {
	t := now()
	res := q.db.Model(&ConsentToken{}).Where("id = ? AND status = ?", id, ConsentPending).
		Updates(map[string]any{"status": to, "used_at": t, "updated_at": t})
	return oneRow(res, "moving consent token %d to %s", id, to)
}

// mintConsentToken is MintInvitationToken for a mail that carries a
// consent link (ConsentTokenPlaceholder).
func (s *Store) mintConsentToken(ctx context.Context, m OutboxMail) (OutboxMail, error) {
	return mintToken(m, ConsentTokenPlaceholder, func(hash string) (bool, error) {
		res := s.db.WithContext(ctx).Model(&ConsentToken{}).
			Where("outbox_id = ? AND status = ?", m.ID, ConsentPending).
			Updates(map[string]any{"token_hash": hash, "updated_at": now()})
		if res.Error != nil {
			return false, fmt.Errorf("storing the token of outbox mail %d's consent link: %w", m.ID, res.Error)
		}
		if res.RowsAffected != 1 {
			return false, fmt.Errorf("outbox mail %d: the consent link: %w", m.ID, ErrInvitationNotPending)
		}
		return true, nil
	})
}

// ConsentReminderKey is the timer run that records that request id's
// consent links were reminded of (once).
func ConsentReminderKey(id int64) string { return "consent_reminder/" + strconv.FormatInt(id, 10) }

// DueConsentReminders lists the pending consent tokens of requests not
// reminded yet (ConsentReminderKey) whose expiry lies after now and at or
// before until, soonest first.
func (q *Q) DueConsentReminders(now, until time.Time, limit int) ([]ConsentToken, error) {
	var out []ConsentToken
	reminded := q.db.Model(&TimerRun{}).Select("1").
		Where("timer_runs.run_key = ? || CAST(consent_tokens.request_id AS TEXT)", "consent_reminder/")
	err := q.db.Where("status = ? AND expires_at > ? AND expires_at <= ?", ConsentPending, now.UTC(), until.UTC()).
		Where("NOT EXISTS (?)", reminded).
		Order("expires_at, id").Limit(limit).Find(&out).Error
	return out, err
}

// PendingConsentTokens lists a request's pending consent tokens.
func (q *Q) PendingConsentTokens(requestID int64) ([]ConsentToken, error) {
	var out []ConsentToken
	err := q.db.Where("request_id = ? AND status = ?", requestID, ConsentPending).Order("id").Find(&out).Error
	return out, err
}
