package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// runTimers runs one timer pass at the fixture's clock.
func (f *fixture) runTimers() workflow.TimerReport {
	f.t.Helper()
	rep, err := f.wf.RunTimers(context.Background())
	if err != nil {
		f.t.Fatalf("RunTimers at %s: %v", f.now, err)
	}
	return rep
}

// count counts the request's outbox mails of kind.
func (f *fixture) count(id int64, kind string) int {
	n := 0
	for _, m := range f.outbox(id) {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// last returns the request's newest outbox mail.
func (f *fixture) last(id int64) store.OutboxMail {
	f.t.Helper()
	rows := f.outbox(id)
	if len(rows) == 0 {
		f.t.Fatal("no mail")
	}
	return rows[len(rows)-1]
}

func TestNeedsInfoChasedOnceThenExpired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		start := f.now
		id := f.deliver(request("Sarah <ops@acme.example>", "n1@acme.example", "Globex", "please connect them")).RequestID
		if s := f.request(id).State; s != store.StateNeedsInfo {
			t.Fatalf("state %s", s)
		}
		// An answered one is not chased.
		answered := f.deliver(request("ops@acme.example", "n2@acme.example", "Globex", "no ID yet")).RequestID
		ask := f.outbox(answered)[0]
		f.deliver("From: ops@acme.example\r\nMessage-ID: <n3@acme.example>\r\nIn-Reply-To: <" + ask.MessageID + ">\r\nSubject: Re: " +
			ask.Subject + "\r\n\r\nOrganization ID: " + orgGlobex + "\r\n")
		if s := f.request(answered).State; s != store.StatePendingApproval {
			t.Fatalf("answered request: %s", s)
		}

		f.now = start.Add(72*time.Hour - time.Minute)
		if rep := f.runTimers(); rep.NeedsInfoChased != 0 || f.count(id, templates.KindNeedsInfoReminder) != 0 {
			t.Fatalf("chased before 3 days: %+v %s", rep, f.kinds(id))
		}
		f.now = start.Add(72*time.Hour + time.Minute)
		if rep := f.runTimers(); rep.NeedsInfoChased != 1 {
			t.Fatalf("chase at 3 days: %+v", rep)
		}
		chase := f.last(id)
		if chase.Kind != templates.KindNeedsInfoReminder || strings.Join(chase.To(), ",") != "ops@acme.example" ||
			chase.InReplyTo != "n1@acme.example" || !strings.Contains(chase.Subject, store.Reference(id)) {
			t.Fatalf("chase mail %s %v %q %q", chase.Kind, chase.To(), chase.InReplyTo, chase.Subject)
		}
		if !strings.Contains(chase.TextBody, "still waiting for the Organization ID") || !strings.Contains(chase.TextBody, "30\u00a0November\u00a02026") {
			t.Errorf("chase text (must say when it closes):\n%s", chase.TextBody)
		}
		f.now = start.Add(5 * 24 * time.Hour)
		f.runTimers()
		if n := f.count(id, templates.KindNeedsInfoReminder); n != 1 {
			t.Fatalf("chased %d times", n)
		}
		if f.count(answered, templates.KindNeedsInfoReminder) != 0 {
			t.Fatalf("the answered request was chased: %s", f.kinds(answered))
		}

		f.now = start.Add(336*time.Hour - time.Minute)
		if f.runTimers(); f.request(id).State != store.StateNeedsInfo {
			t.Fatal("expired before 14 days")
		}
		f.now = start.Add(336*time.Hour + time.Minute)
		if rep := f.runTimers(); rep.NeedsInfoExpired != 1 {
			t.Fatalf("expiry at 14 days: %+v", rep)
		}
		if s := f.request(id).State; s != store.StateExpired {
			t.Fatalf("state after 14 days: %s", s)
		}
		told := f.last(id)
		if told.Kind != templates.KindRequestExpired || strings.Join(told.To(), ",") != "ops@acme.example" || !strings.Contains(told.TextBody, "we have closed it") {
			t.Fatalf("partner not told: %s %v\n%s", told.Kind, told.To(), told.TextBody)
		}
		audit, err := st.Q(context.Background()).Audit(id)
		storetest.Must(t, err)
		if a := audit[len(audit)-1]; a.Actor != "system" || a.FromState != store.StateNeedsInfo || a.ToState != store.StateExpired {
			t.Errorf("audit %+v", a)
		}
		f.now = f.now.Add(time.Hour)
		if rep := f.runTimers(); !rep.Empty() || f.count(id, templates.KindRequestExpired) != 1 {
			t.Fatalf("second pass acted: %+v %s", rep, f.kinds(id))
		}
	})
}

func TestInvitationReminderOnceBeforeExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, func(o *workflow.Options) { o.InviteTTL = 14 * 24 * time.Hour })
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		approved := f.now
		first := f.token(id)
		firstInv, err := f.wf.LookupInvitation(ctx, first)
		storetest.Must(t, err)

		f.now = approved.Add(11*24*time.Hour - time.Minute)
		if rep := f.runTimers(); rep.InvitesReminded != 0 {
			t.Fatalf("reminded more than 3 days before expiry: %+v", rep)
		}
		f.now = approved.Add(11*24*time.Hour + time.Minute)
		if rep := f.runTimers(); rep.InvitesReminded != 1 {
			t.Fatalf("no reminder 3 days before expiry: %+v", rep)
		}
		rem := f.last(id)
		if rem.Kind != templates.KindInvitationReminder || strings.Join(rem.To(), ",") != "hank@globex.example" {
			t.Fatalf("reminder %s to %v", rem.Kind, rem.To())
		}
		if !strings.Contains(rem.TextBody, "This is a reminder") || !strings.Contains(rem.TextBody, "30\u00a0November\u00a02026") {
			t.Errorf("reminder text:\n%s", rem.TextBody)
		}
		// The reminder's link works and keeps the expiry; the first one is replaced.
		tok := storetest.InvitationToken(t, st, rem)
		info, err := f.wf.LookupInvitation(ctx, tok)
		if err != nil {
			t.Fatalf("the reminder's link: %v", err)
		}
		if !info.Invitation.ExpiresAt.Equal(firstInv.Invitation.ExpiresAt) {
			t.Errorf("reminder expires %s, the invitation %s", info.Invitation.ExpiresAt, firstInv.Invitation.ExpiresAt)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.LookupInvitation(ctx, first); !errors.As(err, &gone) || gone.Status != store.InviteReplaced {
			t.Fatalf("first link after the reminder: %v", err)
		}
		f.now = f.now.Add(24 * time.Hour)
		if f.runTimers(); f.count(id, templates.KindInvitationReminder) != 1 {
			t.Fatalf("reminded twice: %s", f.kinds(id))
		}
		if _, err := f.wf.Accept(ctx, tok); err != nil {
			t.Fatalf("accepting with the reminder's link: %v", err)
		}

		// None after the administrator answered.
		org2 := "c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: org2, Name: "Umbrella", Status: store.OrgActive,
			AdminEmail: "a@umbrella.example", Locale: "de"}))
		res := f.deliver(request("ops@acme.example", "u1@acme.example", "Umbrella", "Org ID: "+org2))
		f.approve(res.RequestID)
		if s := f.request(res.RequestID).State; s != store.StateInvited {
			t.Fatalf("state %s", s)
		}
		answeredAt := f.now
		if _, err := f.wf.Decline(ctx, f.token(res.RequestID), "", false); err != nil {
			t.Fatal(err)
		}
		f.now = answeredAt.Add(12 * 24 * time.Hour)
		if rep := f.runTimers(); rep.InvitesReminded != 0 || f.count(res.RequestID, templates.KindInvitationReminder) != 0 {
			t.Fatalf("reminded after the administrator answered: %+v %s", rep, f.kinds(res.RequestID))
		}
	})
}

// approve approves request id, by a second ops user when four eyes are needed.
func (f *fixture) approve(id int64) {
	f.t.Helper()
	storetest.Must(f.t, f.wf.Approve(context.Background(), id, "olga", ""))
	if f.request(id).State == store.StatePendingApproval {
		storetest.Must(f.t, f.wf.Approve(context.Background(), id, "piet", ""))
	}
	if s := f.request(id).State; s != store.StateInvited {
		f.t.Fatalf("%s after approval: %s", store.Reference(id), s)
	}
}

