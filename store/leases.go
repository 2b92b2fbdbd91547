package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MailboxCursor is the intake position in one mailbox.
type MailboxCursor struct {
	Mailbox     string `gorm:"primaryKey"`
	UIDValidity int64
	LastUID     int64
	UpdatedAt   time.Time
}

// Lease is a named, expiring claim held by one worker (e.g. the poller).
type Lease struct {
	Name      string `gorm:"primaryKey"`
	Holder    string
	ExpiresAt time.Time
}

// LoadCursor returns the intake position in a mailbox (zero when none).
func (s *Store) LoadCursor(ctx context.Context, mailbox string) (MailboxCursor, error) {
	var c MailboxCursor
	err := s.db.WithContext(ctx).Where("mailbox = ?", mailbox).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return MailboxCursor{Mailbox: mailbox}, nil
	}
	return c, err
}

// SaveCursor stores the intake position in a mailbox.
func (s *Store) SaveCursor(ctx context.Context, c MailboxCursor) error {
	c.UpdatedAt = now()
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "mailbox"}},
		DoUpdates: clause.AssignmentColumns([]string{"uid_validity", "last_uid", "updated_at"}),
	}).Create(&c).Error
}

// AcquireLease takes or renews the named lease for holder until now+ttl.
// It succeeds when the lease is free, expired, or already holder's.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	t := now()
	l := Lease{Name: name, Holder: holder, ExpiresAt: t.Add(ttl)}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.Assignments(map[string]any{"holder": holder, "expires_at": l.ExpiresAt}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "leases.holder = ? OR leases.expires_at < ?", Vars: []any{holder, t}},
		}},
	}).Create(&l)
	if res.Error != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives the lease up if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.db.WithContext(ctx).Where("name = ? AND holder = ?", name, holder).Delete(&Lease{}).Error
}
