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

// DueChases lists needs_info requests received at or before before and not
// chased yet, oldest first.
func (q *Q) DueChases(before time.Time, limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state = ? AND chased_at IS NULL AND received_at <= ?", StateNeedsInfo, before.UTC()).
		Order("received_at").Limit(limit).Find(&out).Error
	return out, err
}

// DueNeedsInfoExpiries lists needs_info requests received at or before
// before, oldest first.
func (q *Q) DueNeedsInfoExpiries(before time.Time, limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state = ? AND received_at <= ?", StateNeedsInfo, before.UTC()).
		Order("received_at").Limit(limit).Find(&out).Error
	return out, err
}

// MarkChased records that a needs_info request was chased; ErrConflict when
// it was chased already or left needs_info (another worker was first).
func (q *Q) MarkChased(id int64, at time.Time) error {
	res := q.db.Model(&Request{}).Where("id = ? AND state = ? AND chased_at IS NULL", id, StateNeedsInfo).
		Update("chased_at", at.UTC())
	if res.Error != nil {
		return fmt.Errorf("marking %s chased: %w", Reference(id), res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("marking %s chased: %w", Reference(id), ErrConflict)
	}
	return nil
}

// DueInviteReminders lists pending invitations, not reminders themselves,
// that expire after now and at or before until, soonest first.
func (q *Q) DueInviteReminders(now, until time.Time, limit int) ([]Invitation, error) {
	var out []Invitation
	err := q.db.Where("status = ? AND reminder = ? AND expires_at > ? AND expires_at <= ?",
		InvitePending, false, now.UTC(), until.UTC()).Order("expires_at").Limit(limit).Find(&out).Error
	return out, err
}

// OpenRequestsOldest lists up to limit open requests, oldest first.
func (q *Q) OpenRequestsOldest(limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state IN ?", OpenStates).Order("received_at, id").Limit(limit).Find(&out).Error
	return out, err
}

// CountRequests counts the requests in any of states.
func (q *Q) CountRequests(states []string) (int64, error) {
	var n int64
	err := q.db.Model(&Request{}).Where("state IN ?", states).Count(&n).Error
	return n, err
}

// CountOutbox counts the outbox mails in status.
func (q *Q) CountOutbox(status string) (int64, error) {
	var n int64
	err := q.db.Model(&OutboxMail{}).Where("status = ?", status).Count(&n).Error
	return n, err
}

// DueConsentExpiries lists the requests waiting for a partner's or
// reseller's consent none of whose consent links still works at now: all
// expired (or closed) unanswered, or, asked of nobody (the partner has no
// registered address), received at or before asked, oldest first.
func (q *Q) DueConsentExpiries(now, asked time.Time, limit int) ([]Request, error) {
	var out []Request
	live := q.db.Model(&ConsentToken{}).Select("1").
		Where("consent_tokens.request_id = requests.id AND consent_tokens.status = ? AND consent_tokens.expires_at > ?", ConsentPending, now.UTC())
	some := q.db.Model(&ConsentToken{}).Select("1").Where("consent_tokens.request_id = requests.id")
	err := q.db.Where("state IN ?", []string{StatePendingPartner, StatePendingReseller}).
		Where("NOT EXISTS (?)", live).
		Where("(EXISTS (?) OR received_at <= ?)", some, asked.UTC()).
		Order("received_at").Limit(limit).Find(&out).Error
	return out, err
}
