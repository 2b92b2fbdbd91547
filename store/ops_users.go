package store

import (
	"fmt"
	"strings"
	"time"
)

// OpsUser may log in to the operations console.
type OpsUser struct {
	ID           int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
	// DisabledAt is when the user was disabled (nil: may log in).
	DisabledAt *time.Time
	// LastLoginAt is the user's last successful login (nil: none recorded).
	LastLoginAt *time.Time
	// Role is what the user may do in the console: RoleViewer,
	// RoleApprover or RoleAdmin (workflow holds the rules).
	Role string
	// Locale is the console language the user chose ("en", "de"; "": none
	// yet, the browser's counts), migration 0019.
	Locale string
}

// Console roles, from least to most (migration 0009).
const (
	RoleViewer   = "viewer"   // reads
	RoleApprover = "approver" // also acts on requests
	RoleAdmin    = "admin"    // also the registry, the directory and the users
)

// OpsUsers lists the console users by e-mail address.
func (q *Q) OpsUsers() ([]OpsUser, error) {
	var out []OpsUser
	if err := q.db.Order("email").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing ops users: %w", err)
	}
	return out, nil
}

// SetOpsUserDisabled disables (at non-nil) or enables (nil) a user;
// ErrConflict when the user already is so.
func (q *Q) SetOpsUserDisabled(id int64, at *time.Time) error {
	db := q.db.Model(&OpsUser{}).Where("id = ?", id)
	var val any
	if at != nil {
		db = db.Where("disabled_at IS NULL")
		val = at.UTC()
	} else {
		db = db.Where("disabled_at IS NOT NULL")
	}
	res := db.Update("disabled_at", val)
	return oneRow(res, "changing ops user %d", id)
}

// SetOpsUserPassword stores a new password hash.
func (q *Q) SetOpsUserPassword(id int64, hash string) error {
	res := q.db.Model(&OpsUser{}).Where("id = ?", id).Update("password_hash", hash)
	if res.Error != nil {
		return fmt.Errorf("changing the password of ops user %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("changing the password of ops user %d: %w", id, ErrNotFound)
	}
	return nil
}

// TouchOpsUserLogin records a successful login.
func (q *Q) TouchOpsUserLogin(id int64, at time.Time) error {
	return q.db.Model(&OpsUser{}).Where("id = ?", id).Update("last_login_at", at.UTC()).Error
}

// SetOpsUserRole gives a user a role; ErrConflict when the user has it
// already.
func (q *Q) SetOpsUserRole(id int64, role string) error {
	res := q.db.Model(&OpsUser{}).Where("id = ? AND role <> ?", id, role).Update("role", role)
	return oneRow(res, "changing the role of ops user %d", id)
}

// SetOpsUserLocale keeps the console language a user chose.
func (q *Q) SetOpsUserLocale(id int64, locale string) error {
	res := q.db.Model(&OpsUser{}).Where("id = ?", id).Update("locale", locale)
	if res.Error != nil {
		return fmt.Errorf("changing the language of ops user %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("changing the language of ops user %d: %w", id, ErrNotFound)
	}
	return nil
}

// OpsUser returns one console user.
func (q *Q) OpsUser(id int64) (OpsUser, error) {
	var u OpsUser
	err := q.db.Where("id = ?", id).First(&u).Error
	return u, notFound(err, fmt.Sprintf("ops user %d", id))
}

// CreateOpsUser stores a console user with an already hashed password.
func (q *Q) CreateOpsUser(u *OpsUser) error {
	u.CreatedAt = now()
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if err := q.db.Create(u).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("creating ops user %s: exists already: %w", u.Email, ErrConflict)
		}
		return fmt.Errorf("creating ops user %s: %w", u.Email, err)
	}
	return nil
}

// OpsUserByEmail finds a console user.
func (q *Q) OpsUserByEmail(email string) (OpsUser, error) {
	var u OpsUser
	err := q.db.Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error
	return u, notFound(err, "ops user")
}
