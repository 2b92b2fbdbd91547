// Package directory is the client of the platform's organization directory,
// an HTTP API shaped like the Resource Manager: GET {base}/v2/organizations/{id}
// answers an organization (organizationId, containerId, name,
// lifecycleState, labels) for either its UUID or its container ID, and POST
// {base}/v2/organizations creates one (name, labels, members) once per
// Idempotency-Key.
//
// The client sends a bearer token, bounds every request with a timeout,
// retries 5xx and 429 answers (honouring Retry-After) and network errors a
// few times, and keeps answers for a short while. It tells three outcomes
// apart: the organization, ErrNotFound (the directory says there is no such
// organization), and ErrUnavailable (the directory could not be asked: down,
// overloaded, or refusing our token) so that callers can wait instead of
// rejecting.
package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultRetries  = 3
	DefaultCacheTTL = time.Minute
	// maxRetryAfter caps how long one Retry-After is honoured; a longer one
	// makes the lookup fail as unavailable at once (the next pass retries).
	maxRetryAfter = 30 * time.Second
	maxBodyBytes  = 1 << 20
	maxCached     = 10000
)

// Errors of Organization.
var (
	// ErrNotFound: the directory answered that no such organization exists.
	ErrNotFound = errors.New("organization not in the directory")
	// ErrUnavailable: the directory could not answer (the error wraps it).
	ErrUnavailable = errors.New("organization directory unavailable")
)

// Lifecycle states of the Resource Manager.
const (
	StateActive   = "ACTIVE"
	StateCreating = "CREATING"
	StateDeleting = "DELETING"
	StateInactive = "INACTIVE"
)

// Organization is one directory entry.
type Organization struct {
	ID             string            `json:"organizationId"` // UUID, lower case
	ContainerID    string            `json:"containerId"`    // readable ID ending in -organization
	Name           string            `json:"name"`
	LifecycleState string            `json:"lifecycleState"`
	Labels         map[string]string `json:"labels"`
}

// Active reports whether the organization is in use (lifecycleState ACTIVE).
func (o Organization) Active() bool { return strings.EqualFold(o.LifecycleState, StateActive) }

// Config configures a Client.
type Config struct {
	BaseURL  string        // e.g. https://resource-manager.api.example.com (without /v2)
	Token    string        // bearer token; empty sends none
	Timeout  time.Duration // per request (default 10s)
	Retries  int           // further attempts after a 5xx, 429 or network error (default 3; <0 none)
	CacheTTL time.Duration // how long answers are kept (default 1m; <0 no cache)
	// MinBackoff is the first wait between attempts without Retry-After
	// (default 250ms, doubling, with jitter).
	MinBackoff time.Duration
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Client asks the directory. Safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
	log  *slog.Logger
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	org     Organization
	missing bool
	until   time.Time
}

// New checks the configuration and returns a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("directory: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	c := &Client{cfg: cfg, base: u, http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now, cache: map[string]cached{}}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Organization looks up an organization by UUID or container ID.
func (c *Client) Organization(ctx context.Context, id string) (Organization, error) {
	key := strings.ToLower(strings.TrimSpace(id))
	if key == "" || len(key) > 200 {
		return Organization{}, ErrNotFound
	}
	if o, missing, ok := c.cached(key); ok {
		if missing {
			return Organization{}, ErrNotFound
		}
		return o, nil
	}
	o, err := c.fetch(ctx, key)
	switch {
	case err == nil:
		c.store(key, cached{org: o})
		c.store(strings.ToLower(o.ID), cached{org: o})
		if o.ContainerID != "" {
			c.store(strings.ToLower(o.ContainerID), cached{org: o})
		}
	case errors.Is(err, ErrNotFound):
		c.store(key, cached{missing: true})
	}
	return o, err
}

