package main_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store/storetest"
)

// TestTooLargeMailThroughBinary polls a mail over a small
// ONBOARDER_MAX_MESSAGE_BYTES from a partner and one from a stranger: both
// are recorded with sender, subject and Message-ID and moved, and only the
// partner is answered, in its thread.
func TestTooLargeMailThroughBinary(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			h.env = append(h.env, "ONBOARDER_MAX_MESSAGE_BYTES=4096")
			seedAcme(t, h)
			filler := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), 256)
			big := func(from, id, subject string) []byte {
				return append(fmt.Appendf(nil, "From: %s\r\nTo: partners@onboarding.example\r\nMessage-ID: <%s>\r\nSubject: %s\r\n\r\n"+
					"Organization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n", from, id, subject), filler...)
			}
			for _, raw := range [][]byte{
				big("Olga <ops@acme.example>", "huge-1@acme.example", "Please establish reseller connection to customer Globex"),
				big("eve@stranger.example", "huge-2@stranger.example", "Scanned contract"),
			} {
				if _, err := h.imap.Append("INBOX", raw); err != nil {
					t.Fatal(err)
				}
			}
			out := h.run("poll", "--once")
			if !strings.Contains(out, "too_large 2") || !strings.Contains(out, "moved 2") {
				t.Errorf("poll printed %q", out)
			}

			var msgs []struct {
				ID          int64   `json:"id"`
				MessageID   *string `json:"message_id"`
				From        string  `json:"from"`
				Subject     string  `json:"subject"`
				Disposition string  `json:"disposition"`
				Detail      string  `json:"detail"`
				Size        int64   `json:"size"`
			}
			h.json(&msgs, "messages", "list", "--json")
			got := map[string]string{}
			for _, m := range msgs {
				id := ""
				if m.MessageID != nil {
					id = *m.MessageID
				}
				got[m.From] = fmt.Sprintf("%s|%s|%s", id, m.Subject, m.Disposition)
				if !strings.Contains(m.Detail, "over the size limit of 4 KB") {
					t.Errorf("message %d: detail %q does not name the limit", m.ID, m.Detail)
				}
			}
			want := map[string]string{
				"ops@acme.example":     "huge-1@acme.example|Please establish reseller connection to customer Globex|too_large",
				"eve@stranger.example": "huge-2@stranger.example|Scanned contract|too_large",
			}
			for from, w := range want {
				if got[from] != w {
					t.Errorf("messages list: %s recorded as %q, want %q", from, got[from], w)
				}
			}

			var outbox []struct {
				Kind      string   `json:"kind"`
				To        []string `json:"to"`
				Subject   string   `json:"subject"`
				Status    string   `json:"status"`
				InReplyTo *string  `json:"in_reply_to"`
			}
			h.json(&outbox, "outbox", "list", "--json")
			if len(outbox) != 1 {
				t.Fatalf("outbox list: %d mails, want the one answer to the partner: %+v", len(outbox), outbox)
			}
			a := outbox[0]
			if a.Kind != "request_too_large" || strings.Join(a.To, ",") != "ops@acme.example" ||
				a.Subject != "Re: Please establish reseller connection to customer Globex" ||
				a.InReplyTo == nil || *a.InReplyTo != "huge-1@acme.example" {
				t.Errorf("answer %+v", a)
			}
			if left, err := h.imap.Messages("INBOX"); err != nil || len(left) != 0 {
				t.Errorf("INBOX after the pass: %d mails (%v), want none: both moved", len(left), err)
			}
		})
	}
}
