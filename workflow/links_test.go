package workflow_test

import (
	"context"
	"errors"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

const day = 24 * time.Hour

// activeLink takes Acme's request for Globex through approval and the
// administrator's consent and returns the active link.
func (f *fixture) activeLink() store.Link {
	f.t.Helper()
	ctx := context.Background()
	id := f.pendingRequest()
	storetest.Must(f.t, f.wf.Approve(ctx, id, "olga", ""))
	if _, err := f.wf.Accept(ctx, f.token(id)); err != nil {
		f.t.Fatalf("accept: %v", err)
	}
	l, err := f.st.Q(ctx).LinkForRequest(id)
	storetest.Must(f.t, err)
	if l.Status != store.LinkActive {
		f.t.Fatalf("link %+v", l)
	}
	return l
}

// link reads a link again.
func (f *fixture) link(id int64) store.Link {
	f.t.Helper()
	l, err := f.st.Q(context.Background()).Link(id)
	storetest.Must(f.t, err)
	return l
}

// linkMails lists the outbox rows of kind, each as "to:subject".
func (f *fixture) linkMails(kind string) []store.OutboxMail {
	f.t.Helper()
	rows, err := f.st.Q(context.Background()).ListOutbox(store.OutboxFilter{Limit: 1000})
	storetest.Must(f.t, err)
	var out []store.OutboxMail
	for _, r := range rows {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// recipients lists the bare addresses of mails, in order.
func recipients(ms []store.OutboxMail) string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Join(m.To(), ","))
	}
	return strings.Join(out, " ")
}

// flat is a mail's text with its lines joined (the text is wrapped).
func flat(m store.OutboxMail) string { return strings.Join(strings.Fields(m.TextBody), " ") }

func (f *fixture) timers(want int) {
	f.t.Helper()
	n, err := f.wf.LinkTimers(context.Background())
	storetest.Must(f.t, err)
	if n != want {
		f.t.Fatalf("LinkTimers at %s did %d, want %d", f.now.Format(time.RFC3339), n, want)
	}
}

// The clock moves through each reminder: partner and administrator get
// each one once, in their locale, and at the date the link expires, both
// are told, with an audit entry and a webhook event.
func TestLinkRemindersAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.Webhooks = true })
		ctx := context.Background()
		l := f.activeLink()
		ends := f.now.Add(40 * day)
		if err := f.wf.SetLinkEnd(ctx, l.ID, &ends, "olga"); err != nil {
			t.Fatal(err)
		}
		past := f.now.Add(-time.Hour)
		if err := f.wf.SetLinkEnd(ctx, l.ID, &past, "olga"); !errors.Is(err, workflow.ErrInvalid) {
			t.Fatalf("an end date in the past: %v", err)
		}
		if got := f.link(l.ID).EndsAt; got == nil || !got.Equal(ends) {
			t.Fatalf("ends_at %v", got)
		}
		f.timers(0)
		for _, c := range []struct {
			at   time.Time
			days int
		}{{ends.Add(-30 * day), 30}, {ends.Add(-7 * day), 7}, {ends.Add(-1 * day), 1}} {
			f.now = c.at.Add(-time.Minute)
			f.timers(0) // not due yet
			f.now = c.at
			f.timers(1)
			f.timers(0) // once
			f.now = c.at.Add(time.Hour)
			f.timers(0)
			ms := f.linkMails(templates.KindLinkReminder)
			last := ms[len(ms)-2:]
			if got := recipients(last); got != "ops@acme.example hank@globex.example" {
				t.Fatalf("%d-day reminder to %q", c.days, got)
			}
			for _, m := range last {
				if !strings.Contains(flat(m), "in "+map[int]string{30: "30 days", 7: "7 days", 1: "1 day"}[c.days]) {
					t.Errorf("%d-day reminder says:\n%s", c.days, m.TextBody)
				}
			}
			if !strings.Contains(flat(last[1]), "/manage/"+store.ManageTokenPlaceholder) {
				t.Errorf("the administrator's reminder has no manage link:\n%s", last[1].TextBody)
			}
		}
		if n := len(f.linkMails(templates.KindLinkReminder)); n != 6 {
			t.Fatalf("%d reminders, want 6", n)
		}
		f.now = ends
		f.timers(1)
		f.timers(0)
		got := f.link(l.ID)
		if got.Status != store.LinkExpired || got.EndedBy != workflow.BySystem || got.EndedAt == nil || !got.EndedAt.Equal(ends) {
			t.Fatalf("link at its end date: %+v", got)
		}
		if r := recipients(f.linkMails(templates.KindLinkExpired)); r != "ops@acme.example hank@globex.example" {
			t.Fatalf("expiry told %q", r)
		}
		if ev := f.webhookEvent("link.expired"); ev["actor"] != "system" {
			t.Errorf("webhook %v", ev)
		}
		assertLinkAudit(t, f, l.ID, "system", store.LinkActive, store.LinkExpired)
		if err := f.wf.SetLinkEnd(ctx, l.ID, nil, "olga"); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("an end date on an expired link: %v", err)
		}
	})
}

