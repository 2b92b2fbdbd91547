package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// Disabling ends a user's sessions and logins, enabling lets them in again,
// a new password ends the sessions too; each change is audited under
// ops_user:EMAIL, and every way in uses the one password rule.
func TestOpsUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		const email, pw = "olga@provider.example", "correct horse battery"
		_, err := f.wf.AddOpsUser(ctx, email, pw, bcrypt.MinCost)
		storetest.Must(t, err)
		token, _, err := f.wf.Login(ctx, email, pw)
		storetest.Must(t, err)

		storetest.Must(t, f.wf.DisableOpsUser(ctx, email, "admin"))
		if _, err := f.wf.SessionUser(ctx, token); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("session of a disabled user: %v", err)
		}
		if _, _, err := f.wf.Login(ctx, email, pw); !errors.Is(err, workflow.ErrBadLogin) {
			t.Errorf("login of a disabled user: %v", err)
		}
		if err := f.wf.DisableOpsUser(ctx, email, "admin"); !errors.Is(err, workflow.ErrState) {
			t.Errorf("disabling twice: %v", err)
		}
		storetest.Must(t, f.wf.EnableOpsUser(ctx, email, ""))
		if err := f.wf.EnableOpsUser(ctx, email, ""); !errors.Is(err, workflow.ErrState) {
			t.Errorf("enabling twice: %v", err)
		}
		token, u, err := f.wf.Login(ctx, email, pw)
		storetest.Must(t, err)
		if u.LastLoginAt == nil || !u.LastLoginAt.Equal(f.now) {
			t.Errorf("last login %v, want %v", u.LastLoginAt, f.now)
		}

		for _, bad := range []string{"short", strings.Repeat("x", 73), "ünïcödé1234"} {
			if err := f.wf.SetOpsPassword(ctx, email, bad, "admin", bcrypt.MinCost); err == nil {
				t.Errorf("password %q accepted", bad)
			}
			if _, err := f.wf.AddOpsUser(ctx, "new@provider.example", bad, bcrypt.MinCost); err == nil {
				t.Errorf("new user with password %q accepted", bad)
			}
		}
		storetest.Must(t, f.wf.SetOpsPassword(ctx, email, "a new and better one", "admin", bcrypt.MinCost))
		if _, err := f.wf.SessionUser(ctx, token); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("session after a new password: %v", err)
		}
		if _, _, err := f.wf.Login(ctx, email, pw); !errors.Is(err, workflow.ErrBadLogin) {
			t.Errorf("login with the old password: %v", err)
		}
		if _, _, err := f.wf.Login(ctx, email, "a new and better one"); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		if err := f.wf.DisableOpsUser(ctx, "nobody@provider.example", "admin"); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("disabling an unknown user: %v", err)
		}

		audit, err := st.Q(ctx).OpsUserAudit(email)
		storetest.Must(t, err)
		var got []string
		for _, a := range audit {
			got = append(got, a.Actor+" "+a.FromState+">"+a.ToState+" "+a.Reason)
		}
		want := []string{
			"system >active ops_user:olga@provider.example added as admin",
			"ops:admin active>disabled ops_user:olga@provider.example disabled; 1 session(s) ended",
			"ops:cli disabled>active ops_user:olga@provider.example enabled",
			"ops:admin > ops_user:olga@provider.example password changed; 1 session(s) ended",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// A session ends at Options.SessionMaxAge however active it is.
func TestSessionMaxAgeOption(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.SessionMaxAge = 2 * time.Hour })
		ctx := context.Background()
		_, err := f.wf.AddOpsUser(ctx, "olga@provider.example", "correct horse battery", bcrypt.MinCost)
		storetest.Must(t, err)
		token, _, err := f.wf.Login(ctx, "olga@provider.example", "correct horse battery")
		storetest.Must(t, err)
		for _, step := range []time.Duration{40 * time.Minute, 40 * time.Minute, 39 * time.Minute} {
			f.now = f.now.Add(step)
			if _, err := f.wf.SessionUser(ctx, token); err != nil {
				t.Fatalf("active session: %v", err)
			}
		}
		f.now = f.now.Add(2 * time.Minute) // 2h01m after the login
		if _, err := f.wf.SessionUser(ctx, token); !errors.Is(err, workflow.ErrNotFound) {
			t.Errorf("session after its maximum age: %v", err)
		}
	})
}

// A user added on the console's team page is audited with the admin who
// added them; a user's console language is kept (only en or de), and the
// session reads it.
func TestOpsUserAddedByAndLocale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		const email, pw = "vera@provider.example", "correct horse battery"
		u, err := f.wf.AddOpsUserBy(ctx, email, pw, workflow.RoleApprover, "admin@provider.example", bcrypt.MinCost)
		storetest.Must(t, err)
		audit, err := st.Q(ctx).OpsUserAudit(email)
		storetest.Must(t, err)
		if len(audit) != 1 || audit[0].Actor != "ops:admin@provider.example" || audit[0].Reason != "ops_user:"+email+" added as approver" {
			t.Errorf("audit of the addition: %+v", audit)
		}
		if u.Locale != "" {
			t.Errorf("a new user has the language %q", u.Locale)
		}
		if err := f.wf.SetOpsUserLocale(ctx, u.ID, "fr"); !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("French: %v", err)
		}
		storetest.Must(t, f.wf.SetOpsUserLocale(ctx, u.ID, "de"))
		token, _, err := f.wf.Login(ctx, email, pw)
		storetest.Must(t, err)
		s, err := f.wf.SessionOf(ctx, token)
		storetest.Must(t, err)
		if s.User.Locale != "de" {
			t.Errorf("the session's user has the language %q", s.User.Locale)
		}
	})
}
