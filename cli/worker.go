package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/mailbox"
	"github.com/onboarder/onboarder/outbox"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/webhook"
	"github.com/onboarder/onboarder/workflow"
)

// pollLease is the lease name that lets one worker poll at a time.
const pollLease = "poll"

// holderID names this process in leases.
func holderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// cursorStore adapts store to mailbox.CursorStore.
type cursorStore struct{ st *store.Store }

func (c cursorStore) LoadCursor(ctx context.Context, mb string) (mailbox.Cursor, error) {
	cur, err := c.st.LoadCursor(ctx, mb)
	return mailbox.Cursor{UIDValidity: uint32(cur.UIDValidity), LastUID: uint32(cur.LastUID)}, err
}

func (c cursorStore) SaveCursor(ctx context.Context, mb string, cur mailbox.Cursor) error {
	return c.st.SaveCursor(ctx, store.MailboxCursor{Mailbox: mb, UIDValidity: int64(cur.UIDValidity), LastUID: int64(cur.LastUID)})
}

// intakeHandler joins the mailbox to the workflow: a chunk the poller
// fetched is parsed (workflow.ParseChunk) while the chunk before is
// handled, then handled in its turn (workflow.HandleChunk).
type intakeHandler struct {
	wf    *workflow.Service
	tally map[string]int
	mu    sync.Mutex
	m     *metrics
}

// Prepare parses the chunk (mailbox.Handler).
func (h *intakeHandler) Prepare(b mailbox.Batch) mailbox.Handling {
	in := make([]workflow.Incoming, len(b.Messages))
	for i, m := range b.Messages {
		in[i] = workflow.Incoming{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, UID: m.UID,
			Raw: m.Raw, Size: m.Size, TooLarge: m.TooLarge, ReceivedAt: m.InternalDate}
		if e := m.Envelope; e != nil {
			in[i].Envelope = &workflow.Envelope{MessageID: e.MessageID, Subject: e.Subject,
				From: e.From, Sender: e.Sender, InReplyTo: e.InReplyTo}
		}
	}
	chunk := h.wf.ParseChunk(in)
	return func(ctx context.Context) ([]mailbox.Action, error) { return h.handle(ctx, chunk) }
}

func (h *intakeHandler) handle(ctx context.Context, chunk workflow.Chunk) ([]mailbox.Action, error) {
	results, err := h.wf.HandleChunk(ctx, chunk)
	if err != nil {
		return nil, err
	}
	acts := make([]mailbox.Action, len(results))
	for i, res := range results {
		switch res.Outcome {
		case workflow.Move:
			acts[i] = mailbox.ActionMove
		case workflow.Keep:
			acts[i] = mailbox.ActionKeep
		default:
			acts[i] = mailbox.ActionRetry
		}
		h.mu.Lock()
		if h.tally != nil {
			h.tally[res.Disposition]++
		}
		h.mu.Unlock()
		h.m.mailReceived(res.Disposition)
	}
	return acts, nil
}

func mailboxConfig(cfg config.Config, e *env) mailbox.Config {
	s := cfg.IMAP
	mc := mailbox.Config{
		Addr: s.Host, TLS: mailbox.TLSMode(s.TLS), Username: s.Username, Password: s.Password,
		Mailbox: s.Path, ProcessedFolder: cfg.IMAPProcessedFolder, BatchSize: cfg.PollBatch,
		MaxMessageBytes: cfg.MaxMessageBytes, CommandTimeout: cfg.IMAPTimeout, Logger: e.log.With("component", "mailbox"),
	}
	if cfg.IMAPAuth == config.AuthOAuth2 {
		mc.Token = e.tokenSource().Token
	}
	if s.TLS != config.TLSNone {
		mc.TLSConfig = &tls.Config{ServerName: s.Hostname(), InsecureSkipVerify: s.InsecureSkipVerify}
	}
	return mc
}

func outboxConfig(cfg config.Config, e *env, holder string, m *outbox.Metrics) outbox.Config {
	s := cfg.SMTP
	oc := outbox.Config{
		Addr: s.Host, TLS: outbox.TLSMode(s.TLS), Username: s.Username, Password: s.Password,
		Timeout: cfg.SMTPTimeout, Connections: cfg.SMTPConnections, Lease: cfg.OutboxLease, Holder: holder, LoopHeader: cfg.ReplyTo.Address,
		Logger: e.log.With("component", "outbox"), Metrics: m,
	}
	if cfg.SMTPAuth == config.AuthOAuth2 && s.Username != "" {
		oc.Token = e.tokenSource().Token
	}
	if s.TLS != config.TLSNone {
		oc.TLSConfig = &tls.Config{ServerName: s.Hostname(), InsecureSkipVerify: s.InsecureSkipVerify}
	}
	return oc
}