// weekdays8 is the default digest schedule.
func weekdays8(t *testing.T) cron.Schedule {
	sch, err := cron.ParseStandard("0 8 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// digests lists the ops digests in the outbox.
func digests(t *testing.T, st *store.Store) []store.OutboxMail {
	rows, err := st.Q(context.Background()).ListOutbox(store.OutboxFilter{})
	storetest.Must(t, err)
	var out []store.OutboxMail
	for _, m := range rows {
		if m.Kind == templates.KindOpsDigest {
			out = append(out, m)
		}
	}
	return out
}

func TestOpsDigest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, func(o *workflow.Options) {
			o.DigestTo = []mail.Address{{Address: "ops-team@onboarding.example"}, {Name: "Olga", Address: "olga@onboarding.example"}}
			o.DigestSchedule = weekdays8(t)
		})
		// Monday 10:00: the 08:00 slot has nothing to say: no mail.
		if rep := f.runTimers(); rep.Digests != 0 || len(digests(t, st)) != 0 {
			t.Fatalf("a digest with nothing to say: %+v", rep)
		}
		// Something to say later that day waits for the next slot.
		id := f.pendingRequest()
		if f.runTimers(); len(digests(t, st)) != 0 {
			t.Fatal("a second digest for the same slot")
		}
		// Held mail, a link ending soon, an open fraud report.
		held := &store.OutboxMail{Kind: templates.KindRequestReceived, FromAddr: "p@x", Subject: "s", TextBody: "b",
			MessageID: "held@x", Delivery: store.Delivery{Status: store.OutboxHeld, LastError: "held: answer limit reached"}}
		held.SetRecipients(store.Recipient{Addr: "sales@acme.example"})
		storetest.Must(t, st.Q(ctx).InsertOutbox(held))
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		if _, err := f.wf.Accept(ctx, f.token(id)); err != nil {
			t.Fatal(err)
		}
		link, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		storetest.Must(t, st.Exec(ctx, "UPDATE links SET ends_at = ? WHERE id = ?", f.now.Add(20*24*time.Hour), link.ID))
		org2 := "c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: org2, Name: "Umbrella", Status: store.OrgActive, AdminEmail: "a@umbrella.example"}))
		fraud := f.deliver(request("ops@acme.example", "u1@acme.example", "Umbrella", "Org ID: "+org2)).RequestID
		f.approve(fraud)
		if _, err := f.wf.Decline(ctx, f.token(fraud), "never asked for this", true); err != nil {
			t.Fatal(err)
		}
		open := f.deliver(request("ops@acme.example", "g1@acme.example", "Someone", "no ID")).RequestID

		// Tuesday 08:00: one digest, to every address.
		f.now = time.Date(2026, 11, 17, 8, 0, 30, 0, time.UTC)
		if rep := f.runTimers(); rep.Digests != 1 {
			t.Fatalf("no digest on Tuesday 08:00: %+v", rep)
		}
		ds := digests(t, st)
		if len(ds) != 1 {
			t.Fatalf("%d digests", len(ds))
		}
		d := ds[0]
		text := regexp.MustCompile(`[ \t]*\n[ \t]*`).ReplaceAllString(d.TextBody, " ") // unwrapped
		if got := strings.Join(d.To(), ","); got != "ops-team@onboarding.example,olga@onboarding.example" {
			t.Errorf("digest to %s", got)
		}
		for _, want := range []string{
			store.Reference(open), "needs_info", "https://onboard.example/ops/requests/" + itoa(open), // open requests with console links
			"Held and failed mail", "sales@acme.example", "answer limit reached", // held mail
			"Links ending within 30 days", "Globex Corporation", "6\u00a0December\u00a02026", // the link's end
			"Open fraud reports", "Umbrella", store.Reference(fraud),
		} {
			if !strings.Contains(text, want) {
				t.Errorf("digest text lacks %q:\n%s", want, d.TextBody)
			}
		}
		if !strings.Contains(d.HTMLBody, `href="https://onboard.example/ops/requests/`+itoa(open)+`"`) {
			t.Errorf("digest HTML has no console link:\n%s", d.HTMLBody)
		}
		f.now = f.now.Add(30 * time.Minute)
		if f.runTimers(); len(digests(t, st)) != 1 {
			t.Fatal("two digests for one slot")
		}
		// Saturday: no slot.
		f.now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
		f.runTimers()
		f.now = time.Date(2026, 11, 23, 7, 59, 0, 0, time.UTC) // Monday before 08:00: Friday's slot is stale
		if f.runTimers(); len(digests(t, st)) != 1 {
			t.Fatalf("%d digests by Monday 07:59", len(digests(t, st)))
		}
	})
}

