package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// RequestConflicts reads in one query what OpenRequestFor, LiveLink and
// OtherResellerExists say, and must agree with them.
func TestRequestConflicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := st.Q(ctx)
		a, b := &store.Partner{Name: "A"}, &store.Partner{Name: "B"}
		storetest.Must(t, q.CreatePartner(a, nil, []string{"a.example"}))
		storetest.Must(t, q.CreatePartner(b, nil, []string{"b.example"}))
		for _, id := range []string{"org-1", "org-2", "org-3", "org-4"} {
			storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: id, Name: id, Status: store.OrgActive}))
		}
		req := func(partner int64, org, state string) int64 {
			t.Helper()
			r := &store.Request{PartnerID: &partner, OrganizationID: &org, State: state, Sender: "x@y"}
			storetest.Must(t, q.InsertRequest(r))
			return r.ID
		}
		open := req(a.ID, "org-1", store.StatePendingApproval)
		req(a.ID, "org-2", store.StateRejected) // closed: no conflict
		linkReq := req(a.ID, "org-3", store.StateCompleted)
		l := &store.Link{PartnerID: a.ID, OrganizationID: "org-3", Status: store.LinkActive, RequestID: &linkReq}
		storetest.Must(t, q.InsertLink(l))
		req(b.ID, "org-4", store.StateInvited)
		for _, tc := range []struct {
			name    string
			partner int64
			org     string
			except  int64
			want    store.RequestConflicts
		}{
			{"open request", a.ID, "org-1", 0, store.RequestConflicts{OpenRequestID: open}},
			{"the request itself", a.ID, "org-1", open, store.RequestConflicts{}},
			{"closed request", a.ID, "org-2", 0, store.RequestConflicts{}},
			{"live link", a.ID, "org-3", 0, store.RequestConflicts{LiveLinkID: l.ID, LiveLinkStatus: store.LinkActive, LiveLinkRequestID: &linkReq}},
			{"another partner's link", b.ID, "org-3", 0, store.RequestConflicts{OtherReseller: true}},
			{"another partner's request", a.ID, "org-4", 0, store.RequestConflicts{OtherReseller: true}},
			{"another partner's open request", b.ID, "org-1", 0, store.RequestConflicts{OtherReseller: true}},
		} {
			got, err := q.RequestConflicts(tc.partner, tc.org, tc.except)
			storetest.Must(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
			other, err := q.OtherResellerExists(tc.org, tc.partner)
			storetest.Must(t, err)
			if other != got.OtherReseller {
				t.Errorf("%s: OtherResellerExists %v, RequestConflicts %v", tc.name, other, got.OtherReseller)
			}
		}
	})
}
