package main_test

// The acceptance test drives the built binary only through the CLI
// contract (../shared/spec/cli.md): it replays the example mails of
// ../shared/corpus/requests through in-process IMAP and SMTP servers and
// compares what the program did with expected.json, on SQLite and on
// PostgreSQL.

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
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/testcorpus"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store/storetest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onboarder-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "onboarder")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building onboarder: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type expectation struct {
	File           string   `json:"file"`
	Step           int      `json:"step"`
	Disposition    string   `json:"disposition"`
	State          string   `json:"state"`
	CustomerName   *string  `json:"customer_name"`
	OrganizationID *string  `json:"organization_id"`
	Partner        string   `json:"partner"`
	Findings       []string `json:"findings"`
	FindingsAbsent []string `json:"findings_absent"`
	Mails          []struct {
		Kind string   `json:"kind"`
		To   []string `json:"to"`
	} `json:"mails"`
	StaysInInbox bool   `json:"stays_in_inbox"`
	Resumes      string `json:"resumes"`
	FollowOf     *struct {
		Case string `json:"case"`
		Kind string `json:"kind"`
	} `json:"follow_of"`
}

type world struct {
	Partners []struct {
		Name    string   `json:"name"`
		Emails  []string `json:"emails"`
		Domains []string `json:"domains"`
		Ref     string   `json:"ref"`
		Locale  string   `json:"locale"`
		Trusted bool     `json:"trusted"`
	} `json:"partners"`
	TrustedAuthservID string `json:"trusted_authserv_id"`
	Mailbox           string `json:"mailbox"`
}

// cliRequest etc. mirror the JSON shapes of cli.md.
type cliRequest struct {
	ID             int64   `json:"id"`
	Reference      string  `json:"reference"`
	State          string  `json:"state"`
	CustomerName   string  `json:"customer_name"`
	OrganizationID *string `json:"organization_id"`
	Partner        *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"partner"`
	Sender    string  `json:"sender"`
	MessageID *string `json:"message_id"`
	Findings  []struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"findings"`
	ReceivedAt string `json:"received_at"`
	UpdatedAt  string `json:"updated_at"`
}

type cliMessage struct {
	ID          int64   `json:"id"`
	MessageID   *string `json:"message_id"`
	From        string  `json:"from"`
	Subject     string  `json:"subject"`
	Disposition string  `json:"disposition"`
	RequestID   *int64  `json:"request_id"`
	ReceivedAt  string  `json:"received_at"`
}

type cliOutbox struct {
	ID        int64    `json:"id"`
	Kind      string   `json:"kind"`
	To        []string `json:"to"`
	Subject   string   `json:"subject"`
	Status    string   `json:"status"`
	Attempts  int      `json:"attempts"`
	MessageID string   `json:"message_id"`
	RequestID *int64   `json:"request_id"`
	LastError *string  `json:"last_error"`
}

// harness runs the binary against one database and the in-process servers.
type harness struct {
	t    *testing.T
	env  []string
	imap *mailtest.IMAPServer
	smtp *mailtest.SMTPServer
}

