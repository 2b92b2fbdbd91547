package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// withoutAction replaces the request table, for the test, by one without
// the rows of action.
func withoutAction(t *testing.T, action string) {
	saved := workflow.Requests
	t.Cleanup(func() { workflow.Requests = saved })
	m := saved
	m.Transitions = nil
	for _, tr := range saved.Transitions {
		if tr.Action != action {
			m.Transitions = append(m.Transitions, tr)
		}
	}
	workflow.Requests = m
}

// TestConsoleButtonsFollowTheTable: the request page shows an action's
// button only where the transition table allows the action, and the
// action itself is refused there too.
func TestConsoleButtonsFollowTheTable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		path := fmt.Sprintf("/ops/requests/%d", id)
		r := c.get(path)
		contains(t, "pending_approval", r.Body, `id="approve"`, `id="reject"`)
		lacks(t, "pending_approval", r.Body, `id="resend"`, `id="revoke"`)
		v := version(t, r.Body)

		// A table without approve rows: no approve button, and approving
		// is refused although the request waits in the queue.
		withoutAction(t, workflow.ActApprove)
		r = c.get(path)
		lacks(t, "pending_approval without approve rows", r.Body, `id="approve"`)
		contains(t, "pending_approval without approve rows", r.Body, `id="reject"`)
		if r := c.post(path+"/approve", url.Values{"version": {v}}); r.Status != http.StatusConflict {
			t.Errorf("approve not in the table: %d, want 409", r.Status)
		}
		if got := f.request(id).State; got != store.StatePendingApproval {
			t.Errorf("state after the refused approve: %s", got)
		}

		// Without any action allowed, no Actions section at all.
		withoutAction(t, workflow.ActReject)
		r = c.get(path)
		lacks(t, "pending_approval without actions", r.Body, `id="approve"`, `id="reject"`, "<h2>Actions</h2>")
	})
}
