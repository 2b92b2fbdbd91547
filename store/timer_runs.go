package store

import (
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// TimerRun records that a scheduled run that must happen once (one ops
// digest per schedule slot) happened, with the mail it queued, if any.
type TimerRun struct {
	RunKey   string `gorm:"primaryKey"`
	DoneAt   time.Time
	OutboxID *int64
}

// ClaimTimerRun records run key as done; false when it was done already
// (by this or another worker). Inside a transaction, a concurrent claim of
// the same key waits for it and then returns false, so what the run queues
// in the same transaction is queued once.
func (q *Q) ClaimTimerRun(key string, at time.Time, outboxID *int64) (bool, error) {
	res := q.db.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&TimerRun{RunKey: key, DoneAt: at.UTC(), OutboxID: outboxID})
	if res.Error != nil {
		return false, fmt.Errorf("recording run %s: %w", key, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// TimerRunDone says whether run key was recorded.
func (q *Q) TimerRunDone(key string) (bool, error) {
	var n int64
	err := q.db.Model(&TimerRun{}).Where("run_key = ?", key).Count(&n).Error
	return n > 0, err
}
