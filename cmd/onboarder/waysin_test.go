package main_test

// The two ways in that wait for a partner's consent, through the binary:
// an organization's administrator asks for a partner (customer first), and
// a distributor names one of its resellers. Mails go in by IMAP, out by
// SMTP; the consent and invitation pages are answered over HTTP on the
// server that `onboarder run` starts.

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/store/storetest"
)

const orgKite = "7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1908"

// story is one run of the binary serving the web, with helpers to drive it.
type story struct {
	*harness
	web string // base URL of the web server
}

func newStory(t *testing.T, dbURL string) *story {
	h := newHarness(t, dbURL, world{Mailbox: "partners@onboarding.example"})
	addr := freePort(t)
	for i, kv := range h.env { // links in mails point at the server below
		if strings.HasPrefix(kv, "ONBOARDER_PUBLIC_URL=") {
			h.env[i] = "ONBOARDER_PUBLIC_URL=http://" + addr
		}
	}
	csv := filepath.Join(t.TempDir(), "orgs.csv")
	os.WriteFile(csv, []byte("id,name,status,admin_name,admin_email,country,locale\n"+
		orgKite+",Kite Drachenbau GmbH,active,Kim,kim@kite.example,DE,de\n"), 0o600)
	h.run("orgs", "import", csv)
	cmd := exec.Command(binary, "run")
	cmd.Env = append(append([]string(nil), h.env...), "ONBOARDER_HTTP_ADDR="+addr, "ONBOARDER_ADMIN_ADDR="+freePort(t),
		"ONBOARDER_IMAP_IDLE=true", "ONBOARDER_POLL_SCHEDULE=@every 2s")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &story{harness: h, web: "http://" + addr}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := s.http("GET", "/healthz", nil); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never served /healthz; log:\n%s", logs.String())
		}
	}
	return s
}

// http makes one request to the web server (a form POST when form is set).
func (s *story) http(method, path string, form url.Values) (int, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.web+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mailIn delivers a mail to the mailbox and waits until the running
// worker has recorded it (IDLE, or the schedule).
func (s *story) mailIn(raw string) {
	s.t.Helper()
	before := len(s.cli().Messages())
	if _, err := s.imap.Append("INBOX", []byte(raw)); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); len(s.cli().Messages()) == before; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatal("the worker never took the mail in")
		}
	}
}

// state is the request's state as `requests show --json` gives it.
func (s *story) state(ref string) request2 {
	s.t.Helper()
	var r request2
	s.json(&r, "requests", "show", ref, "--json")
	return r
}

type request2 struct {
	State       string `json:"state"`
	Kind        string `json:"kind"`
	Partner     *named `json:"partner"`
	Distributor *named `json:"distributor"`
	Findings    []struct {
		Code string `json:"code"`
	} `json:"findings"`
}

type named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// sent waits until the SMTP server got a mail to addr whose subject
// contains subj, flushing the outbox meanwhile; it returns the mail's
// Message-ID and its decoded text.
func (s *story) sent(addr, subj string) (string, string) {
	s.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s.run("outbox", "flush")
		msgs := s.smtp.Messages()
		for i := len(msgs) - 1; i >= 0; i-- { // the newest first
			r := msgs[i]
			m, err := mail.ReadMessage(bytes.NewReader(r.Data))
			if err != nil || strings.Join(r.To, ",") != addr {
				continue
			}
			if strings.Contains(clitest.DecodeHeader(m.Header.Get("Subject")), subj) {
				return m.Header.Get("Message-Id"), textOf(s.t, m)
			}
		}
	}
	var got []string
	for _, r := range s.smtp.Messages() {
		m, _ := mail.ReadMessage(bytes.NewReader(r.Data))
		got = append(got, strings.Join(r.To, ",")+": "+clitest.DecodeHeader(m.Header.Get("Subject")))
	}
	s.t.Fatalf("no mail to %s with %q; sent:\n%s", addr, subj, strings.Join(got, "\n"))
	return "", ""
}

// textOf is the decoded text/plain part of a mail.
func textOf(t *testing.T, m *mail.Message) string {
	t.Helper()
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			return string(b)
		}
	}
}

// mailsTo counts the mails the SMTP server got for addr.
func (s *story) mailsTo(addr string) int {
	n := 0
	for _, r := range s.smtp.Messages() {
		if strings.Contains(strings.Join(r.To, ","), addr) {
			n++
		}
	}
	return n
}

var consentLinkRe = regexp.MustCompile(`/consent/([A-Za-z0-9_-]{43})`)

func (s *story) linkIn(raw string, re *regexp.Regexp) string {
	s.t.Helper()
	m := re.FindStringSubmatch(raw)
	if m == nil {
		s.t.Fatalf("no link in the mail:\n%s", raw)
	}
	return m[1]
}

