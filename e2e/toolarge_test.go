package e2e_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestTooLargeMail: on Dovecot, Cyrus and Courier, a mail over
// ONBOARDER_MAX_MESSAGE_BYTES is recorded from the server's ENVELOPE (its
// sender, subject and Message-ID) without its body being read; the
// registered partner is answered with request_too_large, a stranger is
// not; both mails leave INBOX like any handled mail.
func TestTooLargeMail(t *testing.T) {
	need(t)
	for _, srv := range imapServers() {
		t.Run(srv.kind, func(t *testing.T) {
			box := "large@onboarding.example"
			h := newHarness(t, srv, box, acmeWorld)
			h.Set("ONBOARDER_MAX_MESSAGE_BYTES", "20000")
			orgs := seedAcme(t, h, 1)
			padding := "\r\n" + strings.Repeat("This line makes the mail larger than the limit.\r\n", 800)
			big := func(id, from string) []byte {
				raw := string(request(id, from, orgs[0], 1))
				return []byte(raw + padding)
			}
			u := srv.user(box)
			partnerID := "large-" + srv.kind + "@acme.example"
			strangerID := "large-" + srv.kind + "@stranger.example"
			for _, raw := range [][]byte{big(partnerID, "ops@acme.example"), big(strangerID, "someone@stranger.example")} {
				if err := u.Append("INBOX", raw); err != nil {
					t.Fatal(err)
				}
			}
			h.Run("poll", "--once")

			seen := map[string]bool{}
			for _, m := range h.Messages() {
				if m.Disposition != "too_large" {
					t.Errorf("message %d: disposition %s, want too_large", m.ID, m.Disposition)
				}
				if m.MessageID == nil || !strings.Contains(m.Subject, "Please establish reseller connection to customer Globex 1") {
					t.Errorf("message %d: Message-ID %v, subject %q: not read from the ENVELOPE", m.ID, m.MessageID, m.Subject)
					continue
				}
				seen[strings.Trim(*m.MessageID, "<>")+" "+m.From] = true
			}
			for _, want := range []string{partnerID + " ops@acme.example", strangerID + " someone@stranger.example"} {
				if !seen[want] {
					t.Errorf("no too_large record of %s; have %v", want, seen)
				}
			}
			var answers []string
			for _, o := range h.Outbox() {
				answers = append(answers, fmt.Sprintf("%s→%v", o.Kind, o.To))
			}
			if len(answers) != 1 || answers[0] != "request_too_large→[ops@acme.example]" {
				t.Errorf("outbox %v, want one request_too_large to the partner only", answers)
			}
			if got := u.count(t, "INBOX"); got != 0 {
				t.Errorf("%d mails left in INBOX, want 0 (moved like handled mail)", got)
			}
		})
	}
}
