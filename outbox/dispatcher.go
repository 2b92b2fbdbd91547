package outbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/onboarder/onboarder/config/defaults"
	"github.com/onboarder/onboarder/store"
)

// TLSMode says how the connection to the SMTP server is secured.
type TLSMode string

// TLS modes.
const (
	TLSImplicit TLSMode = "tls"      // smtps: TLS from the first byte (port 465)
	TLSStartTLS TLSMode = "starttls" // smtp: STARTTLS required (port 587)
	TLSNone     TLSMode = "none"     // plaintext (tests, local relays)
)

// Defaults of the Config fields that no setting controls. Timeout, Connections and Lease
// come from settings (ONBOARDER_SMTP_TIMEOUT, …); the composition root always passes them,
// and their fallbacks are the settings' defaults in config/defaults, not copies here.
const (
	DefaultBatch        = 50
	DefaultMaxAttempts  = 12
	DefaultMinBackoff   = 30 * time.Second
	DefaultMaxBackoff   = time.Hour
	DefaultPollInterval = 30 * time.Second
)

// storeTimeout bounds the bookkeeping after a send, which runs even while
// the dispatcher is stopping.
const storeTimeout = 30 * time.Second

// minWait keeps Run from spinning when a row is due but cannot be claimed.
const minWait = 50 * time.Millisecond

// Config configures a Dispatcher. Zero values take the defaults: for a field that a
// setting controls, the setting's default (config/defaults), so a dispatcher built without
// the composition root (tests) behaves as a worker with nothing set.
type Config struct {
	Addr      string // host:port of the SMTP server (port defaults to 465 for tls, 587 otherwise)
	TLS       TLSMode
	TLSConfig *tls.Config // nil: system roots, TLS 1.2+, ServerName from Addr

	// Username and Password: SMTP AUTH when Username is set (SCRAM, CRAM-MD5,
	// PLAIN or LOGIN, the first the server offers).
	Username, Password string
	// Token, when set with Username, signs in with OAuth 2.0 instead of the
	// password: AUTH OAUTHBEARER when the server offers it, else XOAUTH2
	// (Microsoft 365, Gmail), with the access token Token returns. It is
	// asked once per connection, so a refreshed token is used as soon as
	// it exists.
	Token func(ctx context.Context) (string, error)

	// Timeout bounds each connection and command (ONBOARDER_SMTP_TIMEOUT; zero: its default).
	Timeout time.Duration
	Holder  string // this worker's lease holder id (default hostname-pid-random)
	Batch   int    // rows claimed at once and sent over one connection (default 50)
	// Connections is how many batches are sent at once, each over its own connection
	// (ONBOARDER_SMTP_CONNECTIONS; zero: its default; at most its maximum,
	// defaults.MaxSMTPConnections).
	Connections int
	// Lease: a row claimed by a worker that died is retried after this
	// (ONBOARDER_OUTBOX_LEASE; zero: its default).
	Lease        time.Duration
	MaxAttempts  int           // after this many attempts a temporary failure becomes failed (default 12)
	MinBackoff   time.Duration // first retry delay (default 30s)
	MaxBackoff   time.Duration // longest retry delay (default 1h)
	PollInterval time.Duration // Run's fallback wake-up (default 30s)
	LoopHeader   string        // X-Onboarder-Loop value on every mail (our mailbox address)

	Logger  *slog.Logger
	Metrics *Metrics         // optional
	Now     func() time.Time // clock (default time.Now); tests move it
}

// Result counts what one flush did with the rows it claimed.
type Result struct{ Sent, Deferred, Failed int }

func (r *Result) add(o Result) { r.Sent += o.Sent; r.Deferred += o.Deferred; r.Failed += o.Failed }

// Dispatcher sends the outbox. One per worker; several workers (or a
// worker and `outbox flush`) may share a database.
type Dispatcher struct {
	st     *store.Store
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	host   string
	port   int
	cfgErr error
	kick   chan struct{}
}

