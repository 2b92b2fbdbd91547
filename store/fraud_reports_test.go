package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// OpenFraudReportsFor finds open reports by organization or partner, the
// same on a Chunk's handle as on another; a cleared report is gone, and
// clearing it again is a conflict.
func TestFraudReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := st.Q(ctx)
		a, b := &store.Partner{Name: "A"}, &store.Partner{Name: "B"}
		storetest.Must(t, q.CreatePartner(a, nil, []string{"a.example"}))
		storetest.Must(t, q.CreatePartner(b, nil, []string{"b.example"}))
		req := func(partner int64, org string) int64 {
			r := &store.Request{PartnerID: &partner, OrganizationID: &org, State: store.StateDeclined, Sender: "x@y"}
			storetest.Must(t, q.InsertRequest(r))
			return r.ID
		}
		r1 := &store.FraudReport{OrganizationID: "org-1", PartnerID: a.ID, RequestID: req(a.ID, "org-1")}
		storetest.Must(t, q.InsertFraudReport(r1))
		if err := q.InsertFraudReport(&store.FraudReport{OrganizationID: "org-1", PartnerID: a.ID, RequestID: r1.RequestID}); err == nil {
			t.Error("a second report on the same request was recorded")
		}
		ids := func(q *store.Q, org string, partner int64) []int64 {
			t.Helper()
			reps, err := q.OpenFraudReportsFor(org, partner)
			storetest.Must(t, err)
			var out []int64
			for _, r := range reps {
				out = append(out, r.ID)
			}
			return out
		}
		memo := st.NewChunk().Q(ctx)
		for name, q := range map[string]*store.Q{"plain": q, "memo": memo} {
			for _, tc := range []struct {
				org     string
				partner int64
				want    int
			}{{"org-1", 0, 1}, {"", a.ID, 1}, {"org-1", b.ID, 1}, {"org-2", b.ID, 0}, {"", 0, 0}} {
				if got := ids(q, tc.org, tc.partner); len(got) != tc.want {
					t.Errorf("%s: %q/%d: %v, want %d", name, tc.org, tc.partner, got, tc.want)
				}
			}
		}
		at := time.Now().UTC()
		storetest.Must(t, q.ClearFraudReport(r1.ID, "olga", "checked", at))
		if err := q.ClearFraudReport(r1.ID, "olga", "again", at); !errors.Is(err, store.ErrConflict) {
			t.Errorf("clearing twice: %v", err)
		}
		if got := ids(q, "org-1", a.ID); len(got) != 0 {
			t.Errorf("open after clearing: %v", got)
		}
		reps, err := q.FraudReportsOfRequest(r1.RequestID)
		storetest.Must(t, err)
		if len(reps) != 1 || reps[0].Status != store.FraudCleared || reps[0].ClearedBy != "olga" || reps[0].ClearReason != "checked" ||
			reps[0].ClearedAt == nil || reps[0].ClearedAt.Sub(at).Abs() > time.Second {
			t.Errorf("cleared report: %+v", reps)
		}
	})
}