// assertLinkAudit finds the audit entry of a link's move.
func assertLinkAudit(t *testing.T, f *fixture, linkID int64, actor, from, to string) {
	t.Helper()
	es, err := f.st.Q(context.Background()).RecentAudit(500)
	storetest.Must(t, err)
	for _, e := range es {
		if e.LinkID != nil && *e.LinkID == linkID && e.FromState == from && e.ToState == to && strings.HasPrefix(e.Actor, actor) {
			if e.Subject != "link:"+strconv.FormatInt(linkID, 10) {
				t.Errorf("audit subject %q", e.Subject)
			}
			return
		}
	}
	t.Errorf("no audit entry %s %s>%s for link %d", actor, from, to, linkID)
}

// Moving the clock past several reminders at once sends only the nearest
// one (the others are passed over for good: a 30-day reminder five days
// before the end would be wrong). Changing the end date brings back the
// reminders not yet due under the new date.
func TestLinkRemindersPassedOverAndReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		l := f.activeLink()
		ends := f.now.Add(40 * day)
		storetest.Must(t, f.wf.SetLinkEnd(ctx, l.ID, &ends, "olga"))
		f.now = ends.Add(-5 * day) // past the 30- and 7-day reminders
		f.timers(1)
		f.timers(0)
		ms := f.linkMails(templates.KindLinkReminder)
		if len(ms) != 2 || !strings.Contains(flat(ms[0]), "in 7 days") {
			t.Fatalf("reminders after the jump: %d", len(ms))
		}
		// The date moves to 20 days away: the 30-day reminder counts as
		// done, the 7-day one is due again before the new date.
		ends = f.now.Add(20 * day)
		storetest.Must(t, f.wf.SetLinkEnd(ctx, l.ID, &ends, "olga"))
		f.timers(0)
		f.now = ends.Add(-7 * day)
		f.timers(1)
		if ms := f.linkMails(templates.KindLinkReminder); len(ms) != 4 || !strings.Contains(flat(ms[3]), "in 7 days") {
			t.Fatalf("reminders after moving the date: %d", len(ms))
		}
		// Later, only the 1-day reminder comes.
		f.now = ends.Add(-day)
		f.timers(1)
		if ms := f.linkMails(templates.KindLinkReminder); len(ms) != 6 || !strings.Contains(flat(ms[5]), "in 1 day") {
			t.Fatalf("reminders before the end: %d", len(ms))
		}
		// A new end date 60 days away: every reminder is due again.
		later := f.now.Add(60 * day)
		storetest.Must(t, f.wf.SetLinkEnd(ctx, l.ID, &later, "olga"))
		f.timers(0)
		f.now = later.Add(-30 * day)
		f.timers(1)
		if ms := f.linkMails(templates.KindLinkReminder); len(ms) != 8 || !strings.Contains(flat(ms[7]), "in 30 days") {
			t.Fatalf("reminders after the new date: %d", len(ms))
		}
		// Clearing the date: no reminder and no expiry.
		storetest.Must(t, f.wf.SetLinkEnd(ctx, l.ID, nil, "olga"))
		f.now = later.Add(day)
		f.timers(0)
		if got := f.link(l.ID); got.Status != store.LinkActive || got.EndsAt != nil {
			t.Fatalf("link %+v", got)
		}
	})
}