// New makes a dispatcher. A configuration error is returned by the first
// FlushOnce or Run.
func New(st *store.Store, cfg Config) *Dispatcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaults.SMTPTimeout
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Connections <= 0 {
		cfg.Connections = defaults.SMTPConnections
	}
	cfg.Connections = min(cfg.Connections, defaults.MaxSMTPConnections)
	if cfg.Lease <= 0 {
		cfg.Lease = defaults.OutboxLease
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Holder == "" {
		cfg.Holder = defaultHolder()
	}
	d := &Dispatcher{st: st, cfg: cfg, log: cfg.Logger, now: cfg.Now, kick: make(chan struct{}, 1)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.host, d.port, d.cfgErr = splitAddr(cfg.Addr, cfg.TLS)
	if d.cfgErr == nil && st == nil {
		d.cfgErr = errors.New("outbox: no store")
	}
	return d
}

func splitAddr(addr string, mode TLSMode) (string, int, error) {
	port := 587
	switch mode {
	case TLSImplicit:
		port = 465
	case TLSStartTLS, TLSNone:
	default:
		return "", 0, fmt.Errorf("outbox: unknown TLS mode %q (want tls, starttls or none)", mode)
	}
	if addr == "" {
		return "", 0, errors.New("outbox: no SMTP address")
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, port, nil // a bare host
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("outbox: bad port in SMTP address %q", addr)
	}
	if host == "" {
		return "", 0, fmt.Errorf("outbox: no host in SMTP address %q", addr)
	}
	return host, n, nil
}

func defaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Holder is the lease holder id this dispatcher claims rows with.
func (d *Dispatcher) Holder() string { return d.cfg.Holder }

// Kick wakes Run up now (it never blocks); the workflow calls it after
// committing new outbox rows.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// FlushOnce tries every due row once now: it claims batches until none is
// due, sending up to Connections batches at once (one SMTP connection
// each; a second one only once a claim came back full, so a few due mails
// cost one connection). A row deferred during this flush is not tried again
// in it. If ctx ends, the mails in flight are finished, the rest of their
// batches are released, and ctx's error is returned with the counts so far.
func (d *Dispatcher) FlushOnce(ctx context.Context) (Result, error) {
	if d.cfgErr != nil {
		return Result{}, d.cfgErr
	}
	return d.flush(ctx)
}

func (d *Dispatcher) flush(ctx context.Context) (Result, error) {
	f := &flushRun{d: d, ctx: ctx, seen: map[int64]bool{}}
	f.grow()
	f.wg.Wait()
	return f.res, f.err
}

// flushRun is one flush: up to Connections lanes, each claiming a batch and
// sending it over its own connection (sendBatch), until a claim brings
// nothing new. A lane owns its batch: its rows, its connection and its
// unrecorded sent marks are never shared, so a broken connection, a
// classified error or a lost lease only concerns that lane's batch.
type flushRun struct {
	d   *Dispatcher
	ctx context.Context
	wg  sync.WaitGroup

	// claimMu makes claims one at a time (with their check against seen):
	// a row is claimed into one batch only, and a row deferred during this
	// flush is not tried again in it, whichever lane claims it.
	claimMu sync.Mutex
	seen    map[int64]bool

	mu     sync.Mutex // guards what follows
	active int        // lanes running
	res    Result
	err    error // first claim error or ctx's error: no lane claims again
}

// grow starts another lane unless Connections are already running or the
// flush is ending.
func (f *flushRun) grow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active >= f.d.cfg.Connections || f.err != nil {
		return
	}
	f.active++
	f.wg.Add(1)
	go f.lane()
}

func (f *flushRun) lane() {
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
		f.wg.Done()
	}()
	for {
		rows, claimedAt, full, err := f.claim()
		if err != nil {
			f.mu.Lock()
			if f.err == nil {
				f.err = err
			}
			f.mu.Unlock()
			return
		}
		if len(rows) == 0 {
			return
		}
		if full {
			// More may be due: send the next batch alongside this one.
			f.grow()
		}
		res := f.d.sendBatch(f.ctx, rows, claimedAt)
		f.mu.Lock()
		f.res.add(res)
		f.mu.Unlock()
	}
}

