package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/onboarder/onboarder/workflow"
)

// Single sign-on with OpenID Connect: the authorization code flow with
// PKCE (S256), state and nonce, the ID token verified by go-oidc (signature
// against the provider's keys, issuer, audience = our client ID, expiry).
//
// What the browser must bring back is kept server-side (workflow.BeginSSO,
// a database row) and bound to the browser by a random key in a short-lived
// HttpOnly, SameSite=Lax cookie scoped to /ops/login/oidc; the row holds
// the state, the nonce, the PKCE verifier and where to go afterwards, and
// only the key's hash names it. The callback deletes the row before it does
// anything else, so each started login is finished at most once on any
// worker (a replayed callback URL finds nothing), and a callback URL
// without the cookie of the browser that started it (login CSRF) too.
//
// The person's role comes from the ID token's role claim mapped by
// OIDCOptions.Roles; the highest mapped value of a list counts; none is a
// 403, audited. The session carries that role (workflow.Session.Role).

// OIDCOptions configure single sign-on; nil Options.OIDC has none.
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string // "": a public client (PKCE only)
	// RoleClaim names the ID token claim (a string or a list of strings)
	// that Roles maps to console roles (default "groups").
	RoleClaim string
	// Roles maps claim values to viewer, approver or admin.
	Roles map[string]string
	// HTTPClient makes the requests to the provider (default: one with a
	// 10s timeout).
	HTTPClient *http.Client
}

// roleRank orders the console roles; a list claim takes the highest.
var roleRank = map[string]int{"viewer": 1, "approver": 2, "admin": 3}

const (
	oidcCookie     = "onboarder_oidc"
	oidcCookiePath = "/ops/login/oidc"
)

type oidcClient struct {
	opts     OIDCOptions
	redirect string
	mu       sync.Mutex
	provider *oidc.Provider // discovered at the first use
}

