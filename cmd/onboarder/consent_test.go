package main_test

import (
	"bytes"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store/storetest"
)

const orgUmbrella = "5c0d7e1f-2a3b-4c5d-8e9f-0a1b2c3d4e5f"

// Through the binary: the invitation goes to the directory's administrator
// only. A partner that names its own mailbox as the customer's contact
// gets no invitation, not by approval and not by picking that contact; once
// the directory has the administrator, the invitation goes there, and its
// link is nowhere in the database.
func TestInvitationRecipientThroughBinary(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			h.run("partners", "add", "--name", "Acme", "--email", "ops@acme.example", "--locale", "en")
			csv := filepath.Join(t.TempDir(), "orgs.csv")
			writeOrgs := func(admin string) {
				os.WriteFile(csv, []byte("id,name,status,admin_name,admin_email,country,locale\n"+
					orgUmbrella+",Umbrella GmbH,active,Kim,"+admin+",DE,en\n"), 0o600)
				h.run("orgs", "import", csv)
			}
			writeOrgs("")
			raw := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <consent-1@acme.example>\r\n" +
				"Subject: Please establish reseller connection to customer Umbrella GmbH\r\n\r\n" +
				"Organization ID: " + orgUmbrella + "\r\nAdmin contact: ops@acme.example\r\n"
			if _, err := h.imap.Append("INBOX", []byte(raw)); err != nil {
				t.Fatal(err)
			}
			h.run("poll", "--once")

			var shown struct {
				State    string `json:"state"`
				Findings []struct {
					Code string `json:"code"`
				} `json:"findings"`
				InviteRecipient  *struct{ Email string } `json:"invite_recipient"`
				SuggestedContact *string                 `json:"suggested_contact"`
				SuggestedRefused *string                 `json:"suggested_contact_refused"`
			}
			h.json(&shown, "requests", "show", "REQ-000001")
			codes := ""
			for _, f := range shown.Findings {
				codes += f.Code + " "
			}
			if shown.State != "pending_approval" || !strings.Contains(codes, "no_admin_contact") || shown.InviteRecipient != nil ||
				shown.SuggestedContact == nil || *shown.SuggestedContact != "ops@acme.example" || shown.SuggestedRefused == nil {
				t.Fatalf("requests show: %+v (findings %s)", shown, codes)
			}
			text := h.run("requests", "show", "1")
			if !strings.Contains(text, "invitation to: nobody yet") || !strings.Contains(text, "contact suggested by the partner: ops@acme.example") {
				t.Errorf("requests show does not name the recipient:\n%s", text)
			}

			_, stderr, code := h.exec("", "requests", "approve", "1", "--by", "olga")
			if code != 1 || !strings.Contains(stderr, "no administrator address") {
				t.Errorf("approve without an administrator: exit %d %q", code, stderr)
			}
			oneLine(t, stderr)
			_, stderr, code = h.exec("", "requests", "approve", "1", "--by", "olga", "--invite-contact", "ops@acme.example")
			if code != 1 || !strings.Contains(stderr, "belongs to the partner") {
				t.Errorf("inviting the partner's own address: exit %d %q", code, stderr)
			}
			oneLine(t, stderr)

			// The directory learns the administrator: the invitation goes there.
			writeOrgs("kim@umbrella.example")
			out := h.run("requests", "approve", "1", "--by", "olga")
			if !strings.Contains(out, "kim@umbrella.example") {
				t.Errorf("approve does not say whom it invited: %q", out)
			}
			h.run("outbox", "flush")
			var token string
			for _, r := range h.smtp.Messages() {
				m, err := mail.ReadMessage(bytes.NewReader(r.Data))
				if err != nil {
					t.Fatal(err)
				}
				to := strings.Join(r.To, ",")
				if strings.Contains(to, "ops@acme.example") && strings.Contains(m.Header.Get("Subject"), "nvitation") {
					t.Errorf("an invitation went to the partner: %s", m.Header.Get("Subject"))
				}
				if strings.Contains(to, "kim@umbrella.example") {
					if match := regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`).FindSubmatch(r.Data); match != nil {
						token = string(match[1])
					}
				}
			}
			if token == "" {
				t.Fatal("kim@umbrella.example received no invitation link")
			}
			// The live token is in the mail, and nowhere the CLI or the database shows.
			for _, args := range [][]string{{"outbox", "list", "--json"}, {"requests", "show", "1", "--json"}, {"requests", "show", "1"}} {
				if out := h.run(args...); strings.Contains(out, token) {
					t.Errorf("%v shows the live token", args)
				}
			}
			if path, ok := strings.CutPrefix(db.URL, "sqlite:"); ok {
				for _, f := range []string{path, path + "-wal"} {
					b, _ := os.ReadFile(f)
					if bytes.Contains(b, []byte(token)) {
						t.Errorf("%s holds the live token", filepath.Base(f))
					}
				}
			}
		})
	}
}