func cmdPoll(e *env) error {
	fs := flag.NewFlagSet("poll", flag.ContinueOnError)
	once := fs.Bool("once", false, "one intake pass, then exit")
	if _, err := e.flags(fs); err != nil {
		return err
	}
	if !*once {
		return usagef("poll needs --once (for scheduled polling use 'onboarder run')")
	}
	if e.cfg.IMAP == nil {
		return errors.New("ONBOARDER_IMAP_URL is not set: set it to imaps://user:pass@host/INBOX")
	}
	if err := e.open(); err != nil {
		return err
	}
	e.warnConfig()
	holder := holderID()
	// Wait (at most one lease period) for a worker that is polling, or that
	// died while holding the lease, to let go.
	deadline := time.Now().Add(e.cfg.PollLease + 5*time.Second)
	for {
		ok, err := e.st.AcquireLease(e.ctx, pollLease, holder, e.cfg.PollLease)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another worker kept the poll lease for over %s: check the other workers (or wait and try again)", e.cfg.PollLease)
		}
		select {
		case <-e.ctx.Done():
			return e.ctx.Err()
		case <-time.After(time.Second):
		}
	}
	defer e.st.ReleaseLease(context.WithoutCancel(e.ctx), pollLease, holder)
	h := &intakeHandler{wf: e.wf, tally: map[string]int{}}
	p := mailbox.NewPoller(mailboxConfig(e.cfg, e), cursorStore{e.st}, h)
	defer p.Close()
	start := time.Now()
	stats, err := p.RunOnce(e.ctx)
	if err != nil {
		if fe := (*mailbox.FolderError)(nil); errors.As(err, &fe) {
			return fmt.Errorf("polling %s: %w: check ONBOARDER_IMAP_PROCESSED_FOLDER", e.cfg.IMAP, err)
		}
		return fmt.Errorf("polling %s: %w: check ONBOARDER_IMAP_URL and that the server is reachable", e.cfg.IMAP, err)
	}
	e.recheckDirectory(e.ctx)
	fmt.Fprintf(e.stdout, "polled %s in %s: %d mails (%s); moved %d, left %d, retry %d, waiting %d\n",
		e.cfg.IMAP, time.Since(start).Round(time.Millisecond), stats.Seen, tallyString(h.tally),
		stats.Moved, stats.Kept, stats.Retried, stats.Remaining)
	return nil
}

func tallyString(t map[string]int) string {
	order := []string{store.DispRequest, store.DispReply, store.DispAutoReply, store.DispBounce, store.DispIgnored,
		store.DispTooLarge, store.DispDuplicate, store.DispUnparseable, store.DispPending, store.DispEndLink}
	s := ""
	for _, d := range order {
		if t[d] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s %d", d, t[d])
		}
	}
	if s == "" {
		return "none new"
	}
	return s
}

func cmdOutboxFlush(e *env) error {
	if _, err := e.flags(flag.NewFlagSet("outbox flush", flag.ContinueOnError)); err != nil {
		return err
	}
	if e.cfg.SMTP == nil {
		return errors.New("ONBOARDER_SMTP_URL is not set, so mail stays queued: set it to smtps://user:pass@host")
	}
	if err := e.open(); err != nil {
		return err
	}
	d := outbox.New(e.st, outboxConfig(e.cfg, e, holderID(), nil))
	res, err := d.FlushOnce(e.ctx)
	if err != nil {
		return fmt.Errorf("flushing the outbox: %w", err)
	}
	fmt.Fprintf(e.stdout, "sent %d, deferred %d, failed %d\n", res.Sent, res.Deferred, res.Failed)
	return nil
}

// worker is the long-running part of `run` and `demo`.
type worker struct {
	e        *env
	holder   string
	poller   *mailbox.Poller
	disp     *outbox.Dispatcher
	hooks    *webhook.Dispatcher // nil without ONBOARDER_WEBHOOK_URL
	m        *metrics
	interval time.Duration

	pollMu   sync.Mutex
	lastPoll atomic.Int64 // unix nanos of the last successful poll
	kick     chan struct{}
}

