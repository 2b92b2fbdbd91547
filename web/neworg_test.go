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
	"github.com/onboarder/onboarder/workflow"
)

// deliverNewOrg hands in a new-organization request with the given labelled
// lines and returns the request's id.
func (f *fixture) deliverNewOrg(customer string, lines ...string) int64 {
	f.t.Helper()
	f.uid++
	raw := fmt.Sprintf("From: Jonas Berger <jonas@alpenblick.example>\r\nTo: partners@onboarding.example\r\n"+
		"Subject: Please create a new organization for customer %s\r\nMessage-ID: <neworg-%d@alpenblick.example>\r\n"+
		"Content-Type: text/plain; charset=UTF-8\r\n\r\n%s\r\n", customer, f.uid, strings.Join(lines, "\r\n"))
	res, err := f.wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: f.uid,
		Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.clock.Now()})
	storetest.Must(f.t, err)
	return res.RequestID
}

// TestConsoleNewOrganization: the request page shows a new organization's
// parsed fields, what is wrong with them and the similar organization the
// directory has; approving in the console creates the organization.
func TestConsoleNewOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		contact := []string{"First name: Ola", "Last name: Nordmann", "Email: ola@fjord.example"}

		// A wrong check digit: the field and the reason.
		id := f.deliverNewOrg("Fjord Analytics", append([]string{"Company name: Fjord Analytics AS", "Street: Strandgata 3",
			"Postcode: 5013", "City: Bergen", "Country: Norway", "VAT ID: NO 995 525 829 MVA"}, contact...)...)
		r := c.get(fmt.Sprintf("/ops/requests/%d", id))
		contains(t, "needs_info page", r.Body, `id="new-org"`, "Fjord Analytics AS", "Strandgata 3", "ola@fjord.example",
			`id="new-org-vat_id"`, "the check digit does not match", "vat_id_invalid")

		// A similar name in the same country: the candidate, for ops.
		id = f.deliverNewOrg("Northwind", append([]string{"Company name: Northwind Trader Ltd", "Street: 1 High Street",
			"Postcode: EC1A 1BB", "City: London", "Country: GB", "VAT ID: GB980780684"}, contact...)...)
		r = c.get(fmt.Sprintf("/ops/requests/%d", id))
		contains(t, "similar page", r.Body, `id="similar-organizations"`, "Northwind Traders Ltd", orgEN, "similar_organization",
			"ola@fjord.example")

		// A clean one, approved in the console.
		id = f.deliverNewOrg("Fjord Analytics", append([]string{"Company name: Fjord Analytics AS", "Street: Strandgata 3",
			"Postcode: 5013", "City: Bergen", "Country: NO", "VAT ID: NO995525828MVA"}, contact...)...)
		path := fmt.Sprintf("/ops/requests/%d", id)
		r = c.get(path)
		contains(t, "clean page", r.Body, "The invitation goes to <strong>ola@fjord.example</strong>", "created on approval",
			"whom approving makes the new organization")
		r = c.post(path+"/approve", url.Values{"version": {version(t, r.Body)}})
		if r.Status != http.StatusOK && r.Status != http.StatusSeeOther {
			t.Fatalf("approve: %d", r.Status)
		}
		req := f.request(id)
		if req.State != store.StateInvited || req.OrganizationID == nil {
			t.Fatalf("after approval: %+v", req)
		}
		org, err := st.Q(context.Background()).Organization(*req.OrganizationID)
		storetest.Must(t, err)
		if org.Status != store.OrgInitializing || org.AdminEmail != "ola@fjord.example" {
			t.Fatalf("organization %+v", org)
		}
	})
}
