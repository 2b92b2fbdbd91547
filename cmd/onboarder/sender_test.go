package main_test

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/internal/testcorpus"
	"github.com/onboarder/onboarder/store/storetest"
)

// TestOneSenderEndToEnd delivers, through the built binary, mails that name
// a registered, trusted partner in a From that is not one address: they are
// recorded and rejected as unknown_sender, and nothing is sent, not even
// with trusted results that pass for the partner's domain and automatic
// approval on.
func TestOneSenderEndToEnd(t *testing.T) {
	dir := testcorpus.Requests(t)
	var w world
	clitest.ReadJSON(t, dir+"/world.json", &w)
	h := newHarness(t, storetest.SQLiteURL(t), w)
	h.env = append(h.env, "ONBOARDER_AUTO_APPROVE_TRUSTED=true")
	h.cli().Setup(w, dir+"/orgs.csv")

	// A receiving MX that judged DMARC on the first From only; Bluebird
	// Systems is a trusted partner of the corpus (every bluebird.example
	// address).
	const pass = "Authentication-Results: mx.partners.example; dkim=pass header.d=bluebird.example;" +
		" spf=pass smtp.mailfrom=bluebird.example; dmarc=pass header.from=bluebird.example\r\n"
	mail := func(id, from string) []byte {
		return []byte(pass + from + "To: partners@onboarding.example\r\nMessage-ID: <" + id + ">\r\n" +
			"Subject: Please establish reseller connection to customer Globex Corporation\r\n" +
			"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\n\r\nOrganization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n")
	}
	for _, raw := range [][]byte{
		mail("two-from@evil.example", "From: Bluebird Sales <sales@bluebird.example>\r\nFrom: Eve <eve@evil.example>\r\n"),
		mail("broken-from@evil.example", "From: <sales@bluebird.example@evil.example>\r\n"),
	} {
		if _, err := h.imap.Append("INBOX", raw); err != nil {
			t.Fatal(err)
		}
	}
	h.run("poll", "--once")
	h.run("outbox", "flush")

	msgs := h.cli().Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d mails recorded, want 2: %+v", len(msgs), msgs)
	}
	for _, m := range msgs {
		if m.Disposition != "request" || m.RequestID == nil {
			t.Errorf("mail %s: disposition %s, request %v", clitest.Deref(m.MessageID), m.Disposition, m.RequestID)
		}
	}
	reqs := h.cli().Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		var codes []string
		for _, f := range r.Findings {
			codes = append(codes, f.Code+": "+f.Detail)
		}
		if r.State != "rejected" || len(codes) == 0 || !strings.HasPrefix(codes[0], "unknown_sender: ") {
			t.Errorf("%s: state %s, findings %q; want rejected, unknown_sender", r.Reference, r.State, codes)
		}
		if r.Partner != nil {
			t.Errorf("%s counts for partner %s", r.Reference, r.Partner.Name)
		}
	}
	if out := h.cli().Outbox(); len(out) != 0 {
		t.Errorf("outbox has %d mails, want none: %+v", len(out), out)
	}
	if got := h.smtp.Messages(); len(got) != 0 {
		t.Errorf("the SMTP server received %d mails, want none", len(got))
	}
	if left, err := h.imap.Messages("INBOX"); err != nil || len(left) != 0 {
		t.Errorf("%d mails left in INBOX (%v), want both moved", len(left), err)
	}
}

// syncBuffer collects a process's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSenderAuthWarning: run, poll and config check say, when nothing
// authenticates senders, what that means and how to fix it.
func TestNoSenderAuthWarning(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	warning := config.WarningNoSenderAuth

	out, stderr, code := h.exec("", "config", "check")
	if code != 0 || !strings.Contains(out, "warn  "+warning) {
		t.Errorf("config check: exit %d, stdout lacks the warning:\n%s\n%s", code, out, stderr)
	}
	_, stderr, code = h.exec("", "poll", "--once")
	if code != 0 || !strings.Contains(stderr, warning) {
		t.Errorf("poll --once: exit %d, stderr lacks the warning:\n%s", code, stderr)
	}

	// run says it at start.
	cmd := exec.Command(binary, "run")
	cmd.Env = append(append([]string(nil), h.env...), "ONBOARDER_HTTP_ADDR="+freePort(t), "ONBOARDER_POLL_SCHEDULE=@every 1h")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), warning) {
		if time.Now().After(deadline) {
			t.Fatalf("run never warned; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("run after SIGTERM: %v", err)
	}

	// Either setting silences it.
	for _, set := range []string{"ONBOARDER_TRUSTED_AUTHSERV_ID=mx.partners.example", "ONBOARDER_VERIFY_DKIM=true"} {
		env := append(append([]string(nil), h.env...), set)
		c := &clitest.Harness{T: t, Bin: binary, Env: env}
		out, _, _ := c.Exec("", "config", "check")
		_, stderr, _ := c.Exec("", "poll", "--once")
		if strings.Contains(out+stderr, "no sender authentication") {
			t.Errorf("%s: still warned:\n%s\n%s", set, out, stderr)
		}
	}
}
