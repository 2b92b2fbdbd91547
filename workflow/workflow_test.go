package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

const (
	orgGlobex  = "9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f"
	orgInitech = "0d9c8b7a-6f5e-4d3c-8b1a-0f9e8d7c6b5a"
)

var tpl = func() *templates.Set {
	s, err := templates.Load("")
	if err != nil {
		panic(err)
	}
	return s
}()

// fixture is a service on a seeded database with a movable clock.
type fixture struct {
	t     *testing.T
	st    *store.Store
	wf    *workflow.Service
	now   time.Time
	uid   uint32
	acme  store.Partner
	queue atomic.Int32
}

func newFixture(t *testing.T, st *store.Store, mod func(*workflow.Options)) *fixture {
	f := &fixture{t: t, st: st, now: time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)}
	opts := workflow.Options{
		From:              mail.Address{Name: "Partner Onboarding", Address: "partners@onboarding.example"},
		PublicURL:         "https://onboard.example/",
		TrustedAuthServID: "mx.partners.example",
		InviteTTL:         48 * time.Hour,
		Templates:         tpl,
		Now:               func() time.Time { return f.now },
		Queued:            func() { f.queue.Add(1) },
	}
	if mod != nil {
		mod(&opts)
	}
	wf, err := workflow.New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.wf = wf
	q := st.Q(context.Background())
	f.acme = store.Partner{Name: "Acme Cloud Resellers Ltd", Ref: "MPN-1001", Locale: "en"}
	storetest.Must(t, q.CreatePartner(&f.acme, []string{"ops@acme.example"}, nil))
	storetest.Must(t, q.CreatePartner(&store.Partner{Name: "Bluebird", Locale: "de", Trusted: true}, nil, []string{"bluebird.example"}))
	for _, o := range []store.Organization{
		{ID: orgGlobex, Name: "Globex Corporation", Status: store.OrgActive, AdminName: "Hank", AdminEmail: "hank@globex.example", Locale: "en"},
		{ID: orgInitech, Name: "Initech AG", Status: store.OrgSuspended, AdminEmail: "bill@initech.example", Locale: "de"},
	} {
		storetest.Must(t, q.UpsertOrganization(&o))
	}
	return f
}

// deliver hands a mail to the workflow as the poller would.
func (f *fixture) deliver(raw string) workflow.Result {
	f.t.Helper()
	f.uid++
	res, err := f.wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: f.uid,
		Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.now})
	if err != nil {
		f.t.Fatalf("HandleMail: %v", err)
	}
	return res
}

func request(from, msgID, subjectName, body string, extra ...string) string {
	h := "From: " + from + "\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + msgID + ">\r\n" +
		"Subject: Please establish reseller connection to customer [" + subjectName + "]\r\n" +
		"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n" + body + "\r\n"
}

func (f *fixture) request(id int64) store.Request {
	f.t.Helper()
	r, err := f.st.Q(context.Background()).Request(id)
	storetest.Must(f.t, err)
	return r
}

func (f *fixture) outbox(id int64) []store.OutboxMail {
	f.t.Helper()
	rows, err := f.st.Q(context.Background()).ListOutbox(store.OutboxFilter{RequestID: id})
	storetest.Must(f.t, err)
	return rows
}

func (f *fixture) kinds(id int64) string {
	var ks []string
	for _, m := range f.outbox(id) {
		ks = append(ks, m.Kind+">"+strings.Join(m.To(), ","))
	}
	return strings.Join(ks, " ")
}

func (f *fixture) findings(id int64) string {
	fs, err := f.st.Q(context.Background()).Findings(id)
	storetest.Must(f.t, err)
	var cs []string
	for _, x := range fs {
		cs = append(cs, x.Code)
	}
	return strings.Join(cs, ",")
}

// token reads the newest invitation link from the outbox as the dispatcher
// sends it, as the customer would.
func (f *fixture) token(id int64) string {
	f.t.Helper()
	rows := f.outbox(id)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind == templates.KindInvitation {
			return storetest.InvitationToken(f.t, f.st, rows[i])
		}
	}
	f.t.Fatal("no invitation mail")
	return ""
}

