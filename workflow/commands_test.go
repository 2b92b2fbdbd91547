package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// replyTo is a reply from `from` in the thread of our mail m, with the new
// text body above a quote of ours.
func replyTo(from, msgID string, m store.OutboxMail, body string) string {
	return "From: " + from + "\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + msgID + ">\r\nIn-Reply-To: <" + m.MessageID +
		">\r\nSubject: Re: " + m.Subject + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
		"\r\n\r\nOn Monday you wrote:\r\n> cancel status\r\n"
}

// unwrap joins the lines tidyText wrapped.
func unwrap(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", "~")), " ")
}

func TestStatusByReplyAndSubject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		// English: a reply `Status.` in the thread of our answer.
		id := f.pendingRequest()
		received := f.outbox(id)[0]
		f.now = f.now.Add(26 * time.Hour)
		res := f.deliver(replyTo("Sarah <ops@acme.example>", "s1@acme.example", received, "Status."))
		if res.Disposition != store.DispReply || res.RequestID != id {
			t.Fatalf("status reply: %+v", res)
		}
		ans := f.last(id)
		if ans.Kind != templates.KindRequestStatus || strings.Join(ans.To(), ",") != "ops@acme.example" || ans.InReplyTo != "s1@acme.example" ||
			!strings.HasSuffix(ans.Subject, "["+store.Reference(id)+"]") {
			t.Fatalf("status answer %s to %v in reply to %q: %q", ans.Kind, ans.To(), ans.InReplyTo, ans.Subject)
		}
		text := unwrap(ans.TextBody)
		for _, want := range []string{
			"is being checked by our operations team",     // the state
			"since 16~November~2026, 10:00~UTC",           // its date
			"Next step: our operations team approves",     // the next step
			"reply to this mail with the word \"cancel\"", // how to cancel
		} {
			if !strings.Contains(text, want) {
				t.Errorf("status answer lacks %q:\n%s", want, ans.TextBody)
			}
		}
		if s := f.request(id).State; s != store.StatePendingApproval {
			t.Fatalf("status moved the request: %s", s)
		}

		// German: a new mail `Status REQ-…` from the partner's domain.
		bb := f.deliver(request("Tom <tom@bluebird.example>", "b1@bluebird.example", "Globex", "Organization ID: "+orgGlobex)).RequestID
		before := len(f.outbox(bb))
		res = f.deliver("From: tom@bluebird.example\r\nMessage-ID: <b2@bluebird.example>\r\nSubject: Status " + store.Reference(bb) + "\r\n\r\n")
		if res.RequestID != bb || len(f.outbox(bb)) != before+1 {
			t.Fatalf("subject status: %+v %s", res, f.kinds(bb))
		}
		ans = f.last(bb)
		text = unwrap(ans.TextBody)
		if ans.Kind != templates.KindRequestStatus || ans.InReplyTo != "b2@bluebird.example" {
			t.Fatalf("answer %s in reply to %q", ans.Kind, ans.InReplyTo)
		}
		for _, want := range []string{"wird von unserem Operations-Team geprüft", "seit 17.~November~2026", "Nächster Schritt:", "„Stornieren“"} {
			if !strings.Contains(text, want) {
				t.Errorf("German status answer lacks %q:\n%s", want, ans.TextBody)
			}
		}

		// A needs_info reply that starts with "Status" but brings the ID resumes the request.
		ni := f.deliver(request("ops@acme.example", "n1@acme.example", "Initech", "no ID yet")).RequestID
		f.deliver(replyTo("ops@acme.example", "n2@acme.example", f.outbox(ni)[0], "Status update: Organization ID "+orgGlobex))
		if s := f.request(ni).State; s == store.StateNeedsInfo || f.last(ni).Kind == templates.KindRequestStatus {
			t.Fatalf("a reply with the ID was taken for a status request: %s %s", s, f.kinds(ni))
		}

		// An invited request's answer names the invitation's expiry.
		storetest.Must(t, f.wf.Approve(context.Background(), id, "olga", ""))
		f.deliver(replyTo("ops@acme.example", "s2@acme.example", received, "status please"))
		if text := unwrap(f.last(id).TextBody); !strings.Contains(text, "waiting for the customer's administrator") || !strings.Contains(text, "by 19~November~2026") {
			t.Errorf("invited status:\n%s", f.last(id).TextBody)
		}
		// A status word further down, or only in the quote, is no command.
		n := len(f.outbox(id))
		f.deliver(replyTo("ops@acme.example", "s3@acme.example", received, "Thanks! What is the status?"))
		if len(f.outbox(id)) != n {
			t.Fatalf("answered a reply that is no command: %s", f.kinds(id))
		}
	})
}

func TestStatusFromStrangerNotAnswered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		id := f.pendingRequest()
		ours := f.outbox(id)[0]
		before := len(f.outbox(id))
		all, err := st.Q(ctx).ListOutbox(store.OutboxFilter{})
		storetest.Must(t, err)

		// By subject, and by a reply in the thread.
		r1 := f.deliver("From: mallory@evil.example\r\nMessage-ID: <m1@evil.example>\r\nSubject: Status " + store.Reference(id) + "\r\n\r\n")
		r2 := f.deliver(replyTo("mallory@evil.example", "m2@evil.example", ours, "status"))
		for _, r := range []workflow.Result{r1, r2} {
			if r.Disposition != store.DispReply || r.RequestID != id {
				t.Errorf("stranger's status mail not recorded on the request: %+v", r)
			}
		}
		after, err := st.Q(ctx).ListOutbox(store.OutboxFilter{})
		storetest.Must(t, err)
		if len(after) != len(all) || len(f.outbox(id)) != before {
			t.Fatalf("a stranger's status request was answered: %s", f.kinds(id))
		}
		m, err := st.Q(ctx).Message(r1.MessageID)
		storetest.Must(t, err)
		if !strings.Contains(m.Detail, "not its partner") {
			t.Errorf("message detail %q", m.Detail)
		}
		audit, err := st.Q(ctx).Audit(id)
		storetest.Must(t, err)
		var ignored int
		for _, a := range audit {
			if strings.Contains(a.Reason, "mallory@evil.example ignored: not the partner") {
				ignored++
			}
		}
		if ignored != 2 {
			t.Errorf("audit has %d entries for the stranger's two mails: %+v", ignored, audit)
		}
	})
}

