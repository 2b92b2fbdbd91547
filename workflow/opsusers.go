package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
)

// Console users: the password rule, disabling and enabling, new passwords.
// Each change is one transaction with its audit entry, whose subject is
// "ops_user:EMAIL"; its reason starts with the subject too, as older entries'
// do (store.Q.OpsUserAudit reads them by it).

// CheckOpsPassword is the one rule for console passwords: at least 12
// characters, and at most 72 bytes (bcrypt ignores the rest, and a longer
// password would only seem stronger).
func CheckOpsPassword(password string) error {
	if utf8.RuneCountInString(password) < 12 {
		return errors.New("the password needs at least 12 characters")
	}
	if len(password) > 72 {
		return errors.New("the password may have at most 72 bytes")
	}
	return nil
}

// hashOpsPassword checks the rule and hashes (cost 0 means 12).
func hashOpsPassword(password string, cost int) (string, error) {
	if err := CheckOpsPassword(password); err != nil {
		return "", err
	}
	if cost == 0 {
		cost = 12
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(hash), nil
}

func opsSubject(email string) string { return "ops_user:" + email }

// DisableOpsUser stops a console user from logging in and ends their
// sessions at once; ErrState when the user is disabled already.
func (s *Service) DisableOpsUser(ctx context.Context, email, by string) error {
	return s.transact(ctx, func(tx *txn) error {
		u, err := tx.OpsUserByEmail(email)
		if err != nil {
			return err
		}
		t := s.now()
		if err := tx.SetOpsUserDisabled(u.ID, &t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return stateErr("ops user %s is disabled already", u.Email)
			}
			return err
		}
		n, err := tx.DeleteOpsSessionsOf(u.ID)
		if err != nil {
			return err
		}
		return tx.auditSubject(opsSubject(u.Email), actorOf(by), "active", "disabled",
			fmt.Sprintf("%s disabled; %d session(s) ended", opsSubject(u.Email), n))
	})
}

// EnableOpsUser lets a disabled console user log in again; ErrState when
// the user is not disabled.
func (s *Service) EnableOpsUser(ctx context.Context, email, by string) error {
	return s.transact(ctx, func(tx *txn) error {
		u, err := tx.OpsUserByEmail(email)
		if err != nil {
			return err
		}
		if err := tx.SetOpsUserDisabled(u.ID, nil); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return stateErr("ops user %s is not disabled", u.Email)
			}
			return err
		}
		return tx.auditSubject(opsSubject(u.Email), actorOf(by), "disabled", "active", opsSubject(u.Email)+" enabled")
	})
}

// SetOpsPassword gives a console user a new password (CheckOpsPassword's
// rule; cost 0 means 12) and ends their sessions: whoever knew the old
// password is logged out too.
func (s *Service) SetOpsPassword(ctx context.Context, email, password, by string, cost int) error {
	hash, err := hashOpsPassword(password, cost)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *txn) error {
		u, err := tx.OpsUserByEmail(email)
		if err != nil {
			return err
		}
		if err := tx.SetOpsUserPassword(u.ID, hash); err != nil {
			return err
		}
		n, err := tx.DeleteOpsSessionsOf(u.ID)
		if err != nil {
			return err
		}
		return tx.auditSubject(opsSubject(u.Email), actorOf(by), "", "",
			fmt.Sprintf("%s password changed; %d session(s) ended", opsSubject(u.Email), n))
	})
}

// actorOf is the audit actor of an ops user's change ("ops:cli" when the
// command line does not say who).
func actorOf(by string) string {
	by = strings.TrimSpace(by)
	if by == "" {
		by = "cli"
	}
	return "ops:" + by
}

// SetOpsUserLocale keeps the console language an ops user chose ("en" or
// "de"). It is a preference, not a change of what the user may do, so it
// writes no audit entry.
func (s *Service) SetOpsUserLocale(ctx context.Context, userID int64, locale string) error {
	if locale != "en" && locale != "de" {
		return fmt.Errorf("console language %q: %w", locale, ErrInvalid)
	}
	return s.st.Q(ctx).SetOpsUserLocale(userID, locale)
}
