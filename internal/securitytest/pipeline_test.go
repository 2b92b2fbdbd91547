package securitytest

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailbox"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/outbox"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

var tpl = func() *templates.Set {
	s, err := templates.Load("")
	if err != nil {
		panic(err)
	}
	return s
}()

// instance is one onboarder: its mailbox (IMAP), its outgoing relay
// (SMTP), its database, workflow, poller and dispatcher.
type instance struct {
	t    *testing.T
	addr string
	imap *mailtest.IMAPServer
	smtp *mailtest.SMTPServer
	st   *store.Store
	wf   *workflow.Service
	poll *mailbox.Poller
	disp *outbox.Dispatcher
	seen int // SMTP messages already routed
}

type cursors struct{ st *store.Store }

func (c cursors) LoadCursor(ctx context.Context, mb string) (mailbox.Cursor, error) {
	cur, err := c.st.LoadCursor(ctx, mb)
	return mailbox.Cursor{UIDValidity: uint32(cur.UIDValidity), LastUID: uint32(cur.LastUID)}, err
}

func (c cursors) SaveCursor(ctx context.Context, mb string, cur mailbox.Cursor) error {
	return c.st.SaveCursor(ctx, store.MailboxCursor{Mailbox: mb, UIDValidity: int64(cur.UIDValidity), LastUID: int64(cur.LastUID)})
}

// intake joins the poller to the workflow, as the cli does.
func intake(wf *workflow.Service) mailbox.HandlerFunc {
	return func(ctx context.Context, b mailbox.Batch) ([]mailbox.Action, error) {
		acts := make([]mailbox.Action, len(b.Messages))
		for i, m := range b.Messages {
			res, err := wf.HandleMail(ctx, workflow.Incoming{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, UID: m.UID,
				Raw: m.Raw, Size: m.Size, TooLarge: m.TooLarge, ReceivedAt: m.InternalDate})
			if err != nil {
				return nil, err
			}
			switch res.Outcome {
			case workflow.Move:
				acts[i] = mailbox.ActionMove
			case workflow.Keep:
				acts[i] = mailbox.ActionKeep
			default:
				acts[i] = mailbox.ActionRetry
			}
		}
		return acts, nil
	}
}

func newInstance(t *testing.T, addr string, mod func(*workflow.Options)) *instance {
	t.Helper()
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: addr, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	st := storetest.Open(t, storetest.SQLiteURL(t))
	from := mail.Address{Name: "Partner Onboarding", Address: addr}
	opts := workflow.Options{From: from, PublicURL: "https://onboard.example", Templates: tpl,
		TrustedAuthServID: "mx." + addr[strings.IndexByte(addr, '@')+1:]}
	if mod != nil {
		mod(&opts)
	}
	wf, err := workflow.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, addr: addr, imap: imapSrv, smtp: smtpSrv, st: st, wf: wf}
	in.poll = mailbox.NewPoller(mailbox.Config{Addr: imapSrv.Addr(), TLS: mailbox.TLSNone, Username: addr, Password: "pw",
		CommandTimeout: 10 * time.Second}, cursors{st}, intake(wf))
	in.disp = outbox.New(st, outbox.Config{Addr: smtpSrv.Addr(), TLS: outbox.TLSNone, Timeout: 10 * time.Second,
		LoopHeader: addr, MinBackoff: time.Millisecond})
	return in
}

// partner registers a partner with sender rules at this instance.
func (in *instance) partner(name string, emails, domains []string) {
	in.t.Helper()
	storetest.Must(in.t, in.st.Q(context.Background()).CreatePartner(&store.Partner{Name: name, Locale: "en"}, emails, domains))
}

// step polls the mailbox once and sends what the workflow queued; it
// returns the mails sent in this step.
func (in *instance) step(ctx context.Context) []mailtest.Received {
	in.t.Helper()
	if _, err := in.poll.RunOnce(ctx); err != nil {
		in.t.Fatalf("%s: poll: %v", in.addr, err)
	}
	if _, err := in.disp.FlushOnce(ctx); err != nil {
		in.t.Fatalf("%s: flush: %v", in.addr, err)
	}
	all := in.smtp.Messages()
	out := all[in.seen:]
	in.seen = len(all)
	return out
}

func (in *instance) deliver(raw string) {
	in.t.Helper()
	if _, err := in.imap.Append("INBOX", []byte(raw)); err != nil {
		in.t.Fatal(err)
	}
}

func (in *instance) held() int {
	rows, err := in.st.Q(context.Background()).ListOutbox(store.OutboxFilter{Status: store.OutboxHeld})
	storetest.Must(in.t, err)
	return len(rows)
}

// header returns the first value of a header field of raw (unfolded).
func header(raw []byte, name string) string {
	head, _, _ := bytes.Cut(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	lines := strings.Split(string(head), "\n")
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
			v += lines[j]
		}
		return strings.TrimSpace(v)
	}
	return ""
}

