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

// The approve form names the invitation's recipient before the click; a
// contact from the partner's mail is invited only when the ops user ticks
// it, and only when the directory has no administrator address.
func TestConsoleApproveNamesRecipient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		c := f.client()
		c.login()

		// The directory's administrator is named on the form.
		id := f.deliver("jonas@alpenblick.example", "Northwind", orgEN)
		r := c.get(fmt.Sprintf("/ops/requests/%d", id))
		contains(t, "request with a directory administrator", r.Body, `id="invite-recipient"`,
			`The invitation goes to <strong>nancy@northwind.example</strong>`)

		// No administrator in the directory; the partner suggests one.
		const orgBare = "0b7c4c9e-55a0-4a4e-8f2e-2d3c7b0f9e11"
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: orgBare, Name: "Kontor AG",
			Status: store.OrgActive, Country: "DE", Locale: "de"}))
		f.uid++
		raw := "From: Jonas Berger <jonas@alpenblick.example>\r\nTo: partners@onboarding.example\r\n" +
			"Subject: Please establish reseller connection to customer [Kontor AG]\r\n" +
			fmt.Sprintf("Message-ID: <contact-%d@alpenblick.example>\r\n", f.uid) +
			"Date: Tue, 01 Dec 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" +
			"Organization ID: " + orgBare + "\r\nAdmin contact: kim@kontor.example\r\n"
		res, err := f.wf.HandleMail(ctx, workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: f.uid,
			Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.clock.Now()})
		storetest.Must(t, err)
		path := fmt.Sprintf("/ops/requests/%d", res.RequestID)
		r = c.get(path)
		contains(t, "request without a directory administrator", r.Body, "no_admin_contact",
			"nobody: the directory has no administrator address", `id="suggested-contact"`, "kim@kontor.example",
			`name="invite_contact" value="kim@kontor.example"`)

		// Approving without picking the contact invites nobody.
		r = c.post(path+"/approve", url.Values{"version": {version(t, r.Body)}})
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, "no administrator address") {
			t.Fatalf("approve without a recipient: %d", r.Status)
		}
		if got := f.request(res.RequestID).State; got != store.StatePendingApproval {
			t.Fatalf("refused approve moved the request to %s", got)
		}
		// Ticked: the contact is invited, and the audit says who picked it.
		r = c.post(path+"/approve", url.Values{"version": {version(t, r.Body)}, "invite_contact": {"kim@kontor.example"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("approve with the contact: %d %s", r.Status, r.Body)
		}
		var to string
		for _, m := range f.outbox(res.RequestID) {
			if m.Kind == "invitation" {
				to = m.ToAddrs
			}
		}
		if !strings.Contains(to, "kim@kontor.example") {
			t.Fatalf("invitation to %q", to)
		}
		r = c.get(path)
		contains(t, "after approve", r.Body, "the contact the partner suggested, picked by ops", "picked by ops:"+opsEmail)
	})
}