// claim takes the next batch: the rows not yet tried in this flush, and
// whether the claim was full (Batch rows).
func (f *flushRun) claim() (fresh []store.OutboxMail, claimedAt time.Time, full bool, err error) {
	f.claimMu.Lock()
	defer f.claimMu.Unlock()
	f.mu.Lock()
	stopped := f.err != nil
	f.mu.Unlock()
	if stopped {
		return nil, time.Time{}, false, nil
	}
	if err := f.ctx.Err(); err != nil {
		return nil, time.Time{}, false, err
	}
	d := f.d
	claimedAt = d.now()
	rows, err := d.st.ClaimOutbox(f.ctx, d.cfg.Holder, d.cfg.Batch, d.cfg.Lease, claimedAt)
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("flushing outbox: %w", err)
	}
	var again []store.OutboxMail
	for _, r := range rows {
		if f.seen[r.ID] {
			again = append(again, r)
			continue
		}
		f.seen[r.ID] = true
		fresh = append(fresh, r)
	}
	// Only possible when a retry delay passed during this very flush.
	d.release(f.ctx, again, "already tried in this flush")
	return fresh, claimedAt, len(rows) >= d.cfg.Batch, nil
}

// Run sends due mail until ctx ends: after each flush it sleeps until the
// next row is due (at most PollInterval) or Kick is called. Stopping is
// two-phase: once ctx ends no more rows are claimed, the mail in flight is
// finished and recorded, the rest of the batch is handed back, and Run
// returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	if d.cfgErr != nil {
		return d.cfgErr
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		wait := d.cfg.PollInterval
		if _, err := d.flush(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.log.Error("flushing outbox", "err", err)
			wait = min(wait, 5*time.Second)
		} else if due, ok, err := d.st.NextOutboxDue(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.log.Error("reading next outbox due time", "err", err)
			wait = min(wait, 5*time.Second)
		} else if ok {
			wait = min(wait, due.Sub(d.now()))
		}
		wait = max(wait, minWait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-d.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// conn is one SMTP connection of a batch.
type conn struct {
	c     *smtp.Client
	fresh bool // no mail sent over it yet
}

// sender holds what one batch needs to talk SMTP.
type sender struct {
	d       *Dispatcher
	client  *mail.Client
	raw     net.Conn // the last dialled socket, closed when set-up fails
	conn    *conn
	dialErr *SendError // set once a dial failed in this batch
}

func (d *Dispatcher) newSender(ctx context.Context) (*sender, error) {
	s := &sender{d: d}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if d.cfg.TLSConfig != nil {
		tlsCfg = d.cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = d.host
	}
	opts := []mail.Option{
		mail.WithPort(d.port),
		mail.WithTimeout(d.cfg.Timeout),
		mail.WithTLSConfig(tlsCfg),
		mail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := &net.Dialer{Timeout: d.cfg.Timeout}
			var c net.Conn
			var err error
			if d.cfg.TLS == TLSImplicit {
				c, err = (&tls.Dialer{NetDialer: nd, Config: tlsCfg}).DialContext(ctx, network, addr)
			} else {
				c, err = nd.DialContext(ctx, network, addr)
			}
			if err == nil {
				s.raw = c
			}
			return c, err
		}),
	}
	if d.cfg.TLS == TLSStartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		// TLSImplicit: our dialer did TLS already; no STARTTLS on top.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if d.cfg.Username != "" && d.cfg.Token != nil {
		token, err := d.cfg.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("signing in to %s:%d as %q: %w", d.host, d.port, d.cfg.Username, err)
		}
		opts = append(opts, mail.WithSMTPAuthCustom(&oauthAuth{user: d.cfg.Username, token: token, host: d.host, port: d.port}))
	} else if d.cfg.Username != "" {
		// The -NOENC variants only lift go-mail's "is it encrypted" check,
		// which cannot see the TLS of our own dialer; STARTTLS mode still
		// refuses to go on without TLS before AUTH.
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1,
				mail.SMTPAuthCramMD5, mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc),
			mail.WithUsername(d.cfg.Username), mail.WithPassword(d.cfg.Password))
	}
	c, err := mail.NewClient(d.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("configuring smtp client: %w", err)
	}
	s.client = c
	return s, nil
}

