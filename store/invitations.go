package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gorm.io/gorm"
)

// InviteTokenPlaceholder stands in an invitation mail's stored bodies where
// the token goes: the token is made only when the mail is sent
// (MintInvitationToken), so a copy of the database holds no live link. It
// uses only characters that neither text nor HTML nor a URL escape.
const InviteTokenPlaceholder = "__ONBOARDER_INVITATION_TOKEN__"

// ErrInvitationNotPending: the invitation an outbox row carries was
// revoked, replaced, used or expired before the mail went out.
var ErrInvitationNotPending = errors.New("the invitation is no longer pending")

// HashToken is what is stored of an invitation token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a fresh random token (256 bits, base64url).
func NewToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("making a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// MintInvitationToken makes the token of the pending invitation that
// outbox row m carries, stores its hash (so the token a previous attempt
// made stops working), and returns m with the token in place of
// InviteTokenPlaceholder in its bodies; the stored row keeps the
// placeholder. A consent link (ConsentTokenPlaceholder) is minted the
// same way. A row without a placeholder is returned as it is. It
// returns ErrInvitationNotPending when the invitation ended before the mail
// went out: such a mail must not be sent.
func (s *Store) MintInvitationToken(ctx context.Context, m OutboxMail) (OutboxMail, error) {
	if strings.Contains(m.TextBody, ConsentTokenPlaceholder) || strings.Contains(m.HTMLBody, ConsentTokenPlaceholder) {
		return s.mintConsentToken(ctx, m)
	}
	if !strings.Contains(m.TextBody, InviteTokenPlaceholder) && !strings.Contains(m.HTMLBody, InviteTokenPlaceholder) {
		return m, nil
	}
	token, err := NewToken()
	if err != nil {
		return m, err
	}
	res := s.db.WithContext(ctx).Model(&Invitation{}).
		Where("outbox_id = ? AND status = ?", m.ID, InvitePending).
		Updates(map[string]any{"token_hash": HashToken(token), "updated_at": now()})
	if res.Error != nil {
		return m, fmt.Errorf("storing the token of outbox mail %d's invitation: %w", m.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return m, fmt.Errorf("outbox mail %d: %w", m.ID, ErrInvitationNotPending)
	}
	m.TextBody = strings.ReplaceAll(m.TextBody, InviteTokenPlaceholder, token)
	m.HTMLBody = strings.ReplaceAll(m.HTMLBody, InviteTokenPlaceholder, token)
	return m, nil
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
