package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// Partners and organizations that ops register go through one set of
// rules and leave an audit entry naming who.
func TestRegistryChangesCheckedAndAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		for _, in := range []workflow.PartnerInput{
			{Name: "", Locale: "en", Emails: []string{"a@x.example"}},
			{Name: "X", Locale: "en"},
			{Name: "X", Locale: "fr", Emails: []string{"a@x.example"}},
			{Name: "X", Locale: "en", Emails: []string{"Bob <a@x.example>"}},
			{Name: "X", Locale: "en", Emails: []string{"a@x.example, b@y.example"}},
			{Name: "X", Locale: "en", Domains: []string{"localhost"}},
		} {
			if _, err := f.wf.AddPartner(ctx, in, "olga"); !errors.Is(err, workflow.ErrInvalid) {
				t.Errorf("AddPartner(%+v) = %v, want ErrInvalid", in, err)
			}
		}
		p, err := f.wf.AddPartner(ctx, workflow.PartnerInput{Name: " Nordwind IT ", Locale: "de",
			Emails: []string{"Vertrieb@Nordwind.example"}, Domains: []string{"@nordwind-it.example"}}, "olga")
		storetest.Must(t, err)
		if p.Name != "Nordwind IT" || strings.Join(p.Emails(), ",") != "vertrieb@nordwind.example" || strings.Join(p.Domains(), ",") != "nordwind-it.example" {
			t.Errorf("partner %+v %v %v", p, p.Emails(), p.Domains())
		}
		bad := []store.Organization{{ID: "0f0e0d0c-0b0a-4909-8807-060504030201", Name: "Y", Status: store.OrgActive, AdminEmail: "not an address"}}
		if err := f.wf.ImportOrganizations(ctx, bad, "olga"); !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("importing a bad admin address: %v", err)
		}
		bad[0].AdminEmail = "kim@y.example"
		storetest.Must(t, f.wf.ImportOrganizations(ctx, bad, "olga"))
		audit, err := st.Q(ctx).RecentAudit(10)
		storetest.Must(t, err)
		var got []string
		for _, a := range audit {
			got = append(got, a.Actor+": "+a.Reason)
		}
		all := strings.Join(got, "\n")
		for _, want := range []string{"ops:olga: 1 organizations imported", "ops:olga: partner:"} {
			if !strings.Contains(all, want) {
				t.Errorf("audit lacks %q:\n%s", want, all)
			}
		}
	})
}
