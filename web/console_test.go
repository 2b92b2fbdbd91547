package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
)

var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// version reads the version the request page puts into its forms.
func version(t *testing.T, body string) string {
	t.Helper()
	m := versionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("request page has no action form")
	}
	return m[1]
}

func TestConsoleLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "https://onboarding.example")
		c := f.client()

		// Without a session: GETs go to the login page, posts are refused.
		r := c.get("/ops/requests/1?x=1")
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ops/login?next="+url.QueryEscape("/ops/requests/1?x=1") {
			t.Fatalf("anonymous GET: %d %s", r.Status, r.Header.Get("Location"))
		}
		if r := c.post("/ops/requests/1/approve", url.Values{"version": {"1"}}); r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous POST: %d", r.Status)
		}
		if r := c.get("/ops/login"); r.Status != http.StatusOK || !strings.Contains(r.Body, `type="password"`) {
			t.Errorf("login page: %d", r.Status)
		}

		// A wrong password says nothing about which part was wrong.
		for _, form := range []url.Values{
			{"email": {opsEmail}, "password": {"wrong password!"}},
			{"email": {"nobody@onboarding.example"}, "password": {opsPassword}},
		} {
			r := c.post("/ops/login", form)
			if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong e-mail address or password") {
				t.Errorf("bad login %v: %d", form["email"], r.Status)
			}
			if len(r.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("bad login set a cookie")
			}
		}

		// Success: an HttpOnly, SameSite, Secure (https public URL) cookie,
		// and back to the page asked for, but never off-site.
		r = c.post("/ops/login", url.Values{"email": {" OPS@onboarding.example "}, "password": {opsPassword}, "next": {"//evil.example/x"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ops/" {
			t.Fatalf("login: %d %q", r.Status, r.Header.Get("Location"))
		}
		ck := r.Header.Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/ops/"} {
			if !strings.Contains(ck, want) {
				t.Errorf("session cookie %q lacks %s", ck, want)
			}
		}
		// The jar does not send a Secure cookie over http; send it by hand.
		name, value, _ := strings.Cut(strings.SplitN(ck, ";", 2)[0], "=")
		req, _ := http.NewRequest("GET", c.base+"/ops/", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: value})
		if r := c.do(req); r.Status != http.StatusOK || !strings.Contains(r.Body, opsEmail) {
			t.Errorf("queue with session: %d", r.Status)
		}
		// Logout ends the session in the database, not only in the browser.
		req, _ = http.NewRequest("POST", c.base+"/ops/logout", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: name, Value: value})
		if r := c.do(req); r.Status != http.StatusSeeOther {
			t.Errorf("logout: %d", r.Status)
		}
		req, _ = http.NewRequest("GET", c.base+"/ops/", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: value})
		if r := c.do(req); r.Status != http.StatusSeeOther {
			t.Errorf("queue after logout: %d, want a redirect to the login", r.Status)
		}
	})
}

func TestConsoleLoginRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		for i := range 5 {
			if r := c.post("/ops/login", url.Values{"email": {opsEmail}, "password": {fmt.Sprint("guess ", i)}}); r.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i, r.Status)
			}
		}
		// Now even the right password is refused until the window passes.
		r := c.post("/ops/login", url.Values{"email": {opsEmail}, "password": {opsPassword}})
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Body, "Too many failed logins") {
			t.Fatalf("after 5 failures: %d %q", r.Status, r.Header.Get("Retry-After"))
		}
		f.clock.Add(16 * 60e9)
		c.login()
	})
}

func TestConsoleQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		invited := f.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein", orgDE)
		f.approve(invited)
		f.clock.Add(60e9)
		pendingOld := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		f.clock.Add(60e9)
		pendingNew := f.deliver("sam@cloudharbor.example", "Northwind", orgEN)
		f.clock.Add(60e9)
		rejected := f.deliver("jonas@alpenblick.example", "Nobody", "00000000-0000-4000-8000-000000000000")

		refs := func(body string) []string {
			return regexp.MustCompile(`>(REQ-\d{6})</a>`).FindAllString(body, -1)
		}
		a := func(ids ...int64) []string {
			var out []string
			for _, id := range ids {
				out = append(out, ">"+store.Reference(id)+"</a>")
			}
			return out
		}
		tests := []struct {
			query string
			want  []string
		}{
			{"", a(pendingNew, pendingOld, invited)}, // open, newest first
			{"?state=all", a(rejected, pendingNew, pendingOld, invited)},
			{"?state=rejected", a(rejected)},
			{"?state=open&partner=" + strconv.FormatInt(f.partner.ID, 10), a(pendingOld, invited)},
			{"?q=" + store.Reference(pendingNew), a(pendingNew)},
			{"?q=" + strconv.FormatInt(pendingNew, 10), a(pendingNew)},
			{"?q=" + orgDE[:13], a(invited)},
			{"?q=" + strings.ToUpper(orgEN), a(pendingNew, pendingOld)},
			{"?q=b%C3%A4ckerei", a(invited)},
			{"?q=traders+ltd", a(pendingNew, pendingOld)}, // the directory's name
			{"?q=%25", nil}, // a LIKE wildcard is a plain character
			{"?state=bogus", a(pendingNew, pendingOld, invited)},
		}
		for _, tt := range tests {
			r := c.get("/ops/" + tt.query)
			if r.Status != http.StatusOK {
				t.Fatalf("queue %s: %d", tt.query, r.Status)
			}
			if diff := cmp.Diff(tt.want, refs(r.Body)); diff != "" {
				t.Errorf("queue %s (-want +got):\n%s", tt.query, diff)
			}
		}
		r := c.get("/ops/")
		contains(t, "queue", r.Body, "Alpenblick IT GmbH", "Cloud Harbor Ltd", "Northwind Traders Ltd", "sender_auth_unchecked", "pending approval")
		// The subject said "Northwind", the directory "Northwind Traders Ltd": same
		// name after legal forms are dropped? No: "Northwind" vs "Northwind Traders".
		contains(t, "queue", r.Body, "name_mismatch")
	})
}

func TestConsoleRequestActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind", orgEN)
		path := fmt.Sprintf("/ops/requests/%d", id)

		r := c.get(path)
		if r.Status != http.StatusOK {
			t.Fatalf("request page: %d", r.Status)
		}
		contains(t, "request page", r.Body, "pending_approval", "Alpenblick IT GmbH", "Northwind Traders Ltd",
			`class="mismatch"`, "nancy@northwind.example", "please connect us with our customer", "Audit trail",
			"request_received", `id="approve"`, `id="reject"`)
		v := version(t, r.Body)
		// The request page is reachable by reference too.
		if r := c.get("/ops/requests/" + store.Reference(id)); r.Status != http.StatusOK {
			t.Errorf("by reference: %d", r.Status)
		}

		// Another ops user acted meanwhile (here: a reply was recorded): refused.
		storetest.Must(t, st.Q(ctx).AddAudit(&store.AuditEntry{RequestID: &id, Actor: "partner:x", Reason: "reply received"}))
		r = c.post(path+"/approve", url.Values{"version": {v}, "note": {"ok"}})
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, "changed since you opened the page") {
			t.Fatalf("stale approve: %d", r.Status)
		}
		if got := f.request(id).State; got != store.StatePendingApproval {
			t.Fatalf("stale approve moved the request to %s", got)
		}

		// With the fresh page it works, and the audit names the ops user.
		// (Four eyes, name_mismatch: another ops user approved first.)
		storetest.Must(t, f.wf.Approve(ctx, id, "lena@onboarding.example", ""))
		v = version(t, c.get(path).Body)
		r = c.post(path+"/approve", url.Values{"version": {v}, "note": {"welcome"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		if got := f.request(id).State; got != store.StateInvited {
			t.Fatalf("after approve: %s", got)
		}
		audit, _ := st.Q(ctx).Audit(id)
		if last := audit[len(audit)-1]; last.Actor != "ops:"+opsEmail || last.Reason != "approved: welcome" {
			t.Errorf("audit: %+v", last)
		}
		// The same form sent twice (a double click): refused, not applied twice.
		r = c.post(path+"/approve", url.Values{"version": {v}, "note": {"welcome"}})
		if r.Status != http.StatusConflict {
			t.Errorf("second approve: %d", r.Status)
		}
		if n := strings.Count(strings.Join(f.kinds(id), " "), templates.KindInvitation); n != 1 {
			t.Errorf("%d invitations queued, want 1", n)
		}

		// Resend within the hour: refused with the reason.
		r = c.get(path + "?done=approve")
		contains(t, "after approve", r.Body, "Approved:", `id="resend"`, `id="revoke"`, "invited")
		v = version(t, r.Body)
		r = c.post(path+"/resend", url.Values{"version": {v}})
		if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "less than an hour ago") {
			t.Errorf("early resend: %d", r.Status)
		}
		f.clock.Add(61 * 60e9)
		if r := c.post(path+"/resend", url.Values{"version": {v}}); r.Status != http.StatusSeeOther {
			t.Errorf("resend: %d", r.Status)
		}

		// Reject needs a reason, which goes to the partner.
		r = c.get(path)
		v = version(t, r.Body)
		if r := c.post(path+"/reject", url.Values{"version": {v}, "reason": {"  "}}); r.Status != http.StatusBadRequest {
			t.Errorf("reject without reason: %d", r.Status)
		}
		if r := c.post(path+"/reject", url.Values{"version": {v}, "reason": {"Customer asked us to stop."}}); r.Status != http.StatusSeeOther {
			t.Fatalf("reject: %d", r.Status)
		}
		if got := f.request(id).State; got != store.StateRejected {
			t.Errorf("after reject: %s", got)
		}
		rows := f.outbox(id)
		if last := rows[len(rows)-1]; last.Kind != templates.KindRequestRejected || !strings.Contains(last.TextBody, "Customer asked us to stop.") {
			t.Errorf("rejection mail: %s %q", last.Kind, last.TextBody)
		}
		audit, _ = st.Q(ctx).Audit(id)
		for _, e := range audit {
			if strings.HasPrefix(e.Actor, "ops:") && e.Actor != "ops:"+opsEmail && e.Actor != "ops:lena@onboarding.example" {
				t.Errorf("audit entry by %q", e.Actor)
			}
		}

		// Unknown requests and actions.
		for _, p := range []string{"/ops/requests/999999", "/ops/requests/REQ-xyz", "/ops/nothing"} {
			if r := c.get(p); r.Status != http.StatusNotFound {
				t.Errorf("%s: %d", p, r.Status)
			}
		}
		if r := c.post(path+"/explode", url.Values{"version": {v}}); r.Status != http.StatusNotFound {
			t.Errorf("unknown action: %d", r.Status)
		}
	})
}

func TestConsoleRevokeActiveLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)
		if r := c.post("/invite/"+token+"/accept", nil); r.Status != http.StatusOK {
			t.Fatalf("accept: %d", r.Status)
		}
		path := fmt.Sprintf("/ops/requests/%d", id)
		r := c.get(path)
		contains(t, "completed request", r.Body, "completed", `id="link-status"`, "active", `id="revoke"`)
		lacks(t, "completed request", r.Body, `id="approve"`, `id="reject"`, `id="resend"`)
		if r := c.post(path+"/revoke", url.Values{"version": {version(t, r.Body)}}); r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		l, err := st.Q(context.Background()).LinkForRequest(id)
		storetest.Must(t, err)
		if l.Status != store.LinkRevoked || l.EndedAt == nil {
			t.Errorf("link after revoke: %s ended %v", l.Status, l.EndedAt)
		}
	})
}

func TestConsoleEscapesMailValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
		id := f.deliver("jonas@alpenblick.example", evil, orgX)
		for _, p := range []string{"/ops/", fmt.Sprintf("/ops/requests/%d", id), "/ops/messages", "/ops/organizations"} {
			r := c.get(p)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d", p, r.Status)
			}
			lacks(t, p, r.Body, "<script>alert", "<img src=x", "<b>Eve</b>")
		}
		r := c.get(fmt.Sprintf("/ops/requests/%d", id))
		contains(t, "request page", r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;")
		// The invitation page escapes the directory's values too.
		token := f.approve(id)
		r = c.get("/invite/" + token)
		lacks(t, "invite", r.Body, "<script>alert")
	})
}