type linkJSON struct {
	Status         string `json:"status"`
	OrganizationID string `json:"organization_id"`
	Partner        named  `json:"partner"`
	Distributor    *named `json:"distributor"`
}

func TestStoryCustomerFirst(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			s := newStory(t, db.URL)
			s.run("partners", "add", "--name", "Acme Cloud", "--ref", "MPN-100", "--email", "ops@acme.example", "--locale", "en")
			ask := func(from, id, partner, body string, hdr ...string) string {
				return "From: " + from + "\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + id + ">\r\n" +
					strings.Join(append(hdr, ""), "\r\n") +
					"Subject: Re: [EXTERNAL] Please connect our organization to reseller " + partner + "\r\n\r\n" + body + "\r\n"
			}
			// Only the directory's administrator may ask: anyone else is
			// unknown_sender, and is not answered.
			s.mailIn(ask("Eve <eve@evil.example>", "e1@evil.example", "MPN-100", "Organization ID: "+orgKite))
			s.mailIn(ask("ops@acme.example", "a1@acme.example", "MPN-100", "Organization ID: "+orgKite))
			for _, ref := range []string{"REQ-000001", "REQ-000002"} {
				if r := s.state(ref); r.State != "rejected" || r.Kind != "customer_first" || len(r.Findings) == 0 || r.Findings[0].Code != "unknown_sender" {
					t.Fatalf("%s: %+v", ref, r)
				}
			}
			// The administrator names a partner nobody knows: asked, in German.
			s.mailIn(ask("Kim <kim@kite.example>", "k1@kite.example", "Nobody Ltd", "Organization ID: "+orgKite))
			if r := s.state("REQ-000003"); r.State != "needs_info" || r.Partner != nil {
				t.Fatalf("unknown partner: %+v", r)
			}
			qid, body := s.sent("kim@kite.example", "REQ-000003")
			if !strings.Contains(body, "Welchen Reseller meinen Sie") && !strings.Contains(body, "Partner-ID") {
				t.Errorf("needs_info to the administrator is not the German one:\n%s", body)
			}
			if n := s.mailsTo("evil.example") + s.mailsTo("ops@acme.example"); n != 0 {
				t.Fatalf("%d mails answered the unknown senders", n)
			}
			// Kim's reply names the partner by its ID: the partner is asked.
			s.mailIn(ask("Kim <kim@kite.example>", "k2@kite.example", "Nobody Ltd", "Partner ID: MPN-100",
				"In-Reply-To: "+qid))
			if r := s.state("REQ-000003"); r.State != "pending_partner" || r.Partner == nil || r.Partner.Name != "Acme Cloud" {
				t.Fatalf("after the reply: %+v", r)
			}
			_, raw := s.sent("ops@acme.example", "REQ-000003")
			token := s.linkIn(raw, consentLinkRe)
			code, page := s.http("GET", "/consent/"+token, nil)
			if code != 200 || !strings.Contains(page, "Kite Drachenbau GmbH asks Acme Cloud to become its reseller") {
				t.Fatalf("consent page: %d\n%s", code, page)
			}
			if code, page = s.http("POST", "/consent/"+token+"/accept", url.Values{"message": {"Gladly."}}); code != 200 {
				t.Fatalf("accept: %d\n%s", code, page)
			}
			if r := s.state("REQ-000003"); r.State != "pending_approval" {
				t.Fatalf("after consent: %+v", r)
			}
			// What approval will do: no invitation, the link active at once.
			if out := s.run("requests", "show", "REQ-000003"); strings.Contains(out, "invitation to") ||
				!strings.Contains(out, "on approval:   the link becomes active at once") {
				t.Errorf("requests show of a customer's own request:\n%s", out)
			}
			var shown map[string]any
			s.json(&shown, "requests", "show", "REQ-000003", "--json")
			if rc, ok := shown["invite_recipient"]; !ok || rc != nil {
				t.Errorf("requests show --json: invite_recipient %v (present %v), want null", rc, ok)
			}
			if _, told := s.sent("kim@kite.example", "REQ-000003"); !strings.Contains(told, "Gladly.") {
				t.Errorf("the administrator is not told with the partner's message:\n%s", told)
			}
			if code, _ = s.http("POST", "/consent/"+token+"/accept", url.Values{}); code != http.StatusGone {
				t.Errorf("second use: %d, want 410", code)
			}
			// Ops approve: the link is active at once, both are told.
			before := s.mailsTo("ops@acme.example")
			if out := s.run("requests", "approve", "REQ-000003", "--by", "olga@ops.example"); !strings.Contains(out, "the link is active") {
				t.Errorf("approve says %q", out)
			}
			if r := s.state("REQ-000003"); r.State != "completed" {
				t.Fatalf("after approval: %+v", r)
			}
			s.sent("kim@kite.example", "Reseller-Verbindung hergestellt")
			for deadline := time.Now().Add(10 * time.Second); s.mailsTo("ops@acme.example") == before && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				s.run("outbox", "flush")
			}
			if s.mailsTo("ops@acme.example") == before {
				t.Error("the partner was not told of the approval")
			}
			var links []linkJSON
			s.json(&links, "links", "list", "--json")
			if len(links) != 1 || links[0].Status != "active" || links[0].Partner.Name != "Acme Cloud" || links[0].Distributor != nil ||
				links[0].OrganizationID != orgKite {
				t.Fatalf("links: %+v", links)
			}
		})
	}
}