// Check asks the directory for an organization that does not exist and
// expects a 404 (or a 200): the URL, the network path and the token work.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.fetch(ctx, "00000000-0000-0000-0000-000000000000")
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (c *Client) cached(key string) (Organization, bool, bool) {
	if c.cfg.CacheTTL < 0 {
		return Organization{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok || c.now().After(e.until) {
		return Organization{}, false, false
	}
	return e.org, e.missing, true
}

func (c *Client) store(key string, e cached) {
	if c.cfg.CacheTTL < 0 {
		return
	}
	e.until = c.now().Add(c.cfg.CacheTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= maxCached {
		now := c.now()
		for k, v := range c.cache {
			if now.After(v.until) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCached {
			clear(c.cache)
		}
	}
	c.cache[key] = e
}

// fetch runs the GET with retries.
func (c *Client) fetch(ctx context.Context, id string) (Organization, error) {
	u := c.base.JoinPath("v2", "organizations", id).String()
	return c.retried(ctx, "looking up "+id, func() (Organization, time.Duration, error) {
		return c.once(ctx, http.MethodGet, u, nil, "")
	})
}

// retried calls try until it succeeds, answers ErrNotFound, or retrying
// cannot help: at most Retries more times, after the server's Retry-After
// or an exponential backoff with jitter, never longer than maxRetryAfter.
// A failure wraps ErrUnavailable; what says what was being done.
func (c *Client) retried(ctx context.Context, what string, try func() (Organization, time.Duration, error)) (Organization, error) {
	var last error
	for attempt := 0; ; attempt++ {
		o, retryAfter, err := try()
		if err == nil || errors.Is(err, ErrNotFound) {
			return o, err
		}
		last = err
		if retryAfter < 0 || attempt >= c.cfg.Retries || ctx.Err() != nil {
			break
		}
		wait := retryAfter
		if wait == 0 {
			wait = c.cfg.MinBackoff << attempt
			wait += time.Duration(rand.Int64N(int64(wait)/2 + 1))
		}
		if wait > maxRetryAfter {
			break
		}
		c.log.Debug("directory call retried", "what", what, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Organization{}, fmt.Errorf("%w: %s: %w", ErrUnavailable, what, ctx.Err())
		case <-t.C:
		}
	}
	return Organization{}, fmt.Errorf("%w: %s: %w", ErrUnavailable, what, last)
}

// once is one request: a GET of an organization, or (with body and an
// idempotency key) a POST creating one. retryAfter is the server's
// Retry-After (0 when none), or -1 when retrying cannot help.
func (c *Client) once(ctx context.Context, method, u string, body []byte, key string) (Organization, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return Organization{}, -1, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Organization{}, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return Organization{}, 0, fmt.Errorf("reading the answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK || (method == http.MethodPost && resp.StatusCode == http.StatusCreated):
	case resp.StatusCode == http.StatusNotFound && method == http.MethodGet:
		return Organization{}, 0, ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Organization{}, retryAfter(resp.Header.Get("Retry-After"), c.now()), fmt.Errorf("HTTP %s", resp.Status)
	case method == http.MethodPost: // the directory says what was wrong with the new organization
		return Organization{}, -1, fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(data[:min(len(data), 300)])))
	default: // 400, 401, 403, …: our request or token is wrong; asking again will not help
		return Organization{}, -1, fmt.Errorf("HTTP %s: check ONBOARDER_DIRECTORY_URL and the token", resp.Status)
	}
	if len(data) > maxBodyBytes {
		return Organization{}, -1, fmt.Errorf("answer larger than %d bytes", maxBodyBytes)
	}
	var o Organization
	if err := json.Unmarshal(data, &o); err != nil {
		return Organization{}, -1, fmt.Errorf("answer is not an organization: %w", err)
	}
	o.ID = strings.ToLower(strings.TrimSpace(o.ID))
	if o.ID == "" {
		return Organization{}, -1, errors.New("answer has no organizationId")
	}
	return o, 0, nil
}

// retryAfter reads delay-seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return max(time.Duration(n)*time.Second, time.Millisecond)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), time.Millisecond)
	}
	return 0
}

// Member is one member of a new organization: a subject (an e-mail
// address) with its role.
type Member struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// RoleOwner is the role of a new organization's administrator.
const RoleOwner = "organization.owner"

// NewOrganization is what CreateOrganization sends: the Resource Manager's
// create body.
type NewOrganization struct {
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels,omitempty"`
	Members []Member          `json:"members"`
}

// HeaderIdempotencyKey names the key that makes a create idempotent: the
// directory creates one organization per key, however often it is sent.
const HeaderIdempotencyKey = "Idempotency-Key"

// CreateOrganization creates an organization with POST
// {base}/v2/organizations, retrying like a lookup; key makes the retries
// (and any later call with the same key) create one organization. It
// returns the directory's organization, or an error wrapping
// ErrUnavailable.
func (c *Client) CreateOrganization(ctx context.Context, o NewOrganization, key string) (Organization, error) {
	if strings.TrimSpace(key) == "" {
		return Organization{}, errors.New("directory: creating an organization needs an idempotency key")
	}
	body, err := json.Marshal(o)
	if err != nil {
		return Organization{}, err
	}
	u := c.base.JoinPath("v2", "organizations").String()
	org, err := c.retried(ctx, "creating "+o.Name, func() (Organization, time.Duration, error) {
		return c.once(ctx, http.MethodPost, u, body, key)
	})
	if err != nil {
		return Organization{}, err
	}
	c.store(strings.ToLower(org.ID), cached{org: org})
	return org, nil
}
