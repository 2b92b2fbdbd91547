package workflow_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

var update = flag.Bool("update", false, "rewrite docs/state_machine.md from the transition table")

const (
	docPath  = "../docs/state_machine.md"
	docBegin = "<!-- BEGIN generated from workflow/states.go: go test ./workflow -run TestStateMachineDoc -update -->\n"
	docEnd   = "<!-- END generated -->\n"
)

// TestStateMachineDoc: the docs' table is the Go table.
func TestStateMachineDoc(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q … %q", docPath, docBegin, docEnd)
	}
	want := workflow.StateMachineDoc()
	got := doc[i+len(docBegin) : j]
	if got == want {
		return
	}
	if *update {
		doc = doc[:i+len(docBegin)] + want + doc[j:]
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", docPath)
		return
	}
	t.Errorf("%s differs from the transition table (run go test ./workflow -run TestStateMachineDoc -update):\n%s",
		docPath, cmp.Diff(want, got))
}

// TestTransitionTableComplete: every state of the store (and of
// product.md) is in the table, every row names listed states and known
// actions, and the open states agree with store.OpenStates.
func TestTransitionTableComplete(t *testing.T) {
	for _, m := range []workflow.Machine{workflow.Requests, workflow.Links, workflow.Organizations} {
		var names []string
		for _, s := range m.States {
			names = append(names, s.Name)
		}
		if len(names) != len(storeConsts(m.Kind)) {
			t.Errorf("%s states %v; store has %v", m.Kind, names, storeConsts(m.Kind))
		}
		for _, want := range storeConsts(m.Kind) {
			if !slices.Contains(names, want) {
				t.Errorf("%s state %q of store is not in the table", m.Kind, want)
			}
		}
		for _, tr := range m.Transitions {
			if (tr.From != "" && !slices.Contains(names, tr.From)) || !slices.Contains(names, tr.To) {
				t.Errorf("%s row %+v names a state the table does not list", m.Kind, tr)
			}
			if tr.Action != "" && !slices.Contains([]string{workflow.ActApprove, workflow.ActReject, workflow.ActResend,
				workflow.ActRevoke, workflow.ActEnd}, tr.Action) {
				t.Errorf("%s row %+v: unknown action", m.Kind, tr)
			}
			if tr.By == "" || tr.When == "" {
				t.Errorf("%s row %+v: who and when are for the docs", m.Kind, tr)
			}
		}
	}
	product := []string{"needs_info", "pending_partner", "pending_reseller", "pending_approval", "invited", "completed",
		"declined", "expired", "rejected", "cancelled", "duplicate"}
	for _, s := range product {
		if !slices.ContainsFunc(workflow.Requests.States, func(st workflow.State) bool { return st.Name == s }) {
			t.Errorf("request state %s of product.md is not in the table", s)
		}
	}
	if diff := cmp.Diff(store.OpenStates, workflow.Requests.Open()); diff != "" {
		t.Errorf("store.OpenStates (and the unique index on open requests) disagree with the table's open states:\n%s", diff)
	}
}

// storeConsts lists store's state constants of one kind of record, which
// the table must all know.
func storeConsts(kind string) []string {
	switch kind {
	case "request":
		return []string{store.StateNeedsInfo, store.StatePendingPartner, store.StatePendingReseller,
			store.StatePendingApproval, store.StateInvited, store.StateCompleted, store.StateDeclined,
			store.StateExpired, store.StateRejected, store.StateCancelled, store.StateDuplicate}
	case "link":
		return []string{store.LinkInvited, store.LinkActive, store.LinkDeclined, store.LinkExpired,
			store.LinkRevoked, store.LinkEnded}
	case "organization":
		return []string{store.OrgInitializing, store.OrgActive, store.OrgSuspended, store.OrgDeleted}
	}
	return nil
}

// TestTransitionNotInTableRefused: a move the table does not list is
// refused before the store would make it (the store alone accepts it).
func TestTransitionNotInTableRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		id := f.pendingRequest()
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		storetest.Must(t, f.wf.Reject(ctx, id, "olga", "wrong customer"))

		// rejected is final: back to the queue is not in the table.
		err := f.wf.MoveRequestForTest(ctx, id, store.StateRejected, store.StatePendingApproval)
		if !errors.Is(err, workflow.ErrState) || !strings.Contains(err.Error(), "not in the transition table") {
			t.Fatalf("rejected → pending_approval: %v, want ErrState", err)
		}
		if got := f.request(id).State; got != store.StateRejected {
			t.Fatalf("state after the refused move: %s", got)
		}
		// Links: the revoked link cannot come back.
		l, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		if l.Status != store.LinkRevoked {
			t.Fatalf("link after reject: %s", l.Status)
		}
		if err := f.wf.MoveLinkForTest(ctx, l.ID, []string{store.LinkRevoked}, store.LinkActive); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("link revoked → active: %v, want ErrState", err)
		}
		// The store alone would have made both moves (as workflow did
		// before the table): the guard is what refuses them.
		storetest.Must(t, st.Transact(ctx, func(q *store.Q) error {
			if err := q.SetLinkStatus(l.ID, []string{store.LinkRevoked}, store.LinkActive); err != nil {
				return err
			}
			return q.SetRequestState(id, store.StateRejected, store.StatePendingApproval, nil)
		}))
	})
}

// TestOpsActionsFollowTheTable: each console action is allowed exactly
// where a built row of the table has it.
func TestOpsActionsFollowTheTable(t *testing.T) {
	want := map[string][]string{
		store.StateNeedsInfo:       {workflow.ActReject},
		store.StatePendingPartner:  {workflow.ActReject},
		store.StatePendingReseller: {workflow.ActReject},
		store.StatePendingApproval: {workflow.ActApprove, workflow.ActReject},
		store.StateInvited:         {workflow.ActReject, workflow.ActResend, workflow.ActRevoke},
	}
	for _, s := range workflow.Requests.States {
		var got []string
		for _, a := range []string{workflow.ActApprove, workflow.ActReject, workflow.ActResend, workflow.ActRevoke, workflow.ActEnd} {
			if workflow.CanRequest(s.Name, a) {
				got = append(got, a)
			}
		}
		if !reflect.DeepEqual(got, want[s.Name]) {
			t.Errorf("actions in %s: %v, want %v", s.Name, got, want[s.Name])
		}
	}
	if !workflow.CanLink(store.LinkActive, workflow.ActRevoke) || !workflow.CanLink(store.LinkActive, workflow.ActEnd) ||
		workflow.CanLink(store.LinkInvited, workflow.ActEnd) || workflow.CanLink(store.LinkEnded, workflow.ActEnd) ||
		workflow.CanLink(store.LinkRevoked, workflow.ActRevoke) {
		t.Errorf("link actions disagree with the table")
	}
}

// TestReadmeLifecycle: the README's lifecycle diagrams are the transition
// table's (requests, then links).
func TestReadmeLifecycle(t *testing.T) {
	const path, begin = "../README.md", "<!-- BEGIN generated from workflow/states.go: go test ./workflow -run TestReadmeLifecycle -update -->\n"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, begin)
	j := strings.Index(doc[max(i, 0):], docEnd) + max(i, 0)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q … %q", path, begin, docEnd)
	}
	want := "Requests:\n\n" + workflow.Requests.Mermaid() + "\nLinks:\n\n" + workflow.Links.Mermaid()
	got := doc[i+len(begin) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
		return
	}
	t.Errorf("%s's lifecycle diagrams differ from the transition table (run go test ./workflow -run TestReadmeLifecycle -update):\n%s",
		path, cmp.Diff(want, got))
}