func TestCancelByReply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		cancelled := func(id int64, word string) store.OutboxMail {
			t.Helper()
			first := f.outbox(id)[0]
			f.uid++
			res := f.deliver(replyTo("ops@acme.example", "c"+itoa(int64(f.uid))+"@acme.example", first, word))
			if res.RequestID != id {
				t.Fatalf("%s: %+v", word, res)
			}
			if s := f.request(id).State; s != store.StateCancelled {
				t.Fatalf("%q: state %s", word, s)
			}
			m := f.last(id)
			if m.Kind != templates.KindRequestCancelled || strings.Join(m.To(), ",") != "ops@acme.example" {
				t.Fatalf("%q: confirmation %s to %v", word, m.Kind, m.To())
			}
			audit, err := st.Q(ctx).Audit(id)
			storetest.Must(t, err)
			if a := audit[len(audit)-1]; a.ToState != store.StateCancelled || !strings.HasPrefix(a.Actor, "partner:") {
				t.Errorf("audit %+v", a)
			}
			return m
		}

		// needs_info
		ni := f.deliver(request("ops@acme.example", "n1@acme.example", "Globex", "no ID yet")).RequestID
		cancelled(ni, "Cancel")

		// pending_approval, in German
		pa := f.pendingRequest()
		if m := cancelled(pa, "Stornieren, bitte."); !strings.Contains(m.TextBody, "we have cancelled your request") {
			t.Errorf("confirmation:\n%s", m.TextBody)
		}

		// invited: the link is revoked, the invitation stops working.
		f.now = f.now.Add(2 * time.Hour)
		inv := f.deliver(request("ops@acme.example", "i1@acme.example", "Globex", "Organization ID: "+orgGlobex)).RequestID
		storetest.Must(t, f.wf.Approve(ctx, inv, "olga", ""))
		tok := f.token(inv)
		m := cancelled(inv, "abbrechen")
		if !strings.Contains(unwrap(m.TextBody), "The invitation to the customer's administrator no longer works") {
			t.Errorf("confirmation does not say the invitation stopped:\n%s", m.TextBody)
		}
		link, err := st.Q(ctx).LinkForRequest(inv)
		storetest.Must(t, err)
		if link.Status != store.LinkRevoked {
			t.Fatalf("link %s", link.Status)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.LookupInvitation(ctx, tok); !errors.As(err, &gone) || gone.Status != store.InviteRevoked {
			t.Fatalf("invitation after cancel: %v", err)
		}
		if _, err := f.wf.Accept(ctx, tok); !errors.As(err, &gone) {
			t.Fatalf("accepting after cancel: %v", err)
		}

		// pending_reseller (no flow enters it yet: the request is written
		// as a distributor's would be), cancelled through the [REQ-…] tag.
		org := orgGlobex
		pr := &store.Request{State: store.StatePendingReseller, PartnerID: &f.acme.ID, OrganizationID: &org, CustomerName: "Globex",
			Sender: "ops@acme.example", MessageID: "pr1@acme.example", Subject: "Please establish reseller connection to customer Globex"}
		storetest.Must(t, st.Q(ctx).InsertRequest(pr))
		f.deliver("From: ops@acme.example\r\nMessage-ID: <pr2@acme.example>\r\nSubject: Re: Globex [" + pr.Reference() + "]\r\n\r\nCancel.\r\n")
		if s := f.request(pr.ID).State; s != store.StateCancelled || f.last(pr.ID).Kind != templates.KindRequestCancelled {
			t.Fatalf("pending_reseller after cancel: %s, %s", s, f.kinds(pr.ID))
		}

		// After the customer answered: refused, with the status.
		f.now = f.now.Add(2 * time.Hour)
		done := f.deliver(request("ops@acme.example", "d1@acme.example", "Globex", "Organization ID: "+orgGlobex)).RequestID
		storetest.Must(t, f.wf.Approve(ctx, done, "olga", ""))
		if _, err := f.wf.Accept(ctx, f.token(done)); err != nil {
			t.Fatal(err)
		}
		f.deliver(replyTo("ops@acme.example", "d2@acme.example", f.outbox(done)[0], "cancel"))
		if s := f.request(done).State; s != store.StateCompleted {
			t.Fatalf("a completed request was cancelled: %s", s)
		}
		m = f.last(done)
		if text := unwrap(m.TextBody); m.Kind != templates.KindRequestStatus || !strings.Contains(text, "can no longer be cancelled") ||
			!strings.Contains(text, "completed: the reseller connection is established") {
			t.Fatalf("refusal %s:\n%s", m.Kind, m.TextBody)
		}
		if link, _ := st.Q(ctx).LinkForRequest(done); link.Status != store.LinkActive {
			t.Fatalf("link after a refused cancel: %s", link.Status)
		}
	})
}
