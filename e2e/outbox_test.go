package e2e_test

import (
	"github.com/onboarder/onboarder/internal/clitest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestKillDuringSending kills `outbox flush` between claiming a row and
// sending it, and after Postfix accepted it but before it was marked sent.
// After the lease the row is sent again: once in all in the first case; in
// the second (the one case SMTP cannot tell) twice, with the same
// Message-ID.
func TestKillDuringSending(t *testing.T) {
	need(t)
	for _, tc := range []struct {
		name       string
		smtpStall  string // SMTP command held back, then SIGKILL
		dbStall    string // SQL the database never gets, then SIGKILL
		wantCopies int
	}{
		{name: "between_claim_and_send", smtpStall: "MAIL FROM", wantCopies: 1},
		{name: "accepted_before_marked_sent", dbStall: "sent_at", wantCopies: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := main1
			box := "outkill-" + tc.name + "@onboarding.example"
			sender := tc.name + "@acme.example"
			h := newHarness(t, srv, box, acmeWorld)
			orgs := seedAcme(t, h, 1)
			if err := srv.user(box).Append("INBOX", request("outkill-"+tc.name+"@acme.example", sender, orgs[0], 1)); err != nil {
				t.Fatal(err)
			}
			h.Run("poll", "--once")
			rows := h.Outbox()
			if len(rows) != 1 {
				t.Fatalf("%d outbox rows, want 1", len(rows))
			}
			var env []string
			var hit <-chan struct{}
			if tc.smtpStall != "" {
				p := startProxy(t, srv.smtpAddr)
				hit = p.StallOn(tc.smtpStall)
				env = append(env, "ONBOARDER_SMTP_URL="+srv.smtpURL(p.Addr()))
				defer func() { p.CutAll(); p.Resume() }()
			} else {
				dbURL := ""
				for _, kv := range h.Env {
					if u, ok := strings.CutPrefix(kv, "ONBOARDER_DATABASE_URL="); ok {
						dbURL = u
					}
				}
				u, err := url.Parse(dbURL)
				if err != nil {
					t.Fatal(err)
				}
				p := startProxy(t, u.Host)
				hit = p.StallOn(tc.dbStall)
				u.Host = p.Addr()
				env = append(env, "ONBOARDER_DATABASE_URL="+u.String())
				defer func() { p.CutAll(); p.Resume() }()
			}
			killAt(t, h, env, hit, "outbox", "flush")

			st := dbOf(t, h)
			rows = h.Outbox()
			if rows[0].Status != "pending" {
				t.Fatalf("after the kill the row is %s, want pending (claimed by the dead worker)", rows[0].Status)
			}
			expireOutboxLeases(t, st, "")
			if got := strings.TrimSpace(h.Run("outbox", "flush")); got != "sent 1, deferred 0, failed 0" {
				t.Fatalf("flush after restart: %s", got)
			}
			rows = h.Outbox()
			if rows[0].Status != "sent" || rows[0].Attempts != 2 {
				t.Errorf("row after restart: %s after %d attempts, want sent after 2", rows[0].Status, rows[0].Attempts)
			}
			u := srv.user(sender)
			copies := func() int {
				got, err := u.byMessageID("INBOX", rows[0].MessageID)
				if err != nil {
					t.Fatal(err)
				}
				return len(got)
			}
			eventually(t, deliveryTimeout, "delivery", func() bool { return copies() >= tc.wantCopies })
			time.Sleep(time.Second) // a further copy would be delivered by now
			if got := copies(); got != tc.wantCopies {
				t.Errorf("the partner received <%s> %d times, want %d", rows[0].MessageID, got, tc.wantCopies)
			}
		})
	}
}

