package store

import (
	"fmt"
	"strings"
	"time"
)

// Console users: listing, disabling, passwords. Creating one and looking one
// up are in queries.go; sessions in console.go.

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
	if res.Error != nil {
		return fmt.Errorf("changing ops user %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("changing ops user %d: %w", id, ErrConflict)
	}
	return nil
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

// DeleteOpsSessionsOf ends every session of a user and says how many.
func (q *Q) DeleteOpsSessionsOf(userID int64) (int64, error) {
	res := q.db.Where("user_id = ?", userID).Delete(&OpsSession{})
	if res.Error != nil {
		return 0, fmt.Errorf("ending the sessions of ops user %d: %w", userID, res.Error)
	}
	return res.RowsAffected, nil
}

// OpsUserAudit lists the audit entries about an ops user, oldest first:
// entries of neither a request nor a link whose reason starts with
// "ops_user:EMAIL " (the subject, as the workflow writes it).
func (q *Q) OpsUserAudit(email string) ([]AuditEntry, error) {
	var out []AuditEntry
	prefix := escapeLike("ops_user:"+strings.ToLower(strings.TrimSpace(email))) + " %"
	err := q.db.Where("request_id IS NULL AND link_id IS NULL AND reason LIKE ? ESCAPE '\\'", prefix).
		Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("reading the audit of ops user %s: %w", email, err)
	}
	return out, nil
}

// SetOpsUserRole gives a user a role; ErrConflict when the user has it
// already.
func (q *Q) SetOpsUserRole(id int64, role string) error {
	res := q.db.Model(&OpsUser{}).Where("id = ? AND role <> ?", id, role).Update("role", role)
	if res.Error != nil {
		return fmt.Errorf("changing the role of ops user %d: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("changing the role of ops user %d: %w", id, ErrConflict)
	}
	return nil
}

// AddApproval records an ops user's approval of a request; ErrConflict
// when that user approved it already.
func (q *Q) AddApproval(a *Approval) error {
	a.OpsUser = strings.ToLower(strings.TrimSpace(a.OpsUser))
	a.At = a.At.UTC()
	if err := q.db.Create(a).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("recording the approval of %s by %s: %w", Reference(a.RequestID), a.OpsUser, ErrConflict)
		}
		return fmt.Errorf("recording the approval of %s by %s: %w", Reference(a.RequestID), a.OpsUser, err)
	}
	return nil
}

// ApprovalsFor returns the approvals of requests, oldest first, by request.
func (q *Q) ApprovalsFor(requestIDs []int64) (map[int64][]Approval, error) {
	out := map[int64][]Approval{}
	if len(requestIDs) == 0 {
		return out, nil
	}
	var as []Approval
	if err := q.db.Where("request_id IN ?", requestIDs).Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("loading approvals: %w", err)
	}
	for _, a := range as {
		out[a.RequestID] = append(out[a.RequestID], a)
	}
	return out, nil
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