func (s *sender) dial(ctx context.Context) error {
	s.raw = nil
	// Connecting is part of the mail in flight: it is bounded by Timeout,
	// not cut short by a stop.
	c, err := s.client.DialToSMTPClientWithContext(context.WithoutCancel(ctx))
	if err != nil {
		if s.raw != nil {
			_ = s.raw.Close() // go-mail leaves the socket open when EHLO/TLS/AUTH fail
		}
		if s.d.cfg.TLS == TLSNone && s.d.cfg.Username != "" && strings.Contains(err.Error(), "does not support SMTP AUTH") {
			// A submission server offers AUTH only after STARTTLS.
			return fmt.Errorf("connecting to %s:%d without TLS: %w (a server that wants STARTTLS first offers AUTH only after it: use TLS)",
				s.d.host, s.d.port, err)
		}
		return fmt.Errorf("connecting to %s:%d: %w", s.d.host, s.d.port, err)
	}
	s.conn = &conn{c: c, fresh: true}
	return nil
}

// drop closes the connection without a goodbye (it is broken).
func (s *sender) drop() {
	if s.conn != nil {
		_ = s.conn.c.Close()
		s.conn = nil
	}
}

// quit ends the connection politely.
func (s *sender) quit() {
	if s.conn != nil {
		if err := s.conn.c.Quit(); err != nil {
			_ = s.conn.c.Close()
		}
		s.conn = nil
	}
}

// send sends one message, connecting first when needed; a connection that
// died while idle is replaced once.
func (s *sender) send(ctx context.Context, msg *mail.Msg) *SendError {
	for try := 0; ; try++ {
		if s.conn == nil {
			if s.dialErr != nil {
				return s.dialErr
			}
			if err := s.dial(ctx); err != nil {
				s.dialErr = temporary(err)
				return s.dialErr
			}
		}
		fresh := s.conn.fresh
		s.conn.fresh = false
		err := safeSend(s.client, s.conn.c, msg)
		if err == nil {
			return nil
		}
		se := Classify(err)
		var me *mail.SendError
		isMailErr := errors.As(err, &me)
		if isMailErr && me.Reason == mail.ErrConnCheck {
			// NOOP failed: nothing of this mail was sent.
			s.drop()
			if !fresh && try == 0 {
				continue
			}
			return se
		}
		if se.Code == 0 || se.Code == 421 || (isMailErr && me.Reason == mail.ErrSMTPReset) {
			s.drop() // the connection cannot be trusted any more
		}
		return se
	}
}

// safeSend keeps a panic inside go-mail from taking the worker down.
func safeSend(c *mail.Client, sc *smtp.Client, msg *mail.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-mail panicked while sending: %v", r)
		}
	}()
	return c.SendWithSMTPClient(sc, msg)
}