// TestDatabaseDropsAfterSend: Postfix accepted a mail and the database
// connection breaks while the worker records it. The worker, still alive,
// must record it once the database answers, not leave it to be sent again
// when the lease runs out.
func TestDatabaseDropsAfterSend(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	box := "dbdrop@onboarding.example"
	sender := "dbdrop@acme.example"
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 1)
	if err := srv.user(box).Append("INBOX", request("dbdrop@acme.example", sender, orgs[0], 1)); err != nil {
		t.Fatal(err)
	}
	h.Run("poll", "--once")
	u, err := url.Parse(strings.TrimPrefix(envOf(h, "ONBOARDER_DATABASE_URL"), ""))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	hit := p.StallOn("sent_at")
	u.Host = p.Addr()
	w := startWorker(t, h, "ONBOARDER_DATABASE_URL="+u.String())
	select {
	case <-hit:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker never recorded a sent mail")
	}
	p.CutAll() // the connection breaks under the UPDATE
	p.Resume()
	eventually(t, 45*time.Second, "the sent mail recorded", func() bool {
		rows := h.Outbox()
		return len(rows) == 1 && rows[0].Status == "sent"
	})
	rows := h.Outbox()
	if rows[0].Attempts != 1 {
		t.Errorf("the row took %d attempts, want 1", rows[0].Attempts)
	}
	w.stop()
	got, err := srv.user(sender).byMessageID("INBOX", rows[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("the partner received the answer %d times, want once", len(got))
	}
}

// envOf returns the value of one variable of h's environment.
func envOf(h *clitest.Harness, name string) string {
	for _, kv := range h.Env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestSMTPFaults: Postfix answers 451 to one recipient, 421 to another and
// 550 to a third, then recovers (the table is cleared); a proxy cuts the
// connection after DATA once. The worker retries the temporary failures
// with backoff until they are delivered, fails the 550 at once, sends the
// rest, and says so in its log and metrics.
func TestSMTPFaults(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	box := "smtpfaults@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 5)
	senders := map[string]string{
		"defer451":  "451 4.3.0 mailbox busy, try later",
		"drop421":   "421 4.7.0 closing the connection",
		"reject550": "550 5.1.1 no such user here",
		"fine":      "",
		"cut":       "",
	}
	rules := map[string]string{}
	for s, reply := range senders {
		if reply != "" {
			rules[s+"@acme.example"] = reply
		}
	}
	srv.setRecipientAccess(t, rules)
	t.Cleanup(func() { srv.setRecipientAccess(t, nil) })

	proxy := startProxy(t, srv.smtpAddr)
	w := startWorker(t, h, "ONBOARDER_SMTP_URL="+srv.smtpURL(proxy.Addr()), "ONBOARDER_POLL_SCHEDULE=@every 1s")
	// The "cut" mail goes first, alone: the proxy cuts its connection when
	// the end of DATA passes.
	hit := proxy.StallOn("\r\n.\r\n")
	if err := srv.user(box).Append("INBOX", request("smtp-cut@acme.example", "cut@acme.example", orgs[4], 4)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hit:
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker never sent DATA")
	}
	proxy.CutAll()
	proxy.Resume()
	i := 0
	for s := range senders {
		if s == "cut" {
			continue
		}
		if err := srv.user(box).Append("INBOX", request("smtp-"+s+"@acme.example", s+"@acme.example", orgs[i], i)); err != nil {
			t.Fatal(err)
		}
		i++
	}
	byTo := func() map[string]string {
		out := map[string]string{}
		for _, o := range h.Outbox() {
			out[strings.SplitN(strings.Trim(o.To[0], "<>"), "@", 2)[0]] = o.Status
		}
		return out
	}
	eventually(t, 30*time.Second, "fine sent, reject550 failed, the others deferred", func() bool {
		s := byTo()
		return s["fine"] == "sent" && s["reject550"] == "failed" && s["defer451"] == "pending" && s["drop421"] == "pending"
	})
	if w.metric("outbox_failed_total") != 1 || w.metric("outbox_deferred_total") < 3 {
		t.Errorf("metrics: failed %v (want 1), deferred %v (want >= 3)", w.metric("outbox_failed_total"), w.metric("outbox_deferred_total"))
	}
	srv.setRecipientAccess(t, nil) // the server recovers
	took := eventually(t, 150*time.Second, "the deferred mails sent after recovery", func() bool {
		s := byTo()
		return s["defer451"] == "sent" && s["drop421"] == "sent" && s["cut"] == "sent"
	})
	t.Logf("deferred mails sent %s after recovery", took.Round(time.Second))
	for _, o := range h.Outbox() {
		if o.Status != "sent" {
			continue
		}
		srv.user(strings.Trim(o.To[0], "<>")).waitMail(t, o.MessageID, deliveryTimeout)
	}
	log := w.log.String()
	for _, want := range []string{"outbox mail deferred", "outbox mail failed", "451", "421", "550"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not mention %q", want)
		}
	}
	if got := w.metric("outbox_sent_total"); got != 4 {
		t.Errorf("outbox_sent_total = %v, want 4", got)
	}
}
