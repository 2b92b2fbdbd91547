package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// Roles: a user is added with one, a role change is audited, and the
// workflow refuses a console action of a role that may not act, changing
// nothing.
func TestOpsUserRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		const email, pw = "vera@provider.example", "correct horse battery"
		u, err := f.wf.AddOpsUserAs(ctx, email, pw, "Viewer", bcrypt.MinCost)
		storetest.Must(t, err)
		if u.Role != workflow.RoleViewer {
			t.Fatalf("role %q", u.Role)
		}
		if _, err := f.wf.AddOpsUserAs(ctx, "x@provider.example", pw, "root", bcrypt.MinCost); err == nil {
			t.Error("unknown role accepted")
		}
		_, su, err := f.wf.Login(ctx, email, pw)
		storetest.Must(t, err)
		if su.Role != workflow.RoleViewer {
			t.Errorf("login gives role %q", su.Role)
		}

		id := f.pendingRequest()
		v, err := f.wf.Request(ctx, id)
		storetest.Must(t, err)
		for _, role := range []string{workflow.RoleViewer, "", "root"} {
			err := f.wf.Act(ctx, id, workflow.Action{Kind: workflow.ActApprove, By: email, Role: role, Version: v.Version})
			if !errors.Is(err, workflow.ErrForbidden) {
				t.Errorf("approve as %q: %v", role, err)
			}
			err = f.wf.Act(ctx, id, workflow.Action{Kind: workflow.ActReject, By: email, Role: role, Text: "no", Version: v.Version})
			if !errors.Is(err, workflow.ErrForbidden) {
				t.Errorf("reject as %q: %v", role, err)
			}
		}
		viewer := workflow.ConsoleUser{Email: email, Role: workflow.RoleViewer}
		if _, err := f.wf.ConsoleClearFraud(ctx, viewer, orgGlobex, "checked", id); !errors.Is(err, workflow.ErrForbidden) {
			t.Errorf("clear fraud as viewer: %v", err)
		}
		if err := f.wf.ConsoleRetryOutbox(ctx, viewer, 1); !errors.Is(err, workflow.ErrForbidden) {
			t.Errorf("retry as viewer: %v", err)
		}
		if _, err := f.wf.ConsoleReprocess(ctx, viewer, 1); !errors.Is(err, workflow.ErrForbidden) {
			t.Errorf("reprocess as viewer: %v", err)
		}
		if err := workflow.RequireAdmin(workflow.ConsoleUser{Email: email, Role: workflow.RoleApprover}, "x"); !errors.Is(err, workflow.ErrForbidden) {
			t.Errorf("approver as admin: %v", err)
		}
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("refused actions moved the request to %s", r.State)
		}
		if a, _ := st.Q(ctx).Audit(id); len(a) != 1 {
			t.Fatalf("refused actions left audit entries: %+v", a)
		}

		storetest.Must(t, f.wf.SetOpsUserRole(ctx, email, "approver", "admin@provider.example"))
		if err := f.wf.SetOpsUserRole(ctx, email, "approver", "admin@provider.example"); !errors.Is(err, workflow.ErrState) {
			t.Errorf("same role again: %v", err)
		}
		if err := f.wf.SetOpsUserRole(ctx, email, "superuser", ""); err == nil {
			t.Error("unknown role set")
		}
		if err := f.wf.SetOpsUserRole(ctx, "nobody@provider.example", "admin", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
		audit, err := st.Q(ctx).OpsUserAudit(email)
		storetest.Must(t, err)
		last := audit[len(audit)-1]
		if last.Actor != "ops:admin@provider.example" || last.FromState != "viewer" || last.ToState != "approver" ||
			!strings.Contains(last.Reason, "role viewer -> approver") {
			t.Errorf("role audit %+v", last)
		}
		// The new role counts at once (no new login): the approver acts.
		storetest.Must(t, f.wf.Act(ctx, id, workflow.Action{Kind: workflow.ActApprove, By: email, Role: workflow.RoleApprover, Version: v.Version}))
		if r := f.request(id); r.State != store.StateInvited {
			t.Errorf("approver's approval: %s", r.State)
		}
	})
}

// Four eyes: a request with a configured finding needs two different ops
// users; the first approval is recorded and audited and sends nothing, the
// same user cannot give the second, the system actor never counts, and
// another user's approval approves.
func TestFourEyes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		res := f.deliver(request("Sarah <ops@acme.example>", "fe1@acme.example", "Umbrella Ltd", "Organization ID: "+orgGlobex))
		id := res.RequestID
		if got := f.findings(id); !strings.Contains(got, workflow.FindNameMismatch) {
			t.Fatalf("setup: findings %q", got)
		}
		outBefore := len(f.outbox(id))

		storetest.Must(t, f.wf.Approve(ctx, id, "Olga", "fine"))
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("after the first approval: %s", r.State)
		}
		if n := len(f.outbox(id)); n != outBefore {
			t.Errorf("the first approval queued %d mails", n-outBefore)
		}
		if _, err := st.Q(ctx).LinkForRequest(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("link after the first approval: %v", err)
		}
		audit, _ := st.Q(ctx).Audit(id)
		last := audit[len(audit)-1]
		if last.Actor != "ops:Olga" || last.ToState != store.StatePendingApproval || !strings.Contains(last.Reason, "approved 1 of 2 by olga") {
			t.Errorf("first approval audit %+v", last)
		}
		v, err := f.wf.Request(ctx, id)
		storetest.Must(t, err)
		if !v.FourEyes.Waiting() || v.FourEyes.By() != "olga" || !strings.Contains(strings.Join(v.FourEyes.Findings, ","), workflow.FindNameMismatch) {
			t.Errorf("view %+v", v.FourEyes)
		}
		pg, err := f.wf.Queue(ctx, store.RequestList{State: "open"}, store.Paging{})
		storetest.Must(t, err)
		items := pg.Items
		if len(items) != 1 || !items[0].FourEyes.Waiting() {
			t.Errorf("queue %+v", items)
		}

		err = f.wf.Approve(ctx, id, "olga", "")
		if !errors.Is(err, workflow.ErrSecondApprover) || !errors.Is(err, workflow.ErrState) || !strings.Contains(err.Error(), "approved it already") {
			t.Errorf("same user again: %v", err)
		}
		if err := f.wf.Approve(ctx, id, "system", ""); !errors.Is(err, workflow.ErrState) {
			t.Errorf("system as second: %v", err)
		}
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("refused approvals moved it to %s", r.State)
		}
		step, err := f.wf.ApproveStep(ctx, id, workflow.Approval{By: "piet"})
		storetest.Must(t, err)
		if step.FirstOfTwo {
			t.Error("second approval reported as the first")
		}
		if r := f.request(id); r.State != store.StateInvited {
			t.Fatalf("after the second approval: %s", r.State)
		}
		if !strings.Contains(f.kinds(id), templates.KindInvitation) {
			t.Errorf("mails %s", f.kinds(id))
		}

	})
}

// With ONBOARDER_FOUR_EYES_FINDINGS=none one approval is enough.
func TestFourEyesOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.FourEyesFindings = []string{} })
		res := f.deliver(request("Sarah <ops@acme.example>", "fe3@acme.example", "Umbrella Ltd", "Organization ID: "+orgGlobex))
		storetest.Must(t, f.wf.Approve(context.Background(), res.RequestID, "olga", ""))
		if r := f.request(res.RequestID); r.State != store.StateInvited {
			t.Fatalf("one approval without the rule: %s", r.State)
		}
	})
}