func (f *fixture) pendingRequest() int64 {
	res := f.deliver(request("Sarah <ops@acme.example>", "r1@acme.example", "Globex Corporation", "Organization ID: "+orgGlobex))
	if res.Disposition != store.DispRequest || f.request(res.RequestID).State != store.StatePendingApproval {
		f.t.Fatalf("setup: %+v %s", res, f.request(res.RequestID).State)
	}
	return res.RequestID
}

func TestApproveAcceptLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.pendingRequest()
		if got := f.kinds(id); got != "request_received>Acme Cloud Resellers Ltd <ops@acme.example>" && got != `request_received>"Acme Cloud Resellers Ltd" <ops@acme.example>` && !strings.HasPrefix(got, "request_received>") {
			t.Fatalf("mails after intake: %s", got)
		}
		ack := f.outbox(id)[0]
		if ack.InReplyTo != "r1@acme.example" || !strings.Contains(ack.Subject, "[REQ-") || ack.AutoSubmitted != "auto-replied" {
			t.Errorf("acknowledgement not threaded: %+v", ack)
		}

		storetest.Must(t, f.wf.Approve(ctx, id, "olga", "welcome"))
		if err := f.wf.Approve(ctx, id, "olga", ""); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("approving twice: %v", err)
		}
		if r := f.request(id); r.State != store.StateInvited {
			t.Fatalf("state %s", r.State)
		}
		rows := f.outbox(id)
		if len(rows) != 3 || rows[1].Kind != templates.KindInvitation || rows[2].Kind != templates.KindRequestApproved {
			t.Fatalf("mails after approval: %s", f.kinds(id))
		}
		if !strings.Contains(rows[1].ToAddrs, "hank@globex.example") || rows[1].AutoSubmitted != "auto-generated" {
			t.Errorf("invitation %+v", rows[1])
		}
		tok := f.token(id)
		// Only the hash is stored.
		inv, err := st.Q(ctx).Invitations(id)
		storetest.Must(t, err)
		if inv[0].TokenHash == tok || inv[0].TokenHash != workflow.HashToken(tok) {
			t.Fatalf("token stored as %q", inv[0].TokenHash)
		}
		// Looking (a mail scanner's GET) changes nothing.
		for range 3 {
			if _, err := f.wf.LookupInvitation(ctx, tok); err != nil {
				t.Fatalf("lookup: %v", err)
			}
		}
		if f.request(id).State != store.StateInvited {
			t.Fatal("lookup changed state")
		}
		if _, err := f.wf.LookupInvitation(ctx, tok[:42]+"x"); !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("wrong token: %v", err)
		}
		if _, err := f.wf.Accept(ctx, tok); err != nil {
			t.Fatalf("accept: %v", err)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.Accept(ctx, tok); !errors.As(err, &gone) || gone.Status != store.InviteAccepted {
			t.Fatalf("accepting twice: %v", err)
		}
		if r := f.request(id); r.State != store.StateCompleted {
			t.Fatalf("state %s", r.State)
		}
		link, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		if link.Status != store.LinkActive || link.Type != "reseller" {
			t.Fatalf("link %+v", link)
		}
		rows = f.outbox(id)
		if len(rows) != 5 || rows[3].Kind != templates.KindConnectionEstablished || rows[4].Kind != templates.KindConnectionEstablished {
			t.Fatalf("mails after accept: %s", f.kinds(id))
		}
		audit, err := st.Q(ctx).Audit(id)
		storetest.Must(t, err)
		var trail []string
		for _, a := range audit {
			trail = append(trail, a.Actor+":"+a.FromState+">"+a.ToState)
		}
		want := "partner:ops@acme.example:>pending_approval ops:olga:pending_approval>invited customer:hank@globex.example:invited>completed"
		if strings.Join(trail, " ") != want {
			t.Errorf("audit %q\nwant  %q", strings.Join(trail, " "), want)
		}
		// A second request for the same org by the same partner is a duplicate (a link exists).
		res := f.deliver(request("ops@acme.example", "r2@acme.example", "Globex", "Organization ID: "+orgGlobex))
		if r := f.request(res.RequestID); r.State != store.StateDuplicate {
			t.Errorf("second request: %s", r.State)
		}
		if f.queue.Load() == 0 {
			t.Error("the dispatcher was never woken")
		}
	})
}

func TestRejectAndStateRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Reject(ctx, id, "olga", "contract missing"))
		if err := f.wf.Reject(ctx, id, "olga", "again"); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("rejecting a rejected request: %v", err)
		}
		if err := f.wf.Approve(ctx, id, "olga", ""); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("approving a rejected request: %v", err)
		}
		rows := f.outbox(id)
		if last := rows[len(rows)-1]; last.Kind != templates.KindRequestRejected || !strings.Contains(last.TextBody, "contract missing") {
			t.Fatalf("rejection mail %+v", last)
		}
		if err := f.wf.Approve(ctx, 999, "olga", ""); !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("unknown request: %v", err)
		}
	})
}

func TestDeclineExpireResendRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		old := f.token(id)
		// Resend within the hour is refused; after it, a new token replaces the old one.
		if err := f.wf.ResendInvitation(ctx, id, "olga"); !errors.Is(err, workflow.ErrTooSoon) {
			t.Fatalf("resend within the hour: %v", err)
		}
		f.now = f.now.Add(61 * time.Minute)
		storetest.Must(t, f.wf.ResendInvitation(ctx, id, "olga"))
		tok := f.token(id)
		var gone *workflow.GoneError
		if _, err := f.wf.LookupInvitation(ctx, old); !errors.As(err, &gone) || gone.Status != store.InviteReplaced {
			t.Fatalf("old token after resend: %v", err)
		}
		if _, err := f.wf.Decline(ctx, tok, "We use another partner.\r\nBcc: evil@x", true); err != nil {
			t.Fatal(err)
		}
		if r := f.request(id); r.State != store.StateDeclined {
			t.Fatalf("state %s", r.State)
		}
		if fs := f.findings(id); !strings.Contains(fs, workflow.FindPossibleFraud) {
			t.Errorf("findings %s", fs)
		}
		rows := f.outbox(id)
		last := rows[len(rows)-1]
		if last.Kind != templates.KindInvitationDeclined || !strings.Contains(last.TextBody, "We use another partner.") || strings.Contains(last.Subject, "\n") {
			t.Errorf("decline mail %q %q", last.Subject, last.TextBody)
		}

		// Expiry: a second organization's invitation runs out.
		q := st.Q(ctx)
		org2 := "c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"
		storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: org2, Name: "Umbrella", Status: store.OrgActive, AdminEmail: "a@umbrella.example"}))
		res := f.deliver(request("ops@acme.example", "r3@acme.example", "Umbrella", "Org ID: "+org2))
		storetest.Must(t, f.wf.Approve(ctx, res.RequestID, "olga", ""))
		storetest.Must(t, f.wf.Approve(ctx, res.RequestID, "piet", "")) // four eyes: f.findings(res.RequestID)
		tok2 := f.token(res.RequestID)
		if n, err := f.wf.ExpireDue(ctx); err != nil || n != 0 {
			t.Fatalf("expired too early: %d %v", n, err)
		}
		f.now = f.now.Add(49 * time.Hour)
		if _, err := f.wf.LookupInvitation(ctx, tok2); !errors.As(err, &gone) || gone.Status != store.InviteExpired {
			t.Fatalf("lookup after expiry time: %v", err)
		}
		if n, err := f.wf.ExpireDue(ctx); err != nil || n != 1 {
			t.Fatalf("ExpireDue = %d, %v", n, err)
		}
		if r := f.request(res.RequestID); r.State != store.StateExpired {
			t.Fatalf("state %s", r.State)
		}
		if k := f.outbox(res.RequestID); k[len(k)-1].Kind != templates.KindInvitationExpired {
			t.Fatalf("mails %s", f.kinds(res.RequestID))
		}
		link, _ := q.LinkForRequest(res.RequestID)
		if link.Status != store.LinkExpired || link.EndedAt == nil {
			t.Fatalf("link %+v", link)
		}
		if err := f.wf.RevokeLink(ctx, link.ID, "olga"); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("revoking an expired link: %v", err)
		}

		// Revoke an invited link: the token stops working, the request is rejected.
		f.now = f.now.Add(2 * time.Hour)
		res = f.deliver(request("ops@acme.example", "r4@acme.example", "Umbrella", "Org ID: "+org2))
		storetest.Must(t, f.wf.Approve(ctx, res.RequestID, "olga", ""))
		storetest.Must(t, f.wf.Approve(ctx, res.RequestID, "piet", "")) // four eyes
		tok3 := f.token(res.RequestID)
		link, _ = q.LinkForRequest(res.RequestID)
		storetest.Must(t, f.wf.RevokeLink(ctx, link.ID, "olga"))
		if _, err := f.wf.Accept(ctx, tok3); !errors.As(err, &gone) || gone.Status != store.InviteRevoked {
			t.Fatalf("accepting a revoked invitation: %v", err)
		}
		if r := f.request(res.RequestID); r.State != store.StateRejected {
			t.Fatalf("state after revoke %s", r.State)
		}
	})
}

func TestNeedsInfoReplyLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		res := f.deliver(request("Tom <tom@bluebird.example>", "q1@bluebird.example", "Globex", "please connect them"))
		id := res.RequestID
		if r := f.request(id); r.State != store.StateNeedsInfo {
			t.Fatalf("state %s", r.State)
		}
		ask := f.outbox(id)[0]
		if ask.Kind != templates.KindNeedsInfo {
			t.Fatalf("mails %s", f.kinds(id))
		}
		// Someone else replying with the tag does not resume it.
		ref := store.Reference(id)
		other := "From: mallory@evil.example\r\nMessage-ID: <m@evil.example>\r\nSubject: Re: x [" + ref + "]\r\n\r\nOrganization ID: " + orgGlobex + "\r\n"
		if r := f.deliver(other); r.RequestID == id {
			t.Fatalf("a stranger's tag threaded: %+v", r)
		}
		// A colleague at the partner's domain replies without the ID: recorded, not answered.
		r1 := f.deliver("From: anna@bluebird.example\r\nMessage-ID: <q2@bluebird.example>\r\nIn-Reply-To: <" + ask.MessageID + ">\r\nSubject: Re: " + ask.Subject + "\r\n\r\nWhich ID do you need?\r\n")
		if r1.Disposition != store.DispReply || r1.RequestID != id || f.request(id).State != store.StateNeedsInfo || len(f.outbox(id)) != 1 {
			t.Fatalf("reply without ID: %+v %s", r1, f.kinds(id))
		}
		// The reply with the ID, threaded by the tag alone, resumes it.
		r2 := f.deliver("From: tom@bluebird.example\r\nMessage-ID: <q3@bluebird.example>\r\nSubject: AW: Antw: Please establish reseller connection to customer Globex [" + ref + "]\r\n\r\nHere: {" + strings.ToUpper(orgGlobex) + "}\r\n\r\n> We could not find an Organization ID\r\n")
		if r2.Disposition != store.DispReply || r2.RequestID != id {
			t.Fatalf("reply: %+v", r2)
		}
		r := f.request(id)
		if r.State != store.StatePendingApproval || r.OrganizationID == nil || *r.OrganizationID != orgGlobex {
			t.Fatalf("after reply: %+v", r)
		}
		rows := f.outbox(id)
		if len(rows) != 2 || rows[1].Kind != templates.KindRequestReceived || rows[1].InReplyTo != "q3@bluebird.example" {
			t.Fatalf("mails %s", f.kinds(id))
		}
	})
}

