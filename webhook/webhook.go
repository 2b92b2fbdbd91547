// Package webhook delivers the webhook outbox: the events the workflow
// writes into the webhook_events table in the same transaction as each
// request and link transition. Each event is POSTed as JSON to one URL,
// signed with HMAC-SHA256 over the body, with the outbox's guarantees: rows
// are claimed with a lease (several workers share the table), the attempt is
// recorded before the request, 5xx, 408, 429 and network errors are retried
// with exponential backoff (a Retry-After is honoured), other 4xx answers
// and too many attempts fail the row, and a 2xx marks it sent.
//
// Headers of every delivery:
//
//	Content-Type: application/json
//	X-Onboarder-Event: request.pending_approval
//	X-Onboarder-Delivery: evt_…   (the event's id; the same on every attempt)
//	X-Onboarder-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>
//
// A receiver recomputes the HMAC over the raw body and compares it in
// constant time; it should treat the delivery id as an idempotency key, since
// an event whose 2xx was lost (a crash after the POST) is sent again.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultBatch        = 50
	DefaultLease        = 2 * time.Minute
	DefaultMaxAttempts  = 15
	DefaultMinBackoff   = 10 * time.Second
	DefaultMaxBackoff   = time.Hour
	DefaultPollInterval = 30 * time.Second
)

// Header names.
const (
	HeaderEvent     = "X-Onboarder-Event"
	HeaderDelivery  = "X-Onboarder-Delivery"
	HeaderSignature = "X-Onboarder-Signature-256"
)

// Delivery results counted by Metrics.Delivered.
const (
	ResultSent     = "sent"
	ResultRetry    = "retry"
	ResultFailed   = "failed"
	storeTimeout   = 30 * time.Second
	maxRetryAfter  = time.Hour
	maxAnswerBytes = 4 << 10
)

// Counter is what a Prometheus counter does for us.
type Counter interface{ Inc() }

// Metrics count deliveries by result (sent, retry, failed); nil records nothing.
type Metrics struct {
	Delivered func(result string) Counter
}

func (m *Metrics) inc(result string) {
	if m != nil && m.Delivered != nil {
		if c := m.Delivered(result); c != nil {
			c.Inc()
		}
	}
}

// Config configures a Dispatcher.
type Config struct {
	URL          string // where events are POSTed (http or https)
	Secret       string // HMAC-SHA256 key; required
	Timeout      time.Duration
	Holder       string // lease holder id of this worker
	Batch        int
	Lease        time.Duration
	MaxAttempts  int
	MinBackoff   time.Duration
	MaxBackoff   time.Duration
	PollInterval time.Duration
	HTTPClient   *http.Client
	Logger       *slog.Logger
	Metrics      *Metrics
	Now          func() time.Time
}

// Result counts what one flush did.
type Result struct{ Sent, Deferred, Failed int }

// Dispatcher delivers webhook events.
type Dispatcher struct {
	st   *store.Store
	cfg  Config
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
	kick chan struct{}
}

