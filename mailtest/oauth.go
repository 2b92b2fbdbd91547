package mailtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
)

// The SASL mechanisms offered when a server has a token checker.
const (
	MechXOAuth2     = "XOAUTH2"
	MechOAuthBearer = sasl.OAuthBearer
)

// TokenChecker says whether token is a valid bearer token for user now; a
// non-nil error refuses the sign-in. IMAPOptions.CheckToken and
// SMTPOptions.CheckToken take one (OAuthServer.Check is one).
type TokenChecker func(user, token string) error

// OAuthOptions configures StartOAuth.
type OAuthOptions struct {
	// ClientID and ClientSecret the token endpoint accepts (default
	// "client" / "secret"), by HTTP Basic auth or in the form.
	ClientID, ClientSecret string
	// RefreshToken, when set, is accepted by the refresh_token grant (and
	// the client_credentials grant still works).
	RefreshToken string
	// TTL is the lifetime of the tokens issued (default 1h; tests use a
	// few seconds so that a refresh happens while they run).
	TTL time.Duration
}

// OAuthServer is an in-process OAuth 2.0 token endpoint (RFC 6749
// client_credentials and refresh_token grants) that issues short-lived
// random bearer tokens and checks them for the IMAP and SMTP servers.
type OAuthServer struct {
	opts OAuthOptions
	srv  *httptest.Server

	mu      sync.Mutex
	tokens  map[string]time.Time // token → expiry
	issued  int
	failing int // answer the next n token requests with 503
	denied  bool
}

// StartOAuth starts the token endpoint on 127.0.0.1. Close it when done.
func StartOAuth(opts OAuthOptions) *OAuthServer {
	if opts.ClientID == "" {
		opts.ClientID = "client"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "secret"
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Hour
	}
	o := &OAuthServer{opts: opts, tokens: map[string]time.Time{}}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serveToken))
	return o
}

// TokenURL is the token endpoint's address.
func (o *OAuthServer) TokenURL() string { return o.srv.URL + "/token" }

// ClientID and ClientSecret are the accepted client credentials.
func (o *OAuthServer) ClientID() string     { return o.opts.ClientID }
func (o *OAuthServer) ClientSecret() string { return o.opts.ClientSecret }

// Close stops the endpoint.
func (o *OAuthServer) Close() { o.srv.Close() }

// Issued counts the tokens handed out so far.
func (o *OAuthServer) Issued() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.issued
}

// FailNext makes the next n token requests answer 503.
func (o *OAuthServer) FailNext(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failing = n
}

// Deny makes every token request answer 401 invalid_client (a revoked
// secret) until Deny(false).
func (o *OAuthServer) Deny(on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.denied = on
}

// Check accepts a token this endpoint issued that has not expired.
func (o *OAuthServer) Check(user, token string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	exp, ok := o.tokens[token]
	switch {
	case !ok:
		return errors.New("unknown token")
	case time.Now().After(exp):
		return errors.New("token expired")
	case user == "":
		return errors.New("no user")
	}
	return nil
}

func (o *OAuthServer) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "mailtest: " + code})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		fail(http.StatusNotFound, "invalid_request")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failing > 0 {
		o.failing--
		fail(http.StatusServiceUnavailable, "temporarily_unavailable")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if o.denied || id != o.opts.ClientID || secret != o.opts.ClientSecret {
		fail(http.StatusUnauthorized, "invalid_client")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
	case "refresh_token":
		if o.opts.RefreshToken == "" || r.PostForm.Get("refresh_token") != o.opts.RefreshToken {
			fail(http.StatusBadRequest, "invalid_grant")
			return
		}
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := "mt-" + hex.EncodeToString(b)
	o.tokens[tok] = time.Now().Add(o.opts.TTL)
	o.issued++
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	secs := int(o.opts.TTL.Round(time.Second) / time.Second)
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": max(secs, 1)})
}

// bearerError is the JSON challenge a failed XOAUTH2 or OAUTHBEARER
// sign-in gets before the server says no (RFC 7628 section 3.2.2).
var bearerError = []byte(`{"status":"401","schemes":"bearer"}`)

// xoauth2Server is the server side of XOAUTH2 (Google's and Microsoft's
// "user=U\x01auth=Bearer T\x01\x01").
type xoauth2Server struct {
	check  TokenChecker
	login  func(user string) error
	failed error
	asked  bool
}

func (s *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if s.failed != nil {
		return nil, true, s.failed
	}
	if resp == nil && !s.asked {
		s.asked = true
		return []byte{}, false, nil
	}
	user, token, err := parseXOAuth2(resp)
	if err == nil {
		err = s.check(user, token)
	}
	if err == nil {
		err = s.login(user)
	}
	if err != nil {
		s.failed = fmt.Errorf("XOAUTH2 sign-in refused: %w", err)
		return bearerError, false, nil
	}
	return nil, true, nil
}

func parseXOAuth2(b []byte) (user, token string, err error) {
	for _, f := range bytes.Split(b, []byte{1}) {
		k, v, _ := strings.Cut(string(f), "=")
		switch k {
		case "user":
			user = v
		case "auth":
			if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
				return "", "", errors.New("no bearer token")
			}
			token = v[7:]
		}
	}
	if user == "" || token == "" {
		return "", "", errors.New("malformed XOAUTH2 response")
	}
	return user, token, nil
}

// oauthSASL returns the SASL server for mech, or nil when mech is not an
// OAuth mechanism. login is called with the user once the token checks out.
func oauthSASL(mech string, check TokenChecker, login func(user string) error, onOK func(mech string)) sasl.Server {
	switch strings.ToUpper(mech) {
	case MechXOAuth2:
		return &xoauth2Server{check: check, login: func(u string) error {
			if err := login(u); err != nil {
				return err
			}
			onOK(MechXOAuth2)
			return nil
		}}
	case MechOAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if err := check(o.Username, o.Token); err != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			if err := login(o.Username); err != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			onOK(MechOAuthBearer)
			return nil
		})
	}
	return nil
}

// signIns counts successful sign-ins by SASL mechanism (PLAIN included).
type signIns struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *signIns) add(mech string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[strings.ToUpper(mech)]++
}

func (c *signIns) get(mech string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[strings.ToUpper(mech)]
}

// SignIns counts the successful AUTH exchanges by mechanism ("PLAIN",
// "XOAUTH2", "OAUTHBEARER").
func (s *SMTPServer) SignIns(mech string) int { return s.signIns.get(mech) }
