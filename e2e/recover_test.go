package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPostgresRestartMidBatch restarts the PostgreSQL cluster while the
// worker is between committing the first chunk of a batch and moving it.
// The pass fails and says so; the next pass, by itself, finishes the work:
// every mail handled once and answered once.
func TestPostgresRestartMidBatch(t *testing.T) {
	need(t)
	for _, down := range []int{0, 5} {
		t.Run(fmt.Sprintf("down_%ds", down), func(t *testing.T) { pgRestart(t, down) })
	}
}

// pgRestart is TestPostgresRestartMidBatch with the cluster down for down
// seconds: a fast restart is absorbed by the connection pool, a longer
// outage fails passes (logged and counted) until the database is back.
func pgRestart(t *testing.T, down int) {
	srv := main1
	box := fmt.Sprintf("pgrestart%d@onboarding.example", down)
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 1)
	const n = 400 // two chunks of at most 250
	var raws [][]byte
	for i := range n {
		raws = append(raws, request(fmt.Sprintf("pg%d-%d@acme.example", down, i), "ops@acme.example", orgs[0], i))
	}
	srv.user(box).appendMany(t, raws)
	proxy := startProxy(t, srv.imapAddr)
	hit := proxy.StallOn("UID MOVE")
	w := startWorker(t, h, "ONBOARDER_IMAP_URL="+srv.imapURL(box, proxy.Addr()), "ONBOARDER_POLL_SCHEDULE=@every 2s")
	select {
	case <-hit:
	case <-time.After(60 * time.Second):
		t.Fatal("the worker never moved the first chunk")
	}
	restarted := make(chan error, 1)
	go func() {
		out, err := runScript("pg-restart", srv.dir, fmt.Sprint(down))
		if err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
		restarted <- err
	}()
	if down > 0 {
		time.Sleep(time.Second) // the database is down: the worker goes on
		proxy.Resume()
		eventually(t, 20*time.Second, "/readyz says the database is unreachable", func() bool { return w.readyz() == 503 })
	}
	if err := <-restarted; err != nil {
		t.Fatalf("restarting PostgreSQL: %v", err)
	}
	proxy.Resume()
	took := eventually(t, 90*time.Second, "every mail handled and answered after the restart", func() bool {
		return len(h.Messages()) == n && len(h.Outbox()) == n && w.metric("outbox_sent_total") == n
	})
	t.Logf("recovered %s after the restart", took.Round(time.Second))
	reqs := h.Requests()
	if len(reqs) != n {
		t.Errorf("%d requests, want %d", len(reqs), n)
	}
	eventually(t, 30*time.Second, "INBOX empty", func() bool { return srv.user(box).count(t, "INBOX") == 0 })
	if got := srv.user(box).count(t, "Onboarder/Processed"); got != n {
		t.Errorf("processed folder holds %d mails, want %d", got, n)
	}
	// Either the restart was absorbed (the pool reconnects before a query)
	// or a pass failed; a failure must be logged and counted.
	failed := w.metric("onboarder_polls_total", `result="error"`)
	if logged := strings.Contains(w.log.String(), "poll failed"); (failed > 0) != logged {
		t.Errorf("%v failed polls counted, but the log says so: %v", failed, logged)
	}
	t.Logf("failed passes around the restart: %v", failed)
	if down > 0 && failed == 0 {
		t.Errorf("the database was down %ds and no pass failed", down)
	}
	// The pass that finished the work may itself have failed at its end
	// (saving the cursor while the database was still away): a later one
	// succeeds by itself.
	eventually(t, 30*time.Second, "a successful poll after the restart", func() bool {
		return w.metric("onboarder_polls_total", `result="ok"`) >= 1
	})
	if w.readyz() != 200 {
		t.Errorf("/readyz = %d after recovery, want 200", w.readyz())
	}
}

