package e2e_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/onboarder/onboarder/internal/clitest"
)

// psql runs one query on the harness's database and returns its output.
func psql(t *testing.T, h *clitest.Harness, query string) string {
	t.Helper()
	for _, kv := range h.Env {
		if u, ok := strings.CutPrefix(kv, "ONBOARDER_DATABASE_URL="); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "psql", u, "-tAc", query).CombinedOutput()
			if err != nil {
				t.Fatalf("psql %q: %v\n%s", query, err, out)
			}
			return strings.TrimSpace(string(out))
		}
	}
	t.Fatal("no database URL")
	return ""
}

// appendMany appends every mail to INBOX over one connection.
func (u *imapUser) appendMany(t *testing.T, raws [][]byte) {
	t.Helper()
	err := u.session(func(c *imapclient.Client) error {
		for _, raw := range raws {
			cmd := c.Append("INBOX", int64(len(raw)), nil)
			if _, err := cmd.Write(raw); err != nil {
				return err
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			if _, err := cmd.Wait(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("appending %d mails: %v", len(raws), err)
	}
}

// checkOnce checks that n request mails were each handled once, each
// request exists once, every outbox row was sent once, and the partner got
// each answer once (allowing a second copy only for a row that was tried
// again after its worker died: the one case SMTP cannot tell).
func checkOnce(t *testing.T, srv *servers, h *clitest.Harness, n int, partner string) {
	t.Helper()
	msgs := h.Messages()
	ids := map[string]int{}
	for _, m := range msgs {
		ids[clitest.Deref(m.MessageID)]++
	}
	if len(msgs) != n || len(ids) != n {
		t.Errorf("%d messages recorded for %d distinct Message-IDs, want %d each", len(msgs), len(ids), n)
	}
	if got := len(h.Requests()); got != n {
		t.Errorf("%d requests, want %d", got, n)
	}
	rows := h.Outbox()
	if len(rows) != n {
		t.Errorf("%d outbox rows, want %d", len(rows), n)
	}
	retried := map[string]bool{}
	for _, o := range rows {
		if o.Status != "sent" {
			t.Errorf("outbox %d: %s", o.ID, o.Status)
		}
		if o.Attempts > 1 {
			retried[o.MessageID] = true
		}
	}
	// What the partner's mailbox holds, read over IMAP.
	var got map[string]int
	eventually(t, 60*time.Second, "every answer delivered", func() bool {
		msgs, err := srv.user(partner).Messages("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]int{}
		for _, m := range msgs {
			got[clitest.MessageIDOf(t, m.Raw)]++
		}
		return len(got) >= len(rows)
	})
	for _, o := range rows {
		if c := got[o.MessageID]; c != 1 && !(c == 2 && retried[o.MessageID]) {
			t.Errorf("the partner received <%s> %d times (attempts %d)", o.MessageID, c, o.Attempts)
		}
	}
}

// TestThreeWorkers: three `onboarder run` processes on one PostgreSQL
// database and one mailbox handle 1,000 request mails: each exactly once,
// each answer sent once.
func TestThreeWorkers(t *testing.T) {
	need(t)
	srv := main1
	box := "three@onboarding.example"
	partner := "load@acme.example"
	h := newHarness(t, srv, box, acmeWorld)
	const n = 1000
	orgs := seedAcme(t, h, n)
	// Postfix through a proxy that holds every SMTP connection until the
	// intake is done: the leader's outbox could otherwise send every
	// answer as soon as it is queued, before the others' schedule ticks.
	// Held, each worker's outbox claims its own batches and waits.
	smtp := startProxy(t, srv.smtpAddr)
	smtp.Stall()
	env := []string{"ONBOARDER_POLL_SCHEDULE=@every 1s", "ONBOARDER_POLL_LEASE=5s", "ONBOARDER_LOG_LEVEL=warn",
		"ONBOARDER_SMTP_URL=" + srv.smtpURL(smtp.Addr())}
	var ws []*proc
	for range 3 {
		ws = append(ws, startWorker(t, h, env...))
	}
	raws := make([][]byte, n)
	for i := range n {
		raws[i] = request(fmt.Sprintf("three-%d@acme.example", i), partner, orgs[i], i)
	}
	start := time.Now()
	srv.user(box).appendMany(t, raws)
	t.Logf("appended %d mails in %s", n, time.Since(start).Round(time.Millisecond))
	eventually(t, 4*time.Minute, "every answer queued and claimed by all three workers", func() bool {
		return psql(t, h, "SELECT count(*) FROM outbox_mails") == fmt.Sprint(n) &&
			psql(t, h, "SELECT count(DISTINCT locked_by) FROM outbox_mails WHERE locked_until > now()") == "3"
	})
	smtp.Resume()
	took := eventually(t, 4*time.Minute, "every mail handled and every answer sent", func() bool {
		sent := 0.0
		for _, w := range ws {
			sent += w.metric("outbox_sent_total")
		}
		return sent >= n
	})
	t.Logf("%d mails handled and answered in %s", n, (time.Since(start)).Round(time.Second))
	_ = took
	var perWorker []string
	sent, received := 0.0, 0.0
	for _, w := range ws {
		s, r := w.metric("outbox_sent_total"), w.metric("onboarder_mails_received_total")
		sent += s
		received += r
		perWorker = append(perWorker, fmt.Sprintf("pid %d: received %v sent %v", w.cmd.Process.Pid, r, s))
	}
	t.Logf("per worker: %s", strings.Join(perWorker, "; "))
	// All send: not only the poll leader, whose intake wakes its own
	// dispatcher, but the others too.
	senders := 0
	for _, w := range ws {
		if w.metric("outbox_sent_total") > 0 {
			senders++
		}
	}
	if senders < 2 {
		t.Errorf("only %d of 3 workers sent mail", senders)
	}
	if sent != n || received != n {
		t.Errorf("workers together sent %v and received %v mails, want %d each", sent, received, n)
	}
	checkOnce(t, srv, h, n, partner)
	if got := srv.user(box).count(t, "INBOX"); got != 0 {
		t.Errorf("%d mails left in INBOX", got)
	}
	for _, w := range ws {
		w.stop()
	}
}

// TestLeaderKilled: of three workers, the one holding the poll lease is
// killed (SIGKILL) in the middle of a batch; another takes over within one
// lease period and the mails are still handled once.
func TestLeaderKilled(t *testing.T) {
	need(t)
	srv := main1
	box := "leader@onboarding.example"
	partner := "leader@acme.example"
	h := newHarness(t, srv, box, acmeWorld)
	const n = 300
	orgs := seedAcme(t, h, n+1)
	const lease = 4 * time.Second
	proxy := startProxy(t, srv.imapAddr)
	env := []string{"ONBOARDER_POLL_SCHEDULE=@every 1s", "ONBOARDER_POLL_LEASE=" + lease.String(), "ONBOARDER_LOG_LEVEL=warn",
		"ONBOARDER_IMAP_URL=" + srv.imapURL(box, proxy.Addr())}
	var ws []*proc
	for range 3 {
		ws = append(ws, startWorker(t, h, env...))
	}
	st := dbOf(t, h)
	leaderHolder := func() string {
		return psql(t, h, "SELECT holder FROM leases WHERE name = 'poll' AND expires_at > now()")
	}
	leader := func() int {
		holder := leaderHolder()
		if holder == "" {
			return 0
		}
		f := strings.Split(holder, "-")
		pid, _ := strconv.Atoi(f[len(f)-2])
		return pid
	}
	raws := make([][]byte, n)
	for i := range n {
		raws[i] = request(fmt.Sprintf("leader-%d@acme.example", i), partner, orgs[i], i)
	}
	// Hold the leader in the middle of its batch (after the first chunk is
	// committed, before it is moved), then kill it.
	hit := proxy.StallOn("UID MOVE")
	srv.user(box).appendMany(t, raws)
	select {
	case <-hit:
	case <-time.After(60 * time.Second):
		t.Fatal("no worker moved the first chunk")
	}
	dead := leaderHolder() // the worker's lease holder id, for its outbox rows too
	pid := leader()
	idx := slices.IndexFunc(ws, func(w *proc) bool { return w.cmd.Process.Pid == pid })
	if idx < 0 {
		t.Fatalf("the poll lease holder (pid %d) is none of the workers", pid)
	}
	ws[idx].kill()
	killed := time.Now()
	proxy.CutAll()
	proxy.Resume()
	expireOutboxLeases(t, st, dead) // the dead worker's claimed rows, after its (5 min) outbox lease
	took := eventually(t, 2*lease+10*time.Second, "another worker polls", func() bool {
		p := leader()
		return p != 0 && p != pid
	})
	t.Logf("a new poll leader within %s of the kill (lease %s)", took.Round(100*time.Millisecond), lease)
	if took > lease+2*time.Second {
		t.Errorf("the new leader took %s, more than one lease period (%s) and a schedule tick", took, lease)
	}
	_ = killed
	eventually(t, 3*time.Minute, "every mail handled and answered", func() bool {
		if len(h.Messages()) != n {
			return false
		}
		expireOutboxLeases(t, st, dead)
		for _, o := range h.Outbox() {
			if o.Status != "sent" {
				return false
			}
		}
		return true
	})
	checkOnce(t, srv, h, n, partner)
}
