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

func subjectAudit(t *testing.T, st *store.Store, subject string) string {
	t.Helper()
	es, err := st.Q(context.Background()).SubjectAudit(subject, 50)
	storetest.Must(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Actor+" "+e.FromState+">"+e.ToState+" "+e.Reason)
	}
	return strings.Join(out, "\n")
}

func TestPublicMailDomains(t *testing.T) {
	for _, d := range []string{"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
		"icloud.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "aol.com", "proton.me", "protonmail.com",
		"GMAIL.COM", "@gmail.com", "mail.gmail.com", "mailinator.com"} {
		if !workflow.IsPublicMailDomain(d) {
			t.Errorf("%s is not known as a public mail provider's domain", d)
		}
	}
	for _, d := range []string{"acme.example", "nordwind-it.de", "com", "example.com"} {
		if workflow.IsPublicMailDomain(d) {
			t.Errorf("%s taken for a public mail provider's domain", d)
		}
	}
}

// Sender rules: a public mail provider's domain is never a whole-domain
// rule; an address or domain of another partner is refused, naming it.
func TestPartnerRulesRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil) // Acme: ops@acme.example
		ctx := context.Background()
		_, err := f.wf.AddPartner(ctx, workflow.PartnerInput{Name: "Free", Locale: "en", Domains: []string{"GMail.com"}}, "olga")
		if !errors.Is(err, workflow.ErrInvalid) || !strings.Contains(err.Error(), "gmail.com is a public mail provider's domain") {
			t.Errorf("gmail.com as a domain rule: %v", err)
		}
		// An exact address at a public provider is fine.
		nw, err := f.wf.AddPartner(ctx, workflow.PartnerInput{Name: "Nordwind", Locale: "de",
			Emails: []string{"nordwind.vertrieb@gmail.com"}, Domains: []string{"nordwind.example"}}, "olga")
		storetest.Must(t, err)

		for _, tc := range []struct {
			name            string
			emails, domains []string
			want            string
		}{
			{"same address", []string{"OPS@acme.example"}, nil, "sender address ops@acme.example belongs to partner"},
			{"domain holds another's address", nil, []string{"acme.example"}, "sender address ops@acme.example belongs to partner"},
			{"same domain", nil, []string{"nordwind.example"}, "sender domain nordwind.example belongs to partner"},
			{"address in another's domain", []string{"x@nordwind.example"}, nil, "sender domain nordwind.example belongs to partner"},
		} {
			_, err := f.wf.AddPartner(ctx, workflow.PartnerInput{Name: "Clash", Locale: "en", Emails: tc.emails, Domains: tc.domains}, "olga")
			if !errors.Is(err, workflow.ErrRuleTaken) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		// The same holds for an edit, which names the other partner.
		doms := []string{"nordwind.example"}
		_, err = f.wf.UpdatePartner(ctx, f.acme.ID, workflow.PartnerChange{Domains: &doms}, "olga")
		if !errors.Is(err, workflow.ErrRuleTaken) || !strings.Contains(err.Error(), "(Nordwind)") {
			t.Errorf("edit taking another partner's domain: %v", err)
		}
		doms = []string{"outlook.com"}
		if _, err := f.wf.UpdatePartner(ctx, nw.ID, workflow.PartnerChange{Domains: &doms}, "olga"); !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("edit to outlook.com: %v", err)
		}
		// A partner may keep its own rules.
		doms = []string{"nordwind.example", "nordwind-it.example"}
		if _, err := f.wf.UpdatePartner(ctx, nw.ID, workflow.PartnerChange{Domains: &doms}, "olga"); err != nil {
			t.Errorf("adding a domain of its own: %v", err)
		}
	})
}

