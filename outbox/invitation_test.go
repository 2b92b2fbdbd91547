package outbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// invitationRow writes an invitation mail as workflow does (the link's
// place holds store.InviteTokenPlaceholder) and its pending invitation.
func invitationRow(t *testing.T, st *store.Store, clk *fakeClock) (store.OutboxMail, store.Invitation) {
	t.Helper()
	q := st.Q(context.Background())
	p := &store.Partner{Name: "P"}
	storetest.Must(t, q.CreatePartner(p, []string{"p@p.example"}, nil))
	org := "3f2b1a4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
	storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: org, Name: "O", Status: store.OrgActive}))
	r := &store.Request{State: store.StateInvited, PartnerID: &p.ID, OrganizationID: &org, ReceivedAt: clk.Now()}
	storetest.Must(t, q.InsertRequest(r))
	l := &store.Link{PartnerID: p.ID, OrganizationID: org, Status: store.LinkInvited, RequestID: &r.ID, StartedAt: clk.Now()}
	storetest.Must(t, q.InsertLink(l))
	return invitationMail(t, st, clk, store.Invitation{LinkID: l.ID, RequestID: r.ID})
}

// The dispatcher puts a fresh token into an invitation as it sends it and
// stores only its hash; the stored row keeps the placeholder. An
// invitation revoked before its mail went out is not sent.
func TestInvitationTokenMadeAtSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		row, inv := invitationRow(t, st, clk)
		d := New(st, testConfig(t, srv.Addr(), clk))
		if res := flush(t, d); res.Sent != 1 {
			t.Fatalf("flush: %+v", res)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 {
			t.Fatalf("%d mails received", len(msgs))
		}
		p := parseReceived(t, msgs[0])
		i := strings.Index(p.text, "/invite/")
		if i < 0 || strings.Contains(p.text+p.html, store.InviteTokenPlaceholder) {
			t.Fatalf("sent text lacks a token:\n%s", p.text)
		}
		token := strings.TrimSpace(p.text[i+len("/invite/"):])
		if !strings.Contains(p.html, "/invite/"+token) {
			t.Errorf("text and HTML carry different tokens")
		}
		got, err := st.Q(context.Background()).InvitationByOutbox(row.ID)
		storetest.Must(t, err)
		if got.TokenHash != store.HashToken(token) || got.ID != inv.ID {
			t.Errorf("stored hash %q is not the sent token's", got.TokenHash)
		}
		if stored := getRow(t, st, row.ID); strings.Contains(stored.TextBody+stored.HTMLBody, token) {
			t.Errorf("the stored row holds the live token")
		}

		// Revoked before it went out: failed, not sent.
		row2, inv2 := invitationMail(t, st, clk, inv)
		storetest.Must(t, st.Q(context.Background()).SetInvitationStatus(inv2.ID, store.InviteRevoked))
		if res := flush(t, d); res.Failed != 1 || res.Sent != 0 {
			t.Fatalf("flush of a revoked invitation: %+v", res)
		}
		if got := getRow(t, st, row2.ID); got.Status != store.OutboxFailed || !strings.Contains(got.LastError, "no longer pending") {
			t.Errorf("revoked invitation's mail: %s %q", got.Status, got.LastError)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d mails received, want still 1", n)
		}
	})
}

// invitationMail writes one more invitation mail, with its invitation, for
// the link and request of inv.
func invitationMail(t *testing.T, st *store.Store, clk *fakeClock, inv store.Invitation) (store.OutboxMail, store.Invitation) {
	t.Helper()
	row := newRow("admin@o.example")
	row.Kind = "invitation"
	row.TextBody = "Accept: https://onboard.example/invite/" + store.InviteTokenPlaceholder + "\n"
	row.HTMLBody = `<a href="https://onboard.example/invite/` + store.InviteTokenPlaceholder + `">Accept</a>`
	insert(t, st, clk, &row)
	next := store.Invitation{LinkID: inv.LinkID, RequestID: inv.RequestID, TokenHash: "unknown-" + row.MessageID,
		ExpiresAt: clk.Now().Add(time.Hour), OutboxID: &row.ID}
	storetest.Must(t, st.Q(context.Background()).InsertInvitation(&next))
	return row, next
}
