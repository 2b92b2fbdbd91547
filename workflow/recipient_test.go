package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

const orgNoAdmin = "7d9f6c52-0c4e-4d43-9d55-2f8f4a0a1c11"

// noAdminRequest delivers a trusted, authenticated request (Bluebird) for
// an organization the directory knows without an administrator address,
// naming contact as the administrator.
func (f *fixture) noAdminRequest(contact string) int64 {
	f.t.Helper()
	storetest.Must(f.t, f.st.Q(context.Background()).UpsertOrganization(&store.Organization{
		ID: orgNoAdmin, Name: "Umbrella GmbH", Status: store.OrgActive, Locale: "de"}))
	res := f.deliver(request("b@bluebird.example", "na-"+contact+"@bluebird.example", "Umbrella GmbH",
		"Organization ID: "+orgNoAdmin+"\r\nAdmin contact: "+contact, trustedAR))
	if res.Disposition != store.DispRequest {
		f.t.Fatalf("setup: %+v", res)
	}
	return res.RequestID
}

// The invitation goes to the directory's administrator only: a contact the
// partner's mail names is never invited by approval, auto-approval or
// resend, and a request without an administrator address waits for ops.
func TestInvitationRecipientFromDirectoryOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.AutoApproveTrusted = true })
		ctx := context.Background()

		// The partner names its own mailbox as the "administrator".
		id := f.noAdminRequest("b@bluebird.example")
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("a trusted partner's request without an administrator address is %s, want pending_approval (not auto-approved)", r.State)
		}
		if got := f.findings(id); !strings.Contains(got, workflow.FindNoAdminContact) {
			t.Fatalf("findings %q lack %s", got, workflow.FindNoAdminContact)
		}
		rc, err := f.wf.InviteRecipient(ctx, id)
		storetest.Must(t, err)
		if rc.Email != "" || rc.Suggested != "b@bluebird.example" || rc.SuggestedRefused == "" {
			t.Fatalf("recipient %+v: want nobody, the suggestion shown and refused", rc)
		}
		if err := f.wf.Approve(ctx, id, "olga", ""); !errors.Is(err, workflow.ErrState) || !strings.Contains(err.Error(), "no administrator address") {
			t.Fatalf("approving without an administrator address: %v", err)
		}
		err = f.wf.ApproveWith(ctx, id, workflow.Approval{By: "olga", InviteContact: "b@bluebird.example"})
		if !errors.Is(err, workflow.ErrContactRefused) {
			t.Fatalf("inviting the partner's own address: %v", err)
		}
		if n := len(f.outbox(id)); n != 1 {
			t.Fatalf("refused approvals queued mail: %s", f.kinds(id))
		}
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("refused approvals moved the request to %s", r.State)
		}
		// Another mailbox of the partner's organizational domain is its own too.
		storetest.Must(t, f.wf.Reject(ctx, id, "olga", "test"))
		id2 := f.noAdminRequest("it@mail.bluebird.example")
		if err := f.wf.ApproveWith(ctx, id2, workflow.Approval{By: "olga", InviteContact: "it@mail.bluebird.example"}); !errors.Is(err, workflow.ErrContactRefused) {
			t.Fatalf("inviting a subdomain of the partner: %v", err)
		}
	})
}