func TestChecksAndWarnings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		pass := "Authentication-Results: mx.partners.example; dkim=pass header.d=acme.example; spf=pass; dmarc=pass header.from=acme.example"
		cases := []struct {
			name, from, subject, body string
			extra                     []string
			state, findings, mail     string
		}{
			{"unknown sender", "x@nowhere.example", "Globex", "Org ID: " + orgGlobex, nil, store.StateRejected, "unknown_sender", ""},
			{"two From addresses", "ops@acme.example, x@evil.example", "Globex", "Org ID: " + orgGlobex, nil, store.StateRejected, "unknown_sender", ""},
			{"Sender differs", "ops@acme.example", "Globex", "Org ID: " + orgGlobex, []string{"Sender: x@evil.example"}, store.StateRejected, "unknown_sender", ""},
			{"dmarc fail", "ops@acme.example", "Globex", "Org ID: " + orgGlobex,
				[]string{"Authentication-Results: mx.partners.example; dmarc=fail header.from=acme.example"}, store.StateRejected, "sender_auth_failed", ""},
			{"dmarc fail from an untrusted host counts for nothing", "ops@acme.example", "Globex", "Org ID: " + orgGlobex,
				[]string{"Authentication-Results: mx.elsewhere.example; dmarc=fail"}, store.StatePendingApproval, "sender_auth_unchecked", "request_received"},
			{"ambiguous", "ops@acme.example", "Globex", orgGlobex + " " + orgInitech, nil, store.StateNeedsInfo, "organization_id_ambiguous,sender_auth_unchecked", "needs_info"},
			{"unknown org", "ops@acme.example", "Wayne", "Org ID: e7d6c5b4-a392-4817-b6f5-e4d3c2b1a098", []string{pass}, store.StateRejected, "unknown_organization", "request_rejected"},
			{"inactive org", "ops@acme.example", "Initech AG", "Org ID: " + orgInitech, []string{pass}, store.StateRejected, "organization_inactive", "request_rejected"},
			{"name mismatch, authenticated", "ops@acme.example", "Globex Holdings", "Org ID: " + orgGlobex, []string{pass}, store.StatePendingApproval, "name_mismatch", "request_received"},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				raw := strings.Replace(request(c.from, fmt.Sprintf("c%d@x", i), c.subject, c.body, c.extra...), "From: "+c.from, "From: "+c.from, 1)
				res := f.deliver(raw)
				r := f.request(res.RequestID)
				if r.State != c.state || f.findings(r.ID) != c.findings {
					t.Errorf("state %s findings %s, want %s %s", r.State, f.findings(r.ID), c.state, c.findings)
				}
				var kinds []string
				for _, m := range f.outbox(r.ID) {
					kinds = append(kinds, m.Kind)
					if !strings.Contains(m.ToAddrs, "ops@acme.example") {
						t.Errorf("answer to %s", m.ToAddrs)
					}
				}
				if strings.Join(kinds, ",") != c.mail {
					t.Errorf("mails %v, want %q", kinds, c.mail)
				}
				// A request that decided pending must not block the next cases.
				if r.State == store.StatePendingApproval {
					storetest.Must(t, f.wf.Reject(context.Background(), r.ID, "test", "cleanup"))
				}
			})
		}
	})
}

func TestAutoApproveTrusted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AutoApproveTrusted = true })
		pass := "Authentication-Results: mx.partners.example; dkim=pass header.d=bluebird.example; spf=pass; dmarc=pass header.from=bluebird.example"
		res := f.deliver(request("tom@bluebird.example", "a1@bluebird.example", "Globex Corporation", "Org ID: "+orgGlobex, pass))
		if r := f.request(res.RequestID); r.State != store.StateInvited {
			t.Fatalf("trusted, authenticated, clean: %s (%s)", r.State, f.findings(r.ID))
		}
		// Unauthenticated requests are never approved automatically.
		res = f.deliver(request("tom@bluebird.example", "a2@bluebird.example", "Initech", "Org ID: c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"))
		_ = res
		q := st.Q(context.Background())
		storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: "c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c", Name: "Umbrella", Status: store.OrgActive, AdminEmail: "a@u.example"}))
		res = f.deliver(request("tom@bluebird.example", "a3@bluebird.example", "Umbrella", "Org ID: c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"))
		if r := f.request(res.RequestID); r.State != store.StatePendingApproval {
			t.Fatalf("unauthenticated: %s", r.State)
		}
	})
}

func TestOnceOnlyIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		raw := request("ops@acme.example", "once@acme.example", "Globex", "Org ID: "+orgGlobex)
		in := workflow.Incoming{Mailbox: "INBOX", UIDValidity: 7, UID: 1, Raw: []byte(raw), Size: int64(len(raw))}
		first, err := f.wf.HandleMail(ctx, in)
		storetest.Must(t, err)
		// The same position again (a crash between commit and move): same answer, nothing new.
		again, err := f.wf.HandleMail(ctx, in)
		storetest.Must(t, err)
		if again != first || len(f.outbox(first.RequestID)) != 1 {
			t.Fatalf("second handling %+v vs %+v, mails %s", again, first, f.kinds(first.RequestID))
		}
		// After a UIDVALIDITY change the same mail is recognised, not handled again.
		in2 := in
		in2.UIDValidity, in2.UID = 8, 1
		moved, err := f.wf.HandleMail(ctx, in2)
		storetest.Must(t, err)
		if moved.MessageID != first.MessageID || moved.Outcome != workflow.Move {
			t.Fatalf("rescan: %+v", moved)
		}
		// Delivered twice into the mailbox: recorded as a duplicate, handled once.
		in3 := in2
		in3.UID = 2
		dup, err := f.wf.HandleMail(ctx, in3)
		storetest.Must(t, err)
		if dup.Disposition != store.DispDuplicate || dup.MessageID == first.MessageID || len(f.outbox(first.RequestID)) != 1 {
			t.Fatalf("duplicate delivery: %+v", dup)
		}
		reqs, _ := st.Q(ctx).ListRequests(store.RequestFilter{})
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		// An ignored mail seen again stays ignored and in the mailbox.
		other := "From: billing@vendor.example\r\nSubject: Invoice\r\n\r\nhello\r\n"
		for uid := uint32(10); uid < 12; uid++ {
			r, err := f.wf.HandleMail(ctx, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 8, UID: uid, Raw: []byte(other)})
			storetest.Must(t, err)
			if r.Outcome != workflow.Keep || r.Disposition != store.DispIgnored {
				t.Fatalf("ignored mail: %+v", r)
			}
		}
		// Too large: recorded, not parsed.
		big, err := f.wf.HandleMail(ctx, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 8, UID: 20, Size: 50 << 20, TooLarge: true})
		storetest.Must(t, err)
		if big.Disposition != store.DispTooLarge || big.Outcome != workflow.Move {
			t.Fatalf("too large: %+v", big)
		}
	})
}

func TestFailingMailSetAsideAfterThreeTries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		broken := true
		f := newFixture(t, st, func(o *workflow.Options) {
			o.Parse = func(raw []byte, opts parser.Options) *parser.Mail {
				if broken && strings.Contains(string(raw), "BOOM") {
					panic("parser bug")
				}
				return parser.Parse(raw, opts)
			}
		})
		ctx := context.Background()
		raw := request("ops@acme.example", "boom@acme.example", "Globex", "BOOM Org ID: "+orgGlobex)
		in := workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: 5, Raw: []byte(raw), Size: int64(len(raw))}
		for try := 1; try <= 3; try++ {
			res, err := f.wf.HandleMail(ctx, in)
			if err != nil {
				t.Fatalf("try %d: a failing mail must not fail the batch: %v", try, err)
			}
			want, out := store.DispPending, workflow.Retry
			if try == 3 {
				want, out = store.DispUnparseable, workflow.Move
			}
			if res.Disposition != want || res.Outcome != out {
				t.Fatalf("try %d: %+v", try, res)
			}
		}
		m, err := st.Q(ctx).Message(1)
		storetest.Must(t, err)
		if m.Attempts != 3 || !strings.Contains(m.LastError, "parser bug") || string(m.Raw) != raw {
			t.Fatalf("set-aside record: attempts %d error %q raw kept %v", m.Attempts, m.LastError, string(m.Raw) == raw)
		}
		// After the fix, ops reprocess it: it becomes a request, once.
		broken = false
		res, err := f.wf.Reprocess(ctx, m.ID)
		storetest.Must(t, err)
		if res.Disposition != store.DispRequest || f.request(res.RequestID).State != store.StatePendingApproval {
			t.Fatalf("reprocess: %+v", res)
		}
		if _, err := f.wf.Reprocess(ctx, m.ID); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("reprocessing a handled mail: %v", err)
		}
	})
}

func TestBounceMatchesInvitation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		var inv store.OutboxMail
		for _, m := range f.outbox(id) {
			if m.Kind == templates.KindInvitation {
				inv = m
			}
		}
		dsn := "From: MAILER-DAEMON@mx.onboarding.example\r\nTo: partners@onboarding.example\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
			"Message-ID: <dsn1@mx>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; hank@globex.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
			"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + inv.MessageID + ">\r\nSubject: x\r\n\r\n--b--\r\n"
		res := f.deliver(dsn)
		if res.Disposition != store.DispBounce || res.RequestID != id {
			t.Fatalf("bounce: %+v", res)
		}
		row, err := st.Q(ctx).Outbox(inv.ID)
		storetest.Must(t, err)
		if row.Status != store.OutboxBounced || !strings.Contains(f.findings(id), workflow.FindInvitationBounced) {
			t.Fatalf("outbox %s findings %s", row.Status, f.findings(id))
		}
		if n := len(f.outbox(id)); n != 3 {
			t.Fatalf("a bounce was answered: %s", f.kinds(id))
		}
	})
}

