package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/mailbox"
	"github.com/onboarder/onboarder/outbox"
	"github.com/onboarder/onboarder/web"
)

func cmdRun(e *env) error {
	if _, err := e.flags(flag.NewFlagSet("run", flag.ContinueOnError)); err != nil {
		return err
	}
	if e.cfg.IMAP == nil {
		return errors.New("ONBOARDER_IMAP_URL is not set: set it to imaps://user:pass@host/INBOX")
	}
	sch, interval, err := schedule(e.cfg.PollSchedule)
	if err != nil {
		return err
	}
	if _, err := parseDigestSchedule(e.cfg.OpsDigestSchedule); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	for _, kv := range e.cfg.Redacted() {
		e.log.Debug("config", "name", kv.Name, "value", kv.Value)
	}
	e.warnConfig()
	if e.cfg.SMTP == nil {
		e.log.Warn("ONBOARDER_SMTP_URL is not set: mail is queued but not sent")
	}
	ln, err := net.Listen("tcp", e.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w: set ONBOARDER_HTTP_ADDR to a free address", e.cfg.HTTPAddr, err)
	}
	var admin net.Listener
	if e.cfg.AdminAddr != "" {
		if admin, err = net.Listen("tcp", e.cfg.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listening on %s: %w: set ONBOARDER_ADMIN_ADDR to a free address (each worker on a host needs its own), or none", e.cfg.AdminAddr, err)
		}
	}
	return e.serve(ln, admin, sch, interval)
}

// serve runs the worker and the web server on ln (and the admin handler on
// admin, unless nil) until e.ctx ends, then shuts down in two phases: stop
// taking work, let in-flight work finish.
func (e *env) serve(ln, admin net.Listener, sch interface{ Next(time.Time) time.Time }, interval time.Duration) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStateCollector(e.st, e.log.With("component", "metrics")))
	w, err := newWorker(e, reg)
	if err != nil {
		return err
	}
	w.interval = interval
	if w.disp != nil {
		e.onQueued = w.disp.Kick
	}
	if w.hooks != nil {
		e.onWebhook = w.hooks.Kick
	}
	handler := web.New(web.Options{Workflow: e.wf, Ready: w.ready, Gatherer: reg, PublicURL: e.cfg.PublicURL,
		TrustedProxies: e.cfg.TrustedProxies, Logger: e.log.With("component", "web"),
		OIDC: oidcOptions(e.cfg.OIDC), NoPasswordLogin: !e.cfg.PasswordLogin, QueueTarget: e.cfg.QueueTarget})
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second}
	}
	srv := newServer(handler)
	httpErr := make(chan error, 2)
	go func() { httpErr <- srv.Serve(ln) }()
	adminAddr := "none"
	var adminSrv *http.Server
	if admin != nil {
		adminSrv = newServer(handler.Admin())
		adminAddr = admin.Addr().String()
		go func() { httpErr <- fmt.Errorf("admin listener: %w", adminSrv.Serve(admin)) }()
	}
	e.log.Info("onboarder running", "http", ln.Addr().String(), "admin", adminAddr, "imap", e.cfg.IMAP.String(),
		"schedule", e.cfg.PollSchedule, "idle", e.cfg.IMAPIdle, "db", e.st.Dialect())

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		w.loop(ctx, sch)
	}()
	select {
	case <-e.ctx.Done():
	case err := <-httpErr:
		cancel()
		<-loopDone
		return fmt.Errorf("web server stopped: %w", err)
	}
	e.log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.WithoutCancel(e.ctx), 15*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	if adminSrv != nil {
		adminSrv.Shutdown(sctx)
	}
	cancel()
	<-loopDone
	e.st.ReleaseLease(sctx, pollLease, w.holder)
	e.log.Info("stopped")
	return nil
}

// warnConfig logs what the configuration leaves unprotected.
func (e *env) warnConfig() {
	for _, w := range e.cfg.Warnings() {
		e.log.Warn(w)
	}
}

func cmdConfigCheck(e *env) error {
	if _, err := e.flags(flag.NewFlagSet("config check", flag.ContinueOnError)); err != nil {
		return err
	}
	for _, kv := range e.cfg.Redacted() {
		fmt.Fprintf(e.stdout, "%-34s %s\n", kv.Name, kv.Value)
	}
	fmt.Fprintln(e.stdout)
	for _, w := range e.cfg.Warnings() {
		fmt.Fprintf(e.stdout, "warn  %s\n", w)
	}
	var failed []string
	check := func(what string, err error) {
		if err != nil {
			failed = append(failed, what)
			fmt.Fprintf(e.stdout, "FAIL  %s: %v\n", what, err)
			return
		}
		fmt.Fprintf(e.stdout, "ok    %s\n", what)
	}
	check("database "+config.RedactURL(e.cfg.DatabaseURL), e.open())
	if _, _, err := schedule(e.cfg.PollSchedule); err != nil {
		check("poll schedule", err)
	}
	if _, err := parseDigestSchedule(e.cfg.OpsDigestSchedule); err != nil {
		check("ops digest schedule", err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	if ts := e.tokenSource(); ts != nil {
		_, err := ts.Token(ctx)
		check("OAuth token ("+ts.Grant()+") from "+e.cfg.OAuth.TokenURL, err)
	}
	if e.cfg.IMAP != nil {
		mc := mailboxConfig(e.cfg, e)
		mc.BatchSize = 1
		p := mailbox.NewPoller(mc, nil, nil)
		check("IMAP "+e.cfg.IMAP.String(), p.Check(ctx))
	} else {
		fmt.Fprintln(e.stdout, "skip  IMAP: ONBOARDER_IMAP_URL not set")
	}
	if e.cfg.SMTP != nil {
		d := outbox.New(e.st, outboxConfig(e.cfg, e, holderID(), nil))
		check("SMTP "+e.cfg.SMTP.String(), d.Check(ctx))
	} else {
		fmt.Fprintln(e.stdout, "skip  SMTP: ONBOARDER_SMTP_URL not set (mail stays queued)")
	}
	if dc, err := e.directoryClient(); err != nil {
		check("directory API "+config.RedactURL(e.cfg.DirectoryURL), err)
	} else if dc != nil {
		check("directory API "+config.RedactURL(e.cfg.DirectoryURL), dc.Check(ctx))
	} else {
		fmt.Fprintln(e.stdout, "skip  directory API: ONBOARDER_DIRECTORY_URL not set (organizations from the database)")
	}
	if e.cfg.WebhookURL != "" {
		fmt.Fprintln(e.stdout, "note  webhooks go to the configured ONBOARDER_WEBHOOK_URL (not called by config check: it would deliver an event)")
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d check(s) failed: %v: fix the settings above", len(failed), failed)
	}
	return nil
}

// oidcOptions is the console's single sign-on (nil without an issuer).
func oidcOptions(c config.OIDC) *web.OIDCOptions {
	if c.Issuer == "" {
		return nil
	}
	return &web.OIDCOptions{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RoleClaim: c.RoleClaim, Roles: c.Roles}
}