func (h *harness) run(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.exec("", args...)
	if code != 0 {
		h.t.Fatalf("onboarder %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (h *harness) exec(stdin string, args ...string) (string, string, int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = h.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			h.t.Fatalf("running onboarder %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errOut.String(), code
}

func (h *harness) json(v any, args ...string) {
	h.t.Helper()
	out := h.run(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("onboarder %v --json printed no single JSON document: %v\n%s", args, err, out)
	}
}

func newHarness(t *testing.T, dbURL string, w world) *harness {
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: w.Mailbox, Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"ONBOARDER_DATABASE_URL=" + dbURL,
		"ONBOARDER_IMAP_URL=" + imapSrv.URL("INBOX"),
		"ONBOARDER_SMTP_URL=" + smtpSrv.URL(),
		"ONBOARDER_MAIL_FROM=Partner Onboarding <" + w.Mailbox + ">",
		"ONBOARDER_TRUSTED_AUTHSERV_ID=" + w.TrustedAuthservID,
		"ONBOARDER_PUBLIC_URL=http://127.0.0.1:9",
		"ONBOARDER_LOG_LEVEL=warn",
	}
	return &harness{t: t, env: env, imap: imapSrv, smtp: smtpSrv}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func messageIDOf(t *testing.T, raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading header: %v", err)
	}
	return strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")
}

func TestAcceptanceCorpus(t *testing.T) {
	dir := testcorpus.Requests(t)
	var exp []expectation
	readJSON(t, filepath.Join(dir, "expected.json"), &exp)
	var w world
	readJSON(t, filepath.Join(dir, "world.json"), &w)

	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			start := time.Now()
			h := newHarness(t, db.URL, w)
			h.run("migrate")
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
				h.run(args...)
			}
			h.run("orgs", "import", filepath.Join(dir, "orgs.csv"))

			// Step 1: every step-1 mail delivered together, one intake pass.
			uidOf := map[string]uint32{}
			msgIDOf := map[string]string{}
			for _, e := range exp {
				if e.Step != 1 {
					continue
				}
				raw, err := os.ReadFile(filepath.Join(dir, e.File))
				if err != nil {
					t.Fatal(err)
				}
				uid, err := h.imap.Append("INBOX", raw)
				if err != nil {
					t.Fatal(err)
				}
				uidOf[e.File], msgIDOf[e.File] = uid, messageIDOf(t, raw)
			}
			h.run("poll", "--once")
			flush := h.run("outbox", "flush")
			mails := 0
			for _, e := range exp {
				if e.Step == 1 {
					mails += len(e.Mails)
				}
			}
			if want := fmt.Sprintf("sent %d, deferred 0, failed 0", mails); strings.TrimSpace(flush) != want {
				t.Errorf("outbox flush printed %q, want %q", flush, want)
			}
			step1 := h.check(exp, 1, msgIDOf, nil)

			// Where each mail ended up.
			inbox, err := h.imap.Messages("INBOX")
			if err != nil {
				t.Fatal(err)
			}
			processed, err := h.imap.Messages("Onboarder/Processed")
			if err != nil {
				t.Fatal(err)
			}
			inInbox := map[string]bool{}
			for _, m := range inbox {
				inInbox[messageIDOf(t, m.Raw)] = true
				if len(m.Flags) != 0 {
					t.Errorf("mail left in INBOX has flags %v", m.Flags)
				}
			}
			for _, e := range exp {
				if e.Step != 1 {
					continue
				}
				if got := inInbox[msgIDOf[e.File]]; got != e.StaysInInbox {
					t.Errorf("%s: in INBOX = %v, want %v", e.File, got, e.StaysInInbox)
				}
			}
			if len(inbox)+len(processed) != len(uidOf) {
				t.Errorf("INBOX %d + processed %d mails, want %d: a mail was lost or copied", len(inbox), len(processed), len(uidOf))
			}

			// Step 2: replies built from the program's own mails, as a mail client would.
			for _, e := range exp {
				if e.Step != 2 {
					continue
				}
				parent := step1[e.FollowOf.Case+".eml"]
				var ours *cliOutbox
				for i := range parent {
					if parent[i].Kind == e.FollowOf.Kind {
						ours = &parent[i]
					}
				}
				if ours == nil {
					t.Fatalf("%s: the program sent no %s for %s", e.File, e.FollowOf.Kind, e.FollowOf.Case)
				}
				sent := h.sentMail(ours.MessageID)
				raw, err := os.ReadFile(filepath.Join(dir, e.File))
				if err != nil {
					t.Fatal(err)
				}
				refs := strings.TrimSpace(sent.Header.Get("References") + " <" + ours.MessageID + ">")
				r := strings.NewReplacer("{{SUBJECT}}", "Re: "+decodeHeader(sent.Header.Get("Subject")),
					"{{IN_REPLY_TO}}", "<"+ours.MessageID+">", "{{REFERENCES}}", refs)
				reply := []byte(r.Replace(string(raw)))
				if _, err := h.imap.Append("INBOX", reply); err != nil {
					t.Fatal(err)
				}
				msgIDOf[e.File] = messageIDOf(t, reply)
				msgIDOf[e.Resumes+".eml"] = msgIDOf[e.FollowOf.Case+".eml"]
			}
			h.run("poll", "--once")
			h.run("outbox", "flush")
			h.check(exp, 2, msgIDOf, step1)

			// Nothing was sent twice, and the SMTP server got exactly the outbox.
			var all []cliOutbox
			h.json(&all, "outbox", "list")
			if got := len(h.smtp.Messages()); got != len(all) {
				t.Errorf("SMTP server received %d mails, outbox has %d rows", got, len(all))
			}
			for _, m := range all {
				if m.Status != "sent" || m.Attempts != 1 {
					t.Errorf("outbox %d (%s): status %s after %d attempts", m.ID, m.Kind, m.Status, m.Attempts)
				}
			}
			t.Logf("%s: %d mails in, %d mails out, %s (binary runs included)", db.Name, len(exp), len(all), time.Since(start).Round(time.Millisecond))
		})
	}
}