// TestTimersOnceWithTwoWorkers: two services on one PostgreSQL database run
// the timers at once; each reminder and each digest goes out once.
func TestTimersOnceWithTwoWorkers(t *testing.T) {
	url, ok := storetest.PostgresURL(t)
	if !ok {
		t.Skip("needs PostgreSQL")
	}
	st1, st2 := storetest.Open(t, url), storetest.Open(t, url)
	ctx := context.Background()
	var opts workflow.Options
	f := newFixture(t, st1, func(o *workflow.Options) {
		o.InviteTTL = 14 * 24 * time.Hour
		o.DigestTo = []mail.Address{{Address: "ops-team@onboarding.example"}}
		o.DigestSchedule = weekdays8(t)
		opts = *o
	})
	wf2, err := workflow.New(st2, opts)
	storetest.Must(t, err)
	invited := f.pendingRequest()
	storetest.Must(t, f.wf.Approve(ctx, invited, "olga", ""))
	chased := f.deliver(request("ops@acme.example", "c1@acme.example", "Someone", "no ID")).RequestID
	const orgHooli = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b" // Acme has Globex already
	storetest.Must(t, st1.Q(ctx).UpsertOrganization(&store.Organization{ID: orgHooli, Name: "Hooli", Status: store.OrgActive,
		AdminEmail: "gavin@hooli.example", Locale: "en"}))
	consent := f.deliver(customerAsks("gavin@hooli.example", "cf-two@hooli.example", "MPN-1001", "Organization ID: "+orgHooli)).RequestID

	for _, at := range []time.Time{
		time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC), // Friday: the reminders, the chase and Friday's digest are due
		time.Date(2026, 11, 27, 10, 31, 0, 0, time.UTC), // a minute later
		time.Date(2026, 11, 30, 8, 0, 5, 0, time.UTC),   // Monday 08:00
		time.Date(2026, 11, 30, 8, 1, 0, 0, time.UTC),   // a minute later
	} {
		f.now = at
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wf := f.wf
			if i%2 == 1 {
				wf = wf2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = wf.RunTimers(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("RunTimers at %s: %v", at, err)
			}
		}
	}
	if n := f.count(invited, templates.KindInvitationReminder); n != 1 {
		t.Errorf("%d invitation reminders", n)
	}
	if n := f.count(chased, templates.KindNeedsInfoReminder); n != 1 {
		t.Errorf("%d needs_info reminders", n)
	}
	if n := f.count(consent, templates.KindConsentRequest); n != 2 { // the first and one reminder
		t.Errorf("%d consent mails, want 2", n)
	}
	if n := len(digests(t, st1)); n != 2 { // Friday's and Monday's
		t.Errorf("%d digests, want 2 (one per slot)", n)
	}
}

// TestConsentLinksExpire: a request waiting for a partner's (customer
// first) or a reseller's (tier 2) consent whose links all ran out is
// closed as expired at the consent TTL, once; whoever asked is told, and
// the links stop working.
func TestConsentLinksExpire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) {
			o.ConsentTTL = 72 * time.Hour
			o.InviteReminderBefore = 30 * time.Second // no reminder in the way (TestConsentReminderOnce)
		})
		ctx := context.Background()
		start := f.now
		cf := f.deliver(customerAsks("Hank <hank@globex.example>", "cfx@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)).RequestID
		tok := f.consentToken(cf, "ops@acme.example")
		dist, _ := f.distributor()
		rs := f.deliver(request("Sales <sales@distri.example>", "dx@distri.example", "Globex Corporation",
			"Organization ID: "+orgGlobex+"\r\nReseller ID: RES-1")).RequestID
		if a, b := f.request(cf).State, f.request(rs).State; a != store.StatePendingPartner || b != store.StatePendingReseller {
			t.Fatalf("intake: %s %s", a, b)
		}
		storetest.ConsentToken(t, st, f.mail(rs, templates.KindResellerConfirmation, "info@resell.example"))

		f.now = start.Add(72*time.Hour - time.Minute)
		if rep := f.runTimers(); rep.ConsentsExpired != 0 {
			t.Fatalf("expired before the TTL: %+v", rep)
		}
		if _, err := f.wf.LookupConsent(ctx, tok); err != nil {
			t.Fatalf("link before the TTL: %v", err)
		}
		f.now = start.Add(72 * time.Hour)
		if rep := f.runTimers(); rep.ConsentsExpired != 2 {
			t.Fatalf("at the TTL: %+v", rep)
		}
		if a, b := f.request(cf).State, f.request(rs).State; a != store.StateExpired || b != store.StateExpired {
			t.Fatalf("after the TTL: %s %s", a, b)
		}
		m := f.mail(cf, templates.KindConsentExpired, "hank@globex.example")
		if m.InReplyTo != "cfx@globex.example" || !strings.Contains(m.TextBody, "MPN-1001") ||
			!strings.Contains(m.TextBody, "have expired") || !strings.Contains(m.TextBody, "/manage/") {
			t.Errorf("administrator's notice: %s\n%s", m.InReplyTo, m.TextBody)
		}
		m = f.mail(rs, templates.KindConsentExpired, "sales@distri.example")
		if dist.Locale != "de" || !strings.Contains(m.TextBody, "Resell GmbH") || !strings.Contains(m.TextBody, "abgelaufen") {
			t.Errorf("distributor's notice (de):\n%s", m.TextBody)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.LookupConsent(ctx, tok); !errors.As(err, &gone) || gone.Status != store.ConsentExpired {
			t.Fatalf("link after the TTL: %v", err)
		}
		// A later pass does nothing more.
		f.now = f.now.Add(time.Hour)
		if rep := f.runTimers(); rep.ConsentsExpired != 0 {
			t.Fatalf("second pass: %+v", rep)
		}
		if n := f.count(cf, templates.KindConsentExpired) + f.count(rs, templates.KindConsentExpired); n != 2 {
			t.Errorf("%d notices, want 2", n)
		}
		// A partner with no registered address to ask: the request expires
		// at the TTL after it came in.
		bb := f.deliver(customerAsks("hank@globex.example", "cfy@globex.example", "Bluebird", "Organization ID: "+orgGlobex)).RequestID
		f.now = f.now.Add(72*time.Hour - time.Minute)
		f.runTimers()
		if s := f.request(bb).State; s != store.StatePendingPartner {
			t.Fatalf("without contacts, before the TTL: %s", s)
		}
		f.now = f.now.Add(time.Minute)
		f.runTimers()
		if s := f.request(bb).State; s != store.StateExpired {
			t.Fatalf("without contacts, at the TTL: %s", s)
		}
	})
}

