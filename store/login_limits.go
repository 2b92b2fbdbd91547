package store

import (
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm/clause"
)

// LoginLimit is the tally of failed console logins of one key: a client
// address, an e-mail address, or the two together. The workflow decides
// what the numbers mean; the store keeps them where every worker sees them.
type LoginLimit struct {
	// Key names it: ip:ADDRESS, user:EMAIL or pair:EMAIL|ADDRESS.
	Key      string `gorm:"column:name;primaryKey"`
	Failures int
	// LastFailureAt is when the last failure was counted (when the row was
	// made, for a row without failures); rows are pruned by it.
	LastFailureAt time.Time
	// BlockedUntil: no attempt of this key is let through before it.
	BlockedUntil time.Time
}

// TableName names the table.
func (LoginLimit) TableName() string { return "login_limits" }

// LockLoginLimits returns the tallies of keys, making rows without
// failures for keys not seen yet. In a PostgreSQL transaction the rows stay
// locked until commit (SQLite transactions take the whole database), so
// concurrent attempts of one key are counted one after the other and a burst
// cannot slip through between a check and its count.
func (q *Q) LockLoginLimits(keys []string, at time.Time) (map[string]LoginLimit, error) {
	at = at.UTC()
	keys = slices.Sorted(slices.Values(keys)) // one lock order for every transaction
	rows := make([]LoginLimit, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, LoginLimit{Key: k, LastFailureAt: at, BlockedUntil: at})
	}
	if len(rows) > 0 {
		if err := q.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
			return nil, fmt.Errorf("making login limits: %w", err)
		}
	}
	db := q.db
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var got []LoginLimit
	if err := db.Where("name IN ?", keys).Order("name").Find(&got).Error; err != nil {
		return nil, fmt.Errorf("reading login limits: %w", err)
	}
	out := make(map[string]LoginLimit, len(got))
	for _, l := range got {
		out[l.Key] = l
	}
	return out, nil
}

// SaveLoginLimit writes a tally read by LockLoginLimits.
func (q *Q) SaveLoginLimit(l LoginLimit) error {
	res := q.db.Model(&LoginLimit{}).Where("name = ?", l.Key).Updates(map[string]any{
		"failures": l.Failures, "last_failure_at": l.LastFailureAt.UTC(), "blocked_until": l.BlockedUntil.UTC()})
	if res.Error != nil {
		return fmt.Errorf("saving login limit: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("saving login limit: %w", ErrNotFound)
	}
	return nil
}

// DeleteLoginLimits forgets keys (after a successful login).
func (q *Q) DeleteLoginLimits(keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := q.db.Where("name IN ?", keys).Delete(&LoginLimit{}).Error; err != nil {
		return fmt.Errorf("deleting login limits: %w", err)
	}
	return nil
}

// PruneLoginLimits deletes the tallies whose last failure is before before.
func (q *Q) PruneLoginLimits(before time.Time) (int64, error) {
	res := q.db.Where("last_failure_at < ?", before.UTC()).Delete(&LoginLimit{})
	if res.Error != nil {
		return 0, fmt.Errorf("pruning login limits: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// CountLoginLimits counts the tallies kept (for tests and ops).
func (q *Q) CountLoginLimits() (int64, error) {
	var n int64
	err := q.db.Model(&LoginLimit{}).Count(&n).Error
	return n, err
}