// sendBatch sends claimed rows over one connection (reconnecting after a
// connection-level error) and records each outcome. A flush runs several at
// once; each has its own sender, connection and unrecorded sent marks.
func (d *Dispatcher) sendBatch(ctx context.Context, rows []store.OutboxMail, claimedAt time.Time) Result {
	var res Result
	s, err := d.newSender(ctx)
	if err != nil {
		se := temporary(err)
		for _, row := range rows {
			res.add(d.finish(ctx, row, se))
		}
		return res
	}
	defer s.quit()
	// Accepted mails are recorded as sent a few at a time, in one statement
	// (recordSent), never before the server accepted them.
	var (
		sent  []store.OutboxMail
		since time.Time
	)
	recordSent := func() {
		d.recordSent(ctx, sent)
		sent = sent[:0]
	}
	defer recordSent()
	// Stop sending well before the lease runs out, or another worker could
	// take a row while we are still sending it.
	leaseStop := claimedAt.Add(d.cfg.Lease - min(2*d.cfg.Timeout, d.cfg.Lease/2))
	for i, row := range rows {
		if ctx.Err() != nil {
			recordSent()
			d.release(ctx, rows[i:], "dispatcher stopping")
			break
		}
		if d.now().After(leaseStop) {
			recordSent()
			d.release(ctx, rows[i:], "lease nearly over")
			break
		}
		// An invitation's (or consent link's) token is made now, as it
		// goes out: the stored row never holds a live link.
		minted, err := d.st.MintInvitationToken(ctx, row)
		if errors.Is(err, store.ErrInvitationNotPending) {
			res.add(d.finish(ctx, row, permanentf("not sent: %v", err)))
			continue
		}
		if err != nil {
			res.add(d.finish(ctx, row, temporary(err)))
			continue
		}
		// So is the token of a mail's "manage your partners" link.
		if minted, err = d.st.MintManageToken(ctx, minted); err != nil {
			res.add(d.finish(ctx, row, temporary(err)))
			continue
		}
		msg, dropped, err := buildMsg(minted, d.cfg.LoopHeader, d.now())
		if err != nil {
			res.add(d.finish(ctx, row, permanentf("building mail: %v", err)))
			continue
		}
		if len(dropped) > 0 {
			d.log.Warn("leaving malformed message ids out of the threading headers",
				"outbox_id", row.ID, "message_id", row.MessageID, "dropped", dropped)
		}
		start := time.Now()
		se := s.send(ctx, msg)
		d.cfg.Metrics.observeSend(time.Since(start))
		if se != nil {
			res.add(d.finish(ctx, row, se))
			continue
		}
		res.Sent++
		d.cfg.Metrics.incSent()
		if len(sent) == 0 {
			since = time.Now()
		}
		sent = append(sent, row)
		if len(sent) >= maxUnrecorded || time.Since(since) >= recordEvery {
			recordSent()
		}
	}
	return res
}

// How many accepted mails, and for how long, may wait to be recorded as
// sent together. A crash loses at most these records: their mails are
// sent again after the lease, with the same Message-ID (the one case SMTP
// cannot tell anyway).
const (
	maxUnrecorded = 50
	recordEvery   = time.Second
)

