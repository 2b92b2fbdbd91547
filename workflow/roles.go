package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/onboarder/onboarder/store"
)

// Console roles. A viewer reads; an approver also acts on requests
// (approve, reject, resend, revoke, clear a fraud report, retry a mail,
// reprocess a mail); an admin also changes the registry, the directory and
// the users. The web layer hides what a role may not use and refuses it;
// the workflow checks again where it acts on behalf of a console user
// (Act, ConsoleUser), so a handler that forgets cannot grant more.

// The roles (store holds the names, as the database does).
const (
	RoleViewer   = store.RoleViewer
	RoleApprover = store.RoleApprover
	RoleAdmin    = store.RoleAdmin
)

// Roles lists the roles from least to most.
var Roles = []string{RoleViewer, RoleApprover, RoleAdmin}

// ErrForbidden: the ops user's role does not allow the action; nothing was
// done.
var ErrForbidden = errors.New("your role does not allow this")

func roleRank(role string) int {
	for i, r := range Roles {
		if r == role {
			return i + 1
		}
	}
	return 0 // unknown or empty: less than a viewer
}

// RoleAllows says whether role includes need (viewer < approver < admin).
// An unknown or empty role allows nothing.
func RoleAllows(role, need string) bool {
	return roleRank(role) > 0 && roleRank(role) >= roleRank(need)
}

// CheckRole accepts one of Roles (after trimming and lower-casing) and
// returns it.
func CheckRole(role string) (string, error) {
	r := strings.ToLower(strings.TrimSpace(role))
	if roleRank(r) == 0 {
		return "", fmt.Errorf("unknown role %q: want viewer, approver or admin", role)
	}
	return r, nil
}

// ConsoleUser is who acts in the console: the login and the role, as the
// session (password or single sign-on) says.
type ConsoleUser struct {
	Email string
	Role  string
}

// may returns ErrForbidden unless the user's role includes need.
func (u ConsoleUser) may(need, what string) error {
	if u.Email == "" {
		return fmt.Errorf("%s: no ops user: %w", what, ErrForbidden)
	}
	if !RoleAllows(u.Role, need) {
		role := u.Role
		if role == "" {
			role = "none"
		}
		return fmt.Errorf("%s needs the role %s or more; %s has %s: %w", what, need, u.Email, role, ErrForbidden)
	}
	return nil
}

// ConsoleRetryOutbox is RetryOutbox for a console user (approver or more).
func (s *Service) ConsoleRetryOutbox(ctx context.Context, u ConsoleUser, id int64) error {
	if err := u.may(RoleApprover, "retrying a mail"); err != nil {
		return err
	}
	return s.RetryOutbox(ctx, id, u.Email)
}

// ConsoleReprocess is ReprocessBy for a console user (approver or more).
func (s *Service) ConsoleReprocess(ctx context.Context, u ConsoleUser, id int64) (Result, error) {
	if err := u.may(RoleApprover, "reprocessing a mail"); err != nil {
		return Result{}, err
	}
	return s.ReprocessBy(ctx, id, u.Email)
}

// ConsoleClearFraud is ClearFraud for a console user (approver or more).
func (s *Service) ConsoleClearFraud(ctx context.Context, u ConsoleUser, orgID, reason string, requestID int64) (int, error) {
	if err := u.may(RoleApprover, "clearing a fraud report"); err != nil {
		return 0, err
	}
	return s.ClearFraud(ctx, orgID, u.Email, reason, requestID)
}

// RequireAdmin returns ErrForbidden unless the console user is an admin:
// the check for changes to the registry, the directory and the users.
func RequireAdmin(u ConsoleUser, what string) error { return u.may(RoleAdmin, what) }

// SetOpsUserRole gives a console user a role, audited under ops_user:EMAIL;
// ErrState when the user has it already. It takes effect with the user's
// next page: the console reads the role from the user row each time.
func (s *Service) SetOpsUserRole(ctx context.Context, email, role, by string) error {
	role, err := CheckRole(role)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *txn) error {
		u, err := tx.OpsUserByEmail(email)
		if err != nil {
			return err
		}
		if err := tx.Q.SetOpsUserRole(u.ID, role); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return stateErr("ops user %s is %s already", u.Email, role)
			}
			return err
		}
		return tx.auditSubject(opsSubject(u.Email), actorOf(by), u.Role, role, fmt.Sprintf("%s role %s -> %s", opsSubject(u.Email), u.Role, role))
	})
}