// Two services on one PostgreSQL database run the timers at once, again
// and again: each reminder goes out once.
func TestLinkTimersConcurrentWorkers(t *testing.T) {
	url, ok := storetest.PostgresURL(t)
	if !ok {
		t.Skip("PostgreSQL not reachable")
	}
	st := storetest.Open(t, url)
	f := newFixture(t, st, nil)
	ctx := context.Background()
	var links []store.Link
	links = append(links, f.activeLink())
	bluebird, err := st.Q(ctx).PartnerForSender("x@bluebird.example")
	storetest.Must(t, err)
	for i := 0; i < 4; i++ {
		org := store.Organization{ID: "00000000-0000-4000-8000-00000000000" + string(rune('1'+i)), Name: "Org " + string(rune('A'+i)),
			Status: store.OrgActive, AdminEmail: "admin" + string(rune('1'+i)) + "@org.example", Locale: "de"}
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&org))
		l := store.Link{PartnerID: bluebird.ID, OrganizationID: org.ID, Status: store.LinkActive, StartedAt: f.now}
		storetest.Must(t, st.Q(ctx).InsertLink(&l))
		links = append(links, l)
	}
	ends := f.now.Add(31 * day)
	for _, l := range links {
		storetest.Must(t, f.wf.SetLinkEnd(ctx, l.ID, &ends, "olga"))
	}
	st2 := storetest.Open(t, url)
	g := newFixtureOn(t, st2, f)
	for _, at := range []time.Time{ends.Add(-30 * day), ends.Add(-7 * day), ends.Add(-day)} {
		f.now, g.now = at, at
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for _, wf := range []*workflow.Service{f.wf, g.wf, f.wf, g.wf} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					if _, err := wf.LinkTimers(ctx); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// Each link: three reminders; the partner's only for the one link
	// made from a request (the others have no thread to answer in).
	ms := f.linkMails(templates.KindLinkReminder)
	count := map[string]int{}
	for _, m := range ms {
		count[strings.Join(m.To(), ",")]++
	}
	for addr, n := range count {
		if n != 3 {
			t.Errorf("%s got %d reminders, want 3", addr, n)
		}
	}
	if len(count) != 6 {
		t.Errorf("reminded %v", count)
	}
}

// newFixtureOn is a second service (another worker) on st, with f's
// clock moved by the test through g.now.
func newFixtureOn(t *testing.T, st *store.Store, f *fixture) *fixture {
	g := &fixture{t: t, st: st, now: f.now, acme: f.acme}
	wf, err := workflow.New(st, workflow.Options{From: mail.Address{Name: "Partner Onboarding", Address: "partners@onboarding.example"}, PublicURL: "https://onboard.example/",
		Templates: tpl, Now: func() time.Time { return g.now }})
	storetest.Must(t, err)
	g.wf = wf
	return g
}

// Ops end an active link with a reason: both sides are told, the link
// keeps who and why, a webhook event and an audit entry record it.
func TestEndLinkByOps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.Webhooks = true })
		ctx := context.Background()
		l := f.activeLink()
		if err := f.wf.EndLink(ctx, l.ID, "olga", " "); !errors.Is(err, workflow.ErrEndReasonRequired) {
			t.Fatalf("without a reason: %v", err)
		}
		storetest.Must(t, f.wf.EndLink(ctx, l.ID, "olga", "contract terminated"))
		got := f.link(l.ID)
		if got.Status != store.LinkEnded || got.EndedBy != "ops:olga" || got.EndReason != "contract terminated" || got.EndedAt == nil {
			t.Fatalf("link %+v", got)
		}
		ms := f.linkMails(templates.KindLinkEnded)
		if recipients(ms) != "ops@acme.example hank@globex.example" {
			t.Fatalf("told %q", recipients(ms))
		}
		for _, m := range ms {
			if !strings.Contains(flat(m), "contract terminated") || !strings.Contains(flat(m), "Our partner team has ended") {
				t.Errorf("mail to %v:\n%s", m.To(), m.TextBody)
			}
		}
		if ev := f.webhookEvent("link.ended"); ev["actor"] != "ops:olga" || ev["reason"] != "contract terminated" {
			t.Errorf("webhook %v", ev)
		}
		assertLinkAudit(t, f, l.ID, "ops:olga", store.LinkActive, store.LinkEnded)
		if err := f.wf.EndLink(ctx, l.ID, "olga", "again"); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("ending twice: %v", err)
		}
	})
}

