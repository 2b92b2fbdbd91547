package main_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store/storetest"
)

// Through the binary: a partner asks for a new organization with a
// mistyped VAT ID (needs_info naming it), replies with the corrected one
// alone (pending_approval), ops approve on the command line, the contact
// person is invited, accepts on the page, and the organization and the
// link are active.
func TestNewOrganizationThroughBinary(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			h.run("partners", "add", "--name", "Acme", "--email", "ops@acme.example", "--locale", "en")
			raw := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <neworg-1@acme.example>\r\n" +
				"Subject: Please create a new organization for customer Brückner Maschinenbau\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
				"Company name: Brückner Maschinenbau GmbH\r\nStreet: Industriestraße 12\r\nPostcode: 83313\r\nCity: Siegsdorf\r\n" +
				"Country: Deutschland\r\nVAT ID: DE 136 695 977\r\nFirst name: Anna\r\nLast name: Brückner\r\nEmail: anna@brueckner-mb.example\r\n"
			if _, err := h.imap.Append("INBOX", []byte(raw)); err != nil {
				t.Fatal(err)
			}
			h.run("poll", "--once")
			var shown struct {
				State           string            `json:"state"`
				Kind            string            `json:"kind"`
				NewOrganization map[string]string `json:"new_organization"`
			}
			h.json(&shown, "requests", "show", "REQ-000001")
			if shown.State != "needs_info" || shown.Kind != "new_organization" || shown.NewOrganization["company_name"] != "Brückner Maschinenbau GmbH" {
				t.Fatalf("after the request: %+v", shown)
			}
			h.run("outbox", "flush")
			ask := h.lastMailTo("ops@acme.example")
			if ask == nil {
				t.Fatal("no answer to the partner")
			}
			body := decodedBody(t, ask)
			if !strings.Contains(body, "VAT ID") || !strings.Contains(body, "DE 136 695 977") || !strings.Contains(ask.Header.Get("Subject"), "[REQ-000001]") {
				t.Fatalf("needs_info mail %q:\n%s", ask.Header.Get("Subject"), body)
			}

			reply := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <neworg-2@acme.example>\r\n" +
				"In-Reply-To: " + ask.Header.Get("Message-Id") + "\r\nSubject: Re: " + ask.Header.Get("Subject") + "\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\n\r\nSorry, a typo:\r\n\r\nVAT ID: DE136695976\r\n"
			if _, err := h.imap.Append("INBOX", []byte(reply)); err != nil {
				t.Fatal(err)
			}
			h.run("poll", "--once")
			h.json(&shown, "requests", "show", "1")
			if shown.State != "pending_approval" || shown.NewOrganization["vat_id"] != "DE136695976" || shown.NewOrganization["country"] != "DE" {
				t.Fatalf("after the reply: %+v", shown)
			}
			if out := h.run("requests", "show", "1"); !strings.Contains(out, "anna@brueckner-mb.example") {
				t.Errorf("requests show does not name the contact:\n%s", out)
			}

			out := h.run("requests", "approve", "1", "--by", "olga")
			if !strings.Contains(out, "anna@brueckner-mb.example") {
				t.Errorf("approve does not say whom it invited: %q", out)
			}
			h.run("outbox", "flush")
			var token string
			for _, r := range h.smtp.Messages() {
				if strings.Contains(strings.Join(r.To, ","), "anna@brueckner-mb.example") {
					if m := regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`).FindSubmatch(r.Data); m != nil {
						token = string(m[1])
					}
				}
			}
			if token == "" {
				t.Fatal("the contact person received no invitation link")
			}
			var orgs []struct {
				ID, Name, Status string
			}
			h.json(&orgs, "orgs", "list", "--json")
			if len(orgs) != 1 || orgs[0].Status != "initializing" || orgs[0].Name != "Brückner Maschinenbau GmbH" {
				t.Fatalf("organizations after approval: %+v", orgs)
			}

			// The contact person accepts on the page.
			addr := freePort(t)
			cmd := exec.Command(binary, "run")
			cmd.Env = append(h.env, "ONBOARDER_HTTP_ADDR="+addr, "ONBOARDER_ADMIN_ADDR="+freePort(t), "ONBOARDER_POLL_SCHEDULE=@every 1h")
			var logs bytes.Buffer
			cmd.Stderr = &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			deadline := time.Now().Add(20 * time.Second)
			for {
				resp, err := http.Get("http://" + addr + "/healthz")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("run never served; log:\n%s", logs.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			resp, err := http.PostForm("http://"+addr+"/invite/"+token+"/accept", url.Values{"lang": {"de"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("accept: HTTP %d", resp.StatusCode)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()

			h.json(&orgs, "orgs", "list", "--json")
			var links []struct {
				OrganizationID string `json:"organization_id"`
				Status         string `json:"status"`
			}
			h.json(&links, "links", "list", "--json")
			if len(orgs) != 1 || orgs[0].Status != "active" || len(links) != 1 || links[0].Status != "active" || links[0].OrganizationID != orgs[0].ID {
				t.Fatalf("after accept: organizations %+v, links %+v", orgs, links)
			}
			h.json(&shown, "requests", "show", "1")
			if shown.State != "completed" {
				t.Errorf("request %s", shown.State)
			}
		})
	}
}

// lastMailTo is the newest mail the SMTP server received for to.
func (h *harness) lastMailTo(to string) *mail.Message {
	var last *mail.Message
	for _, r := range h.smtp.Messages() {
		if strings.Contains(strings.Join(r.To, ","), to) {
			m, err := mail.ReadMessage(bytes.NewReader(r.Data))
			if err == nil {
				last = m
			}
		}
	}
	return last
}

// decodedBody is a sent mail's text part, decoded.
func decodedBody(t *testing.T, m *mail.Message) string {
	t.Helper()
	var walk func(h textproto.MIMEHeader, r io.Reader) string
	walk = func(h textproto.MIMEHeader, r io.Reader) string {
		mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return ""
				}
				if s := walk(p.Header, p); s != "" {
					return s
				}
			}
		}
		if mt != "text/plain" && mt != "" {
			return ""
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		b, _ := io.ReadAll(r)
		return string(b)
	}
	return walk(textproto.MIMEHeader(m.Header), m.Body)
}
