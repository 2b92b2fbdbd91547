package store

import (
	"fmt"

	"context"
	"time"

	"gorm.io/gorm"

	"gorm.io/gorm/clause"
)

// LinkFilter narrows ConsoleLinks.
type LinkFilter struct {
	Status    string
	PartnerID int64
	Limit     int
}

// Link statuses (workflow's transition table, docs/state_machine.md).
const (
	LinkInvited  = "invited"
	LinkActive   = "active"
	LinkDeclined = "declined"
	LinkExpired  = "expired"
	LinkRevoked  = "revoked"
	// LinkEnded: either side or ops ended an active link (product.md, turn 2).
	LinkEnded = "ended"
)

// Link is the recorded reseller relation between a partner and an organization.
type Link struct {
	ID             int64
	PartnerID      int64
	OrganizationID string
	Type           string
	Status         string
	RequestID      *int64
	// DistributorID is the distributor through which the partner (the
	// reseller of record) sells to the organization; nil when direct.
	DistributorID *int64
	StartedAt     time.Time
	// EndsAt is the end date ops set; nil when open-ended.
	EndsAt  *time.Time
	EndedAt *time.Time
	// EndedBy and EndReason: who ended the link (an address, or "system")
	// and why; "" while it holds.
	EndedBy   string
	EndReason string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// LinkList filters the console's link list and its export.
type LinkList struct {
	Status         string
	PartnerID      int64
	OrganizationID string
}

var linkKeyset = keyset[Link]{col: "started_at", key: func(l Link) (any, any) { return l.StartedAt, l.ID }}

func (q *Q) linkList(f LinkList) *gorm.DB {
	db := q.db.Model(&Link{})
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if f.PartnerID != 0 {
		db = db.Where("partner_id = ?", f.PartnerID)
	}
	if f.OrganizationID != "" {
		db = db.Where("organization_id = ?", f.OrganizationID)
	}
	return db
}

// LinkPage lists one page of links, the latest started first.
func (q *Q) LinkPage(f LinkList, p Paging) (Page[Link], error) {
	pg, err := linkKeyset.page(q.linkList(f), p)
	if err != nil {
		return pg, fmt.Errorf("listing links: %w", err)
	}
	return pg, nil
}

// LinkReminder records that the reminder days before a link's end date was
// decided (sent, or Skipped because a nearer one was due at the same time).
type LinkReminder struct {
	ID        int64
	LinkID    int64
	Days      int
	EndsAt    time.Time
	Skipped   bool
	CreatedAt time.Time
}

// ManageLink is one "manage your partners" link of an organization, as
// carried by one mail to its administrator: only the token's hash is kept.
type ManageLink struct {
	ID             int64
	OrganizationID string
	TokenHash      string
	OutboxID       *int64
	RevokedAt      *time.Time
	RevokedBy      string
	CreatedAt      time.Time
}

// ManageTokenPlaceholder stands in a mail's stored bodies where the token of
// its "manage your partners" link goes; the token is made when the mail is
// sent (MintManageToken), as for invitations.
const ManageTokenPlaceholder = "__ONBOARDER_MANAGE_TOKEN__"

// EndLink moves a link from one of from to an ending status at, keeping
// who ended it and why.
func (q *Q) EndLink(id int64, from []string, to string, at time.Time, by, reason string) error {
	res := q.db.Model(&Link{}).Where("id = ? AND status IN ?", id, from).Updates(map[string]any{
		"status": to, "ended_at": at.UTC(), "ended_by": truncate(by, 320), "end_reason": truncate(reason, 2000),
		"updated_at": at.UTC()})
	return oneRow(res, "moving link %d to %s", id, to)
}

// SetLinkEndsAt sets (nil: clears) an active link's end date.
func (q *Q) SetLinkEndsAt(id int64, endsAt *time.Time, at time.Time) error {
	var v any
	if endsAt != nil {
		v = endsAt.UTC()
	}
	res := q.db.Model(&Link{}).Where("id = ? AND status = ?", id, LinkActive).
		Updates(map[string]any{"ends_at": v, "updated_at": at.UTC()})
	return oneRow(res, "setting the end date of link %d", id)
}

// LinksEndingBy lists up to limit active links whose end date is at or
// before until, soonest first (the link timers and the ops digest).
func (q *Q) LinksEndingBy(until time.Time, limit int) ([]Link, error) {
	var out []Link
	err := q.db.Where("status = ? AND ends_at IS NOT NULL AND ends_at <= ?", LinkActive, until.UTC()).
		Order("ends_at, id").Limit(limit).Find(&out).Error
	return out, err
}

// AddLinkReminder records a reminder; false when it was recorded before
// (by this or another worker): then it must not be sent again.
func (q *Q) AddLinkReminder(r *LinkReminder) (bool, error) {
	res := q.db.Clauses(clause.OnConflict{DoNothing: true}).Create(r)
	if res.Error != nil {
		return false, fmt.Errorf("recording the %d-day reminder of link %d: %w", r.Days, r.LinkID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// LinkReminders lists a link's recorded reminders.
func (q *Q) LinkReminders(linkID int64) ([]LinkReminder, error) {
	var out []LinkReminder
	err := q.db.Where("link_id = ?", linkID).Order("days DESC").Find(&out).Error
	return out, err
}

// ResetLinkReminders forgets a link's reminders of fewer than below days
// before its end date: they are not due yet and will be sent again.
func (q *Q) ResetLinkReminders(linkID int64, below int) error {
	return q.db.Where("link_id = ? AND days < ?", linkID, below).Delete(&LinkReminder{}).Error
}

// ActiveOrganizationLinks lists an organization's active links by id.
func (q *Q) ActiveOrganizationLinks(orgID string) ([]Link, error) {
	var out []Link
	err := q.db.Where("organization_id = ? AND status = ?", orgID, LinkActive).Order("id").Find(&out).Error
	return out, err
}

// InsertManageLink records a manage link.
func (q *Q) InsertManageLink(m *ManageLink) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now()
	}
	return q.db.Create(m).Error
}

// ManageLinkByHash finds a manage link by its token's hash.
func (q *Q) ManageLinkByHash(hash string) (ManageLink, error) {
	return byTokenHash[ManageLink](q, hash, "manage link")
}

// RevokeManageLinks revokes every live manage link of an organization and
// returns how many.
func (q *Q) RevokeManageLinks(orgID, by string, at time.Time) (int64, error) {
	res := q.db.Model(&ManageLink{}).Where("organization_id = ? AND revoked_at IS NULL", orgID).
		Updates(map[string]any{"revoked_at": at.UTC(), "revoked_by": truncate(by, 320)})
	return res.RowsAffected, res.Error
}

// MintManageToken makes the token of the manage link that outbox row m
// carries, stores its hash (a previous attempt's token stops working), and
// returns m with the token in place of ManageTokenPlaceholder; the stored
// row keeps the placeholder. A mail whose link is gone gets a dead link.
func (s *Store) MintManageToken(ctx context.Context, m OutboxMail) (OutboxMail, error) {
	if !carries(m, ManageTokenPlaceholder) {
		return m, nil
	}
	return mintToken(m, ManageTokenPlaceholder, func(hash string) (bool, error) {
		res := s.db.WithContext(ctx).Model(&ManageLink{}).Where("outbox_id = ?", m.ID).
			Update("token_hash", hash)
		if res.Error != nil {
			return false, fmt.Errorf("storing the manage link token of outbox mail %d: %w", m.ID, res.Error)
		}
		return res.RowsAffected == 1, nil
	})
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

// OrganizationLinks lists an organization's links, newest first.
func (q *Q) OrganizationLinks(orgID string) ([]Link, error) {
	var out []Link
	if err := q.db.Where("organization_id = ?", orgID).Order("id DESC").Limit(500).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing the links of organization %s: %w", orgID, err)
	}
	return out, nil
}

// InsertLink records a link.
func (q *Q) InsertLink(l *Link) error {
	t := now()
	l.CreatedAt, l.UpdatedAt = t, t
	if l.StartedAt.IsZero() {
		l.StartedAt = t
	}
	if l.Type == "" {
		l.Type = "reseller"
	}
	if err := q.db.Create(l).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("recording link: the partner already has a live link to %s: %w", l.OrganizationID, ErrConflict)
		}
		return fmt.Errorf("recording link: %w", err)
	}
	return nil
}