func endMail(from, msgID, orgID string, extra ...string) string {
	h := ""
	for _, e := range extra {
		h += e + "\r\n"
	}
	return "From: " + from + "\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + msgID + ">\r\n" + h +
		"Subject: =?utf-8?q?AW=3A_Please_end_reseller_connection_to_customer_=E2=80=9EGlobex=E2=80=9C?=\r\n" +
		"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"We no longer serve this customer.\r\nOrganization ID: " + orgID + "\r\n"
}

// The partner ends its link by mail, through the intake path: the link
// ends, the partner is answered in its thread, the administrator is told.
// Another registered partner asking the same gets the no-link answer and
// the link stays; an unknown sender is not answered at all.
func TestEndLinkByPartnerMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.Webhooks = true })
		l := f.activeLink()

		res := f.deliver(endMail("Bo <bo@bluebird.example>", "e1@bluebird.example", orgGlobex))
		if res.Disposition != store.DispEndLink {
			t.Fatalf("disposition %s", res.Disposition)
		}
		if got := f.link(l.ID); got.Status != store.LinkActive {
			t.Fatalf("another partner's mail moved the link: %+v", got)
		}
		ans := f.linkMails(templates.KindLinkEndAnswer)
		if len(ans) != 1 || recipients(ans) != "bo@bluebird.example" || ans[0].InReplyTo != "e1@bluebird.example" ||
			!strings.Contains(flat(ans[0]), "keine aktive Reseller-Verbindung") || strings.Contains(flat(ans[0]), "Globex Corporation") {
			t.Fatalf("answer to the wrong partner: %d %q\n%s", len(ans), recipients(ans), ans[0].TextBody)
		}

		f.deliver(endMail("mallory@evil.example", "e2@evil.example", orgGlobex))
		if n := len(f.linkMails(templates.KindLinkEndAnswer)); n != 1 {
			t.Fatalf("an unknown sender was answered (%d answers)", n)
		}

		// The right partner, but its domain failed authentication: nothing.
		f.deliver(endMail("ops@acme.example", "e2b@acme.example", orgGlobex,
			"Authentication-Results: mx.partners.example; dmarc=fail header.from=acme.example"))
		if got := f.link(l.ID); got.Status != store.LinkActive || len(f.linkMails(templates.KindLinkEndAnswer)) != 1 {
			t.Fatalf("a mail that failed authentication acted or was answered: %+v", got)
		}

		res = f.deliver(endMail("Sarah <ops@acme.example>", "e3@acme.example", orgGlobex))
		got := f.link(l.ID)
		if got.Status != store.LinkEnded || got.EndedBy != "partner:ops@acme.example" {
			t.Fatalf("link after the partner's mail: %+v", got)
		}
		if l.RequestID == nil || res.RequestID != *l.RequestID {
			t.Errorf("the mail is not on the link's request: %+v", res)
		}
		ans = f.linkMails(templates.KindLinkEndAnswer)
		if len(ans) != 2 || recipients(ans[1:]) != "ops@acme.example" || ans[1].InReplyTo != "e3@acme.example" ||
			!strings.Contains(flat(ans[1]), "has been ended") || !strings.Contains(ans[1].Subject, "[REQ-") {
			t.Fatalf("answer: %q %+v", recipients(ans), ans[len(ans)-1])
		}
		told := f.linkMails(templates.KindLinkEnded)
		if recipients(told) != "hank@globex.example" || !strings.Contains(flat(told[0]), "Acme Cloud Resellers Ltd has ended its") {
			t.Fatalf("administrator told: %q", recipients(told))
		}
		if ev := f.webhookEvent("link.ended"); ev["actor"] != "partner:ops@acme.example" {
			t.Errorf("webhook %v", ev)
		}
		assertLinkAudit(t, f, l.ID, "partner:ops@acme.example", store.LinkActive, store.LinkEnded)

		// Asking again: no active link any more.
		f.deliver(endMail("ops@acme.example", "e4@acme.example", orgGlobex))
		ans = f.linkMails(templates.KindLinkEndAnswer)
		if len(ans) != 3 || !strings.Contains(flat(ans[2]), "no active reseller connection") {
			t.Fatalf("second end mail answered: %d", len(ans))
		}
	})
}