// stripHeaders removes header fields, as a careless relay might.
func stripHeaders(raw []byte, names ...string) []byte {
	head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	var out []string
	skip := false
	for _, l := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			if !skip {
				out = append(out, l)
			}
			continue
		}
		skip = false
		k, _, _ := strings.Cut(l, ":")
		for _, n := range names {
			if strings.EqualFold(k, n) {
				skip = true
			}
		}
		if !skip {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\r\n") + "\r\n\r\n" + string(body))
}

const starter = "From: Bea <partners@b.example>\r\nTo: partners@a.example\r\nMessage-ID: <start-1@b.example>\r\n" +
	"Subject: Please establish reseller connection to customer Globex\r\nDate: Mon, 16 Nov 2026 09:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease connect Globex. I do not have the ID at hand.\r\n"

// TestTwoInstancesStop: two onboarder instances, each registered as the
// other's partner, mail each other. Their answers carry Auto-Submitted and
// X-Onboarder-Loop, so the exchange stops at once; through a relay that
// strips those headers, threading stops it within a few mails.
func TestTwoInstancesStop(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strip    []string
		maxMails int
	}{
		{name: "headers intact", maxMails: 1},
		{name: "relay strips the loop headers", strip: []string{"Auto-Submitted", "X-Onboarder-Loop", "X-Auto-Response-Suppress"}, maxMails: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			a := newInstance(t, "partners@a.example", nil)
			b := newInstance(t, "partners@b.example", nil)
			a.partner("B instance", nil, []string{"b.example"})
			b.partner("A instance", nil, []string{"a.example"})
			a.deliver(starter)
			total := 0
			for round := 0; round < 10; round++ {
				moved := 0
				for _, pair := range [][2]*instance{{a, b}, {b, a}} {
					for _, m := range pair[0].step(ctx) {
						total++
						moved++
						if header(m.Data, "Auto-Submitted") == "" || header(m.Data, "X-Onboarder-Loop") != pair[0].addr {
							t.Errorf("%s sent a mail without Auto-Submitted or X-Onboarder-Loop", pair[0].addr)
						}
						pair[1].deliver(string(stripHeaders(m.Data, tc.strip...)))
					}
				}
				if moved == 0 {
					break
				}
			}
			t.Logf("%d mails between the instances", total)
			if total == 0 || total > tc.maxMails {
				t.Errorf("%d mails between the instances, want 1 to %d", total, tc.maxMails)
			}
		})
	}
}

// autoresponder answers every mail it gets, in one of the ways real ones do.
type autoresponder func(in []byte) string

func rfc3834(in []byte) string {
	return "From: sales@resp.example\r\nTo: " + header(in, "Reply-To") + "\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@resp.example>\r\n" +
		"In-Reply-To: " + header(in, "Message-ID") + "\r\nAuto-Submitted: auto-replied\r\nSubject: Automatic reply: " + header(in, "Subject") + "\r\n\r\nI am away.\r\n"
}

func naive(in []byte) string { // no markers at all, but threaded, quoting the mail
	return "From: sales@resp.example\r\nTo: " + header(in, "Reply-To") + "\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@resp.example>\r\n" +
		"In-Reply-To: " + header(in, "Message-ID") + "\r\nSubject: Re: " + header(in, "Subject") + "\r\n\r\nThanks, we will get back to you.\r\n> quoted\r\n"
}

func broken(in []byte) string { // no markers, no threading: restates the request every time
	return "From: sales@resp.example\r\nTo: " + header(in, "Reply-To") + "\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@resp.example>\r\n" +
		"Subject: Please establish reseller connection to customer Globex\r\n\r\nThis mailbox is not monitored.\r\n"
}

// TestAutoresponderStops: an instance whose answers reach an autoresponder
// stops within a few mails, whatever kind the autoresponder is; against
// one that restates the request every time, the rate limit stops it and
// the held answers are there for ops.
func TestAutoresponderStops(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resp     autoresponder
		maxMails int // answers the instance sends
		held     bool
	}{
		{"RFC 3834", rfc3834, 1, false},
		{"no markers, threaded", naive, 1, false},
		{"no markers, no threading", broken, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			a := newInstance(t, "partners@a.example", func(o *workflow.Options) { o.AnswerLimitSender = 3 })
			a.partner("Responder Corp", nil, []string{"resp.example"})
			a.deliver(strings.Replace(starter, "Bea <partners@b.example>", "Sam <sales@resp.example>", 1))
			sent := 0
			for round := 0; round < 30; round++ {
				out := a.step(ctx)
				if len(out) == 0 {
					break
				}
				for _, m := range out {
					sent++
					if len(m.To) != 1 || m.To[0] != "sales@resp.example" {
						t.Fatalf("answer to %v", m.To)
					}
					a.deliver(tc.resp(m.Data))
				}
			}
			t.Logf("%d answers sent, %d held", sent, a.held())
			if sent == 0 || sent > tc.maxMails {
				t.Errorf("%d answers to the autoresponder, want 1 to %d", sent, tc.maxMails)
			}
			if (a.held() > 0) != tc.held {
				t.Errorf("%d held answers", a.held())
			}
		})
	}
}
