package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/web"
	"github.com/onboarder/onboarder/workflow"
)

func partnerForm(name string, emails, domains string, extra ...string) url.Values {
	v := url.Values{"name": {name}, "ref": {"MPN-7001"}, "locale": {"en"}, "emails": {emails}, "domains": {domains}, "parent": {"0"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestConsolePartnerPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein GmbH", orgDE)
		f.approve(id)
		pid := strconv.FormatInt(f.partner.ID, 10)
		base := "/ops/partners/" + pid

		r := c.get("/ops/partners")
		contains(t, "partner list", r.Body, `href="`+base+`"`, "Alpenblick IT GmbH", "@cloudharbor.example", `action="/ops/partners"`)
		r = c.get(base)
		if r.Status != http.StatusOK {
			t.Fatalf("partner page: %d", r.Status)
		}
		contains(t, "partner page", r.Body, "jonas@alpenblick.example", "Bäckerei Sonnenschein GmbH", store.Reference(id),
			`id="links"`, `action="`+base+`/edit"`, `action="`+base+`/suspend"`)

		// Refused rules say why and name the other partner; nothing is saved.
		r = c.post(base+"/edit", partnerForm("Alpenblick IT GmbH", "jonas@alpenblick.example", "gmail.com"))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "public mail provider") {
			t.Errorf("gmail.com as a domain: %d", r.Status)
		}
		r = c.post(base+"/edit", partnerForm("Alpenblick IT GmbH", "jonas@alpenblick.example", "cloudharbor.example"))
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, "Cloud Harbor Ltd") {
			t.Errorf("another partner's domain: %d", r.Status)
		}
		// Cross-origin posts are refused as on every form.
		if r := c.post(base+"/edit", partnerForm("Evil", "a@evil.example", ""), "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("cross-origin edit: %d", r.Status)
		}

		other := fmt.Sprint(f.partner.ID + 1) // Cloud Harbor Ltd
		r = c.post(base+"/edit", partnerForm("Alpenblick IT", "jonas@alpenblick.example\nsales@alpenblick.example", "alpenblick-it.example",
			"trusted", "1", "parent", other))
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != base+"?done=partner-updated" {
			t.Fatalf("edit: %d %s", r.Status, r.Body)
		}
		r = c.get(base + "?done=partner-updated")
		contains(t, "partner page after edit", r.Body, "Alpenblick IT", "sales@alpenblick.example", "@alpenblick-it.example",
			`href="/ops/partners/`+other+`">Cloud Harbor Ltd`, "ops:"+opsEmail, `updated: name &#34;Alpenblick IT GmbH&#34; -&gt; &#34;Alpenblick IT&#34;`)

		// Suspend needs a reason; then the partner's mail is unknown_sender.
		if r := c.post(base+"/suspend", url.Values{"reason": {" "}}); r.Status != http.StatusBadRequest {
			t.Errorf("suspend without a reason: %d", r.Status)
		}
		if r := c.post(base+"/suspend", url.Values{"reason": {"contract ended"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("suspend: %d", r.Status)
		}
		r = c.get(base)
		contains(t, "suspended partner", r.Body, `id="status">suspended`, "suspended: contract ended", `action="`+base+`/activate"`)
		fs, err := st.Q(context.Background()).Findings(f.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN))
		storetest.Must(t, err)
		if len(fs) == 0 || fs[0].Code != workflow.FindUnknownSender {
			t.Errorf("mail of the suspended partner: %+v", fs)
		}
		if r := c.post(base+"/activate", nil); r.Status != http.StatusSeeOther {
			t.Errorf("activate: %d", r.Status)
		}
		if r := c.post(base+"/activate", nil); r.Status != http.StatusConflict {
			t.Errorf("activate twice: %d", r.Status)
		}
		if r := c.get("/ops/partners/999"); r.Status != http.StatusNotFound {
			t.Errorf("unknown partner: %d", r.Status)
		}

		// Register a new partner from the list page.
		r = c.post("/ops/partners", partnerForm("Nordwind", "", "nordwind.example"))
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/ops/partners/") {
			t.Errorf("add: %d %s", r.Status, r.Header.Get("Location"))
		}
	})
}

func TestConsoleOrganizationPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN) // pending_approval

		r := c.get("/ops/organizations")
		contains(t, "organization list", r.Body, `href="/ops/organizations/`+orgEN+`"`, `action="/ops/organizations"`)
		const newID = "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716"
		add := url.Values{"id": {newID}, "name": {"Umbrella GmbH"}, "country": {"DE"}, "admin_name": {"Ute"},
			"admin_email": {"ute@umbrella.example"}, "locale": {"de"}, "vat_id": {"DE123456789"}}
		bad := url.Values{}
		for k, v := range add {
			bad[k] = v
		}
		bad.Set("country", "Germany")
		if r := c.post("/ops/organizations", bad); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "ISO 3166-1") {
			t.Errorf("bad country: %d", r.Status)
		}
		if r := c.post("/ops/organizations", add); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ops/organizations/"+newID+"?done=org-added" {
			t.Errorf("add: %d %q", r.Status, r.Header.Get("Location"))
		}
		contains(t, "new organization", c.get("/ops/organizations/"+newID).Body, "Umbrella GmbH", "DE123456789", `action="/ops/organizations/`+newID+`/suspend"`)

		// A new administrator is flagged on the open request.
		edit := url.Values{"name": {"Northwind Traders Ltd"}, "country": {"GB"}, "admin_name": {"Andrew Fuller"},
			"admin_email": {"andrew@northwind.example"}, "locale": {"en"}, "vat_id": {""}}
		if r := c.post("/ops/organizations/"+orgEN+"/edit", edit); r.Status != http.StatusSeeOther {
			t.Fatalf("edit: %d %s", r.Status, r.Body)
		}
		r = c.get("/ops/organizations/" + orgEN)
		contains(t, "organization page", r.Body, "andrew@northwind.example", store.Reference(id), "Alpenblick IT GmbH",
			"admin_email &#34;nancy@northwind.example&#34; -&gt; &#34;andrew@northwind.example&#34;")
		contains(t, "request page", c.get(fmt.Sprintf("/ops/requests/%d", id)).Body, "admin_changed",
			"administrator nancy@northwind.example -&gt; andrew@northwind.example")

		if r := c.post("/ops/organizations/"+newID+"/suspend", nil); r.Status != http.StatusSeeOther {
			t.Errorf("suspend: %d", r.Status)
		}
		r = c.get("/ops/organizations/" + newID)
		contains(t, "suspended organization", r.Body, `id="status">suspended`)
		lacks(t, "suspended organization", r.Body, `/suspend"`)
		if r := c.get("/ops/organizations/not-a-uuid"); r.Status != http.StatusNotFound {
			t.Errorf("unknown organization: %d", r.Status)
		}
	})
}

// fixedDirectory is an external directory with one organization.
type fixedDirectory struct{ org store.Organization }

func (d fixedDirectory) Organization(_ context.Context, id string) (store.Organization, error) {
	if strings.EqualFold(id, d.org.ID) {
		return d.org, nil
	}
	return store.Organization{}, fmt.Errorf("organization %s: %w", id, store.ErrNotFound)
}

// With the HTTP directory the organization pages are read-only, with a
// refresh button that asks the directory again.
func TestConsoleOrganizationsReadOnlyWithDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		tpl, err := templates.Load("")
		storetest.Must(t, err)
		dir := fixedDirectory{store.Organization{ID: orgEN, Name: "Northwind Traders Ltd", Status: store.OrgActive,
			AdminName: "Andrew", AdminEmail: "andrew@northwind.example", Country: "GB", Locale: "en"}}
		wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"}, Templates: tpl,
			Directory: dir, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(testLogWriter{t}, nil))})
		storetest.Must(t, err)
		srv := httptest.NewServer(web.New(web.Options{Workflow: wf, Now: f.clock.Now}))
		t.Cleanup(srv.Close)
		c := f.client()
		c.base = srv.URL
		c.login()

		r := c.get("/ops/organizations")
		contains(t, "organization list", r.Body, `id="read-only"`)
		lacks(t, "organization list", r.Body, `action="/ops/organizations"`)
		r = c.get("/ops/organizations/" + orgEN)
		contains(t, "organization page", r.Body, `action="/ops/organizations/`+orgEN+`/refresh"`, "nancy@northwind.example")
		lacks(t, "organization page", r.Body, `/edit"`, `/suspend"`)
		if r := c.post("/ops/organizations/"+orgEN+"/edit", url.Values{"name": {"X"}}); r.Status != http.StatusConflict {
			t.Errorf("edit with the HTTP directory: %d", r.Status)
		}
		if r := c.post("/ops/organizations/"+orgEN+"/refresh", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		contains(t, "organization after refresh", c.get("/ops/organizations/"+orgEN).Body, "andrew@northwind.example", "refreshed from the directory")
	})
}
