package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestPartnerForSender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		a := &store.Partner{Name: "A"}
		storetest.Must(t, q.CreatePartner(a, []string{"Ops@A.example"}, nil))
		b := &store.Partner{Name: "B"}
		storetest.Must(t, q.CreatePartner(b, []string{"boss@b.example"}, []string{"b.example", "@a.example"}))
		for addr, want := range map[string]int64{
			"ops@a.example":  a.ID, // an address rule beats a domain rule
			"x@a.example":    b.ID,
			"BOSS@b.example": b.ID,
			"x@b.example":    b.ID,
		} {
			p, err := q.PartnerForSender(addr)
			if err != nil || p.ID != want {
				t.Errorf("%s: got %d %v, want %d", addr, p.ID, err, want)
			}
		}
		if _, err := q.PartnerForSender("x@sub.b.example"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("subdomain matched: %v", err)
		}
		// The same address cannot belong to two partners.
		err := q.CreatePartner(&store.Partner{Name: "C"}, []string{"ops@a.example"}, nil)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate rule: %v", err)
		}
		p, err := q.Partner(b.ID)
		storetest.Must(t, err)
		if len(p.Emails()) != 1 || len(p.Domains()) != 2 {
			t.Errorf("rules %+v", p.Rules)
		}
	})
}

func TestRequestStateAndOpenUniqueness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		p := &store.Partner{Name: "A"}
		storetest.Must(t, q.CreatePartner(p, []string{"a@a.example"}, nil))
		org := "3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c"
		r1 := &store.Request{State: store.StatePendingApproval, PartnerID: &p.ID, OrganizationID: &org, Sender: "a@a.example"}
		storetest.Must(t, q.InsertRequest(r1))
		if r1.Reference() != "REQ-000001" {
			t.Errorf("reference %s", r1.Reference())
		}
		r2 := &store.Request{State: store.StateNeedsInfo, PartnerID: &p.ID, Sender: "a@a.example"}
		storetest.Must(t, q.InsertRequest(r2))
		// Resuming r2 into a second open request for the same org is refused by the database.
		err := q.SetRequestState(r2.ID, store.StateNeedsInfo, store.StatePendingApproval, map[string]any{"organization_id": org})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second open request: %v", err)
		}
		// A stale transition is refused.
		storetest.Must(t, q.SetRequestState(r1.ID, store.StatePendingApproval, store.StateRejected, nil))
		if err := q.SetRequestState(r1.ID, store.StatePendingApproval, store.StateInvited, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale transition: %v", err)
		}
		storetest.Must(t, q.SetRequestState(r2.ID, store.StateNeedsInfo, store.StatePendingApproval, map[string]any{"organization_id": org}))
	})
}

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