func newWorker(e *env, reg *prometheus.Registry) (*worker, error) {
	w := &worker{e: e, holder: holderID(), kick: make(chan struct{}, 1), m: newMetrics(reg)}
	if e.cfg.SMTP != nil {
		w.disp = outbox.New(e.st, outboxConfig(e.cfg, e, w.holder, outbox.NewMetrics(reg)))
	}
	if e.cfg.IMAP != nil {
		h := &intakeHandler{wf: e.wf, m: w.m}
		w.poller = mailbox.NewPoller(mailboxConfig(e.cfg, e), cursorStore{e.st}, h)
	}
	hooks, err := e.newWebhookDispatcher(w.holder, reg)
	if err != nil {
		return nil, err
	}
	w.hooks = hooks
	return w, nil
}

// pollOnce runs one lease-guarded intake pass. The lease is renewed while
// the pass runs; a worker that dies loses it after the lease period.
func (w *worker) pollOnce(ctx context.Context) {
	if w.poller == nil {
		return
	}
	if !w.pollMu.TryLock() {
		return // a pass is running; it will see the new mail
	}
	defer w.pollMu.Unlock()
	ttl := w.e.cfg.PollLease
	ok, err := w.e.st.AcquireLease(ctx, pollLease, w.holder, ttl)
	if err != nil {
		w.e.log.Error("poll skipped: cannot take the poll lease", "err", err)
		w.m.pollFailed()
		return
	}
	if !ok {
		w.e.log.Debug("another worker holds the poll lease")
		// A connection kept for a next pass that is not ours to make.
		w.poller.Close()
		w.lastPoll.Store(time.Now().UnixNano()) // someone polls: we are not the one to alarm
		if w.disp != nil {
			// The leader's intake wakes only its own dispatcher: look for
			// the mail it queued on every tick, so that all workers send.
			w.disp.Kick()
		}
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewDone := make(chan struct{})
	go func() { // renew while polling
		defer close(renewDone)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				if ok, err := w.e.st.AcquireLease(pctx, pollLease, w.holder, ttl); err != nil || !ok {
					w.e.log.Error("lost the poll lease during a pass: stopping it", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	start := time.Now()
	stats, err := w.poller.RunOnce(pctx)
	cancel()
	<-renewDone
	w.m.pollDone(time.Since(start), err)
	if err != nil {
		w.e.log.Error("poll failed", "err", err, "imap", w.e.cfg.IMAP.String())
		return
	}
	w.lastPoll.Store(time.Now().UnixNano())
	w.e.recheckDirectory(ctx) // requests that waited for the directory
	if stats.Seen > 0 {
		w.e.log.Info("poll done", "mails", stats.Seen, "moved", stats.Moved, "kept", stats.Kept,
			"retry", stats.Retried, "waiting", stats.Remaining, "took", time.Since(start).Round(time.Millisecond))
	}
	if stats.Remaining > 0 { // a backlog: go on at once
		w.trigger()
	}
}

func (w *worker) trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// ready reports whether the worker is healthy for /readyz.
func (w *worker) ready(ctx context.Context) error {
	if err := w.e.st.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	if ts := w.e.tokenSource(); ts != nil {
		if err := ts.Err(); err != nil {
			return fmt.Errorf("mailbox sign-in: %w", err)
		}
	}
	if w.poller == nil {
		return nil
	}
	last := time.Unix(0, w.lastPoll.Load())
	if since := time.Since(last); since > 3*w.interval {
		return fmt.Errorf("no successful poll for %s (schedule every %s)", since.Round(time.Second), w.interval)
	}
	return nil
}

// schedule parses the cron spec and returns the interval between its next
// two runs (for the readiness rule).
func schedule(spec string) (cron.Schedule, time.Duration, error) {
	sch, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, 0, fmt.Errorf("ONBOARDER_POLL_SCHEDULE %q is not a cron schedule (%v): use e.g. '@every 1m' or '*/5 * * * *'", spec, err)
	}
	a := sch.Next(time.Now())
	return sch, sch.Next(a).Sub(a), nil
}

// timersLease is the lease name that lets one worker run the timers
// (workflow.RunTimers) at a time; timersLeaseTTL is how long a worker that
// died keeps it. The leader renews it every minute and keeps it.
const (
	timersLease    = "timers"
	timersLeaseTTL = 3 * time.Minute
)

// runTimers runs one pass of the clock-driven work (expiry, reminders, the
// ops digest) if this worker holds the timers lease. The pass is
// idempotent, so a pass that outlives the lease does no harm.
func (w *worker) runTimers(ctx context.Context) {
	ok, err := w.e.st.AcquireLease(ctx, timersLease, w.holder, timersLeaseTTL)
	if err != nil {
		w.e.log.Error("timers skipped: cannot take the timers lease", "err", err)
		return
	}
	if !ok {
		return // another worker runs them
	}
	rep, err := w.e.wf.RunTimers(ctx)
	w.m.timersDone(rep, err)
	if err != nil {
		w.e.log.Error("timers failed", "err", err)
	}
	if !rep.Empty() {
		w.e.log.Info("timers done", "invitations_expired", rep.InvitationsExpired, "invitations_reminded", rep.InvitesReminded,
			"needs_info_chased", rep.NeedsInfoChased, "needs_info_expired", rep.NeedsInfoExpired, "consents_expired", rep.ConsentsExpired,
			"link_timers", rep.LinkTimers, "digests", rep.Digests)
	}
}

// parseDigestSchedule parses ONBOARDER_OPS_DIGEST_SCHEDULE (in UTC).
func parseDigestSchedule(spec string) (cron.Schedule, error) {
	sch, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a cron schedule (%v): use e.g. '0 8 * * 1-5' (08:00 UTC on weekdays)",
			config.EnvOpsDigestSchedule, spec, err)
	}
	return sch, nil
}

// digestSchedule is the ops digest's schedule for the workflow: nil (no
// digest) without recipients or with a spec that does not parse (run and
// config check refuse that one).
func digestSchedule(cfg config.Config) workflow.Schedule {
	if len(cfg.OpsDigestTo) == 0 {
		return nil
	}
	sch, err := parseDigestSchedule(cfg.OpsDigestSchedule)
	if err != nil {
		return nil
	}
	return sch
}

// loop runs everything until ctx ends: the cron schedule, IDLE, the
// dispatcher and the timers. It returns when all have stopped.
func (w *worker) loop(ctx context.Context, sch cron.Schedule) {
	var wg sync.WaitGroup
	c := cron.New(cron.WithLocation(time.UTC))
	c.Schedule(sch, cron.FuncJob(w.trigger))
	c.Schedule(cron.Every(time.Minute), cron.FuncJob(func() { w.runTimers(ctx) }))
	c.Schedule(cron.Every(time.Hour), cron.FuncJob(func() { // ONBOARDER_RAW_RETENTION
		if _, err := w.e.wf.PurgeRawSources(ctx); err != nil {
			w.e.log.Error("deleting old raw mail sources failed", "err", err)
		}
	}))
	c.Start()
	w.lastPoll.Store(time.Now().UnixNano())
	w.trigger() // poll at start

	wg.Add(1)
	go func() { // the poll loop: one pass at a time, triggered by cron or IDLE
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.kick:
				w.pollOnce(ctx)
			}
		}
	}()
	if w.poller != nil && w.e.cfg.IMAPIdle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := w.poller.Idle(ctx, w.trigger)
			if errors.Is(err, mailbox.ErrIdleUnsupported) {
				w.e.log.Warn("the IMAP server has no IDLE: polling on the schedule only")
			} else if err != nil && ctx.Err() == nil {
				w.e.log.Error("IDLE stopped", "err", err)
			}
		}()
	}
	if w.disp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.disp.Run(ctx); err != nil && ctx.Err() == nil {
				w.e.log.Error("outbox dispatcher stopped", "err", err)
			}
		}()
	}
	if w.hooks != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.hooks.Run(ctx); err != nil && ctx.Err() == nil {
				w.e.log.Error("webhook dispatcher stopped", "err", err)
			}
		}()
	}
	if ts := w.e.tokenSource(); ts != nil {
		wg.Add(1)
		go func() { // keeps the OAuth token fresh before polls and sends need it
			defer wg.Done()
			ts.Run(ctx)
		}()
	}
	<-ctx.Done()
	stopped := c.Stop()
	<-stopped.Done()
	wg.Wait()
	if w.poller != nil {
		w.poller.Close()
	}
}
