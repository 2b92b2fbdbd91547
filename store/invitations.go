package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"gorm.io/gorm"
)

// Invitation statuses.
const (
	InvitePending  = "pending"
	InviteAccepted = "accepted"
	InviteDeclined = "declined"
	InviteRevoked  = "revoked"
	InviteExpired  = "expired"
	// InviteReplaced: ops resent the invitation; this token stopped working.
	InviteReplaced = "replaced"
)

// Where an invitation's recipient came from.
const (
	// RecipientDirectory: the organization's administrator in the directory.
	RecipientDirectory = "directory"
	// RecipientSuggested: the contact the partner's mail suggested, picked
	// explicitly by an ops user on approval.
	RecipientSuggested = "partner_suggested"
)

// Invitation is a single-use, expiring token; only its SHA-256 is stored,
// and only from when the mail carrying it is sent (MintInvitationToken).
type Invitation struct {
	ID        int64
	LinkID    int64
	RequestID int64
	TokenHash string
	Status    string
	ExpiresAt time.Time
	UsedAt    *time.Time
	// OutboxID is the outbox row that carries the invitation (nil for
	// invitations written before schema version 6).
	OutboxID *int64
	// Recipient is the address the invitation went to, RecipientSource
	// where that address came from.
	Recipient       string
	RecipientSource string
	// Reminder: this invitation is the reminder of an earlier one (same
	// expiry); an invitation is reminded of once.
	Reminder  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InviteTokenPlaceholder stands in an invitation mail's stored bodies where
// the token goes: the token is made only when the mail is sent
// (MintInvitationToken), so a copy of the database holds no live link. It
// uses only characters that neither text nor HTML nor a URL escape.
const InviteTokenPlaceholder = "__ONBOARDER_INVITATION_TOKEN__"

// ErrInvitationNotPending: the invitation an outbox row carries was
// revoked, replaced, used or expired before the mail went out.
var ErrInvitationNotPending = errors.New("the invitation is no longer pending")

// MintInvitationToken makes the token of the pending invitation that
// outbox row m carries, stores its hash (so the token a previous attempt
// made stops working), and returns m with the token in place of
// InviteTokenPlaceholder in its bodies; the stored row keeps the
// placeholder. A consent link (ConsentTokenPlaceholder) is minted the
// same way. A row without a placeholder is returned as it is. It
// returns ErrInvitationNotPending when the invitation ended before the mail
// went out: such a mail must not be sent.
func (s *Store) MintInvitationToken(ctx context.Context, m OutboxMail) (OutboxMail, error) {
	if carries(m, ConsentTokenPlaceholder) {
		return s.mintConsentToken(ctx, m)
	}
	if !carries(m, InviteTokenPlaceholder) {
		return m, nil
	}
	return mintToken(m, InviteTokenPlaceholder, func(hash string) (bool, error) {
		res := s.db.WithContext(ctx).Model(&Invitation{}).
			Where("outbox_id = ? AND status = ?", m.ID, InvitePending).
			Updates(map[string]any{"token_hash": hash, "updated_at": now()})
		if res.Error != nil {
			return false, fmt.Errorf("storing the token of outbox mail %d's invitation: %w", m.ID, res.Error)
		}
		if res.RowsAffected != 1 {
			return false, fmt.Errorf("outbox mail %d: %w", m.ID, ErrInvitationNotPending)
		}
		return true, nil
	})
}

// InvitationByOutbox finds the invitation an outbox row carries.
func (q *Q) InvitationByOutbox(outboxID int64) (Invitation, error) {
	var inv Invitation
	err := q.db.Where("outbox_id = ?", outboxID).First(&inv).Error
	return inv, notFound(err, "invitation")
}

// legacyTokenRe finds an invitation link's token in a body written before
// schema version 6.
var legacyTokenRe = regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`)

// convertInvitationBodies runs with migration 6: invitation mails written
// before it hold their live token in their bodies. A pending one gets the
// placeholder instead and is tied to its invitation (which gets a new token
// when the mail goes out); every other one gets a redacted link.
func convertInvitationBodies(tx *gorm.DB) error {
	var rows []OutboxMail
	if err := tx.Where("kind = ?", "invitation").Find(&rows).Error; err != nil {
		return fmt.Errorf("reading invitation mails: %w", err)
	}
	for _, m := range rows {
		match := legacyTokenRe.FindStringSubmatch(m.TextBody)
		if match == nil {
			match = legacyTokenRe.FindStringSubmatch(m.HTMLBody)
		}
		if match == nil {
			continue
		}
		with := "/invite/" + InviteTokenPlaceholder
		if m.Status == OutboxPending {
			res := tx.Model(&Invitation{}).Where("token_hash = ? AND status = ?", HashToken(match[1]), InvitePending).
				Update("outbox_id", m.ID)
			if res.Error != nil {
				return fmt.Errorf("tying outbox mail %d to its invitation: %w", m.ID, res.Error)
			}
			if res.RowsAffected != 1 { // its invitation ended: the mail must not go out
				with = "/invite/redacted"
				if err := tx.Model(&OutboxMail{}).Where("id = ?", m.ID).Updates(map[string]any{
					"status": OutboxFailed, "last_error": "not sent: the invitation is no longer pending",
				}).Error; err != nil {
					return fmt.Errorf("failing outbox mail %d: %w", m.ID, err)
				}
			}
		} else {
			with = "/invite/redacted"
		}
		err := tx.Model(&OutboxMail{}).Where("id = ?", m.ID).Updates(map[string]any{
			"text_body": legacyTokenRe.ReplaceAllLiteralString(m.TextBody, with),
			"html_body": legacyTokenRe.ReplaceAllLiteralString(m.HTMLBody, with),
		}).Error
		if err != nil {
			return fmt.Errorf("redacting outbox mail %d: %w", m.ID, err)
		}
	}
	return nil
}

// InsertInvitation records an invitation (its token's hash only).
func (q *Q) InsertInvitation(inv *Invitation) error {
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = now()
	}
	inv.UpdatedAt = inv.CreatedAt
	if inv.Status == "" {
		inv.Status = InvitePending
	}
	return q.db.Create(inv).Error
}

// InvitationByHash finds an invitation by its token hash.
func (q *Q) InvitationByHash(hash string) (Invitation, error) {
	return byTokenHash[Invitation](q, hash, "invitation")
}

// Invitations lists a request's invitations, newest first.
func (q *Q) Invitations(requestID int64) ([]Invitation, error) {
	var out []Invitation
	err := q.db.Where("request_id = ?", requestID).Order("id DESC").Find(&out).Error
	return out, err
}

// SetInvitationStatus moves a pending invitation to another status.
func (q *Q) SetInvitationStatus(id int64, to string) error {
	t := now()
	set := map[string]any{"status": to, "updated_at": t}
	if to == InviteAccepted || to == InviteDeclined {
		set["used_at"] = t
	}
	res := q.db.Model(&Invitation{}).Where("id = ? AND status = ?", id, InvitePending).Updates(set)
	return oneRow(res, "moving invitation %d to %s", id, to)
}

// DueExpiries lists pending invitations whose expiry has passed.
func (q *Q) DueExpiries(at time.Time, limit int) ([]Invitation, error) {
	var out []Invitation
	err := q.db.Where("status = ? AND expires_at <= ?", InvitePending, at.UTC()).Order("expires_at").Limit(limit).Find(&out).Error
	return out, err
}

// LastInvitationForOrg returns when the newest invitation for the
// organization was created (zero when none).
func (q *Q) LastInvitationForOrg(orgID string) (time.Time, error) {
	var invs []Invitation
	err := q.db.Joins("JOIN links ON links.id = invitations.link_id").
		Where("links.organization_id = ?", orgID).Order("invitations.created_at DESC").Limit(1).Find(&invs).Error
	if err != nil || len(invs) == 0 {
		return time.Time{}, err
	}
	return invs[0].CreatedAt, nil
}

// DueInviteReminders lists pending invitations, not reminders themselves,
// that expire after now and at or before until, soonest first.
func (q *Q) DueInviteReminders(now, until time.Time, limit int) ([]Invitation, error) {
	var out []Invitation
	err := q.db.Where("status = ? AND reminder = ? AND expires_at > ? AND expires_at <= ?",
		InvitePending, false, now.UTC(), until.UTC()).Order("expires_at").Limit(limit).Find(&out).Error
	return out, err
}
