package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// handle hands one raw mail to the workflow as the poller would.
func (f *fixture) handle(raw string) workflow.Result {
	f.t.Helper()
	f.uid++
	res, err := f.wf.HandleMail(context.Background(), workflowIncoming(raw, f.uid))
	storetest.Must(f.t, err)
	return res
}

// consentLink returns the token of the newest consent mail of kind to addr.
func (f *fixture) consentLink(id int64, kind, addr string) string {
	f.t.Helper()
	rows := f.outbox(id)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind == kind && strings.Join(rows[i].To(), ",") == addr {
			return storetest.ConsentToken(f.t, f.st, rows[i])
		}
	}
	f.t.Fatalf("no %s mail to %s: %v", kind, addr, f.kinds(id))
	return ""
}

func TestConsentPageCustomerFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		res := f.handle("From: Nancy Davolio <nancy@northwind.example>\r\nTo: partners@onboarding.example\r\n" +
			"Subject: Please connect our organization to reseller MPN-7001\r\nMessage-ID: <cf-1@northwind.example>\r\n" +
			"Date: Tue, 01 Dec 2026 09:00:00 +0100\r\n\r\nOrganization ID: " + orgEN + "\r\n")
		id := res.RequestID
		if got := f.request(id).State; got != store.StatePendingPartner {
			t.Fatalf("intake: %s", got)
		}
		token := f.consentLink(id, templates.KindConsentRequest, "jonas@alpenblick.example")

		for range 3 { // a mail scanner's GETs change nothing
			r := c.get("/consent/" + token)
			if r.Status != http.StatusOK {
				t.Fatalf("GET consent: %d", r.Status)
			}
			contains(t, "consent page", r.Body, "Northwind Traders Ltd asks Alpenblick IT GmbH to become its reseller",
				"nancy@northwind.example", store.Reference(id), `id="accept"`, `id="decline"`, `name="message"`)
		}
		if got := f.request(id).State; got != store.StatePendingPartner {
			t.Fatalf("after GETs: %s", got)
		}
		r := c.post("/consent/"+token+"/decline", url.Values{"message": {"We do not serve your region."}})
		if r.Status != http.StatusOK {
			t.Fatalf("decline: %d %s", r.Status, r.Body)
		}
		contains(t, "declined page", r.Body, "You declined", store.Reference(id))
		lacks(t, "declined page", r.Body, token)
		if got := f.request(id).State; got != store.StateDeclined {
			t.Fatalf("after decline: %s", got)
		}
		kinds := f.kinds(id)
		if kinds[len(kinds)-1] != templates.KindConsentDeclined {
			t.Errorf("mails: %v", kinds)
		}
		rows := f.outbox(id)
		if last := rows[len(rows)-1]; !strings.Contains(last.TextBody, "We do not serve your region.") || last.To()[0] != "nancy@northwind.example" {
			t.Errorf("administrator not told with the message: %v\n%s", last.To(), last.TextBody)
		}
		for _, method := range []string{"GET", "POST accept", "POST decline"} {
			var r resp
			switch method {
			case "GET":
				r = c.get("/consent/" + token)
			case "POST accept":
				r = c.post("/consent/"+token+"/accept", nil)
			default:
				r = c.post("/consent/"+token+"/decline", nil)
			}
			if r.Status != http.StatusGone {
				t.Errorf("%s after use: %d, want 410", method, r.Status)
			}
			contains(t, method+" gone page", r.Body, "no longer valid")
		}
		if r := c.get("/consent/" + strings.Repeat("x", 43)); r.Status != http.StatusNotFound {
			t.Errorf("unknown token: %d", r.Status)
		}
	})
}

func TestConsentPageResellerConfirms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		q := st.Q(context.Background())
		dist := store.Partner{Name: "Großhandel Distri AG", Ref: "DIS-9", Locale: "de"}
		storetest.Must(t, q.CreatePartner(&dist, []string{"sales@distri.example"}, nil))
		f.partner.ParentID = &dist.ID
		storetest.Must(t, q.UpdatePartner(&f.partner, []string{"jonas@alpenblick.example"}, nil))
		res := f.handle(fmt.Sprintf("From: Sales <sales@distri.example>\r\nTo: partners@onboarding.example\r\n"+
			"Subject: Please establish reseller connection to customer Northwind\r\nMessage-ID: <d-1@distri.example>\r\n"+
			"Date: Tue, 01 Dec 2026 09:00:00 +0100\r\n\r\nOrganization ID: %s\r\nReseller ID: mpn-7001\r\n", orgEN))
		id := res.RequestID
		if got := f.request(id).State; got != store.StatePendingReseller {
			t.Fatalf("intake: %s", got)
		}
		token := f.consentLink(id, templates.KindResellerConfirmation, "jonas@alpenblick.example")
		r := c.get("/consent/" + token)
		if r.Status != http.StatusOK {
			t.Fatalf("GET: %d", r.Status)
		}
		contains(t, "reseller page", r.Body, "Großhandel Distri AG names Alpenblick IT GmbH as the reseller of record for Northwind", store.Reference(id))
		r = c.post("/consent/"+token+"/accept", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		contains(t, "accepted page", r.Body, "your consent is recorded")
		if got := f.request(id).State; got != store.StatePendingApproval {
			t.Fatalf("after confirmation: %s", got)
		}
		if r := c.post("/consent/"+token+"/accept", nil); r.Status != http.StatusGone {
			t.Errorf("second use: %d", r.Status)
		}
		// The customer's invitation page names both companies.
		inv := c.get("/invite/" + f.approve(id))
		contains(t, "invitation page", inv.Body, "Alpenblick IT GmbH, through its distributor Großhandel Distri AG")
		// The console's request and link pages show both.
		ops := f.client()
		ops.login()
		req := ops.get(fmt.Sprintf("/ops/requests/%d", id))
		contains(t, "console request page", req.Body, `id="distributor">Großhandel Distri AG`, "Alpenblick IT GmbH")
		contains(t, "console links page", ops.get("/ops/links").Body, "Alpenblick IT GmbH<br><span class=\"muted\">through its distributor Großhandel Distri AG")
	})
}