func TestStoryDistributor(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			s := newStory(t, db.URL)
			dist := strings.TrimSpace(s.run("partners", "add", "--name", "Distri AG", "--ref", "DIS-1", "--email", "sales@distri.example"))
			res := strings.TrimSpace(s.run("partners", "add", "--name", "Resell GmbH", "--ref", "RES-1", "--email", "info@resell.example"))
			s.run("partners", "add", "--name", "Other Partner", "--ref", "OTH-1", "--email", "x@other.example")
			s.run("partners", "update", lastWord(res), "--parent", lastWord(dist), "--by", "olga@ops.example")
			asks := func(id, reseller string) string {
				return "From: Sales <sales@distri.example>\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + id + ">\r\n" +
					"Subject: Please establish reseller connection to customer Kite Drachenbau GmbH\r\n" +
					"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
					"<p>Hello,</p><table><tr><td>Organization ID</td><td>" + orgKite + "</td></tr>" +
					"<tr><td>Reseller ID</td><td>" + reseller + "</td></tr></table>\r\n"
			}
			// Not one of its resellers: rejected, the distributor told.
			s.mailIn(asks("d0@distri.example", "OTH-1"))
			if r := s.state("REQ-000001"); r.State != "rejected" || len(r.Findings) == 0 || r.Findings[0].Code != "reseller_not_yours" {
				t.Fatalf("someone else's reseller: %+v", r)
			}
			s.sent("sales@distri.example", "REQ-000001")

			s.mailIn(asks("d1@distri.example", "RES-1"))
			r := s.state("REQ-000002")
			if r.State != "pending_reseller" || r.Partner == nil || r.Partner.Name != "Resell GmbH" || r.Distributor == nil || r.Distributor.Name != "Distri AG" {
				t.Fatalf("own reseller: %+v", r)
			}
			_, raw := s.sent("info@resell.example", "REQ-000002")
			token := s.linkIn(raw, consentLinkRe)
			code, page := s.http("GET", "/consent/"+token, nil)
			if code != 200 || !strings.Contains(page, "Distri AG names Resell GmbH as the reseller of record for Kite Drachenbau GmbH") {
				t.Fatalf("reseller page: %d\n%s", code, page)
			}
			if code, page = s.http("POST", "/consent/"+token+"/accept", url.Values{}); code != 200 {
				t.Fatalf("confirm: %d\n%s", code, page)
			}
			if r := s.state("REQ-000002"); r.State != "pending_approval" {
				t.Fatalf("after confirmation: %+v", r)
			}
			s.run("requests", "approve", "REQ-000002", "--by", "olga@ops.example")
			if r := s.state("REQ-000002"); r.State != "invited" {
				t.Fatalf("after approval: %+v", r)
			}
			_, inv := s.sent("kim@kite.example", "Resell GmbH")
			if !strings.Contains(strings.Join(strings.Fields(inv), " "), "Resell GmbH (Partner-ID RES-1), über seinen Distributor Distri AG") {
				t.Errorf("the invitation does not name the distributor:\n%s", inv)
			}
			code, page = s.http("GET", "/invite/"+s.linkIn(inv, regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`)), nil)
			if code != 200 || !strings.Contains(page, "Resell GmbH, über seinen Distributor Distri AG") {
				t.Fatalf("invitation page: %d\n%s", code, page)
			}
			var links []linkJSON
			s.json(&links, "links", "list", "--json")
			if len(links) != 1 || links[0].Status != "invited" || links[0].Partner.Name != "Resell GmbH" || links[0].Distributor == nil ||
				links[0].Distributor.Name != "Distri AG" {
				t.Fatalf("links: %+v", links)
			}
		})
	}
}

func lastWord(s string) string {
	f := strings.Fields(s)
	return f[len(f)-1]
}
