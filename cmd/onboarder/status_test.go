package main_test

import (
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store/storetest"
)

// Through the binary: the partner replies `status` in its request's
// thread; the next poll queues the answer in that thread (outbox list
// --json), and the mail sent says the state, its date and the next step.
func TestStatusReplyThroughBinary(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			seedAcme(t, h)
			if _, err := h.imap.Append("INBOX", acmeRequest(1)); err != nil {
				t.Fatal(err)
			}
			h.run("poll", "--once")
			before := h.cli().Outbox()
			if len(before) != 1 || before[0].Kind != "request_received" {
				t.Fatalf("outbox after the request: %+v", before)
			}
			received := before[0]
			reply := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <cli-status@acme.example>\r\n" +
				"In-Reply-To: <" + received.MessageID + ">\r\nSubject: Re: " + received.Subject + "\r\n\r\nstatus\r\n\r\n> Thank you for your request\r\n"
			if _, err := h.imap.Append("INBOX", []byte(reply)); err != nil {
				t.Fatal(err)
			}
			h.run("poll", "--once")
			var all []cliOutbox
			h.json(&all, "outbox", "list", "--json")
			if len(all) != 2 {
				t.Fatalf("outbox after the status reply: %+v", all)
			}
			ans := all[1]
			if ans.Kind != "request_status" || strings.Join(ans.To, ",") != "ops@acme.example" || ans.RequestID == nil || *ans.RequestID != 1 ||
				!strings.HasSuffix(ans.Subject, "[REQ-000001]") {
				t.Fatalf("status answer: %+v", ans)
			}
			h.run("outbox", "flush")
			sent := h.sentMail(ans.MessageID)
			if got := sent.Header.Get("In-Reply-To"); got != "<cli-status@acme.example>" {
				t.Errorf("In-Reply-To %q", got)
			}
			text := strings.Join(strings.Fields(textPart(t, sent)), " ")
			for _, want := range []string{"REQ-000001", "is being checked by our operations team", "since", "Next step:"} {
				if !strings.Contains(text, want) {
					t.Errorf("sent status answer lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

// textPart returns the decoded text/plain part of a sent mail.
func textPart(t *testing.T, m *mail.Message) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(enc string, r io.Reader) string {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decode(m.Header.Get("Content-Transfer-Encoding"), m.Body)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			return decode(p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}
