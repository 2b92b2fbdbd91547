package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

const (
	orgHooli          = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
	orgHooliContainer = "hooli-xyz-organization"
)

// fakeDirectory plays an external organization directory that can go down.
type fakeDirectory struct {
	mu   sync.Mutex
	down bool
	orgs map[string]store.Organization // by UUID and by container ID
	asks int
}

func (d *fakeDirectory) Organization(_ context.Context, id string) (store.Organization, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asks++
	if d.down {
		return store.Organization{}, fmt.Errorf("%w: HTTP 503", workflow.ErrDirectoryUnavailable)
	}
	o, ok := d.orgs[strings.ToLower(id)]
	if !ok {
		return store.Organization{}, fmt.Errorf("organization %s: %w", id, store.ErrNotFound)
	}
	return o, nil
}

func (d *fakeDirectory) set(down bool, status string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
	o := store.Organization{ID: orgHooli, Name: "Hooli XYZ", Status: status, AdminName: "Gavin",
		AdminEmail: "gavin@hooli.example", Locale: "en"}
	d.orgs = map[string]store.Organization{orgHooli: o, orgHooliContainer: o}
	if status == "" {
		d.orgs = nil
	}
}

func TestDirectoryAPI(t *testing.T) {
	type step struct {
		down   bool
		status string // the organization's status in the directory; "" unknown
	}
	tests := []struct {
		name         string
		written      string
		intake       step
		recheck      *step
		wantState    string
		wantFindings string
		wantOrgID    string
		wantMails    string
	}{
		{name: "UUID resolved at once", written: orgHooli, intake: step{status: store.OrgActive},
			wantState: store.StatePendingApproval, wantFindings: "sender_auth_unchecked", wantOrgID: orgHooli,
			wantMails: "request_received>P"},
		// The cases share the database: from here on another partner has an
		// open request for Hooli, hence org_has_other_reseller.
		{name: "container ID resolves to the UUID", written: orgHooliContainer, intake: step{status: store.OrgActive},
			wantState: store.StatePendingApproval, wantFindings: "sender_auth_unchecked,org_has_other_reseller", wantOrgID: orgHooli,
			wantMails: "request_received>P"},
		{name: "unknown container ID", written: "nobody-organization", intake: step{status: store.OrgActive},
			wantState: store.StateRejected, wantFindings: "unknown_organization,sender_auth_unchecked", wantOrgID: "nobody-organization",
			wantMails: "request_rejected>P"},
		{name: "down: waits", written: orgHooli, intake: step{down: true},
			wantState: store.StatePendingApproval, wantFindings: "directory_unavailable,sender_auth_unchecked", wantOrgID: orgHooli,
			wantMails: "request_received>P"},
		{name: "down, then answers", written: orgHooliContainer, intake: step{down: true}, recheck: &step{status: store.OrgActive},
			wantState: store.StatePendingApproval, wantFindings: "sender_auth_unchecked,org_has_other_reseller", wantOrgID: orgHooli,
			wantMails: "request_received>P"},
		{name: "down, then still down", written: orgHooli, intake: step{down: true}, recheck: &step{down: true},
			wantState: store.StatePendingApproval, wantFindings: "directory_unavailable,sender_auth_unchecked", wantOrgID: orgHooli,
			wantMails: "request_received>P"},
		{name: "down, then unknown", written: orgHooli, intake: step{down: true}, recheck: &step{},
			wantState: store.StateRejected, wantFindings: "sender_auth_unchecked,unknown_organization", wantOrgID: orgHooli,
			wantMails: "request_received>P request_rejected>P"},
		{name: "down, then inactive", written: orgHooli, intake: step{down: true}, recheck: &step{status: store.OrgSuspended},
			wantState: store.StateRejected, wantFindings: "sender_auth_unchecked,organization_inactive", wantOrgID: orgHooli,
			wantMails: "request_received>P request_rejected>P"},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		dir := &fakeDirectory{}
		f := newFixture(t, st, func(o *workflow.Options) { o.Directory = dir })
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f.t = t
				// Each case on its own partner: the database is shared by the cases.
				q := st.Q(context.Background())
				sender := fmt.Sprintf("dir%d@case%d.example", i, i)
				storetest.Must(t, q.CreatePartner(&store.Partner{Name: "Case " + tc.name, Locale: "en"}, []string{sender}, nil))
				dir.set(tc.intake.down, tc.intake.status)
				res := f.deliver(request(sender, fmt.Sprintf("dir-%d@case.example", i), "Hooli XYZ",
					"Hello,\r\n\r\nOrganization ID: "+tc.written+"\r\n\r\nThanks"))
				id := res.RequestID
				if tc.recheck != nil {
					dir.set(tc.recheck.down, tc.recheck.status)
					if _, err := f.wf.RecheckDirectory(context.Background(), 10); err != nil {
						t.Fatal(err)
					}
				}
				r := f.request(id)
				got := []string{r.State, f.findings(id), deref(r.OrganizationID), strings.ReplaceAll(f.kinds(id), sender, "P")}
				want := []string{tc.wantState, tc.wantFindings, tc.wantOrgID, tc.wantMails}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("state, findings, organization, mails (-want +got):\n%s", diff)
				}
				// A resolved organization is kept as a snapshot for invitations and pages.
				if tc.wantState == store.StatePendingApproval && !strings.Contains(tc.wantFindings, "directory_unavailable") {
					o, err := q.Organization(orgHooli)
					if err != nil || o.AdminEmail != "gavin@hooli.example" {
						t.Errorf("snapshot: %+v, %v", o, err)
					}
				}
			})
		}
	})
}

func TestApproveAsksTheDirectory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		dir := &fakeDirectory{}
		f := newFixture(t, st, func(o *workflow.Options) { o.Directory = dir })
		dir.set(false, store.OrgActive)
		res := f.deliver(request("ops@acme.example", "appr@acme.example", "Hooli XYZ", "Organization ID: "+orgHooli))
		ctx := context.Background()
		dir.set(true, store.OrgActive)
		if err := f.wf.Approve(ctx, res.RequestID, "olga", ""); !errors.Is(err, workflow.ErrDirectoryUnavailable) {
			t.Fatalf("approve while the directory is down: %v", err)
		}
		if s := f.request(res.RequestID).State; s != store.StatePendingApproval {
			t.Fatalf("state %s after a refused approval", s)
		}
		dir.set(false, store.OrgSuspended)
		if err := f.wf.Approve(ctx, res.RequestID, "olga", ""); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("approve of a now suspended organization: %v", err)
		}
		dir.set(false, store.OrgActive)
		storetest.Must(t, f.wf.Approve(ctx, res.RequestID, "olga", ""))
		if got := f.kinds(res.RequestID); !strings.Contains(got, "invitation>gavin@hooli.example") {
			t.Fatalf("mails after approval: %s", got)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
