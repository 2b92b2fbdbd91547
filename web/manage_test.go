package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
)

var manageURLRE = regexp.MustCompile(`https?://[^\s"<>]+/manage/[A-Za-z0-9_-]{43}`)

// sentManageURL returns the manage link of the newest mail the SMTP server
// received for addr (its quoted-printable soft breaks undone).
func (b *browserFixture) sentManageURL(addr string) string {
	b.t.Helper()
	msgs := b.smtp.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 1 && msgs[i].To[0] == addr {
			raw := strings.ReplaceAll(string(msgs[i].Data), "=\r\n", "")
			if u := manageURLRE.FindString(raw); u != "" {
				return u
			}
		}
	}
	b.t.Fatalf("no mail to %s with a manage link", addr)
	return ""
}

// The administrator opens the "manage your partners" link from the
// invitation mail, ends the active link with a reason, and the page then
// shows it ended; once ops revoke the links, the page is gone.
func TestBrowserManagePartners(t *testing.T) {
	b := newBrowserFixture(t)
	ctx := context.Background()
	id := b.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
	storetest.Must(t, b.wf.Approve(ctx, id, "ops@onboarding.example", ""))
	b.flush()
	mail := strings.ReplaceAll(b.mailTo("nancy@northwind.example", "Invitation"), "\n", " ")
	manage := b.sentManageURL("nancy@northwind.example")
	if !strings.Contains(mail, "Manage your partners") {
		t.Errorf("the invitation does not name the manage link:\n%s", mail)
	}
	if _, err := b.wf.Accept(ctx, b.lastToken(id)); err != nil {
		t.Fatal(err)
	}

	if st := b.navigate(manage); st != http.StatusOK {
		t.Fatalf("manage page: %d", st)
	}
	link, err := b.st.Q(ctx).LinkForRequest(id)
	storetest.Must(t, err)
	lid := strconv.FormatInt(link.ID, 10)
	b.do("waiting for the partners", chromedp.WaitVisible(chromedp.ID("end-"+lid)))
	if got := b.text("#link-" + lid); !strings.Contains(got, "Alpenblick IT GmbH") {
		t.Errorf("the page lists %q", got)
	}
	b.screenshot("manage")
	// Looking changes nothing.
	if l, _ := b.st.Q(ctx).Link(link.ID); l.Status != store.LinkActive {
		t.Fatalf("opening the page moved the link to %s", l.Status)
	}
	b.do("writing the reason", chromedp.SendKeys(chromedp.ID("reason-"+lid), "We buy directly now."))
	if st := b.submit("#end-" + lid); st != http.StatusOK {
		t.Fatalf("ending landed on %d", st)
	}
	b.do("waiting for the result", chromedp.WaitVisible(chromedp.ID("ended")))
	if got := b.text("#ended"); !strings.Contains(got, "Alpenblick IT GmbH has ended") {
		t.Errorf("the page says %q", got)
	}
	if got := b.text("#no-links"); !strings.Contains(got, "no active reseller connections") {
		t.Errorf("the page still lists links: %q", got)
	}
	b.screenshot("manage-ended")
	l, err := b.st.Q(ctx).Link(link.ID)
	storetest.Must(t, err)
	if l.Status != store.LinkEnded || l.EndedBy != "customer:nancy@northwind.example" || l.EndReason != "We buy directly now." {
		t.Fatalf("link %+v", l)
	}
	b.flush()
	if got := strings.Join(strings.Fields(b.mailTo("jonas@alpenblick.example", "ended")), " "); !strings.Contains(got, "We buy directly now.") {
		t.Errorf("the partner's mail:\n%s", got)
	}

	// Ops revoke the organization's manage links: the page is gone.
	if _, err := b.wf.RevokeManageLinks(ctx, orgEN, "ops@onboarding.example"); err != nil {
		t.Fatal(err)
	}
	if st := b.navigate(manage); st != http.StatusGone {
		t.Fatalf("revoked manage link: %d, want 410", st)
	}
	if got := b.text("h1"); !strings.Contains(got, "no longer valid") {
		t.Errorf("gone page says %q", got)
	}
	b.screenshot("manage-gone")
}

