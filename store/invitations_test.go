package store_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// Invitation mails written before schema version 6 held their live token:
// migration 6 redacts the link of every mail that went out, ties a pending
// one to its invitation (which gets a new token when it is sent), and fails
// a pending one whose invitation ended.
func TestMigrationRedactsLegacyInvitationTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := st.Q(ctx)
		p := &store.Partner{Name: "P"}
		storetest.Must(t, q.CreatePartner(p, []string{"p@p.example"}, nil))
		org := "3f2b1a4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
		storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: org, Name: "O", Status: store.OrgActive}))
		legacy := func(status, inviteStatus string) (store.OutboxMail, string) {
			tok, err := store.NewToken()
			storetest.Must(t, err)
			r := &store.Request{State: store.StateDeclined, PartnerID: &p.ID, OrganizationID: &org, ReceivedAt: time.Now()}
			storetest.Must(t, q.InsertRequest(r))
			l := &store.Link{PartnerID: p.ID, OrganizationID: org, Status: store.LinkDeclined, RequestID: &r.ID, StartedAt: time.Now()}
			storetest.Must(t, q.InsertLink(l))
			inv := &store.Invitation{LinkID: l.ID, RequestID: r.ID, TokenHash: store.HashToken(tok), Status: inviteStatus,
				ExpiresAt: time.Now().Add(time.Hour)}
			storetest.Must(t, q.InsertInvitation(inv))
			m := &store.OutboxMail{Kind: "invitation", RequestID: &r.ID, FromAddr: "o@x", ToAddrs: "a@o.example", Subject: "s",
				TextBody: "Open https://x.example/invite/" + tok + " now", HTMLBody: `<a href="https://x.example/invite/` + tok + `">https://x.example/invite/` + tok + `</a>`,
				MessageID: "m-" + tok[:8] + "@x", Delivery: store.Delivery{Status: status}}
			storetest.Must(t, q.InsertOutbox(m))
			return *m, tok
		}
		sent, sentTok := legacy(store.OutboxSent, store.InvitePending)
		pending, pendingTok := legacy(store.OutboxPending, store.InvitePending)
		orphan, _ := legacy(store.OutboxPending, store.InviteRevoked)

		storetest.Must(t, store.ConvertInvitationBodies(st))

		got, err := q.Outbox(sent.ID)
		storetest.Must(t, err)
		if strings.Contains(got.TextBody+got.HTMLBody, sentTok) || !strings.Contains(got.TextBody, "/invite/redacted") {
			t.Errorf("sent mail not redacted: %q", got.TextBody)
		}
		got, err = q.Outbox(pending.ID)
		storetest.Must(t, err)
		if strings.Contains(got.TextBody+got.HTMLBody, pendingTok) || strings.Count(got.HTMLBody, store.InviteTokenPlaceholder) != 2 {
			t.Errorf("pending mail not converted: %q", got.HTMLBody)
		}
		minted, err := st.MintInvitationToken(ctx, got)
		storetest.Must(t, err)
		if strings.Contains(minted.TextBody, store.InviteTokenPlaceholder) {
			t.Errorf("the converted mail gets no token when sent")
		}
		got, err = q.Outbox(orphan.ID)
		storetest.Must(t, err)
		if got.Status != store.OutboxFailed {
			t.Errorf("the mail of a revoked invitation is %s, want failed", got.Status)
		}
	})
}

// A new SQLite database, and its -wal and -shm files, are readable by their
// owner only; an existing database's wider modes are narrowed.
func TestSQLiteFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/onboarder.db"
	st := storetest.Open(t, "sqlite:"+path)
	storetest.Must(t, st.Q(context.Background()).CreatePartner(&store.Partner{Name: "P"}, []string{"p@p.example"}, nil))
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, fi.Mode().Perm())
		}
	}
	old := dir + "/old.db"
	storetest.Must(t, os.WriteFile(old, nil, 0o644))
	storetest.Open(t, "sqlite:"+old)
	if fi, _ := os.Stat(old); fi.Mode().Perm() != 0o600 {
		t.Errorf("an existing database kept mode %o", fi.Mode().Perm())
	}
}
