package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailbox"
)

// TestIdleLatency: with ONBOARDER_IMAP_IDLE=true (and a schedule that would
// not poll for an hour) a request appended to INBOX has its answer
// accepted by Postfix within 2 seconds at the median; on Dovecot, Cyrus
// (whose idled tells imapd at once) and Courier (without FAM its IDLE
// looks at the folder every IMAP_IDLE_TIMEOUT: 60s as Debian ships it, 1s
// in scripts/e2e-servers.sh).
func TestIdleLatency(t *testing.T) {
	need(t)
	for _, srv := range imapServers() {
		t.Run(srv.kind, func(t *testing.T) { idleLatency(t, srv) })
	}
}

func idleLatency(t *testing.T, srv *servers) {
	box := "idle@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	const n = 9
	orgs := seedAcme(t, h, n)
	w := startWorker(t, h, "ONBOARDER_IMAP_IDLE=true", "ONBOARDER_POLL_SCHEDULE=@every 1h")
	eventually(t, 20*time.Second, "the first poll", func() bool { return w.metric("onboarder_polls_total", `result="ok"`) >= 1 })
	time.Sleep(500 * time.Millisecond) // IDLE is up
	var lat []time.Duration
	for i := range n {
		if err := srv.user(box).Append("INBOX", request(fmt.Sprintf("idle-%s-%d@acme.example", srv.kind, i), "idle@acme.example", orgs[i], i)); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, eventually(t, 30*time.Second, "the answer accepted by Postfix", func() bool {
			return w.metric("outbox_sent_total") >= float64(i+1)
		}))
	}
	slices.Sort(lat)
	median := lat[len(lat)/2]
	t.Logf("%s: APPEND to SMTP acceptance: median %s, max %s", srv.kind, median.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	if median > 2*time.Second {
		t.Errorf("median latency %s, want at most 2s", median)
	}
}

// TestIdleFallback: against a Dovecot without IDLE the worker says so and
// polls on its schedule.
func TestIdleFallback(t *testing.T) {
	need(t)
	t.Parallel()
	srv := nomove
	box := "noidle@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 1)
	w := startWorker(t, h, "ONBOARDER_IMAP_IDLE=true", "ONBOARDER_POLL_SCHEDULE=@every 2s")
	eventually(t, 20*time.Second, "the warning that IDLE is missing", func() bool {
		return strings.Contains(w.log.String(), "no IDLE")
	})
	if err := srv.user(box).Append("INBOX", request("noidle-1@acme.example", "noidle@acme.example", orgs[0], 0)); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, 15*time.Second, "the mail handled on the schedule", func() bool { return len(h.Messages()) == 1 })
	t.Logf("handled %s after APPEND without IDLE (schedule every 2s)", took.Round(100*time.Millisecond))
}

// TestIdleRenew runs the poller's IDLE against Dovecot with a 1s renewal:
// IDLE is re-issued (DONE, IDLE) well before any server timeout, and new
// mail still wakes it after several renewals. The default renewal (25
// minutes) is below the 29 minutes RFC 2177 tells clients to stay under.
func TestIdleRenew(t *testing.T) {
	need(t)
	t.Parallel()
	if mailbox.DefaultIdleRenew >= 29*time.Minute {
		t.Errorf("DefaultIdleRenew %s: a server may log the client out after 30 minutes", mailbox.DefaultIdleRenew)
	}
	srv := main1
	box := "idlerenew@onboarding.example"
	proxy := startProxy(t, srv.imapAddr)
	p := mailbox.NewPoller(mailbox.Config{Addr: proxy.Addr(), TLS: mailbox.TLSNone, Username: box, Password: srv.password,
		IdleRenew: time.Second, CommandTimeout: 5 * time.Second}, nil, nil)
	var notified atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Idle(ctx, func() { notified.Add(1) }) }()
	defer func() {
		cancel()
		<-done
	}()
	eventually(t, 10*time.Second, "IDLE started", func() bool { return notified.Load() >= 1 })
	before := proxy.BytesToServer()
	time.Sleep(3500 * time.Millisecond)
	// Each renewal sends "DONE\r\n" and "Tn IDLE\r\n".
	if sent := proxy.BytesToServer() - before; sent < int64(3*len("DONE\r\nT1 IDLE\r\n")) {
		t.Errorf("%d bytes sent in 3.5s of IDLE with 1s renewal: IDLE was not renewed", sent)
	}
	n := notified.Load()
	if err := srv.user(box).Append("INBOX", request("renew-1@acme.example", "renew@acme.example", "x", 0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "new mail noticed after several renewals", func() bool { return notified.Load() > n })
}