// An edit is audited with each field's before and after; the parent
// distributor must exist and not make a loop.
func TestUpdatePartnerAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		dist, err := f.wf.AddPartner(ctx, workflow.PartnerInput{Name: "Big Distri", Locale: "en", Domains: []string{"distri.example"}}, "olga")
		storetest.Must(t, err)
		name, trusted, parent := "Acme Cloud", true, dist.ID
		emails := []string{"ops@acme.example", "sales@acme.example"}
		p, err := f.wf.UpdatePartner(ctx, f.acme.ID, workflow.PartnerChange{Name: &name, Trusted: &trusted, Parent: &parent,
			Emails: &emails}, "olga")
		storetest.Must(t, err)
		if p.Name != "Acme Cloud" || !p.Trusted || p.ParentID == nil || *p.ParentID != dist.ID {
			t.Fatalf("partner after edit: %+v", p)
		}
		got := subjectAudit(t, st, "partner:"+itoa(f.acme.ID))
		for _, want := range []string{`ops:olga >`, `updated: name "Acme Cloud Resellers Ltd" -> "Acme Cloud"; trusted false -> true; parent none -> ` + itoa(dist.ID) + ` (Big Distri); emails [ops@acme.example] -> [ops@acme.example sales@acme.example]`} {
			if !strings.Contains(got, want) {
				t.Errorf("audit lacks %q:\n%s", want, got)
			}
		}
		if !strings.Contains(got, "\n") && strings.Count(got, "updated") != 1 {
			t.Errorf("one entry per edit:\n%s", got)
		}
		// Loops and unknown parents are refused.
		back := f.acme.ID
		if _, err := f.wf.UpdatePartner(ctx, dist.ID, workflow.PartnerChange{Parent: &back}, "olga"); !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("loop: %v", err)
		}
		nobody := int64(999)
		if _, err := f.wf.UpdatePartner(ctx, f.acme.ID, workflow.PartnerChange{Parent: &nobody}, "olga"); !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("unknown parent: %v", err)
		}
		none := int64(0)
		p, err = f.wf.UpdatePartner(ctx, f.acme.ID, workflow.PartnerChange{Parent: &none}, "olga")
		if err != nil || p.ParentID != nil {
			t.Errorf("removing the parent: %+v %v", p, err)
		}
		v, err := f.wf.Partner(ctx, dist.ID)
		storetest.Must(t, err)
		if len(v.Children) != 0 {
			t.Errorf("children after removing the parent: %+v", v.Children)
		}
	})
}

// A suspended partner's mail is unknown_sender; the suspension is audited
// with its reason, and activate reverses it.
func TestSuspendPartner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		if err := f.wf.SuspendPartner(ctx, f.acme.ID, "olga", " "); !errors.Is(err, workflow.ErrInvalid) {
			t.Errorf("suspend without a reason: %v", err)
		}
		storetest.Must(t, f.wf.SuspendPartner(ctx, f.acme.ID, "olga", "contract ended"))
		if err := f.wf.SuspendPartner(ctx, f.acme.ID, "olga", "again"); !errors.Is(err, workflow.ErrState) {
			t.Errorf("suspend twice: %v", err)
		}
		res := f.deliver(request("Sarah <ops@acme.example>", "s1@acme.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		if r := f.request(res.RequestID); r.State != store.StateRejected || !strings.HasPrefix(f.findings(res.RequestID), workflow.FindUnknownSender) {
			t.Errorf("mail of a suspended partner: %s %s", r.State, f.findings(res.RequestID))
		}
		storetest.Must(t, f.wf.ActivatePartner(ctx, f.acme.ID, "olga"))
		res = f.deliver(request("Sarah <ops@acme.example>", "s2@acme.example", "Globex Corporation", "Organization ID: "+orgGlobex))
		if r := f.request(res.RequestID); r.State != store.StatePendingApproval {
			t.Errorf("mail after activate: %s %s", r.State, f.findings(res.RequestID))
		}
		got := subjectAudit(t, st, "partner:"+itoa(f.acme.ID))
		for _, want := range []string{"ops:olga active>suspended partner:" + itoa(f.acme.ID) + " suspended: contract ended",
			"ops:olga suspended>active partner:" + itoa(f.acme.ID) + " activated"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit lacks %q:\n%s", want, got)
			}
		}
		v, err := f.wf.Partner(ctx, f.acme.ID)
		storetest.Must(t, err)
		if len(v.Requests) != 2 || v.Requests[0].ID != res.RequestID {
			t.Errorf("recent requests on the partner's view: %+v", v.Requests)
		}
	})
}
