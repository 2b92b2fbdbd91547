package cli

import (
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/directory"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// TestNewOrganizationInHTTPDirectory: with the directory API, approving a
// new-organization request creates the organization there (POST with an
// idempotency key, the contact as owner) and keeps it as initializing; a
// create whose answer is lost, retried by the client or by a second
// approval, makes one organization.
func TestNewOrganizationInHTTPDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rm := mailtest.StartDirectory()
		defer rm.Close()
		c, err := directory.New(directory.Config{BaseURL: rm.URL(), Retries: 1, MinBackoff: time.Millisecond, CacheTTL: -1})
		storetest.Must(t, err)
		tpl, err := templates.Load("")
		storetest.Must(t, err)
		now := time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
		wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"},
			PublicURL: "https://onboard.example", InviteTTL: 48 * time.Hour, Templates: tpl,
			Directory: apiDirectory{c: c, st: st, adminLabel: "admin-email"}, Now: func() time.Time { return now }})
		storetest.Must(t, err)
		storetest.Must(t, st.Q(ctx).CreatePartner(&store.Partner{Name: "Acme", Locale: "en"}, []string{"ops@acme.example"}, nil))
		raw := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <h1@acme.example>\r\n" +
			"Subject: Please create a new organization for customer Polar Freight\r\nContent-Type: text/plain\r\n\r\n" +
			"Company name: Polar Freight Ltd\r\nStreet: 10 Dock Road\r\nPostcode: SW1A 1AA\r\nCity: London\r\nCountry: United Kingdom\r\n" +
			"VAT number: GB 980 7806 84\r\nFirst name: Oliver\r\nLast name: Hughes\r\nEmail: oliver@polarfreight.example\r\n"
		res, err := wf.HandleMail(ctx, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: 1, Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: now})
		storetest.Must(t, err)
		id := res.RequestID
		if r, _ := st.Q(ctx).Request(id); r.State != store.StatePendingApproval {
			t.Fatalf("state %s", r.State)
		}

		// Every attempt's answer is lost: the approval fails and changes nothing.
		rm.FailCreates(2)
		if err := wf.Approve(ctx, id, "olga", ""); err == nil || !strings.Contains(err.Error(), "directory") {
			t.Fatalf("approval with the directory failing: %v", err)
		}
		if r, _ := st.Q(ctx).Request(id); r.State != store.StatePendingApproval || r.OrganizationID != nil {
			t.Fatalf("after the failed approval: %+v", r)
		}
		// Approved again, with one lost answer the client retries: still one organization.
		rm.FailCreates(1)
		storetest.Must(t, wf.Approve(ctx, id, "olga", ""))
		orgs := rm.Orgs()
		if len(orgs) != 1 || rm.Posts() != 4 {
			t.Fatalf("the directory has %d organizations after %d creates", len(orgs), rm.Posts())
		}
		d := orgs[0]
		if d.Name != "Polar Freight Ltd" || d.Labels["admin-email"] != "oliver@polarfreight.example" || d.Labels["vat-id"] != "GB980780684" ||
			len(d.Members) != 1 || d.Members[0].Subject != "oliver@polarfreight.example" || d.Members[0].Role != directory.RoleOwner {
			t.Fatalf("created %+v", d)
		}
		r, _ := st.Q(ctx).Request(id)
		if r.State != store.StateInvited || r.OrganizationID == nil || *r.OrganizationID != d.ID {
			t.Fatalf("request %+v, directory ID %s", r, d.ID)
		}
		o, err := st.Q(ctx).Organization(d.ID)
		storetest.Must(t, err)
		if o.Status != store.OrgInitializing || o.AdminEmail != "oliver@polarfreight.example" || o.Country != "GB" {
			t.Fatalf("snapshot %+v", o)
		}
		// A lookup of the new organization reads it as initializing too.
		if got, err := (apiDirectory{c: c, st: st, adminLabel: "admin-email"}).Organization(ctx, d.ID); err != nil || got.Status != store.OrgInitializing {
			t.Fatalf("lookup %+v %v", got, err)
		}
	})
}
