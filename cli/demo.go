package cli

import (
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

//go:embed demodata
var demoData embed.FS

// cmdDemo runs the real pipeline over real protocols against in-process
// IMAP and SMTP servers and a temporary SQLite database, prints what
// happened, then keeps serving the web pages until Ctrl-C.
func cmdDemo(e *env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	noServe := fs.Bool("no-serve", false, "exit after the tour instead of serving the web pages")
	if _, err := e.flags(fs); err != nil {
		return err
	}
	out := e.stdout
	dir, err := os.MkdirTemp("", "onboarder-demo-")
	if err != nil {
		return fmt.Errorf("making a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)

	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: "partners@onboarding.example", Password: "demo"})
	if err != nil {
		return fmt.Errorf("starting the demo IMAP server: %w", err)
	}
	defer imapSrv.Close()
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		return fmt.Errorf("starting the demo SMTP server: %w", err)
	}
	defer smtpSrv.Close()

	// The web server: the configured address, or any free port if taken.
	ln, err := net.Listen("tcp", e.cfg.HTTPAddr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("listening for the web pages: %w", err)
		}
	}
	defer ln.Close()
	// The admin listener likewise; none stays none.
	var admin net.Listener
	if e.cfg.AdminAddr != "" {
		if admin, err = net.Listen("tcp", e.cfg.AdminAddr); err != nil {
			if admin, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				return fmt.Errorf("listening for the metrics: %w", err)
			}
		}
		defer admin.Close()
	}

	from := mail.Address{Name: "Partner Onboarding", Address: "partners@onboarding.example"}
	e.cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "demo.db")
	e.cfg.IMAP = &config.Server{Scheme: "imap", Host: imapSrv.Addr(), Username: imapSrv.Username(), Password: imapSrv.Password(),
		Path: "INBOX", TLS: config.TLSNone}
	e.cfg.SMTP = &config.Server{Scheme: "smtp", Host: smtpSrv.Addr(), TLS: config.TLSNone}
	e.cfg.MailFrom, e.cfg.ReplyTo = from, from
	e.cfg.PublicURL = "http://" + ln.Addr().String()
	e.cfg.TemplatesDir = ""
	if e.getenv("ONBOARDER_LOG_LEVEL") == "" {
		// The tour speaks for itself; the log shows only what goes wrong.
		e.cfg.LogLevel = "warn"
		e.log = newLogger(e.cfg, e.stderr)
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := demoSeed(e); err != nil {
		return err
	}

	fmt.Fprintf(out, "onboarder demo: the real pipeline over real IMAP and SMTP, all on 127.0.0.1\n")
	fmt.Fprintf(out, "  mailbox  %s (in-process IMAP server)\n  outbox   %s (in-process SMTP server)\n  database %s\n\n",
		e.cfg.IMAP, e.cfg.SMTP, e.cfg.DatabaseURL)

	names, err := fs2names()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "1. %d mails arrive at partners@onboarding.example:\n", len(names))
	for _, n := range names {
		raw, _ := demoData.ReadFile("demodata/" + n)
		if _, err := imapSrv.Append("INBOX", raw); err != nil {
			return fmt.Errorf("delivering %s: %w", n, err)
		}
		fmt.Fprintf(out, "   %-45s %s\n", headerOf(raw, "From"), clip(headerOf(raw, "Subject"), 70))
	}

	w, err := newWorker(e, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	w.pollOnce(e.ctx)
	if w.lastPoll.Load() == 0 {
		return errors.New("the demo's intake pass failed: see the log above")
	}
	fmt.Fprintf(out, "\n2. One intake pass (IMAP UID FETCH, parse, check, record, UID MOVE) made these requests:\n")
	if err := demoRequests(e, out); err != nil {
		return err
	}
	msgs, err := e.st.Q(e.ctx).ListMessages(store.MessageFilter{})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.RequestID == nil {
			note := map[string]string{store.DispAutoReply: "recorded, never answered", store.DispIgnored: "not for us: left unread in INBOX for the people who read it"}[m.Disposition]
			fmt.Fprintf(out, "   mail from %s %q: %s (%s)\n", m.FromAddr, clip(m.Subject, 40), m.Disposition, note)
		}
	}

	// Ops approve the two oldest pending connection requests, as `requests
	// approve` would: the first invitation is left for the visitor, the
	// second is accepted and its link ended below.
	pending, err := e.st.Q(e.ctx).ListRequests(store.RequestFilter{State: store.StatePendingApproval})
	if err != nil {
		return err
	}
	var approved []store.Request
	fmt.Fprintf(out, "\n3. Ops approve (onboarder requests approve ID --by demo-ops): link invited, invitation queued.\n")
	for i := len(pending) - 1; i >= 0 && len(approved) < 2; i-- {
		if r := pending[i]; r.Kind == store.KindConnect || r.Kind == "" {
			if err := e.wf.Approve(e.ctx, r.ID, "demo-ops", "welcome aboard"); err != nil {
				return err
			}
			approved = append(approved, r)
			fmt.Fprintf(out, "   %s approved\n", r.Reference())
		}
	}

	sent := 0
	flush := func(step string) (map[int64]string, map[string]string, error) {
		res, err := w.disp.FlushOnce(e.ctx)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(out, "\n%s The outbox sent %d mails over SMTP (deferred %d, failed %d):\n", step, res.Sent, res.Deferred, res.Failed)
		invites, consents := map[int64]string{}, map[string]string{}
		msgs := smtpSrv.Messages()
		for _, m := range msgs[sent:] {
			subject := headerOf(m.Data, "Subject")
			fmt.Fprintf(out, "   to %-32s %s\n      %s\n", strings.Join(m.To, ", "), clip(subject, 80), clip(demoExcerpt(m.Data), 100))
			if u := inviteURL.Find(m.Data); u != nil {
				if id, ok := store.ParseReference(demoRef.FindString(subject)); ok {
					invites[id] = string(u)
				} else {
					invites[0] = string(u)
				}
			}
			if u := consentURL.Find(m.Data); u != nil {
				consents[demoRef.FindString(subject)] = string(u)
			}
		}
		sent = len(msgs)
		return invites, consents, nil
	}
	invites, consents, err := flush("4.")
	if err != nil {
		return err
	}
	if len(approved) > 0 && invites[approved[0].ID] != "" {
		fmt.Fprintf(out, "\n5. The administrator's invitation link for %s (open it, then Accept or Decline):\n   %s\n",
			approved[0].Reference(), invites[approved[0].ID])
	}
	if len(consents) > 0 {
		fmt.Fprintf(out, "   The partner's consent pages (customer first, and a distributor's reseller):\n")
		refs := make([]string, 0, len(consents))
		for ref := range consents {
			refs = append(refs, ref)
		}
		sort.Strings(refs)
		for _, ref := range refs {
			fmt.Fprintf(out, "   %s %s\n", orText(ref, "-"), consents[ref])
		}
	}
	if len(approved) > 1 {
		if err := demoEndLink(e, out, approved[1], invites[approved[1].ID]); err != nil {
			return err
		}
		if _, _, err := flush("  "); err != nil {
			return err
		}
	}
	links, err := e.st.Q(e.ctx).ListLinks()
	if err != nil {
		return err
	}
	partners, err := e.partnerNames()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n   The links now (onboarder links list):\n")
	for _, l := range links {
		fmt.Fprintf(out, "   link %d  %-8s %s, organization %s\n", l.ID, l.Status, partners[l.PartnerID], l.OrganizationID)
	}
	const opsUser, opsPassword = "ops@onboarding.example", "demo-password-123"
	if _, err := e.wf.AddOpsUser(e.ctx, opsUser, opsPassword, 0); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n7. The operations console: %s/ops/ (log in as %s, password %s)\n", e.cfg.PublicURL, opsUser, opsPassword)
	if *noServe {
		return nil
	}
	fmt.Fprintf(out, "\nServing %s until Ctrl-C. Try: onboarder requests list --database-url %s\n\n", e.cfg.PublicURL, e.cfg.DatabaseURL)
	sch, _ := cron.ParseStandard("@every 10s")
	if admin != nil {
		fmt.Fprintf(out, "Metrics: http://%s/metrics\n\n", admin.Addr())
	}
	return e.serve(ln, admin, sch, 10*time.Second)
}