// TestFailedTimerSteps: the steps whose errors RunTimers joins are named.
func TestFailedTimerSteps(t *testing.T) {
	err := errors.Join(&workflow.TimerStepError{Step: workflow.StepDigests, Err: errors.New("a")},
		fmt.Errorf("wrapped: %w", &workflow.TimerStepError{Step: workflow.StepConsentsExpired, Err: errors.New("b")}))
	if got := strings.Join(workflow.FailedTimerSteps(err), ","); got != "digests,consents_expired" {
		t.Errorf("failed steps %q", got)
	}
	if got := workflow.FailedTimerSteps(nil); got != nil {
		t.Errorf("no error, failed steps %v", got)
	}
}

// TestConsentReminderOnce: InviteReminderBefore before the consent links
// expire, each contact asked gets one reminder whose new link replaces the
// first (same expiry); a later pass sends nothing more.
func TestConsentReminderOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.ConsentTTL = 10 * 24 * time.Hour })
		ctx := context.Background()
		start := f.now
		storetest.Must(t, st.Q(ctx).UpdatePartner(&f.acme, []string{"ops@acme.example", "ceo@acme.example"}, nil))
		id := f.deliver(customerAsks("hank@globex.example", "cfrem@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)).RequestID
		first := f.consentToken(id, "ops@acme.example")
		f.consentToken(id, "ceo@acme.example")

		f.now = start.Add(7*24*time.Hour - time.Minute) // the links expire in more than 3 days
		if rep := f.runTimers(); rep.ConsentsReminded != 0 {
			t.Fatalf("reminded early: %+v", rep)
		}
		f.now = start.Add(7 * 24 * time.Hour)
		if rep := f.runTimers(); rep.ConsentsReminded != 1 {
			t.Fatalf("at 3 days before: %+v", rep)
		}
		if n := f.count(id, templates.KindConsentRequest); n != 4 {
			t.Fatalf("%d consent mails, want 2 + 2 reminders: %s", n, f.kinds(id))
		}
		m := f.mail(id, templates.KindConsentRequest, "ops@acme.example")
		if !strings.Contains(m.Subject, "Reminder") || !strings.Contains(m.TextBody, "This is a reminder") {
			t.Errorf("reminder: %s\n%s", m.Subject, m.TextBody)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.LookupConsent(ctx, first); !errors.As(err, &gone) || gone.Status != store.ConsentReplaced {
			t.Fatalf("the first link after the reminder: %v", err)
		}
		again := f.consentToken(id, "ops@acme.example")
		info, err := f.wf.LookupConsent(ctx, again)
		if err != nil || !info.Token.ExpiresAt.Equal(start.Add(10*24*time.Hour)) {
			t.Fatalf("the reminder's link: %v, expires %s", err, info.Token.ExpiresAt)
		}
		f.now = f.now.Add(time.Hour)
		if rep := f.runTimers(); rep.ConsentsReminded != 0 {
			t.Fatalf("second pass: %+v", rep)
		}
		if _, err := f.wf.Consent(ctx, again, true, ""); err != nil {
			t.Fatal(err)
		}
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("after consenting on the reminder's link: %s", r.State)
		}
	})
}
