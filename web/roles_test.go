package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// loginAs adds an ops user with a role and logs a new client in as them.
func (f *fixture) loginAs(email, role string) *client {
	f.t.Helper()
	_, err := f.wf.AddOpsUserAs(context.Background(), email, opsPassword, role, bcrypt.MinCost)
	storetest.Must(f.t, err)
	c := f.client()
	r := c.post("/ops/login", url.Values{"email": {email}, "password": {opsPassword}, "next": {"/ops/"}})
	if r.Status != http.StatusSeeOther {
		f.t.Fatalf("login as %s: %d", email, r.Status)
	}
	return c
}

// A viewer reads every page but sees no action, and each POST is refused
// with 403 and changes nothing; the role counts from the next page on.
func TestConsoleViewerMayNotAct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		admin := f.client()
		admin.login()
		viewer := f.loginAs("vera@onboarding.example", workflow.RoleViewer)
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN)
		path := fmt.Sprintf("/ops/requests/%d", id)

		r := admin.get(path)
		contains(t, "admin's request page", r.Body, `id="approve"`, `id="reject"`, "(admin)")
		v := version(t, r.Body)

		r = viewer.get(path)
		if r.Status != http.StatusOK {
			t.Fatalf("viewer's request page: %d", r.Status)
		}
		contains(t, "viewer's request page", r.Body, "pending_approval", "Northwind Traders Ltd", "(viewer)")
		lacks(t, "viewer's request page", r.Body, `id="approve"`, `id="reject"`, "/approve", "/reject", "<h2>Actions</h2>")
		for _, p := range []string{"/ops/", "/ops/messages", "/ops/outbox", "/ops/links"} {
			if r := viewer.get(p); r.Status != http.StatusOK {
				t.Errorf("viewer's %s: %d", p, r.Status)
			} else {
				lacks(t, p, r.Body, "/reprocess", "/retry")
			}
		}
		msgs, err := st.Q(ctx).RecentMessages("", 1)
		storetest.Must(t, err)

		auditBefore, _ := st.Q(ctx).Audit(id)
		for _, p := range []string{path + "/approve", path + "/reject", path + "/resend", path + "/revoke", path + "/clear-fraud",
			fmt.Sprintf("/ops/messages/%d/reprocess", msgs[0].ID), "/ops/outbox/1/retry"} {
			r := viewer.post(p, url.Values{"version": {v}, "reason": {"no"}, "note": {"ok"}, "organization_id": {orgEN}})
			if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "needs the role approver") {
				t.Errorf("viewer's POST %s: %d", p, r.Status)
			}
		}
		if got := f.request(id).State; got != store.StatePendingApproval {
			t.Fatalf("a viewer's POST moved the request to %s", got)
		}
		if after, _ := st.Q(ctx).Audit(id); len(after) != len(auditBefore) {
			t.Errorf("a viewer's POST wrote audit entries: %+v", after[len(auditBefore):])
		}

		// Made an approver, the same session sees and uses the buttons.
		storetest.Must(t, f.wf.SetOpsUserRole(ctx, "vera@onboarding.example", workflow.RoleApprover, "admin"))
		r = viewer.get(path)
		contains(t, "approver's request page", r.Body, `id="approve"`, "(approver)")
		if r := viewer.post(path+"/approve", url.Values{"version": {version(t, r.Body)}}); r.Status != http.StatusSeeOther {
			t.Fatalf("approver's approve: %d %s", r.Status, r.Body)
		}
		if got := f.request(id).State; got != store.StateInvited {
			t.Errorf("after the approver's approval: %s", got)
		}
	})
}

// Four eyes in the console: the first approval shows "approved 1 of 2 by
// X" on the request page and in the queue, the same user cannot give the
// second, another user's approval approves.
func TestConsoleFourEyes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		first := f.client()
		first.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind", orgEN) // name_mismatch
		path := fmt.Sprintf("/ops/requests/%d", id)

		r := first.get(path)
		contains(t, "request page", r.Body, `id="four-eyes"`, "need approvals by two different ops users")
		r = first.post(path+"/approve", url.Values{"version": {version(t, r.Body)}})
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "done=approve1") {
			t.Fatalf("first approval: %d %s", r.Status, r.Header.Get("Location"))
		}
		if got := f.request(id).State; got != store.StatePendingApproval {
			t.Fatalf("after the first approval: %s", got)
		}
		r = first.get(path + "?done=approve1")
		contains(t, "request page", r.Body, "approved 1 of 2 by "+opsEmail, "Approved 1 of 2", `id="approve"`)
		contains(t, "queue", first.get("/ops/").Body, "approved 1 of 2 by "+opsEmail)

		r = first.post(path+"/approve", url.Values{"version": {version(t, r.Body)}})
		if r.Status != http.StatusConflict || !strings.Contains(r.Body, "approved it already") {
			t.Fatalf("same user's second approval: %d", r.Status)
		}
		if got := f.request(id).State; got != store.StatePendingApproval {
			t.Fatalf("after the refused approval: %s", got)
		}

		second := f.loginAs("piet@onboarding.example", workflow.RoleApprover)
		r = second.get(path)
		r = second.post(path+"/approve", url.Values{"version": {version(t, r.Body)}})
		if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "done=approve") {
			t.Fatalf("second approval: %d", r.Status)
		}
		if got := f.request(id).State; got != store.StateInvited {
			t.Fatalf("after the second approval: %s", got)
		}
	})
}