var manageLinkRe = regexp.MustCompile(`/manage/([A-Za-z0-9_-]{43})`)

// manageToken mints the manage link of the newest mail of kind to addr as
// the dispatcher does when it sends it, and returns its token.
func (f *fixture) manageToken(kind, addr string) string {
	f.t.Helper()
	ms := f.linkMails(kind)
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.Join(ms[i].To(), ",") != addr {
			continue
		}
		sent, err := f.st.MintManageToken(context.Background(), ms[i])
		storetest.Must(f.t, err)
		m := manageLinkRe.FindStringSubmatch(sent.TextBody)
		if m == nil || !strings.Contains(sent.HTMLBody, m[1]) {
			f.t.Fatalf("%s mail has no manage link:\n%s", kind, sent.TextBody)
		}
		return m[1]
	}
	f.t.Fatalf("no %s mail to %s", kind, addr)
	return ""
}

// The administrator ends a link on the manage page behind the link in the
// invitation: the page lists the active links, ending one needs a reason,
// the partner is told; ops revoke the links and the page is gone.
func TestEndLinkOnManagePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		l := f.activeLink()
		tok := f.manageToken(templates.KindInvitation, "hank@globex.example")
		info, err := f.wf.LookupManage(ctx, tok)
		storetest.Must(t, err)
		if info.Organization.ID != orgGlobex || len(info.Links) != 1 || info.Links[0].Link.ID != l.ID ||
			info.Links[0].Partner.Name != "Acme Cloud Resellers Ltd" {
			t.Fatalf("page %+v", info)
		}
		if _, err := f.wf.LookupManage(ctx, tok[:42]+"x"); !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		if _, err := f.wf.EndLinkAsCustomer(ctx, tok, l.ID, ""); !errors.Is(err, workflow.ErrEndReasonRequired) {
			t.Fatalf("without a reason: %v", err)
		}
		info, err = f.wf.EndLinkAsCustomer(ctx, tok, l.ID, "we buy directly now")
		storetest.Must(t, err)
		if len(info.Links) != 0 {
			t.Fatalf("page after ending: %+v", info.Links)
		}
		got := f.link(l.ID)
		if got.Status != store.LinkEnded || got.EndedBy != "customer:hank@globex.example" || got.EndReason != "we buy directly now" {
			t.Fatalf("link %+v", got)
		}
		told := f.linkMails(templates.KindLinkEnded)
		if recipients(told) != "ops@acme.example" || !strings.Contains(flat(told[0]), "we buy directly now") ||
			!strings.Contains(flat(told[0]), "The administrator of Globex Corporation has ended") {
			t.Fatalf("partner told: %q", recipients(told))
		}
		assertLinkAudit(t, f, l.ID, "customer:hank@globex.example", store.LinkActive, store.LinkEnded)
		if _, err := f.wf.EndLinkAsCustomer(ctx, tok, l.ID, "again"); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("ending twice: %v", err)
		}

		// Every mail to the administrator carries a manage link.
		f.manageToken(templates.KindConnectionEstablished, "hank@globex.example")

		n, err := f.wf.RevokeManageLinks(ctx, orgGlobex, "olga")
		storetest.Must(t, err)
		if n != 2 {
			t.Errorf("revoked %d links, want 2", n)
		}
		var gone *workflow.ManageGoneError
		if _, err := f.wf.LookupManage(ctx, tok); !errors.As(err, &gone) {
			t.Fatalf("revoked link: %v", err)
		}
		es, err := st.Q(ctx).RecentAudit(50)
		storetest.Must(t, err)
		if es[0].Subject != "organization:"+orgGlobex || !strings.Contains(es[0].Reason, "manage links revoked") || es[0].Actor != "ops:olga" {
			t.Errorf("audit %+v", es[0])
		}
	})
}