var (
	inviteURL  = regexp.MustCompile(`https?://[^\s"<>]+/invite/[A-Za-z0-9_-]{20,}`)
	consentURL = regexp.MustCompile(`https?://[^\s"<>]+/consent/[A-Za-z0-9_-]{20,}`)
	demoRef    = regexp.MustCompile(`REQ-[0-9]{6}`)
)

// demoEndLink accepts the request's invitation, as the page's Accept button
// does, and ends the link it made, as `links end` does.
func demoEndLink(e *env, out io.Writer, r store.Request, invite string) error {
	if invite == "" {
		return fmt.Errorf("the demo found no invitation for %s", r.Reference())
	}
	if _, err := e.wf.Accept(e.ctx, invite[strings.LastIndexByte(invite, '/')+1:]); err != nil {
		return fmt.Errorf("accepting the invitation of %s: %w", r.Reference(), err)
	}
	links, err := e.st.Q(e.ctx).ListLinks()
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.RequestID != nil && *l.RequestID == r.ID {
			const reason = "the customer now buys directly"
			if err := e.wf.EndLink(e.ctx, l.ID, "demo-ops", reason); err != nil {
				return fmt.Errorf("ending link %d: %w", l.ID, err)
			}
			fmt.Fprintf(out, "\n6. The administrator accepts %s: link %d is active. Later ops end it\n"+
				"   (onboarder links end %d --by demo-ops --reason %q): link %d ended; both sides are told.\n",
				r.Reference(), l.ID, l.ID, reason, l.ID)
			return nil
		}
	}
	return fmt.Errorf("accepting %s made no link", r.Reference())
}

