// Package oauth keeps one OAuth 2.0 access token fresh for the mailbox's IMAP
// and SMTP sign-in (XOAUTH2 or OAUTHBEARER): it gets tokens from a token
// endpoint with the client-credentials grant, or with the refresh-token grant
// when a refresh token is configured (golang.org/x/oauth2), hands out the
// current token, and refreshes it before it expires. The last refresh
// failure is kept for /readyz and logged once where it happens.
//
// A Source is safe for concurrent use. Run refreshes in the background so a
// token is ready before it is needed; Token refreshes on demand as well, so
// a Source works without Run (the CLI's one-shot commands).
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults of Config.
const (
	DefaultEarlyRefresh = 5 * time.Minute
	DefaultTimeout      = 30 * time.Second
	// assumedLifetime is used for tokens whose answer names no expiry.
	assumedLifetime = 50 * time.Minute
	minRetry        = 2 * time.Second
	maxRetry        = time.Minute
)

// Config configures a Source.
type Config struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// RefreshToken selects the refresh-token grant (delegated access, as a
	// signed-in mailbox user); empty selects client credentials (the
	// application's own access).
	RefreshToken string
	// EarlyRefresh: a token is replaced when it has less than this left
	// (default 5m, at most half the token's lifetime).
	EarlyRefresh time.Duration
	// Timeout bounds one token request (default 30s).
	Timeout    time.Duration
	HTTPClient *http.Client // default: a client with Timeout
	Logger     *slog.Logger
	Now        func() time.Time // clock (default time.Now)
}

// Source hands out a valid access token.
type Source struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	cc   *clientcredentials.Config
	rt   *oauth2.Config
	http *http.Client

	mu       sync.Mutex // held during a refresh: one request at a time
	tok      *oauth2.Token
	issued   time.Time
	refresh  string // the current refresh token (the server may rotate it)
	lastErr  error
	failedAt time.Time
	fetches  int
}

// New returns a Source. It does not contact the token endpoint.
func New(cfg Config) *Source {
	if cfg.EarlyRefresh <= 0 {
		cfg.EarlyRefresh = DefaultEarlyRefresh
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	s := &Source{cfg: cfg, log: cfg.Logger, now: cfg.Now, http: cfg.HTTPClient, refresh: cfg.RefreshToken}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.RefreshToken == "" {
		s.cc = &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			TokenURL: cfg.TokenURL, Scopes: cfg.Scopes}
	} else {
		s.rt = &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL}, Scopes: cfg.Scopes}
	}
	return s
}

// Grant names the flow in use: client_credentials or refresh_token.
func (s *Source) Grant() string {
	if s.rt != nil {
		return "refresh_token"
	}
	return "client_credentials"
}

// Token returns an access token with more than the early-refresh margin
// left, fetching a new one first when needed. When a refresh fails but
// the current token has not expired yet, that token is returned (and the
// failure stays visible in Err).
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fresh() {
		return s.tok.AccessToken, nil
	}
	if err := s.fetchLocked(ctx); err != nil {
		if s.tok != nil && s.now().Before(s.expiry()) {
			return s.tok.AccessToken, nil
		}
		return "", err
	}
	return s.tok.AccessToken, nil
}

// Err reports the last refresh failure, or nil when the last attempt
// succeeded (or none was made yet): what /readyz shows.
func (s *Source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Fetches counts the token requests that succeeded (tests use it).
func (s *Source) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Run refreshes the token in the background until ctx ends: shortly
// before it would need refreshing, and after a failure with a backoff of
// 2s doubling to 1m.
func (s *Source) Run(ctx context.Context) {
	retry := minRetry
	for {
		_, err := s.Token(ctx)
		wait := retry
		if err == nil && s.Err() == nil {
			retry = minRetry
			wait = s.untilRefresh()
		} else {
			retry = min(2*retry, maxRetry)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// untilRefresh is how long the current token stays fresh.
func (s *Source) untilRefresh() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return minRetry
	}
	return max(s.refreshAt().Sub(s.now()), 100*time.Millisecond)
}

// expiry is when the current token stops working.
func (s *Source) expiry() time.Time {
	if s.tok.Expiry.IsZero() {
		return s.issued.Add(assumedLifetime)
	}
	return s.tok.Expiry
}

// refreshAt is when the current token should be replaced: EarlyRefresh
// before expiry, but not before half its lifetime.
func (s *Source) refreshAt() time.Time {
	exp := s.expiry()
	early := min(s.cfg.EarlyRefresh, exp.Sub(s.issued)/2)
	return exp.Add(-early)
}

func (s *Source) fresh() bool {
	return s.tok != nil && s.tok.AccessToken != "" && s.now().Before(s.refreshAt())
}

func (s *Source) fetchLocked(caller context.Context) error {
	ctx, cancel := context.WithTimeout(caller, s.cfg.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.http)
	var (
		tok *oauth2.Token
		err error
	)
	if s.rt != nil {
		tok, err = s.rt.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
	} else {
		tok, err = s.cc.Token(ctx)
	}
	if err == nil && tok.AccessToken == "" {
		err = errors.New("the answer holds no access_token")
	}
	if err != nil && caller.Err() != nil {
		// Our caller gave up (a shutdown): that says nothing about the
		// token endpoint, so it is neither logged nor kept as Err.
		return fmt.Errorf("getting an OAuth access token (%s): %w", s.Grant(), caller.Err())
	}
	if err != nil {
		err = fmt.Errorf("getting an OAuth access token (%s) from %s: %s", s.Grant(), s.cfg.TokenURL, describe(err))
		if s.lastErr == nil || s.lastErr.Error() != err.Error() || s.now().Sub(s.failedAt) > time.Minute {
			s.log.Error("OAuth token refresh failed", "err", err, "token_url", s.cfg.TokenURL, "grant", s.Grant())
			s.failedAt = s.now()
		}
		s.lastErr = err
		return err
	}
	if s.lastErr != nil {
		s.log.Info("OAuth token refresh works again", "token_url", s.cfg.TokenURL)
	}
	s.lastErr = nil
	s.tok, s.issued = tok, s.now()
	if tok.RefreshToken != "" {
		s.refresh = tok.RefreshToken
	}
	s.fetches++
	s.log.Debug("OAuth token refreshed", "expires_at", s.expiry().UTC().Format(time.RFC3339), "grant", s.Grant())
	return nil
}

// describe turns an oauth2 error into one line that names the server's
// error code and description, without echoing the response body at length.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := ""
		if re.Response != nil {
			msg = re.Response.Status
		}
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
		}
		if re.ErrorDescription != "" {
			msg += ": " + firstLine(re.ErrorDescription, 200)
		}
		if msg == "" {
			msg = firstLine(err.Error(), 200)
		}
		return msg
	}
	return firstLine(err.Error(), 300)
}

func firstLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