func decodeHeader(s string) string {
	d, err := new(mimeWordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// sentMail finds the mail the SMTP server received with this Message-ID.
func (h *harness) sentMail(id string) *mail.Message {
	h.t.Helper()
	for _, r := range h.smtp.Messages() {
		m, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			continue
		}
		if strings.Trim(m.Header.Get("Message-Id"), "<> ") == id {
			return m
		}
	}
	h.t.Fatalf("the SMTP server never received <%s>", id)
	return nil
}

// check compares the program's state with the expectations of one step and
// returns, per file, the outbox mails its request caused in that step.
func (h *harness) check(exp []expectation, step int, msgIDOf map[string]string, before map[string][]cliOutbox) map[string][]cliOutbox {
	t := h.t
	t.Helper()
	var msgs []cliMessage
	h.json(&msgs, "messages", "list")
	var reqs []cliRequest
	h.json(&reqs, "requests", "list")
	var outbox []cliOutbox
	h.json(&outbox, "outbox", "list")
	byMsgID := map[string]cliMessage{}
	for _, m := range msgs {
		if m.MessageID != nil {
			byMsgID[*m.MessageID] = m
		}
	}
	reqByID := map[int64]cliRequest{}
	for _, r := range reqs {
		reqByID[r.ID] = r
	}
	seen := map[int64]bool{}
	for _, prev := range before {
		for _, m := range prev {
			seen[m.ID] = true
		}
	}
	caused := map[string][]cliOutbox{}
	for _, e := range exp {
		if e.Step != step {
			continue
		}
		name := e.File
		m, ok := byMsgID[msgIDOf[e.File]]
		if !ok {
			t.Errorf("%s: not in messages list", name)
			continue
		}
		if m.Disposition != e.Disposition {
			t.Errorf("%s: disposition %s, want %s", name, m.Disposition, e.Disposition)
		}
		if e.State == "" {
			if len(e.Mails) > 0 {
				t.Errorf("%s: expectation without state lists mails", name)
			}
			if m.RequestID != nil && e.Disposition != "auto_reply" && e.Disposition != "bounce" {
				t.Errorf("%s: made request %d", name, *m.RequestID)
			}
			continue
		}
		if m.RequestID == nil {
			t.Errorf("%s: no request", name)
			continue
		}
		r := reqByID[*m.RequestID]
		if r.State != e.State {
			t.Errorf("%s: state %s, want %s (findings %v)", name, r.State, e.State, r.Findings)
		}
		if e.OrganizationID != nil && (r.OrganizationID == nil || *r.OrganizationID != *e.OrganizationID) {
			t.Errorf("%s: organization_id %v, want %s", name, deref(r.OrganizationID), *e.OrganizationID)
		}
		if e.CustomerName != nil && r.CustomerName != *e.CustomerName {
			t.Errorf("%s: customer_name %q, want %q", name, r.CustomerName, *e.CustomerName)
		}
		if e.Partner != "" && (r.Partner == nil || r.Partner.Name != e.Partner) {
			t.Errorf("%s: partner %+v, want %s", name, r.Partner, e.Partner)
		}
		codes := map[string]bool{}
		for _, f := range r.Findings {
			codes[f.Code] = true
		}
		for _, f := range e.Findings {
			if !codes[f] {
				t.Errorf("%s: finding %s missing (have %v)", name, f, r.Findings)
			}
		}
		for _, f := range e.FindingsAbsent {
			if codes[f] {
				t.Errorf("%s: finding %s present", name, f)
			}
		}
		// Exactly the mails this step caused for the request.
		var got []string
		for _, o := range outbox {
			if o.RequestID != nil && *o.RequestID == r.ID && !seen[o.ID] {
				got = append(got, o.Kind+" "+strings.Join(lowerAddrs(o.To), ","))
				caused[name] = append(caused[name], o)
				if o.Status != "sent" {
					t.Errorf("%s: %s mail %s: %v", name, o.Kind, o.Status, deref(o.LastError))
				}
				if !strings.Contains(o.Subject, r.Reference) && o.Kind != "invitation" {
					t.Errorf("%s: %s subject %q lacks %s", name, o.Kind, o.Subject, r.Reference)
				}
			}
		}
		var want []string
		for _, wm := range e.Mails {
			want = append(want, wm.Kind+" "+strings.Join(wm.To, ","))
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("%s: mails %v, want %v", name, got, want)
		}
	}
	// No mail for anything that did not expect one.
	total := 0
	for _, e := range exp {
		if e.Step == step {
			total += len(e.Mails)
		}
	}
	if n := len(outbox) - len(seen); n != total {
		t.Errorf("step %d: %d new outbox mails, want %d", step, n, total)
	}
	return caused
}

// lowerAddrs strips display names: "Name <a@b>" → "a@b".
func lowerAddrs(list []string) []string {
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

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

type mimeWordDecoder = mime.WordDecoder