func fs2names() ([]string, error) {
	ents, err := fs.ReadDir(demoData, "demodata")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), ".eml") {
			names = append(names, en.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func demoSeed(e *env) error {
	// Alpenblick sells through the distributor Nordlicht, so Nordlicht may
	// name it as the reseller of one of its customers (Reseller ID:).
	dist, err := e.wf.AddPartner(e.ctx, workflow.PartnerInput{Name: "Nordlicht Distribution AB", Ref: "DIS-9001", Locale: "en",
		Emails: []string{"sales@nordlicht-dist.example"}}, "demo")
	if err != nil {
		return err
	}
	for _, p := range []workflow.PartnerInput{
		{Name: "Alpenblick IT GmbH", Ref: "MPN-7001", Locale: "de", Emails: []string{"jonas@alpenblick-it.example"}, Parent: dist.ID},
		{Name: "Cloud Harbor Ltd", Ref: "MPN-7002", Locale: "en", Trusted: true, Domains: []string{"cloudharbor.example"}},
	} {
		if _, err := e.wf.AddPartner(e.ctx, p, "demo"); err != nil {
			return err
		}
	}
	f, _ := demoData.Open("demodata/orgs.csv")
	defer f.Close()
	orgs, err := readOrgsCSV(f, "demo orgs.csv")
	if err != nil {
		return err
	}
	return e.wf.ImportOrganizations(e.ctx, orgs, "demo")
}

func demoRequests(e *env, out io.Writer) error {
	q := e.st.Q(e.ctx)
	rs, err := q.ListRequests(store.RequestFilter{})
	if err != nil {
		return err
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	for _, r := range rs {
		fds, _ := q.Findings(r.ID)
		var codes []string
		for _, f := range fds {
			codes = append(codes, f.Code)
		}
		partner := "unknown sender " + r.Sender
		if r.PartnerID != nil {
			partner = names[*r.PartnerID]
		}
		way := r.Kind
		if r.DistributorID != nil {
			way = "via distributor " + names[*r.DistributorID]
		}
		fmt.Fprintf(out, "   %s  %-17s %-20s customer %-28q %s; findings: %s\n", r.Reference(), r.State, clip(partner, 20),
			clip(r.CustomerName, 26), orText(way, store.KindConnect), orDash(strings.Join(codes, ", ")))
	}
	return nil
}

func headerOf(raw []byte, name string) string {
	p := parser.Parse(raw, parser.Options{})
	if name == "From" {
		return p.From.Addr
	}
	return p.Subject
}

// demoExcerpt is the start of a sent mail's text, on one line.
func demoExcerpt(raw []byte) string {
	return strings.Join(strings.Fields(parser.Parse(raw, parser.Options{}).Text), " ")
}
