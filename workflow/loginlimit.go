package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
)

// The console's login limiter. It lives in the database, so every worker
// counts the same failures and a restart forgets none. Three tallies are
// kept per attempt:
//
//   - ip:ADDRESS counts every failure from a client address, whoever it
//     tried: one address cannot guess fast, at one user or at many.
//   - pair:EMAIL|ADDRESS counts one user's failures from one address.
//   - user:EMAIL counts one user's failures from every address: guessing
//     from many addresses is slowed down too.
//
// A tally lets LoginFreeFailures failures through at once; after n failures
// the next attempt waits 2^(n-LoginFreeFailures) seconds after the last one,
// at most LoginMaxDelay. Attempts refused while waiting are not counted, so
// hammering does not extend the wait.
//
// The user tally holds back only addresses that have failed for that user
// themselves: someone guessing a user's password from other addresses cannot
// keep the user out, who logs in from an address without failures at once
// (and after a typo waits at most LoginMaxDelay). What guessing from many
// addresses gains is one attempt per fresh address while the user tally
// blocks. A tally is forgotten LoginForget after its last failure; tallies
// are pruned by age, never by count, so no flood of keys turns the limiter
// off.
const (
	LoginFreeFailures = 5
	LoginMaxDelay     = 15 * time.Minute
	LoginForget       = 24 * time.Hour
)

// ThrottledError: the login was not tried because of earlier failures; try
// again after Wait.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %s", e.Wait)
}

// loginDelay is how long a tally with n failures waits after its last one.
func loginDelay(n int) time.Duration {
	if n < LoginFreeFailures {
		return 0
	}
	if n-LoginFreeFailures >= 10 { // 2^10 s is beyond the cap already
		return LoginMaxDelay
	}
	return min(time.Duration(1<<(n-LoginFreeFailures))*time.Second, LoginMaxDelay)
}

// loginKeys are the limiter's keys of one attempt. Addresses over 320
// bytes are never valid; cutting them keeps the keys small.
func loginKeys(client, email string) (ip, user, pair string) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 320 {
		email = email[:320]
	}
	return "ip:" + client, "user:" + email, "pair:" + email + "|" + client
}

// LoginFrom is Login throttled by the login limiter for a client address.
// It returns a *ThrottledError without checking the password while the
// attempt must wait. The attempt is counted as a failure before the
// password is checked (a burst of parallel guesses is counted guess by
// guess) and taken back when it succeeds.
func (s *Service) LoginFrom(ctx context.Context, client, email, password string) (string, store.OpsUser, error) {
	ipKey, userKey, pairKey := loginKeys(client, email)
	t := s.now()
	var wait time.Duration
	err := s.st.Transact(ctx, func(q *store.Q) error {
		wait = 0
		ls, err := q.LockLoginLimits([]string{ipKey, userKey, pairKey}, t)
		if err != nil {
			return err
		}
		for k, l := range ls {
			if l.LastFailureAt.Before(t.Add(-LoginForget)) {
				l.Failures, l.BlockedUntil = 0, t
				ls[k] = l
			}
		}
		until := ls[ipKey].BlockedUntil
		if p := ls[pairKey]; p.Failures > 0 {
			until = latest(until, p.BlockedUntil, ls[userKey].BlockedUntil)
		}
		if until.After(t) {
			wait = until.Sub(t)
			return nil
		}
		for _, l := range ls {
			l.Failures++
			l.LastFailureAt = t
			l.BlockedUntil = t.Add(loginDelay(l.Failures))
			if err := q.SaveLoginLimit(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", store.OpsUser{}, fmt.Errorf("checking the login limiter: %w", err)
	}
	if wait > 0 {
		return "", store.OpsUser{}, &ThrottledError{Wait: wait}
	}
	if _, err := s.st.Q(ctx).PruneLoginLimits(t.Add(-LoginForget)); err != nil {
		s.log.Warn("pruning the login limiter", "err", err)
	}
	token, u, err := s.Login(ctx, email, password)
	if err != nil {
		return token, u, err
	}
	// The user is in: forget the user's tallies, and take back the attempt
	// from the address's (whose other failures stay).
	err = s.st.Transact(ctx, func(q *store.Q) error {
		if err := q.DeleteLoginLimits(userKey, pairKey); err != nil {
			return err
		}
		ls, err := q.LockLoginLimits([]string{ipKey}, t)
		if err != nil {
			return err
		}
		if l, ok := ls[ipKey]; ok && l.Failures > 0 {
			l.Failures--
			return q.SaveLoginLimit(l)
		}
		return nil
	})
	if err != nil {
		s.log.Warn("clearing the login limiter after a login", "ops_user", u.Email, "err", err)
	}
	return token, u, nil
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// IsThrottled reports whether err is a *ThrottledError and its wait.
func IsThrottled(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.Wait, true
	}
	return 0, false
}
