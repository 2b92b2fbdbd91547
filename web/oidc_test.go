package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/web"
	"github.com/onboarder/onboarder/workflow"
)

// ssoUser is a person at the test provider; mutate changes the ID token's
// registered claims (audience, expiry, nonce) as a faulty or hostile
// provider would.
type ssoUser struct {
	sub, email string
	verified   any // nil: no email_verified claim
	groups     []string
	mutate     func(*mockoidc.IDTokenClaims)
}

func (u *ssoUser) ID() string { return u.sub }

func (u *ssoUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email})
}

func (u *ssoUser) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.mutate != nil {
		u.mutate(c)
	}
	m := jwt.MapClaims{"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "exp": c.ExpiresAt, "iat": c.IssuedAt,
		"email": u.email, "groups": u.groups}
	if c.Nonce != "" {
		m["nonce"] = c.Nonce
	}
	if u.verified != nil {
		m["email_verified"] = u.verified
	}
	return m, nil
}

type ssoFixture struct {
	*fixture
	op *mockoidc.MockOIDC
}

// newSSOFixture serves the console with single sign-on at a real OpenID
// provider (mockoidc) in the test process.
func newSSOFixture(t *testing.T, noPassword bool) *ssoFixture {
	t.Helper()
	op, err := mockoidc.Run()
	storetest.Must(t, err)
	t.Cleanup(func() { op.Shutdown() })
	op.ClientID, op.ClientSecret = "onboarder-console", "s3cret-of-the-console"

	st := storetest.Open(t, storetest.SQLiteURL(t))
	ctx := context.Background()
	tpl, err := templates.Load("")
	storetest.Must(t, err)
	clk := &clock{t: time.Now().UTC()}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := &fixture{t: t, st: st, clock: clk}
	f.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + f.srv.Listener.Addr().String()
	f.wf, err = workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"},
		PublicURL: base, Templates: tpl, Logger: log, Now: clk.Now})
	storetest.Must(t, err)
	_, err = f.wf.AddOpsUser(ctx, opsEmail, opsPassword, 4)
	storetest.Must(t, err)
	f.srv.Config.Handler = web.New(web.Options{Workflow: f.wf, Logger: log, PublicURL: base, Now: clk.Now,
		NoPasswordLogin: noPassword,
		OIDC: &web.OIDCOptions{Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: op.ClientSecret,
			Roles: map[string]string{"onboarder-admins": "admin", "onboarder-approvers": "approver", "onboarder-viewers": "viewer"}}})
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return &ssoFixture{fixture: f, op: op}
}

// ssoClient follows redirects to the provider and back, stopping at our
// own answer after the callback.
func (f *ssoFixture) ssoClient() *client {
	c := f.client()
	c.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), f.srv.URL) && !strings.HasPrefix(req.URL.Path, "/ops/login/oidc") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return c
}

// signIn starts at the login button as u and returns the callback's answer
// and the callback URL the provider sent the browser to.
func (f *ssoFixture) signIn(c *client, u *ssoUser, next string) (resp, string) {
	f.t.Helper()
	f.op.QueueUser(u)
	var callback string
	prev := c.hc.CheckRedirect
	c.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/ops/login/oidc/callback" {
			callback = req.URL.String()
		}
		return prev(req, via)
	}
	defer func() { c.hc.CheckRedirect = prev }()
	return c.get("/ops/login/oidc?next=" + url.QueryEscape(next)), callback
}

func admin() *ssoUser {
	return &ssoUser{sub: "u-1", email: "Alice@Ops.Example", verified: true, groups: []string{"onboarder-viewers", "onboarder-admins", "other"}}
}

func TestOIDCLogin(t *testing.T) {
	f := newSSOFixture(t, false)
	c := f.ssoClient()
	page := c.get("/ops/login")
	contains(t, "login page", page.Body, "Sign in with 127.0.0.1:", `id="login"`)
	r, _ := f.signIn(c, admin(), "/ops/links?status=active")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ops/links?status=active" {
		t.Fatalf("callback: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	q := c.get("/ops/")
	if q.Status != http.StatusOK {
		t.Fatalf("console after SSO: %d", q.Status)
	}
	contains(t, "console", q.Body, "alice@ops.example")
	// The session carries the highest mapped role.
	var cookie string
	u, _ := url.Parse(f.srv.URL + "/ops/")
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "onboarder_session" {
			cookie = ck.Value
		}
	}
	sess, err := f.wf.SessionOf(context.Background(), cookie)
	storetest.Must(t, err)
	if sess.Role != "admin" || !sess.SSO || sess.User.Email != "alice@ops.example" {
		t.Fatalf("session: %+v", sess)
	}
	// The user was created without a password, so the password form never lets them in.
	if _, _, err := f.wf.Login(context.Background(), "alice@ops.example", ""); err == nil {
		t.Fatal("SSO user logged in with an empty password")
	}
	audit, err := f.st.Q(context.Background()).OpsUserAudit("alice@ops.example")
	storetest.Must(t, err)
	if len(audit) != 2 || !strings.Contains(audit[0].Reason+audit[1].Reason, "logged in by single sign-on as admin") {
		t.Fatalf("audit: %+v", audit)
	}
	// A second login finds the same user; a foreign next is ignored.
	r, _ = f.signIn(f.ssoClient(), &ssoUser{sub: "u-1", email: "alice@ops.example", groups: []string{"onboarder-viewers"}}, "https://evil.example/")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ops/" {
		t.Fatalf("second login: %d %s", r.Status, r.Header.Get("Location"))
	}
	users, err := f.st.Q(context.Background()).OpsUsers()
	storetest.Must(t, err)
	if len(users) != 2 {
		t.Fatalf("ops users: %+v", users)
	}
}