// managePath mints the manage link of the newest mail of kind to addr as
// the dispatcher does, and returns its path.
func (f *fixture) managePath(kind, addr string) string {
	f.t.Helper()
	rows, err := f.st.Q(context.Background()).ListOutbox(store.OutboxFilter{Limit: 1000})
	storetest.Must(f.t, err)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind != kind || strings.Join(rows[i].To(), ",") != addr {
			continue
		}
		sent, err := f.st.MintManageToken(context.Background(), rows[i])
		storetest.Must(f.t, err)
		u := manageURLRE.FindString(sent.TextBody)
		if u == "" {
			f.t.Fatalf("%s mail has no manage link", kind)
		}
		return u[strings.Index(u, "/manage/"):]
	}
	f.t.Fatalf("no %s mail to %s", kind, addr)
	return ""
}

// The manage page over HTTP: unknown 404, a post without a reason 400,
// a cross-origin post refused, a German page for a German organization;
// and the console's end button and revoke button.
func TestManagePageAndConsoleLinkActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		id := f.deliver("jonas@alpenblick.example", "Bäckerei", orgDE)
		tok := f.approve(id)
		if _, err := f.wf.Accept(ctx, tok); err != nil {
			t.Fatal(err)
		}
		link, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		lid := strconv.FormatInt(link.ID, 10)
		path := f.managePath(templates.KindInvitation, "lena@sonnenschein.example")
		c := f.client()

		r := c.get(path)
		if r.Status != http.StatusOK {
			t.Fatalf("manage page: %d", r.Status)
		}
		contains(t, "German manage page", r.Body, "Reseller-Partner von Bäckerei Sonnenschein GmbH", "Alpenblick IT GmbH", "Verbindung beenden")
		if r := c.get("/manage/" + strings.Repeat("x", 43)); r.Status != http.StatusNotFound {
			t.Errorf("unknown token: %d", r.Status)
		}
		if r := c.post(path+"/end", url.Values{"link_id": {lid}, "reason": {"  "}}); r.Status != http.StatusBadRequest {
			t.Errorf("no reason: %d", r.Status)
		}
		if r := c.post(path+"/end", url.Values{"link_id": {lid}, "reason": {"x"}}, "Origin", "https://evil.example",
			"Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("cross-origin post: %d", r.Status)
		}
		if l, _ := st.Q(ctx).Link(link.ID); l.Status != store.LinkActive {
			t.Fatalf("the link moved: %s", l.Status)
		}

		// The console: the link page offers the end-date form and the end
		// button; ending it there needs a reason and tells both sides.
		c.login()
		r = c.get("/ops/links/" + lid)
		contains(t, "link page", r.Body, `id="set-end-form"`, `id="end-link-`+lid+`"`)
		r = c.get("/ops/organizations/" + orgDE)
		contains(t, "organization page", r.Body, `id="end-link-`+lid+`"`, `id="revoke-manage"`)
		r = c.get("/ops/partners/" + strconv.FormatInt(f.partner.ID, 10))
		contains(t, "partner page", r.Body, `id="end-link-`+lid+`"`)
		r = c.get("/ops/requests/" + strconv.FormatInt(id, 10))
		contains(t, "request page", r.Body, `id="end-form"`)
		if r := c.post("/ops/links/"+lid+"/set-end", url.Values{"ends_at": {"2099-01-01"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("set-end: %d %s", r.Status, r.Body)
		}
		if l, _ := st.Q(ctx).Link(link.ID); l.EndsAt == nil || l.EndsAt.Format("2006-01-02") != "2099-01-01" {
			t.Fatalf("ends_at %v", l.EndsAt)
		}
		if r := c.post("/ops/links/"+lid+"/end", url.Values{"reason": {""}}); r.Status != http.StatusBadRequest {
			t.Errorf("end without a reason: %d", r.Status)
		}
		if r := c.post("/ops/links/"+lid+"/end", url.Values{"reason": {"Vertrag beendet"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("end: %d", r.Status)
		}
		r = c.get("/ops/links/" + lid)
		contains(t, "ended link page", r.Body, "ended", "ops:"+opsEmail, "Vertrag beendet")
		lacks(t, "ended link page", r.Body, `id="end-link-`+lid+`"`)
		r = c.get("/ops/requests/" + strconv.FormatInt(id, 10))
		lacks(t, "request page of an ended link", r.Body, `id="end-form"`)
		if r := c.post("/ops/organizations/"+orgDE+"/revoke-manage", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", r.Status)
		}
		if r := c.get(path); r.Status != http.StatusGone || !strings.Contains(r.Body, "nicht mehr gültig") {
			t.Errorf("revoked manage link: %d", r.Status)
		}
	})
}
