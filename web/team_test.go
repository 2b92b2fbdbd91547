package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// The team page is for admins only; an admin cannot lock themselves out
// (disable themselves or drop their role), and a refused change says why
// and changes nothing.
func TestConsoleTeamRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		const approver = "anna@onboarding.example"
		_, err := f.wf.AddOpsUserAs(ctx, approver, opsPassword, workflow.RoleApprover, bcrypt.MinCost)
		storetest.Must(t, err)
		me, err := st.Q(ctx).OpsUserByEmail(opsEmail)
		storetest.Must(t, err)
		self := "/ops/team/" + strconv.FormatInt(me.ID, 10)

		// An approver may neither see nor change the team.
		a := f.client()
		if r := a.post("/ops/login", url.Values{"email": {approver}, "password": {opsPassword}}); r.Status != http.StatusSeeOther {
			t.Fatalf("approver login: %d", r.Status)
		}
		if r := a.get("/ops/team"); r.Status != http.StatusForbidden {
			t.Errorf("team page for an approver: %d", r.Status)
		}
		if r := a.post(self+"/disable", nil); r.Status != http.StatusForbidden {
			t.Errorf("an approver disabling: %d", r.Status)
		}
		if r := a.post("/ops/team", url.Values{"email": {"x@onboarding.example"}, "role": {"admin"}, "password": {opsPassword}}); r.Status != http.StatusForbidden {
			t.Errorf("an approver adding: %d", r.Status)
		}

		c := f.client()
		c.login()
		for _, action := range []string{"disable", "role"} {
			r := c.post(self+"/"+action, url.Values{"role": {"viewer"}})
			if r.Status != http.StatusConflict {
				t.Errorf("%s oneself: %d", action, r.Status)
			}
			contains(t, action+" oneself", r.Body, "you cannot disable yourself or change your own role")
		}
		if u, _ := st.Q(ctx).OpsUserByEmail(opsEmail); u.DisabledAt != nil || u.Role != workflow.RoleAdmin {
			t.Errorf("after refused changes the admin is %s, disabled %v", u.Role, u.DisabledAt)
		}

		// An address that exists already, and an unknown role.
		r := c.post("/ops/team", url.Values{"email": {approver}, "role": {"viewer"}, "password": {opsPassword}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("adding a user twice: %d", r.Status)
		}
		contains(t, "adding a user twice", r.Body, "Nothing was saved", "exists already", `value="`+approver+`"`)
		r = c.post("/ops/team", url.Values{"email": {"new@onboarding.example"}, "role": {"root"}, "password": {opsPassword}})
		contains(t, "unknown role", r.Body, "Nothing was saved", "unknown role")
		if _, err := st.Q(ctx).OpsUserByEmail("new@onboarding.example"); err == nil {
			t.Error("a user with an unknown role was stored")
		}
		if r := c.post(self+"/promote", nil); r.Status != http.StatusNotFound {
			t.Errorf("unknown action: %d", r.Status)
		}
		if r := c.post("/ops/team/999/disable", nil); r.Status != http.StatusNotFound {
			t.Errorf("unknown user: %d", r.Status)
		}
	})
}