// New checks the configuration and returns a dispatcher.
func New(st *store.Store, cfg Config) (*Dispatcher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Secret == "" {
		return nil, errors.New("webhook: no secret to sign with")
	}
	if st == nil {
		return nil, errors.New("webhook: no store")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.Lease, DefaultLease)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.PollInterval, DefaultPollInterval)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Holder == "" {
		cfg.Holder = "webhook-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	d := &Dispatcher{st: st, cfg: cfg, http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now, kick: make(chan struct{}, 1)}
	if d.http == nil {
		d.http = &http.Client{Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not a delivery
		}}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Sign returns the X-Onboarder-Signature-256 value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature with secret (for receivers and tests).
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Kick wakes Run up now; it never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// FlushOnce tries every due event once.
func (d *Dispatcher) FlushOnce(ctx context.Context) (Result, error) {
	var res Result
	seen := map[int64]bool{}
	for ctx.Err() == nil {
		rows, err := d.st.ClaimWebhooks(ctx, d.cfg.Holder, d.cfg.Batch, d.cfg.Lease, d.now())
		if err != nil {
			return res, err
		}
		if len(rows) == 0 {
			return res, nil
		}
		again := true
		for _, row := range rows {
			if seen[row.ID] {
				again = false
			}
			seen[row.ID] = true
			switch d.deliver(ctx, row) {
			case ResultSent:
				res.Sent++
			case ResultRetry:
				res.Deferred++
			case ResultFailed:
				res.Failed++
			}
		}
		if !again {
			return res, nil
		}
	}
	return res, ctx.Err()
}

// Run delivers until ctx ends: at once when kicked, when the next retry is
// due, and every PollInterval. The delivery in flight is finished first.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		if _, err := d.FlushOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("webhook flush failed", "err", err)
		}
		wait := d.cfg.PollInterval
		if due, ok, err := d.st.NextWebhookDue(ctx); err == nil && ok {
			wait = min(wait, max(due.Sub(d.now()), 50*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// deliver POSTs one event and records the outcome.
func (d *Dispatcher) deliver(ctx context.Context, row store.WebhookEvent) string {
	retryAfter, err := d.post(ctx, row)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	log := d.log.With("webhook_id", row.ID, "event", row.Type, "delivery", row.EventID, "attempt", row.Attempts)
	var perm *permanentError
	var serr error
	result := ResultSent
	switch {
	case err == nil:
		serr = d.st.MarkWebhookSent(sctx, row.ID, d.cfg.Holder, d.now())
		log.Debug("webhook delivered")
	case errors.As(err, &perm), row.Attempts >= d.cfg.MaxAttempts:
		result = ResultFailed
		serr = d.st.MarkWebhookFailed(sctx, row.ID, d.cfg.Holder, err.Error())
		log.Error("webhook delivery failed for good", "err", err)
	default:
		result = ResultRetry
		next := d.now().Add(max(d.backoff(row.Attempts), min(retryAfter, maxRetryAfter)))
		serr = d.st.MarkWebhookRetry(sctx, row.ID, d.cfg.Holder, next, err.Error())
		log.Warn("webhook delivery deferred", "err", err, "next_attempt_at", next.UTC().Format(time.RFC3339))
	}
	if serr != nil {
		log.Error("recording the webhook delivery failed", "err", serr)
	}
	d.cfg.Metrics.inc(result)
	return result
}

// permanentError is an answer that retrying cannot change.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func (d *Dispatcher) post(ctx context.Context, row store.WebhookEvent) (time.Duration, error) {
	body := []byte(row.Payload)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "onboarder-webhook/1")
	req.Header.Set(HeaderEvent, row.Type)
	req.Header.Set(HeaderDelivery, row.EventID)
	req.Header.Set(HeaderSignature, Sign(d.cfg.Secret, body))
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting to %s: %w", redact(d.cfg.URL), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	msg := fmt.Sprintf("%s answered %s", redact(d.cfg.URL), resp.Status)
	if a := strings.TrimSpace(strings.ToValidUTF8(string(answer), "?")); a != "" {
		msg += ": " + strings.Join(strings.Fields(a[:min(len(a), 200)]), " ")
	}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return 0, nil
	case c >= 500, c == http.StatusRequestTimeout, c == http.StatusTooEarly, c == http.StatusTooManyRequests:
		return retryAfter(resp.Header.Get("Retry-After")), errors.New(msg)
	default:
		return 0, &permanentError{msg}
	}
}

// backoff after attempt n (1-based): MinBackoff·2^(n-1), capped, ±20% jitter.
func (d *Dispatcher) backoff(n int) time.Duration {
	b := d.cfg.MinBackoff
	for i := 1; i < n && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	j := time.Duration(mrand.Int64N(int64(b)/5 + 1))
	return b - b/10 + j
}

func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// redact drops user info and query from a URL for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook URL"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