func TestSameName(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"Müller & Söhne GmbH", "Mueller Söhne", false},
		{"Müller & Söhne GmbH", "muller & sohne", true},
		{"Hooli, Inc.", "Hooli", true},
		{"Hooli, Inc.", "Hooli Holdings", false},
		{"Umbrella Services SE", "UMBRELLA SERVICES", true},
		{"Globex Corporation", "Globex Corp.", true},
		{"Straße AG", "Strasse", true},
	} {
		if got := workflow.SameName(c.a, c.b); got != c.same {
			t.Errorf("SameName(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// At most one invitation per organization per hour, also when two
// partners' requests for the same organization are approved in a row: the
// second invitation waits for the hour (and its link counts from then), and
// a resend must wait for the hour after it.
func TestApproveSpacesInvitationsPerOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		first := f.pendingRequest()
		res := f.deliver(request("tom@bluebird.example", "b1@bluebird.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		second := res.RequestID
		if s := f.request(second).State; s != store.StatePendingApproval {
			t.Fatalf("second partner's request is %s", s)
		}
		storetest.Must(t, f.wf.Approve(ctx, first, "olga", ""))
		approvedAt := f.now
		f.now = f.now.Add(20 * time.Minute)
		storetest.Must(t, f.wf.Approve(ctx, second, "olga", ""))
		storetest.Must(t, f.wf.Approve(ctx, second, "piet", "")) // four eyes: org_has_other_reseller
		invitation := func(id int64) store.OutboxMail {
			for _, m := range f.outbox(id) {
				if m.Kind == templates.KindInvitation {
					return m
				}
			}
			t.Fatalf("request %d has no invitation", id)
			return store.OutboxMail{}
		}
		if at := invitation(first).NextAttemptAt; !at.Equal(approvedAt) {
			t.Errorf("first invitation goes at %s, want at once (%s)", at, approvedAt)
		}
		if at, want := invitation(second).NextAttemptAt, approvedAt.Add(time.Hour); !at.Equal(want) {
			t.Errorf("second invitation goes at %s, want %s (an hour after the first)", at, want)
		}
		if r := f.request(second); r.State != store.StateInvited {
			t.Errorf("second request is %s, want invited", r.State)
		}
		// Its partner hears of the approval now; only the invitation waits.
		if rows := f.outbox(second); rows[len(rows)-1].Kind != templates.KindRequestApproved || !rows[len(rows)-1].NextAttemptAt.Equal(f.now) {
			t.Errorf("second partner's approval mail: %+v", rows[len(rows)-1])
		}
		// A resend within the hour after the delayed invitation is refused.
		f.now = approvedAt.Add(90 * time.Minute)
		if err := f.wf.ResendInvitation(ctx, second, "olga"); !errors.Is(err, workflow.ErrTooSoon) {
			t.Errorf("resend 30 minutes after the delayed invitation: %v", err)
		}
	})
}

// A decline message keeps its lines for the partner (without control
// characters, runs of empty lines or a trailing blank), and stays one line
// in the audit trail.
func TestDeclineMessageKeepsLines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, nil)
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		msg := "\r\nThank you.\r\n\r\n\r\nWe already work with\u2028another\x07 partner.\n\n"
		if _, err := f.wf.Decline(ctx, f.token(id), msg, false); err != nil {
			t.Fatal(err)
		}
		rows := f.outbox(id)
		last := rows[len(rows)-1]
		want := "> Thank you.\n>\n> We already work with\n> another partner.\n"
		if last.Kind != templates.KindInvitationDeclined || !strings.Contains(last.TextBody, want) {
			t.Errorf("decline mail text:\n%s\nwant it to quote:\n%s", last.TextBody, want)
		}
		audit, err := st.Q(ctx).Audit(id)
		storetest.Must(t, err)
		found := false
		for _, e := range audit {
			if strings.HasPrefix(e.Reason, "invitation declined: ") {
				found = true
				if e.Reason != "invitation declined: Thank you. We already work with another partner." {
					t.Errorf("audit reason %q, want the message on one line", e.Reason)
				}
			}
		}
		if !found {
			t.Error("no audit entry for the decline")
		}
	})
}
