package workflow_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

const orgNew = "3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a090"

func TestAddOrganizationChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		good := workflow.OrganizationInput{ID: strings.ToUpper(orgNew), Name: "Umbrella GmbH", Country: "DE",
			AdminName: "Ute", AdminEmail: "Ute@Umbrella.example", Locale: "de", VatID: "de 123 456 789"}
		for _, mod := range []func(*workflow.OrganizationInput){
			func(in *workflow.OrganizationInput) { in.ID = "not-a-uuid" },
			func(in *workflow.OrganizationInput) { in.Country = "XX" },
			func(in *workflow.OrganizationInput) { in.Country = "Germany" },
			func(in *workflow.OrganizationInput) { in.Country = "EU" },
			func(in *workflow.OrganizationInput) { in.AdminEmail = "Ute <ute@umbrella.example>" },
			func(in *workflow.OrganizationInput) { in.Name = " " },
			func(in *workflow.OrganizationInput) { in.Locale = "fr" },
		} {
			in := good
			mod(&in)
			if _, err := f.wf.AddOrganization(ctx, in, "olga"); !errors.Is(err, workflow.ErrInvalid) {
				t.Errorf("AddOrganization(%+v) = %v, want ErrInvalid", in, err)
			}
		}
		o, err := f.wf.AddOrganization(ctx, good, "olga")
		storetest.Must(t, err)
		if o.ID != orgNew || o.AdminEmail != "ute@umbrella.example" || o.VatID != "DE123456789" || o.Status != store.OrgActive {
			t.Errorf("added: %+v", o)
		}
		if _, err := f.wf.AddOrganization(ctx, good, "olga"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("adding twice: %v", err)
		}
		storetest.Must(t, f.wf.SuspendOrganization(ctx, orgNew, "olga"))
		if err := f.wf.SuspendOrganization(ctx, orgNew, "olga"); !errors.Is(err, workflow.ErrState) {
			t.Errorf("suspending twice: %v", err)
		}
		got := subjectAudit(t, st, "organization:"+orgNew)
		for _, want := range []string{"ops:olga >active organization:" + orgNew + " Umbrella GmbH added",
			"ops:olga active>suspended organization:" + orgNew + " suspended"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit lacks %q:\n%s", want, got)
			}
		}
	})
}

// A new administrator address is audited on the organization and flagged
// on its open requests (finding admin_changed with before and after, and
// an audit entry on each), not on closed ones.
func TestAdminChangeFlagsOpenRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		open := f.pendingRequest()                                // for Globex, pending_approval
		storetest.Must(t, f.wf.Reject(ctx, open, "olga", "test")) // closed now
		res := f.deliver(request("Sarah <ops@acme.example>", "r2@acme.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		open = res.RequestID
		closed := open - 1
		admin, vat := "new.admin@globex.example", "GB123"
		o, err := f.wf.UpdateOrganization(ctx, strings.ToUpper(orgGlobex), workflow.OrganizationChange{AdminEmail: &admin, VatID: &vat}, "olga")
		storetest.Must(t, err)
		if o.AdminEmail != admin || o.VatID != "GB123" {
			t.Fatalf("after update: %+v", o)
		}
		if got := f.findings(open); !strings.Contains(got, workflow.FindAdminChanged) {
			t.Errorf("open request's findings: %s", got)
		}
		if got := f.findings(closed); strings.Contains(got, workflow.FindAdminChanged) {
			t.Errorf("closed request flagged: %s", got)
		}
		fs, err := st.Q(ctx).Findings(open)
		storetest.Must(t, err)
		for _, x := range fs {
			if x.Code == workflow.FindAdminChanged && x.Detail != "administrator hank@globex.example -> new.admin@globex.example" {
				t.Errorf("finding detail %q", x.Detail)
			}
		}
		trail, err := st.Q(ctx).Audit(open)
		storetest.Must(t, err)
		if last := trail[len(trail)-1]; last.Actor != "ops:olga" || !strings.Contains(last.Reason, "hank@globex.example -> new.admin@globex.example") {
			t.Errorf("request audit: %+v", last)
		}
		got := subjectAudit(t, st, "organization:"+orgGlobex)
		if want := `updated: admin_email "hank@globex.example" -> "new.admin@globex.example"; vat_id "" -> "GB123"`; !strings.Contains(got, want) {
			t.Errorf("organization audit lacks %q:\n%s", want, got)
		}
		// Nothing changed: nothing audited.
		if _, err := f.wf.UpdateOrganization(ctx, orgGlobex, workflow.OrganizationChange{AdminEmail: &admin}, "olga"); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(subjectAudit(t, st, "organization:"+orgGlobex), "\n"); n != 0 {
			t.Errorf("a no-op edit was audited:\n%s", subjectAudit(t, st, "organization:"+orgGlobex))
		}
	})
}

// With an external directory, organizations are read-only and refreshed
// by asking the directory again.
func TestExternalDirectoryReadOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		dir := &fakeDirectory{}
		dir.set(false, store.OrgActive)
		f := newFixture(t, st, func(o *workflow.Options) { o.Directory = dir })
		ctx := context.Background()
		name := "X"
		if _, err := f.wf.UpdateOrganization(ctx, orgGlobex, workflow.OrganizationChange{Name: &name}, "olga"); !errors.Is(err, workflow.ErrReadOnly) {
			t.Errorf("update: %v", err)
		}
		if _, err := f.wf.AddOrganization(ctx, workflow.OrganizationInput{ID: orgNew}, "olga"); !errors.Is(err, workflow.ErrReadOnly) {
			t.Errorf("add: %v", err)
		}
		if err := f.wf.SuspendOrganization(ctx, orgGlobex, "olga"); !errors.Is(err, workflow.ErrReadOnly) {
			t.Errorf("suspend: %v", err)
		}
		o, err := f.wf.RefreshOrganizationFromDirectory(ctx, orgHooli, "olga")
		storetest.Must(t, err)
		if snap, err := st.Q(ctx).Organization(orgHooli); err != nil || snap.AdminEmail != "gavin@hooli.example" || o.Name != "Hooli XYZ" {
			t.Errorf("snapshot after refresh: %+v %v", snap, err)
		}
		dir.set(true, store.OrgActive)
		if _, err := f.wf.RefreshOrganizationFromDirectory(ctx, orgHooli, "olga"); err == nil {
			t.Errorf("refresh with the directory down succeeded")
		}
	})
}
