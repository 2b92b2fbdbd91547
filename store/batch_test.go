package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestMessagesAt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		for _, m := range []store.Message{
			{Mailbox: "INBOX", UIDValidity: 5, UID: 1, Disposition: store.DispRequest},
			{Mailbox: "INBOX", UIDValidity: 5, UID: 3, Disposition: store.DispPending},
			{Mailbox: "INBOX", UIDValidity: 4, UID: 2, Disposition: store.DispRequest}, // another UIDVALIDITY
			{Mailbox: "Other", UIDValidity: 5, UID: 2, Disposition: store.DispRequest}, // another mailbox
		} {
			storetest.Must(t, q.SaveMessage(&m))
		}
		got, err := q.MessagesAt("INBOX", 5, []int64{1, 2, 3, 4})
		storetest.Must(t, err)
		dispo := map[int64]string{}
		for uid, m := range got {
			dispo[uid] = m.Disposition
		}
		if diff := cmp.Diff(map[int64]string{1: store.DispRequest, 3: store.DispPending}, dispo); diff != "" {
			t.Fatalf("MessagesAt (-want +got):\n%s", diff)
		}
	})
}

// A Chunk's handles read a partner once; a partner registered through a
// chunk's handle is seen at once; other handles read every time.
func TestLookupMemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := store.Partner{Name: "Acme", Locale: "en"}
		storetest.Must(t, st.Q(ctx).CreatePartner(&p, nil, []string{"acme.example"}))

		ch := st.NewChunk()
		got, err := ch.Q(ctx).PartnerForSender("ops@acme.example")
		storetest.Must(t, err)
		if got.ID != p.ID {
			t.Fatalf("partner %d, want %d", got.ID, p.ID)
		}
		if _, err := ch.Q(ctx).PartnerForSender("x@nobody.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown sender: %v", err)
		}
		// Renamed behind the chunk's back: the chunk still sees the old name,
		// a handle of no chunk sees the new one.
		storetest.Must(t, st.Exec(ctx, "UPDATE partners SET name = 'Acme New' WHERE id = ?", p.ID))
		memo, err := ch.Q(ctx).Partner(p.ID)
		storetest.Must(t, err)
		plain, err := st.Q(ctx).Partner(p.ID)
		storetest.Must(t, err)
		if memo.Name != "Acme" || plain.Name != "Acme New" {
			t.Fatalf("memo %q, plain %q", memo.Name, plain.Name)
		}
		// Inside the chunk's transaction, too.
		storetest.Must(t, ch.Transact(ctx, func(q *store.Q) error {
			inTx, err := q.PartnerForSender("ops@acme.example")
			if err == nil && inTx.Name != "Acme" {
				t.Errorf("in a transaction: %q", inTx.Name)
			}
			return err
		}))
		// Registering a partner through the chunk forgets what it knew.
		nb := store.Partner{Name: "Nobody", Locale: "en"}
		storetest.Must(t, ch.Q(ctx).CreatePartner(&nb, nil, []string{"nobody.example"}))
		again, err := ch.Q(ctx).PartnerForSender("x@nobody.example")
		storetest.Must(t, err)
		renamed, err := ch.Q(ctx).Partner(p.ID)
		storetest.Must(t, err)
		if again.ID != nb.ID || renamed.Name != "Acme New" {
			t.Fatalf("after CreatePartner: sender → %d (want %d), name %q", again.ID, nb.ID, renamed.Name)
		}
	})
}