// Link returns one link.
func (q *Q) Link(id int64) (Link, error) {
	var l Link
	err := q.db.Where("id = ?", id).First(&l).Error
	return l, notFound(err, fmt.Sprintf("link %d", id))
}

// LiveLink returns the partner's invited or active link to the organization.
func (q *Q) LiveLink(partnerID int64, orgID string) (Link, error) {
	var l Link
	err := q.db.Where("partner_id = ? AND organization_id = ? AND status IN ?",
		partnerID, orgID, []string{LinkInvited, LinkActive}).First(&l).Error
	return l, notFound(err, "live link")
}

// LinkForRequest returns the link a request created.
func (q *Q) LinkForRequest(requestID int64) (Link, error) {
	var l Link
	err := q.db.Where("request_id = ?", requestID).Order("id DESC").First(&l).Error
	return l, notFound(err, "link of "+Reference(requestID))
}

// ListLinks lists links by id.
func (q *Q) ListLinks() ([]Link, error) {
	var ls []Link
	err := q.db.Order("id").Find(&ls).Error
	return ls, err
}

// SetLinkStatus moves a link between statuses; ending statuses set ended_at.
func (q *Q) SetLinkStatus(id int64, from []string, to string) error {
	t := now()
	set := map[string]any{"status": to, "updated_at": t}
	if to != LinkInvited && to != LinkActive {
		set["ended_at"] = t
	}
	res := q.db.Model(&Link{}).Where("id = ? AND status IN ?", id, from).Updates(set)
	return oneRow(res, "moving link %d to %s", id, to)
}
