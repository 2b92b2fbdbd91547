package workflow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// tooLarge hands the workflow a mail over the size limit, as the poller
// does: its envelope, never its body.
func (f *fixture) tooLarge(uidValidity uint32, env *workflow.Envelope) store.Message {
	f.t.Helper()
	f.uid++
	res, err := f.wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: uidValidity, UID: f.uid,
		Size: 13002342, TooLarge: true, Envelope: env, ReceivedAt: f.now})
	storetest.Must(f.t, err)
	if res.Outcome != workflow.Move {
		f.t.Fatalf("too large mail: outcome %v, want Move", res.Outcome)
	}
	m, err := f.st.Q(context.Background()).Message(res.MessageID)
	storetest.Must(f.t, err)
	return m
}

// Only a sender that could make a request is answered: one plain From
// address of an active partner, with no other Sender; the answer is
// threaded under the mail and sent once per mail.
func TestTooLargeAnswersOnlyThePartner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.MaxMessageBytes = 10 << 20 })
		env := func(id string, from, sender []string) *workflow.Envelope {
			return &workflow.Envelope{MessageID: id, Subject: "Fwd: Please establish reseller connection to customer Globex",
				From: from, Sender: sender, InReplyTo: []string{"parent@acme.example"}}
		}
		one := []string{"Ops@Acme.example"}

		m := f.tooLarge(1, env("big-1@acme.example", one, one))
		if m.Disposition != store.DispTooLarge || m.FromAddr != "ops@acme.example" || m.MessageID != "big-1@acme.example" ||
			m.Subject != "Fwd: Please establish reseller connection to customer Globex" {
			t.Errorf("recorded as %+v", m)
		}
		want := "12.4 MB (13002342 bytes), over the size limit of 10 MB: not fetched, not parsed; partner Acme Cloud Resellers Ltd answered at ops@acme.example"
		if !strings.HasPrefix(m.Detail, want) {
			t.Errorf("detail %q, want it to start with %q", m.Detail, want)
		}
		out := f.allOutbox()
		if len(out) != 1 {
			t.Fatalf("%d outbox mails, want 1", len(out))
		}
		a := out[0]
		if a.Kind != templates.KindRequestTooLarge || strings.Join(a.To(), ",") != "ops@acme.example" ||
			a.Subject != "Re: Please establish reseller connection to customer Globex" ||
			a.InReplyTo != "big-1@acme.example" || a.Refs != "parent@acme.example big-1@acme.example" ||
			a.AutoSubmitted != "auto-replied" || a.Status != store.OutboxPending {
			t.Errorf("answer %+v", a)
		}
		if !strings.Contains(a.TextBody, "12.4 MB") || !strings.Contains(a.TextBody, "10 MB") {
			t.Errorf("answer names neither size nor limit:\n%s", a.TextBody)
		}

		// Seen again: in the same mailbox (delivered twice), and at a new
		// position after a UIDVALIDITY change. No second answer.
		if again := f.tooLarge(1, env("big-1@acme.example", one, one)); again.Disposition != store.DispDuplicate {
			t.Errorf("delivered twice: %s %q", again.Disposition, again.Detail)
		}
		f.tooLarge(2, env("big-1@acme.example", one, one))
		if n := len(f.allOutbox()); n != 1 {
			t.Errorf("the same mail seen again: %d answers, want 1", n)
		}

		for _, c := range []struct {
			name string
			env  *workflow.Envelope
			why  string
		}{
			{"stranger", env("s@x", []string{"eve@stranger.example"}, []string{"eve@stranger.example"}), "not answered: eve@stranger.example matches no partner's sender rules"},
			{"two From", env("s2@x", []string{"ops@acme.example", "eve@stranger.example"}, nil), "not answered: 2 From addresses (ops@acme.example, eve@stranger.example)"},
			{"group", env("s3@x", []string{"", "ops@acme.example", ""}, nil), "not answered: the From is not one plain address (a group, or an address without a domain)"},
			{"other Sender", env("s4@x", one, []string{"eve@stranger.example"}), "not answered: Sender eve@stranger.example differs from From ops@acme.example"},
			{"our own", env("s5@x", []string{"partners@onboarding.example"}, nil), "not answered: our own mail came back (loop)"},
			{"no envelope", nil, "not answered: the mailbox server named no sender"},
		} {
			m := f.tooLarge(3, c.env)
			if m.Disposition != store.DispTooLarge || !strings.HasSuffix(m.Detail, c.why) {
				t.Errorf("%s: %s %q, want it to end with %q", c.name, m.Disposition, m.Detail, c.why)
			}
		}
		storetest.Must(t, f.wf.SuspendPartner(context.Background(), f.acme.ID, "ops:kim", "contract ended"))
		if m := f.tooLarge(3, env("s6@x", one, nil)); !strings.HasSuffix(m.Detail, "not answered: partner Acme Cloud Resellers Ltd is suspended") {
			t.Errorf("suspended partner: %q", m.Detail)
		}
		if n := len(f.allOutbox()); n != 1 {
			t.Errorf("%d outbox mails, want only the one answer to the partner", n)
		}
	})
}

// Answers to mail over the limit count against the answer limits, like
// every answer caused by received mail: beyond them they are held.
func TestTooLargeAnswersRateLimited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AnswerLimitSender = 1 })
		one := []string{"ops@acme.example"}
		f.tooLarge(1, &workflow.Envelope{MessageID: "a@acme.example", Subject: "one", From: one})
		m := f.tooLarge(1, &workflow.Envelope{MessageID: "b@acme.example", Subject: "two", From: one})
		if !strings.Contains(m.Detail, "answer to partner Acme Cloud Resellers Ltd at ops@acme.example held") ||
			!strings.Contains(m.Detail, "rate limit") {
			t.Errorf("second answer within the window: %q", m.Detail)
		}
		out := f.allOutbox()
		if len(out) != 2 || out[0].Status != store.OutboxPending || out[1].Status != store.OutboxHeld {
			t.Errorf("outbox %+v: want one pending, one held", out)
		}
	})
}