// An ops user may pick the partner's suggestion when it is not the
// partner's, explicitly: only that address, audited, and resend keeps it.
func TestApproveInvitingSuggestedContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.noAdminRequest("kim@umbrella.example")
		rc, err := f.wf.InviteRecipient(ctx, id)
		storetest.Must(t, err)
		if rc.Suggested != "kim@umbrella.example" || rc.SuggestedRefused != "" {
			t.Fatalf("recipient %+v: want the suggestion pickable", rc)
		}
		if err := f.wf.ApproveWith(ctx, id, workflow.Approval{By: "olga", InviteContact: "other@umbrella.example"}); !errors.Is(err, workflow.ErrContactRefused) {
			t.Fatalf("inviting an address the partner did not suggest: %v", err)
		}
		storetest.Must(t, f.wf.ApproveWith(ctx, id, workflow.Approval{By: "olga", InviteContact: "Kim@Umbrella.example"}))
		var inv store.OutboxMail
		for _, m := range f.outbox(id) {
			if m.Kind == templates.KindInvitation {
				inv = m
			}
		}
		if to := inv.To(); len(to) != 1 || to[0] != "kim@umbrella.example" {
			t.Fatalf("invitation to %v", inv.To())
		}
		audit, err := st.Q(ctx).Audit(id)
		storetest.Must(t, err)
		found := false
		for _, a := range audit {
			found = found || (a.Actor == "ops:olga" && strings.Contains(a.Reason, "kim@umbrella.example") && strings.Contains(a.Reason, "suggested"))
		}
		if !found {
			t.Fatalf("the pick is not audited: %+v", audit)
		}
		invs, err := st.Q(ctx).Invitations(id)
		storetest.Must(t, err)
		if invs[0].Recipient != "kim@umbrella.example" || invs[0].RecipientSource != store.RecipientSuggested {
			t.Fatalf("invitation recorded %+v", invs[0])
		}
		f.now = f.now.Add(2 * 60 * 60 * 1e9)
		storetest.Must(t, f.wf.ResendInvitation(ctx, id, "olga"))
		rows := f.outbox(id)
		if last := rows[len(rows)-1]; last.Kind != templates.KindInvitation || last.To()[0] != "kim@umbrella.example" {
			t.Fatalf("resent to %v (%s)", last.To(), last.Kind)
		}
		tok := f.token(id)
		if _, err := f.wf.Accept(ctx, tok); err != nil {
			t.Fatal(err)
		}
		audit, _ = st.Q(ctx).Audit(id)
		if last := audit[len(audit)-1]; last.Actor != "customer:kim@umbrella.example" {
			t.Fatalf("accepted by %q", last.Actor)
		}
	})
}

// With an administrator in the directory, the partner's suggestion is
// neither used nor pickable.
func TestSuggestedContactIgnoredWithDirectoryAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		res := f.deliver(request("ops@acme.example", "sc@acme.example", "Globex Corporation",
			"Organization ID: "+orgGlobex+"\r\nAdmin contact: mallory@evil.example"))
		id := res.RequestID
		rc, err := f.wf.InviteRecipient(ctx, id)
		storetest.Must(t, err)
		if rc.Email != "hank@globex.example" || rc.Source != store.RecipientDirectory || rc.SuggestedRefused == "" {
			t.Fatalf("recipient %+v", rc)
		}
		if err := f.wf.ApproveWith(ctx, id, workflow.Approval{By: "olga", InviteContact: "mallory@evil.example"}); !errors.Is(err, workflow.ErrContactRefused) {
			t.Fatalf("picking the suggestion over the directory: %v", err)
		}
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		if got := f.kinds(id); strings.Contains(got, "mallory") || !strings.Contains(got, "invitation>hank@globex.example") {
			t.Fatalf("mails %s", got)
		}
	})
}

// No live invitation token is stored: the invitation mail's bodies hold a
// placeholder, the token is made as it is sent, and a mail whose
// invitation ended before it went out is not sent.
func TestInvitationTokenNotStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		var row store.OutboxMail
		for _, m := range f.outbox(id) {
			if m.Kind == templates.KindInvitation {
				row = m
			}
		}
		if !strings.Contains(row.TextBody, "/invite/"+store.InviteTokenPlaceholder) || !strings.Contains(row.HTMLBody, "/invite/"+store.InviteTokenPlaceholder) {
			t.Fatalf("stored invitation bodies lack the placeholder:\n%s", row.TextBody)
		}
		tok := f.token(id)
		for _, m := range f.outbox(id) {
			if strings.Contains(m.TextBody+m.HTMLBody+m.Subject, tok) {
				t.Fatalf("outbox row %d holds the live token", m.ID)
			}
		}
		if _, err := f.wf.LookupInvitation(ctx, tok); err != nil {
			t.Fatalf("the minted token does not work: %v", err)
		}
		// Sending again (a retry) makes a new token; the old one stops working.
		again, err := st.MintInvitationToken(ctx, row)
		storetest.Must(t, err)
		if strings.Contains(again.TextBody, tok) {
			t.Fatal("a retry reused the token")
		}
		if _, err := f.wf.LookupInvitation(ctx, tok); !errors.Is(err, workflow.ErrNotFound) {
			t.Fatalf("the earlier attempt's token still works: %v", err)
		}
		// Revoked before it went out: the mail must not go.
		link, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		storetest.Must(t, f.wf.RevokeLink(ctx, link.ID, "olga"))
		if _, err := st.MintInvitationToken(ctx, row); !errors.Is(err, store.ErrInvitationNotPending) {
			t.Fatalf("minting a revoked invitation: %v", err)
		}
	})
}
