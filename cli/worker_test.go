package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailbox"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// bigMail is a mail of about 64 KiB from from, with the Message-ID id.
func bigMail(from, id, subject string) []byte {
	head := fmt.Sprintf("From: %s\r\nTo: partners@onboarding.example\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nOrganization ID: %s\r\n", from, subject, id, fraudOrg)
	return append([]byte(head), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), 1024)...)
}

// A mail over the size limit is recorded from its ENVELOPE (its body is
// never fetched), moved, and answered once when a registered partner sent
// it; a stranger gets no answer.
func TestTooLargeMailAnsweredFromEnvelope(t *testing.T) {
	partnerMail := bigMail("Olga Ops <ops@acme.example>", "big-1@acme.example", "Please establish reseller connection to customer Globex")
	strangerMail := bigMail("someone@stranger.example", "big-2@stranger.example", "Huge file")
	// Just over the limit: one byte more than the server may send.
	limit := int64(min(len(partnerMail), len(strangerMail))) - 1
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, db.URL)
			tpl, err := templates.Load("")
			storetest.Must(t, err)
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"},
				PublicURL: "https://onboard.example", Templates: tpl, MaxMessageBytes: limit, Now: func() time.Time { return now }})
			storetest.Must(t, err)
			storetest.Must(t, st.Q(ctx).CreatePartner(&store.Partner{Name: "Acme", Locale: "de"}, []string{"ops@acme.example"}, nil))

			srv, err := mailtest.StartIMAP(mailtest.IMAPOptions{})
			storetest.Must(t, err)
			defer srv.Close()
			proxy, err := mailtest.StartProxy(srv.Addr())
			storetest.Must(t, err)
			defer proxy.Close()
			for _, raw := range [][]byte{
				partnerMail,
				strangerMail,
				partnerMail, // delivered twice: answered once
			} {
				_, err := srv.Append("INBOX", raw)
				storetest.Must(t, err)
			}

			h := &intakeHandler{wf: wf, tally: map[string]int{}}
			p := mailbox.NewPoller(mailbox.Config{Addr: proxy.Addr(), TLS: mailbox.TLSNone, Username: srv.Username(),
				Password: srv.Password(), MaxMessageBytes: limit, CommandTimeout: 10 * time.Second}, cursorStore{st}, h)
			defer p.Close()
			stats, err := p.RunOnce(ctx)
			storetest.Must(t, err)
			if stats.TooLarge != 3 || stats.Moved != 3 {
				t.Errorf("stats %+v: want 3 too large, 3 moved", stats)
			}
			if n := proxy.BytesToClient(); n > 16<<10 {
				t.Errorf("%d bytes came from the server for three %d-byte mails: a body was fetched", n, len(partnerMail))
			}
			if left, err := srv.Messages("INBOX"); err != nil || len(left) != 0 {
				t.Errorf("INBOX after the pass: %d mails (%v), want none", len(left), err)
			}

			ms, err := st.Q(ctx).RecentMessages("", 10)
			storetest.Must(t, err)
			if len(ms) != 3 {
				t.Fatalf("%d messages recorded, want 3", len(ms))
			}
			byUID := map[int64]store.Message{}
			for _, m := range ms {
				byUID[m.UID] = m
			}
			first, stranger, again := byUID[1], byUID[2], byUID[3]
			if first.Disposition != store.DispTooLarge || first.FromAddr != "ops@acme.example" ||
				first.MessageID != "big-1@acme.example" || first.Subject != "Please establish reseller connection to customer Globex" ||
				first.Size != int64(len(partnerMail)) || len(first.Raw) != 0 {
				t.Errorf("partner's mail recorded as %+v", first)
			}
			for _, w := range []string{templates.HumanSize(first.Size, "en") + " (" + fmt.Sprint(first.Size) + " bytes)", "over the size limit of " + templates.HumanSize(limit, "en"), "partner Acme answered at ops@acme.example"} {
				if !strings.Contains(first.Detail, w) {
					t.Errorf("partner's mail: detail %q lacks %q", first.Detail, w)
				}
			}
			if stranger.Disposition != store.DispTooLarge || stranger.FromAddr != "someone@stranger.example" ||
				stranger.Subject != "Huge file" || !strings.Contains(stranger.Detail, "not answered: someone@stranger.example matches no partner's sender rules") {
				t.Errorf("stranger's mail recorded as %+v", stranger)
			}
			if again.Disposition != store.DispDuplicate || !strings.Contains(again.Detail, fmt.Sprintf("same mail as message %d", first.ID)) {
				t.Errorf("the same mail again recorded as %+v", again)
			}

			out, err := st.Q(ctx).ListOutbox(store.OutboxFilter{})
			storetest.Must(t, err)
			if len(out) != 1 {
				t.Fatalf("%d outbox mails, want the one answer to the partner: %+v", len(out), out)
			}
			a := out[0]
			if a.Kind != templates.KindRequestTooLarge || strings.Join(a.To(), ",") != "ops@acme.example" || a.RequestID != nil ||
				a.InReplyTo != "big-1@acme.example" || !strings.Contains(a.Refs, "big-1@acme.example") ||
				a.Subject != "Re: Please establish reseller connection to customer Globex" || a.AutoSubmitted != "auto-replied" ||
				a.Status != store.OutboxPending {
				t.Errorf("answer: %+v", a)
			}
			for _, w := range []string{templates.HumanSize(first.Size, "de"), templates.HumanSize(limit, "de"), "ohne große Anhänge", "Organisations-ID"} {
				if !strings.Contains(a.TextBody, w) {
					t.Errorf("answer text lacks %q:\n%s", w, a.TextBody)
				}
			}
		})
	}
}
