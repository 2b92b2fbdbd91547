package store

import (
	"fmt"
	"time"
)

// OIDCLogin is a single sign-on login started at the identity provider and
// not yet finished. Only the SHA-256 of the browser's cookie is kept.
type OIDCLogin struct {
	ID        int64
	KeyHash   string
	State     string
	Nonce     string
	Verifier  string // the PKCE code verifier
	Next      string // where the console goes after the login
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateOIDCLogin stores a started login, dropping those that expired.
func (q *Q) CreateOIDCLogin(l *OIDCLogin) error {
	if err := q.db.Where("expires_at <= ?", l.CreatedAt.UTC()).Delete(&OIDCLogin{}).Error; err != nil {
		return fmt.Errorf("deleting expired single sign-on logins: %w", err)
	}
	if err := q.db.Create(l).Error; err != nil {
		return fmt.Errorf("storing a single sign-on login: %w", err)
	}
	return nil
}

// TakeOIDCLogin returns the login of this key hash that has not expired at
// the time given and deletes it, so that it is used once: of two callers
// with the same key only one gets it. ErrNotFound otherwise.
func (q *Q) TakeOIDCLogin(hash string, at time.Time) (OIDCLogin, error) {
	var l OIDCLogin
	if err := q.db.Where("key_hash = ?", hash).First(&l).Error; err != nil {
		return l, notFound(err, "single sign-on login")
	}
	res := q.db.Where("id = ?", l.ID).Delete(&OIDCLogin{})
	if res.Error != nil {
		return l, fmt.Errorf("deleting a used single sign-on login: %w", res.Error)
	}
	if res.RowsAffected != 1 || !l.ExpiresAt.After(at) {
		return OIDCLogin{}, fmt.Errorf("single sign-on login used or expired: %w", ErrNotFound)
	}
	return l, nil
}

// TableName overrides gorm's o_id_c_logins.
func (OIDCLogin) TableName() string { return "oidc_logins" }