// recordSent records rows, all accepted by the server, as sent in one
// statement. The mails are gone, so a failure to record them (a dropped
// database connection, a restart) is retried until storeTimeout: giving up
// would send them again after the lease. Bookkeeping runs even while
// stopping.
func (d *Dispatcher) recordSent(ctx context.Context, rows []store.OutboxMail) {
	if len(rows) == 0 {
		return
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var (
		lost []int64
		err  error
	)
	wait := 100 * time.Millisecond
	for {
		lost, err = d.st.MarkOutboxSentBatch(mctx, ids, d.cfg.Holder, d.now())
		if err == nil {
			break
		}
		d.log.Warn("recording sent outbox mails failed, retrying", "count", len(ids), "err", err, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-mctx.Done():
			t.Stop()
		case <-t.C:
		}
		if mctx.Err() != nil {
			break
		}
		wait = min(2*wait, 2*time.Second)
	}
	isLost := make(map[int64]bool, len(lost))
	for _, id := range lost {
		isLost[id] = true
	}
	for _, row := range rows {
		attrs := []any{"outbox_id", row.ID, "kind", row.Kind, "message_id", row.MessageID, "attempts", row.Attempts,
			"error_class", "none"}
		if row.RequestID != nil {
			attrs = append(attrs, "request_ref", store.Reference(*row.RequestID))
		}
		switch {
		case err != nil:
			d.log.Error("outbox mail sent, but recording it failed; it will be sent again after the lease", append(attrs, "err", err)...)
		case isLost[row.ID]:
			d.log.Warn("outbox mail sent, but its lease was lost meanwhile; another worker may send it again", append(attrs, "err", store.ErrConflict)...)
		default:
			d.log.Info("outbox mail sent", attrs...)
		}
	}
}

// finish records one failed attempt's outcome (se non-nil). Bookkeeping
// runs even while stopping.
func (d *Dispatcher) finish(ctx context.Context, row store.OutboxMail, se *SendError) Result {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	attrs := []any{"outbox_id", row.ID, "kind", row.Kind, "message_id", row.MessageID, "attempts", row.Attempts}
	if row.RequestID != nil {
		attrs = append(attrs, "request_ref", store.Reference(*row.RequestID))
	}
	attrs = append(attrs, "error_class", se.Class(), "smtp_code", se.Code, "enhanced_code", se.Enhanced, "err", se.Error())
	d.cfg.Metrics.incError(se)
	var (
		err    error
		out    Result
		msg    string
		reason string
	)
	switch {
	case se.Permanent:
		reason = ReasonPermanent
		if se.Code == 0 {
			reason = ReasonInvalid
		}
		err = d.st.MarkOutboxFailed(mctx, row.ID, d.cfg.Holder, se.Error())
		out, msg = Result{Failed: 1}, "outbox mail failed"
	case row.Attempts >= d.cfg.MaxAttempts && !se.Auth:
		reason = ReasonMaxAttempts
		err = d.st.MarkOutboxFailed(mctx, row.ID, d.cfg.Holder,
			fmt.Sprintf("giving up after %d attempts: %s", row.Attempts, se.Error()))
		out, msg = Result{Failed: 1}, "outbox mail failed after too many attempts"
	default:
		next := d.now().Add(d.backoff(row.Attempts))
		err = d.st.MarkOutboxRetry(mctx, row.ID, d.cfg.Holder, next, se.Error())
		attrs = append(attrs, "next_attempt_at", next.UTC())
		out, msg = Result{Deferred: 1}, "outbox mail deferred"
		if se.Auth {
			// Not the mail's fault and no recipient's: every mail meets it
			// until an operator fixes the settings, so it is an error, and
			// the mail is never given up for it.
			msg = "outbox mail deferred: the SMTP server refused our sign-in or session; " +
				"check the SMTP user name, password or OAuth token, and the TLS mode"
		}
	}
	if out.Failed > 0 {
		d.cfg.Metrics.incFailed(reason)
		attrs = append(attrs, "reason", reason)
	} else {
		d.cfg.Metrics.incDeferred()
	}
	switch {
	case err != nil:
		d.log.Error(msg+", but recording it failed", append(attrs, "store_err", err)...)
	case se.Auth:
		d.log.Error(msg, attrs...)
	default:
		d.log.Warn(msg, attrs...)
	}
	return out
}

// release hands claimed rows back untried (their due time and last error
// unchanged) so that they need not wait for the lease to expire.
func (d *Dispatcher) release(ctx context.Context, rows []store.OutboxMail, why string) {
	if len(rows) == 0 {
		return
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	for _, row := range rows {
		if err := d.st.MarkOutboxRetry(mctx, row.ID, d.cfg.Holder, row.NextAttemptAt, row.LastError); err != nil {
			d.log.Error("releasing outbox mail", "outbox_id", row.ID, "why", why, "err", err)
			continue
		}
		d.log.Info("released outbox mail untried", "outbox_id", row.ID, "message_id", row.MessageID, "why", why)
	}
}

// backoff is the delay before the next try after the attempts-th attempt:
// the ceiling doubles from MinBackoff up to MaxBackoff, and the delay is
// drawn uniformly between MinBackoff and the ceiling (full jitter above the
// floor, so a retry is never immediate).
//
// The retry schedule with the defaults (MinBackoff 30s, MaxBackoff 1h,
// MaxAttempts 12; a 5xx reply fails the row at once instead): after
// attempt 1 the next try comes 30s later, then within 30s–1m, 30s–2m,
// 30s–4m, 30s–8m, 30s–16m, 30s–32m, and within 30s–1h after attempts 8 to
// 11. Attempt 12 is the last: a temporary failure then fails the row
// (reason max_attempts). From the first attempt to giving up: at least
// 5.5 minutes, about 2.6 hours on average, at most about 5 hours.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	lo, hi := d.cfg.MinBackoff, d.cfg.MinBackoff
	for i := 1; i < attempts && hi < d.cfg.MaxBackoff; i++ {
		hi *= 2
	}
	hi = min(hi, d.cfg.MaxBackoff)
	if hi <= lo {
		return lo
	}
	return lo + mrand.N(hi-lo+1)
}
