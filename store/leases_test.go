package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestLeases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ok, err := st.AcquireLease(ctx, "poll", "w1", time.Minute)
		storetest.Must(t, err)
		if !ok {
			t.Fatal("w1 could not take a free lease")
		}
		if ok, _ := st.AcquireLease(ctx, "poll", "w2", time.Minute); ok {
			t.Fatal("w2 took w1's live lease")
		}
		if ok, _ := st.AcquireLease(ctx, "poll", "w1", time.Minute); !ok {
			t.Fatal("w1 could not renew")
		}
		// Expired: anyone may take it.
		storetest.Must(t, st.Exec(ctx, "UPDATE leases SET expires_at = ?", time.Now().UTC().Add(-time.Second)))
		if ok, _ := st.AcquireLease(ctx, "poll", "w2", time.Minute); !ok {
			t.Fatal("w2 could not take an expired lease")
		}
		storetest.Must(t, st.ReleaseLease(ctx, "poll", "w2"))
		if ok, _ := st.AcquireLease(ctx, "poll", "w1", time.Minute); !ok {
			t.Fatal("w1 could not take a released lease")
		}
	})
}

func TestCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c, err := st.LoadCursor(ctx, "INBOX")
		storetest.Must(t, err)
		if c.LastUID != 0 {
			t.Fatalf("fresh cursor %+v", c)
		}
		storetest.Must(t, st.SaveCursor(ctx, store.MailboxCursor{Mailbox: "INBOX", UIDValidity: 7, LastUID: 42}))
		storetest.Must(t, st.SaveCursor(ctx, store.MailboxCursor{Mailbox: "INBOX", UIDValidity: 7, LastUID: 43}))
		c, err = st.LoadCursor(ctx, "INBOX")
		storetest.Must(t, err)
		if c.UIDValidity != 7 || c.LastUID != 43 {
			t.Fatalf("cursor %+v", c)
		}
	})
}