func newOIDCClient(o *OIDCOptions, publicURL string) *oidcClient {
	if o == nil || o.Issuer == "" {
		return nil
	}
	c := &oidcClient{opts: *o, redirect: strings.TrimRight(publicURL, "/") + "/ops/login/oidc/callback"}
	if c.opts.RoleClaim == "" {
		c.opts.RoleClaim = "groups"
	}
	if c.opts.HTTPClient == nil {
		c.opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return c
}

// name is what the login page's button says: the issuer's host.
func (c *oidcClient) name() string {
	if u, err := url.Parse(c.opts.Issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return c.opts.Issuer
}

func (c *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.opts.HTTPClient)
}

// setup discovers the provider once (a failure is tried again next time)
// and returns the OAuth 2.0 configuration.
func (c *oidcClient) setup(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider == nil {
		dctx, cancel := context.WithTimeout(c.ctx(ctx), 15*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(dctx, c.opts.Issuer)
		if err != nil {
			return nil, nil, err
		}
		c.provider = p
	}
	return c.provider, &oauth2.Config{ClientID: c.opts.ClientID, ClientSecret: c.opts.ClientSecret,
		Endpoint: c.provider.Endpoint(), RedirectURL: c.redirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

// role maps the role claim (a string or a list) to the highest console
// role; "" when no value is mapped.
func (c *oidcClient) role(claims map[string]any) (string, []string) {
	var values []string
	switch v := claims[c.opts.RoleClaim].(type) {
	case string:
		values = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
	}
	best := ""
	for _, v := range values {
		if r := c.opts.Roles[v]; roleRank[r] > roleRank[best] {
			best = r
		}
	}
	return best, values
}

func (s *Server) routeOIDC() {
	s.mux.HandleFunc("GET /ops/login/oidc", s.oidcStart)
	s.mux.HandleFunc("GET /ops/login/oidc/callback", s.oidcCallback)
}

func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "sso.none")
		return
	}
	_, cfg, err := s.oidc.setup(r.Context())
	if err != nil {
		s.log.Error("single sign-on: discovering the provider", "issuer", s.oidc.opts.Issuer, "err", err)
		s.opsError(w, r, http.StatusBadGateway, "sso.unavailable", "sso.unreachable")
		return
	}
	b, err := s.wf.BeginSSO(r.Context(), safeNext(r.URL.Query().Get("next")))
	if err != nil {
		s.log.Error("single sign-on: starting", "err", err)
		s.opsError(w, r, http.StatusInternalServerError, "err.title", "sso.notstarted")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: b.Key, Path: oidcCookiePath, HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(workflow.SSOLoginTTL / time.Second)})
	http.Redirect(w, r, cfg.AuthCodeURL(b.State, oidc.Nonce(b.Nonce), oauth2.S256ChallengeOption(b.Verifier)), http.StatusSeeOther)
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "sso.none")
		return
	}
	ctx := r.Context()
	refuse := func(status int, msg, why string, args ...any) {
		s.log.Warn("single sign-on refused: "+why, append(args, "client", s.clientAddr(r))...)
		s.opsError(w, r, status, "sso.notsignedin", msg)
	}
	lang := consoleLang(r)
	again := " " + lang.T("sso.again")
	c, err := r.Cookie(oidcCookie)
	// The started login is used once, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: oidcCookiePath, HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if err != nil {
		refuse(http.StatusBadRequest, lang.T("sso.nocookie")+again, "no login cookie")
		return
	}
	l, err := s.wf.TakeSSO(ctx, c.Value)
	if errors.Is(err, workflow.ErrNotFound) {
		refuse(http.StatusBadRequest, lang.T("sso.used")+again, "unknown, used or expired login")
		return
	}
	if err != nil {
		s.log.Error("single sign-on: loading the started login", "err", err)
		s.opsError(w, r, http.StatusInternalServerError, "err.title", "sso.notchecked")
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.State)) != 1 {
		refuse(http.StatusBadRequest, lang.T("sso.state")+again, "state mismatch")
		return
	}
	if e := q.Get("error"); e != "" {
		refuse(http.StatusForbidden, lang.F("sso.providererror", e)+again, "provider error", "error", e,
			"error_description", q.Get("error_description"))
		return
	}
	provider, cfg, err := s.oidc.setup(ctx)
	if err != nil {
		s.log.Error("single sign-on: discovering the provider", "issuer", s.oidc.opts.Issuer, "err", err)
		s.opsError(w, r, http.StatusBadGateway, "sso.unavailable", "sso.unreachable")
		return
	}
	pctx := s.oidc.ctx(ctx)
	tok, err := cfg.Exchange(pctx, q.Get("code"), oauth2.VerifierOption(l.Verifier))
	if err != nil {
		refuse(http.StatusBadGateway, lang.T("sso.exchange")+again, "code exchange failed", "err", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse(http.StatusBadGateway, lang.T("sso.noidtoken")+again, "no id_token")
		return
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: s.oidc.opts.ClientID, Now: s.opts.Now}).Verify(pctx, raw)
	if err != nil {
		refuse(http.StatusForbidden, lang.T("sso.unverified")+again, "ID token rejected", "err", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		refuse(http.StatusForbidden, lang.T("sso.nonce")+again, "nonce mismatch")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		refuse(http.StatusForbidden, lang.T("sso.claims")+again, "claims unreadable", "err", err)
		return
	}
	email, _ := claims["email"].(string)
	email = strings.ToLower(strings.TrimSpace(email))
	if v, present := claims["email_verified"]; email == "" || (present && v != true) {
		if email != "" {
			s.audit(ctx, email, "e-mail address not verified by the provider")
		}
		refuse(http.StatusForbidden, lang.T("sso.noemail"),
			"no verified e-mail address", "subject", idt.Subject)
		return
	}
	role, values := s.oidc.role(claims)
	if role == "" {
		s.audit(ctx, email, "no role mapped from "+s.oidc.opts.RoleClaim+" ["+strings.Join(values, ", ")+"]")
		refuse(http.StatusForbidden, lang.F("sso.norole", email),
			"no mapped role", "ops_user", email, "claim", s.oidc.opts.RoleClaim, "values", values)
		return
	}
	token, u, err := s.wf.SSOLogin(ctx, workflow.SSOIdentity{Email: email, Role: role, Issuer: idt.Issuer, Subject: idt.Subject})
	if errors.Is(err, workflow.ErrBadLogin) {
		refuse(http.StatusForbidden, lang.F("sso.disabled", email), "ops user disabled", "ops_user", email)
		return
	}
	if err != nil {
		s.log.Error("single sign-on: starting the session", "ops_user", email, "err", err)
		s.opsError(w, r, http.StatusInternalServerError, "err.title", "sso.nosession")
		return
	}
	s.log.Info("ops user logged in by single sign-on", "ops_user", u.Email, "role", role, "client", s.clientAddr(r))
	s.startSession(w, token)
	s.keepLangAtLogin(w, r, u)
	http.Redirect(w, r, safeNext(l.Next), http.StatusSeeOther)
}

func (s *Server) audit(ctx context.Context, email, why string) {
	if err := s.wf.SSORefused(ctx, email, why); err != nil {
		s.log.Error("single sign-on: auditing a refusal", "ops_user", email, "err", err)
	}
}