// TestIMAPSilent: the IMAP server stops answering (a proxy that forwards
// nothing) while the worker polls. Each command gives up after
// ONBOARDER_IMAP_TIMEOUT, the failure is logged and counted, and when the
// server answers again the waiting mail is handled without help.
func TestIMAPSilent(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	box := "silent@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 1)
	proxy := startProxy(t, srv.imapAddr)
	w := startWorker(t, h, "ONBOARDER_IMAP_URL="+srv.imapURL(box, proxy.Addr()),
		"ONBOARDER_POLL_SCHEDULE=@every 1s", "ONBOARDER_IMAP_TIMEOUT=2s")
	eventually(t, 20*time.Second, "a first poll", func() bool { return w.metric("onboarder_polls_total", `result="ok"`) >= 1 })
	proxy.Stall()
	if err := srv.user(box).Append("INBOX", request("silent-1@acme.example", "ops@acme.example", orgs[0], 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a failed poll counted", func() bool { return w.metric("onboarder_polls_total", `result="error"`) >= 1 })
	if len(h.Messages()) != 0 {
		t.Fatal("a mail was handled through a silent server")
	}
	eventually(t, 20*time.Second, "/readyz fails after three intervals without a poll", func() bool { return w.readyz() == 503 })
	proxy.CutAll()
	proxy.Resume()
	took := eventually(t, 20*time.Second, "the mail handled after the server came back", func() bool { return len(h.Messages()) == 1 })
	eventually(t, 10*time.Second, "/readyz ready again", func() bool { return w.readyz() == 200 })
	t.Logf("handled %s after the server answered again", took.Round(100*time.Millisecond))
	if log := w.log.String(); !strings.Contains(log, "timed out") || !strings.Contains(log, "poll failed") {
		t.Errorf("the log does not say that the poll failed on a timeout:\n%s", tail(log, 20))
	}
}

// TestUIDValidityChange: Dovecot's UIDVALIDITY of INBOX changes (doveadm
// mailbox update --uid-validity) while mails the worker has handled are
// still there (left for people) and a new one arrives. The worker rescans
// and handles only the new one.
func TestUIDValidityChange(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	box := "uidvalidity@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 2)
	other := "From: billing@vendor.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <invoice-%d@vendor.example>\r\nSubject: Invoice %d\r\n\r\nPlease pay.\r\n"
	u := srv.user(box)
	for i := range 2 {
		if err := u.Append("INBOX", fmt.Appendf(nil, other, i, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Append("INBOX", request("uidv-1@acme.example", "ops@acme.example", orgs[0], 1)); err != nil {
		t.Fatal(err)
	}
	h.Run("poll", "--once")
	if got := len(h.Messages()); got != 3 {
		t.Fatalf("%d messages after the first pass, want 3", got)
	}
	srv.doveadm(t, "mailbox", "update", "-u", box, "--uid-validity", fmt.Sprint(time.Now().Unix()+12345), "INBOX")
	if err := u.Append("INBOX", request("uidv-2@acme.example", "ops@acme.example", orgs[1], 2)); err != nil {
		t.Fatal(err)
	}
	h.Run("poll", "--once")
	msgs := h.Messages()
	if len(msgs) != 4 {
		t.Errorf("%d messages after the rescan, want 4 (nothing handled twice)", len(msgs))
	}
	if got := len(h.Requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
	if got := len(h.Outbox()); got != 2 {
		t.Errorf("%d outbox rows, want 2", got)
	}
	if got := u.count(t, "INBOX"); got != 2 {
		t.Errorf("%d mails in INBOX, want the 2 invoices", got)
	}
	// A third pass under the new UIDVALIDITY finds nothing new.
	h.Run("poll", "--once")
	if got := len(h.Messages()); got != 4 {
		t.Errorf("%d messages after another pass, want 4", got)
	}
}

// TestOddMails: the same mail delivered twice, a request without a
// Message-ID, and a mail that keeps failing (set aside as unparseable
// after three tries while the mails after it are handled).
func TestOddMails(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	box := "odd@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 3)
	u := srv.user(box)
	twice := request("twice@acme.example", "ops@acme.example", orgs[0], 0)
	noID := []byte(strings.Replace(string(request("x", "ops@acme.example", orgs[1], 1)), "Message-ID: <x>\r\n", "", 1))
	// A mail whose handling fails every time: the database refuses its
	// request (a trigger stands in for whatever a real fault would be).
	st := dbOf(t, h)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN IF NEW.customer_name LIKE '%Poison%' THEN RAISE EXCEPTION 'poisoned request'; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON requests FOR EACH ROW EXECUTE FUNCTION poison()`,
	} {
		if err := st.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	failing := []byte(strings.Replace(string(request("failing@acme.example", "ops@acme.example", orgs[2], 2)),
		"Globex 2", "Poison 2", 1))
	for _, raw := range [][]byte{twice, twice, noID, failing, request("after@acme.example", "ops@acme.example", orgs[2], 3)} {
		if err := u.Append("INBOX", raw); err != nil {
			t.Fatal(err)
		}
	}
	h.Run("poll", "--once")
	// The mail after the failing one is handled in the first pass.
	if got := len(h.Requests()); got != 3 {
		t.Errorf("%d requests after the first pass, want 3", got)
	}
	for range 2 {
		h.Run("poll", "--once")
	}
	msgs := h.Messages()
	disp := map[string]int{}
	for _, m := range msgs {
		disp[m.Disposition]++
	}
	if disp["unparseable"] != 1 || disp["duplicate"] != 1 || disp["request"] != 3 {
		t.Errorf("dispositions %v, want request 3, duplicate 1, unparseable 1", disp)
	}
	if len(msgs) != 5 {
		t.Errorf("%d messages recorded, want 5 (each delivery recorded once)", len(msgs))
	}
	reqs := h.Requests()
	if len(reqs) != 3 {
		t.Errorf("%d requests, want 3 (the twice-delivered mail makes one; the no-Message-ID one and the one after the failing mail one each)", len(reqs))
	}
	if got := len(h.Outbox()); got != 3 {
		t.Errorf("%d outbox rows, want 3", got)
	}
	if got := u.count(t, "INBOX"); got != 0 {
		t.Errorf("%d mails left in INBOX, want 0", got)
	}
	// A fourth pass changes nothing.
	h.Run("poll", "--once")
	if got := len(h.Messages()); got != len(msgs) {
		t.Errorf("another pass recorded %d more mails", got-len(msgs))
	}
}