func TestConsoleLists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		f.approve(id)
		// A mail that is not for us, and a failed outbox mail.
		raw := "From: someone@elsewhere.example\r\nSubject: lunch?\r\nMessage-ID: <lunch@elsewhere.example>\r\n\r\nhi\r\n"
		res, err := f.wf.HandleMail(ctx, workflowIncoming(raw, 900))
		storetest.Must(t, err)
		rows := f.outbox(id)
		holder := "test"
		claimed, err := st.ClaimOutbox(ctx, holder, 100, 60e9, f.clock.Now().Add(60e9))
		storetest.Must(t, err)
		if len(claimed) == 0 {
			t.Fatal("nothing to claim")
		}
		storetest.Must(t, st.MarkOutboxFailed(ctx, rows[0].ID, holder, "550 5.1.1 no such user"))

		tests := []struct {
			path  string
			wants []string
		}{
			{"/ops/partners", []string{"Alpenblick IT GmbH", "MPN-7001", "jonas@alpenblick.example", "@cloudharbor.example"}},
			{"/ops/organizations", []string{"Bäckerei Sonnenschein GmbH", orgDE, "nancy@northwind.example"}},
			{"/ops/links", []string{"Alpenblick IT GmbH", "Northwind Traders Ltd", "invited", store.Reference(id)}},
			{"/ops/links?status=active", nil},
			{"/ops/messages", []string{"lunch?", "ignored", "Reprocess", "request"}},
			{"/ops/messages?disposition=ignored", []string{"lunch?"}},
			{fmt.Sprintf("/ops/messages/%d", res.MessageID), []string{"someone@elsewhere.example", "lunch@elsewhere.example", "Reprocess this mail"}},
			{"/ops/outbox", []string{"failed", "550 5.1.1 no such user", "Retry", templates.KindInvitation}},
			{"/ops/outbox?status=failed", []string{"550 5.1.1"}},
		}
		for _, tt := range tests {
			r := c.get(tt.path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d", tt.path, r.Status)
			}
			contains(t, tt.path, r.Body, tt.wants...)
		}
		if r := c.get("/ops/links?status=active"); strings.Contains(r.Body, store.Reference(id)) {
			t.Errorf("active filter shows the invited link")
		}

		// Retry the failed mail: pending again, recorded with the ops user.
		if r := c.post(fmt.Sprintf("/ops/outbox/%d/retry", rows[0].ID), nil); r.Status != http.StatusSeeOther {
			t.Fatalf("retry: %d", r.Status)
		}
		m, err := st.Q(ctx).Outbox(rows[0].ID)
		storetest.Must(t, err)
		if m.Status != store.OutboxPending {
			t.Errorf("after retry: %s", m.Status)
		}
		if r := c.post(fmt.Sprintf("/ops/outbox/%d/retry", rows[0].ID), nil); r.Status != http.StatusConflict {
			t.Errorf("retrying a pending mail: %d", r.Status)
		}
		audit, _ := st.Q(ctx).Audit(id)
		if last := audit[len(audit)-1]; last.Actor != "ops:"+opsEmail || !strings.Contains(last.Reason, "retried") {
			t.Errorf("retry audit: %+v", last)
		}

		// Reprocess the ignored mail (it stays ignored); a request mail is refused.
		if r := c.post(fmt.Sprintf("/ops/messages/%d/reprocess", res.MessageID), nil); r.Status != http.StatusSeeOther {
			t.Errorf("reprocess: %d", r.Status)
		}
		msgs, err := st.Q(ctx).ListMessages(store.MessageFilter{RequestID: id})
		storetest.Must(t, err)
		if r := c.post(fmt.Sprintf("/ops/messages/%d/reprocess", msgs[0].ID), nil); r.Status != http.StatusConflict {
			t.Errorf("reprocessing a request mail: %d", r.Status)
		}
	})
}

func TestConsoleSessionExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		if r := c.get("/ops/"); r.Status != http.StatusOK {
			t.Fatalf("queue: %d", r.Status)
		}
		// Activity keeps the session alive; twelve idle hours end it.
		f.clock.Add(11 * 3600e9)
		if r := c.get("/ops/partners"); r.Status != http.StatusOK {
			t.Fatalf("after 11h: %d", r.Status)
		}
		f.clock.Add(11 * 3600e9)
		if r := c.get("/ops/"); r.Status != http.StatusOK {
			t.Fatalf("11h after the last activity: %d", r.Status)
		}
		f.clock.Add(12*3600e9 + 60e9)
		if r := c.get("/ops/"); r.Status != http.StatusSeeOther {
			t.Errorf("after 12h idle: %d, want a redirect to the login", r.Status)
		}
	})
}

