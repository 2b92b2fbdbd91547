package store

import (
	"fmt"
	"time"
)

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

// DeleteOpsSessionsOf ends every session of a user and says how many.
func (q *Q) DeleteOpsSessionsOf(userID int64) (int64, error) {
	res := q.db.Where("user_id = ?", userID).Delete(&OpsSession{})
	if res.Error != nil {
		return 0, fmt.Errorf("ending the sessions of ops user %d: %w", userID, res.Error)
	}
	return res.RowsAffected, nil
}
