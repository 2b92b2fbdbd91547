package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The claim: how the dispatchers of the outbox and of the webhook events
// take rows to work on. A row is pending until sent or given up; a claim
// records the attempt and a lease (locked_by, locked_until) before anything
// is sent, so a crash costs at most one lease of delay and a second
// dispatcher never takes a leased row. Finishing a row applies only while
// its holder still holds the lease.

// Delivery is what the outbox and the webhook events record of delivering
// a row: its status, the attempts, the lease a claim holds, the last error
// and when it was sent (embedded: the columns are the row's own).
type Delivery struct {
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastAttemptAt *time.Time
	LockedBy      string
	LockedUntil   *time.Time
	LastError     string
	SentAt        *time.Time
}

// claimRows takes up to limit due pending rows of table (model T) for
// holder until at+lease. On PostgreSQL concurrent claimers skip each
// other's rows (FOR UPDATE SKIP LOCKED).
func claimRows[T any](ctx context.Context, s *Store, table, pending, holder string, limit int, lease time.Duration, at time.Time) ([]T, error) {
	at = at.UTC()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []T
	err := s.Transact(ctx, func(q *Q) error {
		rows = nil
		var ids []int64
		err := q.db.Raw(`SELECT id FROM `+table+`
			WHERE status = ? AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)
			ORDER BY next_attempt_at, id LIMIT ?`+lock,
			pending, at, at, limit).Scan(&ids).Error
		if err != nil || len(ids) == 0 {
			return err
		}
		err = q.db.Model(new(T)).Where("id IN ?", ids).Updates(map[string]any{
			"locked_by":       holder,
			"locked_until":    at.Add(lease),
			"attempts":        gorm.Expr("attempts + 1"),
			"last_attempt_at": at,
			"updated_at":      at,
		}).Error
		if err != nil {
			return err
		}
		return q.db.Where("id IN ?", ids).Order("next_attempt_at, id").Find(&rows).Error
	})
	return rows, err
}

// finishClaimed releases holder's lease on row id of model T, applying set;
// ErrConflict when the lease was lost (another dispatcher took the row).
func finishClaimed[T any](ctx context.Context, s *Store, what string, id int64, pending, holder string, set map[string]any) error {
	set["locked_by"] = ""
	set["locked_until"] = nil
	set["updated_at"] = now()
	res := s.db.WithContext(ctx).Model(new(T)).
		Where("id = ? AND status = ? AND locked_by = ?", id, pending, holder).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("updating %s %d: %w", what, id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("updating %s %d: lease lost: %w", what, id, ErrConflict)
	}
	return nil
}

// nextDue returns when the earliest pending row of table becomes due (its
// next attempt, or the end of its lease if later); ok is false when nothing
// is pending.
func nextDue(ctx context.Context, s *Store, table, pending string) (due time.Time, ok bool, err error) {
	var rows []struct {
		NextAttemptAt time.Time
		LockedUntil   *time.Time
	}
	err = s.db.WithContext(ctx).Table(table).Select("next_attempt_at, locked_until").
		Where("status = ?", pending).Order("next_attempt_at").Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return time.Time{}, false, err
	}
	due = rows[0].NextAttemptAt
	if rows[0].LockedUntil != nil && rows[0].LockedUntil.After(due) {
		due = *rows[0].LockedUntil
	}
	return due, true, nil
}