func TestConsoleShowsFraudFlag(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)
		if r := c.post("/invite/"+token+"/decline", url.Values{"not_requested": {"1"}}); r.Status != http.StatusOK {
			t.Fatalf("decline: %d", r.Status)
		}
		r := c.get("/ops/?state=declined")
		contains(t, "queue", r.Body, store.Reference(id), "possibly_fraudulent")
		r = c.get(fmt.Sprintf("/ops/requests/%d", id))
		contains(t, "request page", r.Body, "possibly_fraudulent", "flagged as possibly fraudulent by the customer", "customer:nancy@northwind.example")
	})
}

// A decline as not requested marks the organization: the queue lists the
// report and highlights flagged requests, a later request's page shows the
// banner with a clear form, and clearing needs a session, a same-origin
// post and a reason, and is audited with the ops user.
func TestConsoleFraudReportedAndCleared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		c := f.client()
		c.login()
		declined := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(declined)
		if r := c.post("/invite/"+token+"/decline", url.Values{"not_requested": {"1"}}); r.Status != http.StatusOK {
			t.Fatalf("decline: %d", r.Status)
		}
		f.clock.Add(60e9)
		later := f.deliver("sam@cloudharbor.example", "Northwind Traders", orgEN)

		r := c.get("/ops/")
		contains(t, "queue", r.Body, `id="fraud-reports"`, ">"+store.Reference(declined)+"</a>", `class="fraud-row"`,
			"fraud_reported", "⚠ fraud")
		path := fmt.Sprintf("/ops/requests/%d", later)
		r = c.get(path)
		contains(t, "flagged request", r.Body, `id="fraud-banner"`, "fraud_reported", store.Reference(declined),
			"matched by organization", "matches this request by organization", `action="`+path+`/clear-fraud"`,
			`name="organization_id" value="`+orgEN+`"`)

		form := url.Values{"organization_id": {orgEN}, "reason": {"Nancy confirmed by phone: her colleague asked."}}
		if r := f.client().post(path+"/clear-fraud", form); r.Status != http.StatusUnauthorized {
			t.Errorf("clearing without a session: %d", r.Status)
		}
		if r := c.post(path+"/clear-fraud", form, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("cross-site clear: %d", r.Status)
		}
		if r := c.post(path+"/clear-fraud", url.Values{"organization_id": {orgEN}, "reason": {" "}}); r.Status != http.StatusBadRequest ||
			!strings.Contains(r.Body, "give a reason") {
			t.Errorf("clearing without a reason: %d", r.Status)
		}
		if reps, _ := st.Q(ctx).OpenFraudReportsFor(orgEN, 0); len(reps) != 1 {
			t.Fatalf("refused clears changed the report: %+v", reps)
		}
		r = c.post(path+"/clear-fraud", form)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != path+"?done=clear-fraud" {
			t.Fatalf("clear: %d %s", r.Status, r.Header.Get("Location"))
		}
		if reps, _ := st.Q(ctx).OpenFraudReportsFor(orgEN, 0); len(reps) != 0 {
			t.Errorf("open reports after clearing: %+v", reps)
		}
		r = c.get(path + "?done=clear-fraud")
		contains(t, "after clearing", r.Body, "The fraud report is cleared", `id="fraud-banner"`, "no report on its organization",
			"ops:"+opsEmail, "cleared: Nancy confirmed by phone")
		lacks(t, "after clearing", r.Body, "/clear-fraud\"")
		if r := c.post(path+"/clear-fraud", form); r.Status != http.StatusConflict {
			t.Errorf("clearing twice: %d", r.Status)
		}
		lacks(t, "queue after clearing", c.get("/ops/").Body, `id="fraud-reports"`)

		// Later requests from the partner are clean.
		next := f.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein", orgDE)
		lacks(t, "request after clearing", c.get(fmt.Sprintf("/ops/requests/%d", next)).Body, "fraud_reported", `id="fraud-banner"`)
	})
}
