package main_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store/storetest"
)

func seedAcme(t *testing.T, h *harness) {
	t.Helper()
	h.run("partners", "add", "--name", "Acme", "--email", "ops@acme.example", "--locale", "en")
	csv := filepath.Join(t.TempDir(), "orgs.csv")
	os.WriteFile(csv, []byte("id,name,status,admin_name,admin_email,country,locale\n"+
		"9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f,Globex,active,Hank,hank@globex.example,US,en\n"), 0o600)
	h.run("orgs", "import", csv)
}

func acmeRequest(i int) []byte {
	return []byte(fmt.Sprintf("From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <cli-%d@acme.example>\r\n"+
		"Subject: Please establish reseller connection to customer Globex\r\n\r\nOrganization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n", i))
}

// oneLine asserts the CLI contract for failures: one line on stderr.
func oneLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 || strings.TrimSpace(stderr) == "" {
		t.Errorf("stderr is not one line: %q", stderr)
	}
}

func TestCLIContract(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	seedAcme(t, h)
	if _, err := h.imap.Append("INBOX", acmeRequest(1)); err != nil {
		t.Fatal(err)
	}
	h.run("poll", "--once")

	// Approve by reference, then again: refused with exit 1 and one line.
	out := h.run("requests", "approve", "REQ-000001", "--by", "olga", "--note", "ok")
	if !strings.Contains(out, "REQ-000001") {
		t.Errorf("approve printed %q", out)
	}
	stdout, stderr, code := h.exec("", "requests", "approve", "1", "--by", "olga")
	if code != 1 || stdout != "" {
		t.Errorf("approving twice: exit %d, stdout %q", code, stdout)
	}
	oneLine(t, stderr)
	if !strings.Contains(stderr, "invited") {
		t.Errorf("the refusal does not say why: %q", stderr)
	}
	var shown struct {
		State string `json:"state"`
		Mails []struct {
			Kind string `json:"kind"`
		} `json:"mails"`
		Audit []struct {
			Actor string  `json:"actor"`
			To    *string `json:"to"`
		} `json:"audit"`
	}
	h.json(&shown, "requests", "show", "REQ-000001")
	if shown.State != "invited" || len(shown.Mails) != 3 || len(shown.Audit) != 2 || shown.Audit[1].Actor != "ops:olga" {
		t.Errorf("requests show: %+v", shown)
	}
	// Rejecting a request that is not open.
	_, stderr, code = h.exec("", "requests", "reject", "1", "--by", "olga", "--reason", "x")
	if code != 0 {
		t.Errorf("rejecting an invited request: exit %d %s", code, stderr)
	}
	_, stderr, code = h.exec("", "requests", "reject", "1", "--by", "olga", "--reason", "x")
	if code != 1 {
		t.Errorf("rejecting a rejected request: exit %d", code)
	}
	oneLine(t, stderr)

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"requests", "approve", "1"},                  // --by missing
		{"requests", "approve", "REQ-x", "--by", "a"}, // not an ID
		{"nonsense"},
		{"poll"},
		{"requests", "list", "--bogus"},
	} {
		_, stderr, code := h.exec("", args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
		oneLine(t, stderr)
	}
	// Unknown request: exit 1.
	_, stderr, code = h.exec("", "requests", "show", "999")
	if code != 1 {
		t.Errorf("unknown request: exit %d", code)
	}
	oneLine(t, stderr)

	// A broken template override stops start-up, naming the file and line.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "mail", "en"), 0o755)
	os.WriteFile(filepath.Join(dir, "mail", "en", "needs_info.txt.tmpl"), []byte("{{define \"subject\"}}x{{end}}\n{{define \"body\"}}{{.Nope}{{end}}"), 0o600)
	h.env = append(h.env, "ONBOARDER_TEMPLATES_DIR="+dir)
	_, stderr, code = h.exec("", "requests", "list")
	if code != 1 || !strings.Contains(stderr, "needs_info.txt.tmpl:2") {
		t.Errorf("broken override: exit %d, %q", code, stderr)
	}
	oneLine(t, stderr)
	h.env = h.env[:len(h.env)-1]

	// A bad setting: exit 1, one line naming the variable.
	h.env = append(h.env, "ONBOARDER_INVITE_TTL=2 weeks")
	_, stderr, code = h.exec("", "requests", "list")
	if code != 1 || !strings.Contains(stderr, "ONBOARDER_INVITE_TTL") {
		t.Errorf("bad setting: exit %d %q", code, stderr)
	}
	oneLine(t, stderr)
	h.env = h.env[:len(h.env)-1]

	// ops-users add reads the password from stdin.
	if _, stderr, code := h.exec("correct horse battery staple\n", "ops-users", "add", "--email", "olga@provider.example"); code != 0 {
		t.Errorf("ops-users add: %d %s", code, stderr)
	}
	if _, _, code := h.exec("short\n", "ops-users", "add", "--email", "x@provider.example"); code != 1 {
		t.Errorf("a short password was accepted: %d", code)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunServesAndStopsCleanly runs the long-running worker with IDLE: a
// mail appended to INBOX is answered without waiting for the schedule, the
// probes answer, and SIGTERM stops it with exit 0.
func TestRunServesAndStopsCleanly(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	seedAcme(t, h)
	addr, admin := freePort(t), freePort(t)
	cmd := exec.Command(binary, "run")
	cmd.Env = append(h.env, "ONBOARDER_HTTP_ADDR="+addr, "ONBOARDER_ADMIN_ADDR="+admin, "ONBOARDER_IMAP_IDLE=true",
		"ONBOARDER_POLL_SCHEDULE=@every 1h")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	getAt := func(addr, path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) { return getAt(addr, path) }
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get("/healthz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never served /healthz; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Give IDLE a moment to start, then deliver: the schedule is hourly, so
	// only IDLE can bring the answer.
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if _, err := h.imap.Append("INBOX", acmeRequest(7)); err != nil {
		t.Fatal(err)
	}
	msgs, err := h.smtp.WaitFor(1, 15*time.Second)
	if err != nil {
		t.Fatalf("no answer by SMTP: %v; log:\n%s", err, logs.String())
	}
	t.Logf("IDLE: appended to answered in %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(string(msgs[0].Data), "REQ-000001") {
		t.Errorf("answer lacks the reference")
	}
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz %d %q", code, body)
	}
	// Metrics are for the monitoring, on the admin address only.
	if code, body := getAt(admin, "/metrics"); code != 200 || !strings.Contains(body, `onboarder_mails_received_total{disposition="request"} 1`) {
		t.Errorf("admin /metrics %d: no received counter", code)
	}
	if code, _ := get("/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics %d, want 404", code)
	}
	if code, body := getAt(admin, "/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("admin /readyz %d %q", code, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after SIGTERM: %v; log:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop within 20s of SIGTERM")
	}
}

func TestDemo(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--no-serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ONBOARDER_HTTP_ADDR=" + freePort(t),
		"ONBOARDER_ADMIN_ADDR=" + freePort(t)}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"REQ-000001", "pending_approval", "needs_info", "rejected", "auto_reply", "ignored", "/invite/",
		// Every way in, and a link's end.
		"new_organization", "customer_first", "pending_partner", "via distributor Nordlicht Distribution AB",
		"pending_reseller", "/consent/", "link 2  ended", "link 1  invited"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	out, stderr, code := h.exec("", "config", "check")
	if code != 0 {
		t.Fatalf("config check: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"ok    database", "ok    IMAP", "ok    SMTP", "ONBOARDER_IMAP_URL"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("config check printed the IMAP password:\n%s", out)
	}
	// A wrong password: that check fails, with the reason, and exit 1.
	h.env = append(h.env, "ONBOARDER_IMAP_PASSWORD=wrong")
	out, stderr, code = h.exec("", "config", "check")
	if code != 1 || !strings.Contains(out, "FAIL  IMAP") {
		t.Fatalf("wrong password: exit %d\n%s", code, out)
	}
	oneLine(t, stderr)
}
