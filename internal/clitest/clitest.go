// Package clitest drives the built onboarder binary through its CLI
// contract (../shared/spec/cli.md) for the acceptance test (in-process
// servers) and the end-to-end suite (real Dovecot and Postfix): building
// the binary, running commands, the --json shapes, and the replay of the
// request corpus against whatever mail servers the caller provides.
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Build compiles ./cmd/onboarder of the module around the working directory
// into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "onboarder")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/onboarder")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building onboarder: %v\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot returns the folder holding go.mod, walking up from the working
// directory.
func ModuleRoot() (string, error) { return moduleRoot() }

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Harness runs the binary with a fixed environment.
type Harness struct {
	T   testing.TB
	Bin string
	Env []string
}

// BaseEnv is the environment every run starts from: PATH, a private HOME,
// and the given database, mail servers and mailbox.
func BaseEnv(t testing.TB, dbURL, imapURL, smtpURL string, w World) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"ONBOARDER_DATABASE_URL=" + dbURL,
		"ONBOARDER_IMAP_URL=" + imapURL,
		"ONBOARDER_SMTP_URL=" + smtpURL,
		"ONBOARDER_MAIL_FROM=Partner Onboarding <" + w.Mailbox + ">",
		"ONBOARDER_TRUSTED_AUTHSERV_ID=" + w.TrustedAuthservID,
		"ONBOARDER_PUBLIC_URL=http://127.0.0.1:9",
		"ONBOARDER_LOG_LEVEL=warn",
	}
}

// Set replaces (or adds) one variable of the environment.
func (h *Harness) Set(name, value string) {
	for i, kv := range h.Env {
		if strings.HasPrefix(kv, name+"=") {
			h.Env[i] = name + "=" + value
			return
		}
	}
	h.Env = append(h.Env, name+"="+value)
}

// Run runs the binary and fails the test unless it exits 0; it returns stdout.
func (h *Harness) Run(args ...string) string {
	h.T.Helper()
	out, errOut, code := h.Exec("", args...)
	if code != 0 {
		h.T.Fatalf("onboarder %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// Exec runs the binary with stdin and returns stdout, stderr and the exit code.
func (h *Harness) Exec(stdin string, args ...string) (string, string, int) {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = h.Env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			h.T.Fatalf("running onboarder %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errOut.String(), code
}

// JSON runs the command with --json and decodes its output into v.
func (h *Harness) JSON(v any, args ...string) {
	h.T.Helper()
	out := h.Run(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.T.Fatalf("onboarder %v --json printed no single JSON document: %v\n%s", args, err, out)
	}
}

// Messages, Requests and Outbox list what the program recorded.
func (h *Harness) Messages() []Message {
	h.T.Helper()
	var v []Message
	h.JSON(&v, "messages", "list")
	return v
}

// Requests lists every request.
func (h *Harness) Requests() []Request {
	h.T.Helper()
	var v []Request
	h.JSON(&v, "requests", "list")
	return v
}

// Outbox lists every outbox row.
func (h *Harness) Outbox() []Outbox {
	h.T.Helper()
	var v []Outbox
	h.JSON(&v, "outbox", "list")
	return v
}

// Setup migrates the database and registers the world's partners and the
// organizations of orgsCSV.
func (h *Harness) Setup(w World, orgsCSV string) {
	h.T.Helper()
	h.Run("migrate")
	for _, p := range w.Partners {
		args := []string{"partners", "add", "--name", p.Name, "--ref", p.Ref, "--locale", p.Locale}
		for _, e := range p.Emails {
			args = append(args, "--email", e)
		}
		for _, d := range p.Domains {
			args = append(args, "--domain", d)
		}
		if p.Trusted {
			args = append(args, "--trusted")
		}
		h.Run(args...)
	}
	h.Run("orgs", "import", orgsCSV)
}

// ReadJSON decodes the file at path into v.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// MessageIDOf returns the Message-ID of a raw mail, without angle brackets.
func MessageIDOf(t testing.TB, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading header: %v", err)
	}
	return strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")
}

// DecodeHeader decodes RFC 2047 words; undecodable text is returned as is.
func DecodeHeader(s string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// LowerAddrs strips display names: "Name <a@b>" → "a@b".
func LowerAddrs(list []string) []string {
	out := make([]string, len(list))
	for i, a := range list {
		if p, err := mail.ParseAddress(a); err == nil {
			out[i] = strings.ToLower(p.Address)
		} else {
			out[i] = strings.ToLower(a)
		}
	}
	return out
}

// Deref prints a nullable string.
func Deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
