package e2e_test

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/internal/clitest"
)

// servers is one instance set started by scripts/e2e-servers.sh.
type servers struct {
	kind       string // dovecot, cyrus, courier
	dir        string
	imapAddr   string
	smtpAddr   string
	pgURL      string
	doveConf   string
	postfixDir string
	accessMap  string
	password   string
	// processed is the processed folder as this server names it (the
	// worker's default setting Onboarder/Processed, mapped).
	processed string
	// drop holds the mailboxes the worker's mail is delivered to: the
	// server itself (Dovecot, with Postfix) or, for Cyrus and Courier,
	// which the tests fill with APPEND, main1's Dovecot and Postfix.
	drop *servers

	// submissionAddr is Postfix's submission listener (STARTTLS required,
	// then AUTH through Dovecot's auth service); tlsCAFile is the CA that
	// issued its certificate; postfixLog is Postfix's log file.
	submissionAddr, tlsCAFile, postfixLog string
}

var (
	enabled bool
	bin     string
	root    string
	script  string
	main1   *servers // Dovecot with MOVE, UIDPLUS, IDLE; Postfix; PostgreSQL
	nomove  *servers // Dovecot without MOVE, UIDPLUS and IDLE; Postfix
	cyrus   *servers // Cyrus IMAP 3.6 (INBOX. namespace, "."), mail out through main1
	courier *servers // Courier IMAP 5.0 (INBOX. namespace, ".", no MOVE), mail out through main1
)

// imapServers are the IMAP servers the per-server tests run against.
func imapServers() []*servers { return []*servers{main1, cyrus, courier} }

func TestMain(m *testing.M) {
	if os.Getenv("ONBOARDER_E2E") == "" {
		os.Exit(m.Run()) // every test skips
	}
	enabled = true
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	var err error
	if root, err = clitest.ModuleRoot(); err != nil {
		return 0, err
	}
	script = filepath.Join(root, "scripts", "e2e-servers.sh")
	tmp, err := os.MkdirTemp("", "onboarder-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	// Postfix and Dovecot run as their own users and must reach their folders.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	if bin, err = clitest.Build(tmp); err != nil {
		return 0, err
	}
	main1, err = startServers(filepath.Join(tmp, "main"), "--postgres")
	if main1 != nil {
		defer stopServers(main1)
	}
	if err != nil {
		return 0, err
	}
	nomove, err = startServers(filepath.Join(tmp, "nomove"), "--no-move")
	if nomove != nil {
		defer stopServers(nomove)
	}
	if err != nil {
		return 0, err
	}
	for _, kind := range []string{"cyrus", "courier"} {
		srv, err := startServers(filepath.Join(tmp, kind), "--server", kind)
		if srv != nil {
			defer stopServers(srv)
		}
		if err != nil {
			return 0, err
		}
		srv.drop = main1
		srv.smtpAddr = main1.smtpAddr
		if kind == "cyrus" {
			cyrus = srv
		} else {
			courier = srv
		}
	}
	// storetest makes its throw-away databases in our own cluster.
	os.Setenv("ONBOARDER_TEST_POSTGRES_URL", main1.pgURL)
	return m.Run(), nil
}

func startServers(dir string, opts ...string) (*servers, error) {
	s := &servers{dir: dir}
	out, err := runScript("start", append([]string{dir}, opts...)...)
	if err != nil {
		return s, fmt.Errorf("starting the mail servers (%s start %s): %v\n%s", script, dir, err, out)
	}
	env, err := readEnv(filepath.Join(dir, "env"))
	if err != nil {
		return s, err
	}
	s.kind = env["E2E_SERVER"]
	s.drop = s
	s.processed = "Onboarder/Processed"
	if s.kind != "dovecot" {
		s.processed = "INBOX.Onboarder.Processed"
	}
	s.imapAddr = "127.0.0.1:" + env["E2E_IMAP_PORT"]
	s.smtpAddr = "127.0.0.1:" + env["E2E_SMTP_PORT"]
	if p := env["E2E_SUBMISSION_PORT"]; p != "" {
		s.submissionAddr = "127.0.0.1:" + p
	}
	s.tlsCAFile = env["E2E_TLS_CA_FILE"]
	s.postfixLog = env["E2E_POSTFIX_LOG"]
	s.pgURL = env["E2E_PG_URL"]
	s.doveConf = env["E2E_DOVECOT_CONF"]
	s.postfixDir = env["E2E_POSTFIX_DIR"]
	s.accessMap = env["E2E_ACCESS_MAP"]
	s.password = env["E2E_PASSWORD"]
	return s, nil
}

// runScript runs scripts/e2e-servers.sh with its output in a file, not a
// pipe: the daemons it starts must not hold the test's pipe open.
func runScript(cmd string, args ...string) (string, error) {
	f, err := os.CreateTemp("", "e2e-servers-*.log")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	c := exec.Command(script, append([]string{cmd}, args...)...)
	c.Stdout, c.Stderr = f, f
	err = c.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

func stopServers(s *servers) {
	if out, err := runScript("stop", s.dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stopping %s: %v\n%s", s.dir, err, out)
	}
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the servers' settings: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// need skips t unless the suite runs (ONBOARDER_E2E set).
func need(t *testing.T) {
	t.Helper()
	if !enabled {
		t.Skip("end-to-end suite: set ONBOARDER_E2E=1 (make e2e) to run it against real Dovecot and Postfix")
	}
}

// imapURL is ONBOARDER_IMAP_URL for user on s (optionally through addr).
func (s *servers) imapURL(user, addr string) string {
	if addr == "" {
		addr = s.imapAddr
	}
	u := url.URL{Scheme: "imap", User: url.UserPassword(user, s.password), Host: addr, Path: "/INBOX", RawQuery: "tls=none"}
	return u.String()
}

// smtpURL is ONBOARDER_SMTP_URL for Postfix (optionally through addr).
func (s *servers) smtpURL(addr string) string {
	if addr == "" {
		addr = s.smtpAddr
	}
	return "smtp://" + addr + "?tls=none"
}

// user is one Dovecot account as a person's mail client sees it.
func (s *servers) user(name string) *imapUser {
	return &imapUser{addr: s.imapAddr, name: name, password: s.password}
}

// recipient is the mailbox the worker's mail to name lands in.
func (s *servers) recipient(name string) *imapUser { return s.drop.user(name) }

// doveadm runs doveadm against s's Dovecot.
func (s *servers) doveadm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("doveadm", append([]string{"-c", s.doveConf}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("doveadm %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// setRecipientAccess makes Postfix answer RCPT TO for the given addresses
// with the given replies ("550 5.1.1 no such user"); nil clears the table.
func (s *servers) setRecipientAccess(t *testing.T, rules map[string]string) {
	t.Helper()
	var b strings.Builder
	for addr, reply := range rules {
		fmt.Fprintf(&b, "%s %s\n", addr, reply)
	}
	if err := os.WriteFile(s.accessMap, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("script", "-qec", "postfix -c '"+s.postfixDir+"' reload", "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("postfix reload: %v\n%s", err, out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
