package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

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
