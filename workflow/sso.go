package workflow

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
)

// Single sign-on (OpenID Connect). web speaks the protocol; workflow keeps
// the started logins (so that a callback works once, whichever worker gets
// it), finds or creates the ops user of a verified e-mail address, and starts
// the session with the role the identity provider stated.
//
// An SSO user is an ops user row like any other (matched by e-mail
// address, created at the first login without a password, so the password
// login never lets them in): sessions point at it, the audit trail names
// them ops:EMAIL, and `ops-users disable` shuts them out as it does anyone.
// Their role is not stored on the user but on each session, as the
// provider stated it at that login: a change at the provider takes effect
// at the next login.

// SSOLoginTTL is how long a started single sign-on login may take.
const SSOLoginTTL = 10 * time.Minute

// Session is a live console session: its user and, for a single sign-on
// login, the role the identity provider stated ("" for a password login).
type Session struct {
	User store.OpsUser
	Role string
	SSO  bool
}

// SSOBegin is a started single sign-on login.
type SSOBegin struct {
	Key      string // goes into the browser's cookie; only its hash is stored
	State    string
	Nonce    string
	Verifier string // the PKCE code verifier
}

func randomToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("making a random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// BeginSSO stores a new single sign-on login that returns to next.
func (s *Service) BeginSSO(ctx context.Context, next string) (SSOBegin, error) {
	var b SSOBegin
	for _, p := range []*string{&b.Key, &b.State, &b.Nonce, &b.Verifier} {
		v, err := randomToken()
		if err != nil {
			return SSOBegin{}, err
		}
		*p = v
	}
	t := s.now()
	l := &store.OIDCLogin{KeyHash: HashToken(b.Key), State: b.State, Nonce: b.Nonce, Verifier: b.Verifier,
		Next: next, CreatedAt: t, ExpiresAt: t.Add(SSOLoginTTL)}
	if err := s.st.Q(ctx).CreateOIDCLogin(l); err != nil {
		return SSOBegin{}, err
	}
	return b, nil
}

// TakeSSO returns the started login of the cookie's key and forgets it:
// a second call with the same key (a replayed callback) gets ErrNotFound,
// as does an expired login.
func (s *Service) TakeSSO(ctx context.Context, key string) (store.OIDCLogin, error) {
	if len(key) < 20 || len(key) > 100 {
		return store.OIDCLogin{}, fmt.Errorf("single sign-on login: %w", ErrNotFound)
	}
	var l store.OIDCLogin
	err := s.st.Transact(ctx, func(q *store.Q) error {
		var err error
		l, err = q.TakeOIDCLogin(HashToken(key), s.now())
		return err
	})
	return l, err
}

// SSOIdentity is what a verified ID token says about the person.
type SSOIdentity struct {
	Email   string // verified by the provider
	Role    string // mapped from the role claim
	Issuer  string
	Subject string
}

// SSOLogin starts a session for a person the identity provider vouched
// for: the ops user with that e-mail address, created (without a password)
// when there is none. ErrBadLogin when the user is disabled. The login is
// audited with the role.
func (s *Service) SSOLogin(ctx context.Context, id SSOIdentity) (string, store.OpsUser, error) {
	email := strings.ToLower(strings.TrimSpace(id.Email))
	if err := CheckAddress(email); err != nil {
		return "", store.OpsUser{}, fmt.Errorf("single sign-on: the e-mail address %q: %v: %w", email, err, ErrBadLogin)
	}
	if id.Role == "" {
		return "", store.OpsUser{}, fmt.Errorf("single sign-on without a role: %w", ErrBadLogin)
	}
	token, err := randomToken()
	if err != nil {
		return "", store.OpsUser{}, err
	}
	t := s.now()
	var u store.OpsUser
	err = s.transact(ctx, func(tx *txn) error {
		var err error
		u, err = tx.OpsUserByEmail(email)
		if errors.Is(err, store.ErrNotFound) {
			// The row's own role is the least; the identity provider's
			// role counts per session.
			u = store.OpsUser{Email: email, Role: RoleViewer}
			if err := tx.CreateOpsUser(&u); err != nil {
				return err
			}
			if err := tx.auditSubject(opsSubject(u.Email), "system", "", "active",
				fmt.Sprintf("%s added by single sign-on (%s, subject %s)", opsSubject(u.Email), id.Issuer, id.Subject)); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if u.DisabledAt != nil {
			return fmt.Errorf("ops user %s is disabled: %w", u.Email, ErrBadLogin)
		}
		sess := &store.OpsSession{TokenHash: HashToken(token), UserID: u.ID, CreatedAt: t, LastSeenAt: t,
			ExpiresAt: s.sessionExpiry(t, t), Role: id.Role}
		if err := tx.CreateOpsSession(sess); err != nil {
			return err
		}
		if err := tx.TouchOpsUserLogin(u.ID, t); err != nil {
			return fmt.Errorf("recording the login: %w", err)
		}
		return tx.auditSubject(opsSubject(u.Email), "ops:"+u.Email, "", "",
			fmt.Sprintf("%s logged in by single sign-on as %s", opsSubject(u.Email), id.Role))
	})
	if err != nil {
		return "", store.OpsUser{}, err
	}
	u.LastLoginAt = &t
	_ = s.st.Q(ctx).DeleteExpiredOpsSessions(t)
	return token, u, nil
}

// SSORefused audits a single sign-on login that the identity provider
// allowed but we refuse (no mapped role, e-mail address not verified).
func (s *Service) SSORefused(ctx context.Context, email, why string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	return s.transact(ctx, func(tx *txn) error {
		return tx.auditSubject(opsSubject(email), "system", "", "", fmt.Sprintf("%s refused by single sign-on: %s", opsSubject(email), why))
	})
}