func TestOIDCRefusals(t *testing.T) {
	f := newSSOFixture(t, false)
	for _, tc := range []struct {
		name   string
		user   *ssoUser
		status int
		want   string
	}{
		{"wrong audience", &ssoUser{sub: "u-2", email: "bob@ops.example", verified: true, groups: []string{"onboarder-admins"},
			mutate: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }},
			http.StatusForbidden, "could not be verified"},
		{"expired ID token", &ssoUser{sub: "u-2", email: "bob@ops.example", verified: true, groups: []string{"onboarder-admins"},
			mutate: func(c *mockoidc.IDTokenClaims) {
				c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			}},
			http.StatusForbidden, "could not be verified"},
		{"nonce mismatch", &ssoUser{sub: "u-2", email: "bob@ops.example", verified: true, groups: []string{"onboarder-admins"},
			mutate: func(c *mockoidc.IDTokenClaims) { c.Nonce = "a-nonce-of-another-login" }},
			http.StatusForbidden, "does not belong to this sign-in"},
		{"no mapped role", &ssoUser{sub: "u-3", email: "carol@ops.example", verified: true, groups: []string{"engineering"}},
			http.StatusForbidden, "none of your groups there gives access"},
		{"e-mail not verified", &ssoUser{sub: "u-4", email: "dave@ops.example", verified: false, groups: []string{"onboarder-admins"}},
			http.StatusForbidden, "no verified e-mail address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.ssoClient()
			r, _ := f.signIn(c, tc.user, "/ops/")
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			contains(t, "refusal", r.Body, tc.want)
			if g := c.get("/ops/"); g.Status != http.StatusSeeOther {
				t.Fatalf("console without a session: %d", g.Status)
			}
		})
	}
	audit, err := f.st.Q(context.Background()).OpsUserAudit("carol@ops.example")
	storetest.Must(t, err)
	if len(audit) != 1 || !strings.Contains(audit[0].Reason, "refused by single sign-on: no role mapped from groups [engineering]") {
		t.Fatalf("audit of the refusal: %+v", audit)
	}
	users, err := f.st.Q(context.Background()).OpsUsers()
	storetest.Must(t, err)
	if len(users) != 1 {
		t.Fatalf("refused logins created ops users: %+v", users)
	}
}

func TestOIDCReplayedState(t *testing.T) {
	f := newSSOFixture(t, false)
	c := f.ssoClient()
	r, callback := f.signIn(c, admin(), "/ops/")
	if r.Status != http.StatusSeeOther || callback == "" {
		t.Fatalf("login: %d %q", r.Status, callback)
	}
	// The same callback again, in the same browser: the login was used.
	c2 := f.ssoClient()
	// ... with the cookie of a login this browser started (and abandoned).
	f.op.QueueUser(admin())
	c2.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if s := c2.get("/ops/login/oidc"); s.Status != http.StatusSeeOther {
		t.Fatalf("start: %d", s.Status)
	}
	req, _ := http.NewRequest("GET", callback, nil)
	if again := c2.do(req); again.Status != http.StatusBadRequest || !strings.Contains(again.Body, "does not belong to this browser") {
		t.Fatalf("replay with another browser's login: %d %s", again.Status, again.Body)
	}
	// The replay consumed that browser's login too (the request still carries its cookie).
	if again := c2.do(req); again.Status != http.StatusBadRequest || !strings.Contains(again.Body, "used already") {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	// And in the browser that logged in: its login is gone.
	c.hc.Jar.SetCookies(mustURL(f.srv.URL+"/ops/login/oidc"), []*http.Cookie{{Name: "onboarder_oidc", Value: "x", Path: "/ops/login/oidc"}})
	if again := c.do(req); again.Status != http.StatusBadRequest {
		t.Fatalf("replay in the first browser: %d %s", again.Status, again.Body)
	}
}

// A replay with the very cookie of the first login is refused: the row is gone.
func TestOIDCReplayedStateSameCookie(t *testing.T) {
	f := newSSOFixture(t, false)
	c := f.ssoClient()
	var key string
	c.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		for _, ck := range c.hc.Jar.Cookies(mustURL(f.srv.URL + "/ops/login/oidc/callback")) {
			if ck.Name == "onboarder_oidc" {
				key = ck.Value
			}
		}
		if strings.HasPrefix(req.URL.String(), f.srv.URL) && !strings.HasPrefix(req.URL.Path, "/ops/login/oidc") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	r, callback := f.signIn(c, admin(), "/ops/")
	if r.Status != http.StatusSeeOther || key == "" {
		t.Fatalf("login: %d key %q", r.Status, key)
	}
	req, _ := http.NewRequest("GET", callback, nil)
	req.AddCookie(&http.Cookie{Name: "onboarder_oidc", Value: key})
	res, err := http.DefaultClient.Do(req)
	storetest.Must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback with the original cookie: %d", res.StatusCode)
	}
}

func TestOIDCPasswordLoginOff(t *testing.T) {
	f := newSSOFixture(t, true)
	c := f.ssoClient()
	page := c.get("/ops/login")
	contains(t, "login page", page.Body, "Sign in with", "Password login is switched off")
	lacks(t, "login page", page.Body, `id="login"`, `name="password"`)
	r := c.post("/ops/login", url.Values{"email": {opsEmail}, "password": {opsPassword}, "next": {"/ops/"}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("password POST: %d", r.Status)
	}
	if g := c.get("/ops/"); g.Status != http.StatusSeeOther {
		t.Fatalf("console after refused password login: %d", g.Status)
	}
	// Single sign-on still works.
	if r, _ := f.signIn(c, admin(), "/ops/"); r.Status != http.StatusSeeOther {
		t.Fatalf("SSO: %d %s", r.Status, r.Body)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
