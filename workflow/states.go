package workflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onboarder/onboarder/store"
)

// The transition table: which state may follow which, for requests, links
// and organizations, and which ops action (console button, CLI command)
// makes which move. workflow moves requests and links only through
// txn.moveRequest, txn.recordLink and txn.moveLink below, which refuse a
// move the table does not list; the ops actions ask CanRequest and
// CanLink; the console shows a button only where RequestView.Can says so;
// and
// docs/state_machine.md is rendered from this table (TestStateMachineDoc
// keeps it so: `go test ./workflow -run TestStateMachineDoc -update`).
//
// A new state or flow starts here: add its rows (Planned while no code
// makes them), then the code, then drop Planned.

// Actors: who makes a transition.
const (
	ByPartner   = "partner"
	ByCustomer  = "customer" // the organization's administrator
	ByReseller  = "reseller" // a distributor's reseller (tier 2)
	ByOps       = "ops"
	BySystem    = "system" // checks, timers
	ByDirectory = "directory"
)

// Transition is one row of the table: a move From one state To another
// ("" From: the record is created in To).
type Transition struct {
	From, To string
	By       string // ByPartner, ByOps, …
	// Action is the ops action that makes the move (ActApprove, …), ""
	// when it is not one.
	Action string
	// When says what makes the move, one line for the docs.
	When string
	// Planned: product.md (turn 2) describes the move, no code makes it
	// yet; the guard refuses it until the flow is built.
	Planned bool
}

// State is one state of a machine with its meaning.
type State struct {
	Name, Meaning string
	Planned       bool // product.md (turn 2); nothing enters it yet
}

// Machine is the table of one kind of record.
type Machine struct {
	Kind        string // "request", "link", "organization"
	States      []State
	Transitions []Transition
}

// Requests is the request machine.
var Requests = Machine{
	Kind: "request",
	States: []State{
		{Name: store.StateNeedsInfo, Meaning: "waits for the partner's answer (Organization ID missing, malformed or ambiguous)"},
		{Name: store.StatePendingPartner, Meaning: "a customer asked for a partner; waits for the partner's consent"},
		{Name: store.StatePendingReseller, Meaning: "a distributor asked for one of its resellers; waits for the reseller's confirmation"},
		{Name: store.StatePendingApproval, Meaning: "checked; waits for ops (the queue)"},
		{Name: store.StateInvited, Meaning: "approved; the administrator's invitation is out"},
		{Name: store.StateCompleted, Meaning: "the administrator accepted; the link is active (final)"},
		{Name: store.StateDeclined, Meaning: "the administrator declined the invitation (or the partner a customer's request, or the reseller its distributor's) (final)"},
		{Name: store.StateExpired, Meaning: "nobody answered in time (final)"},
		{Name: store.StateRejected, Meaning: "a check or ops refused it (final)"},
		{Name: store.StateCancelled, Meaning: "the partner cancelled it before the customer answered (final)"},
		{Name: store.StateDuplicate, Meaning: "the partner already has an open request or a live link for the organization (final)"},
	},
	Transitions: []Transition{
		// Born from a mail: the checks decide the first state.
		{From: "", To: store.StateNeedsInfo, By: BySystem, When: "a partner's request without a usable Organization ID (or, turn 2, with missing fields); an administrator naming an unknown or ambiguous partner"},
		{From: "", To: store.StatePendingApproval, By: BySystem, When: "a partner's request passed the checks (warnings go to ops)"},
		{From: "", To: store.StateRejected, By: BySystem, When: "a check refused it: unknown sender (for a customer's own request: not the organization's administrator), failed authentication, unknown or inactive organization, a reseller that is not the distributor's, or (new organization) one with its VAT ID exists"},
		{From: "", To: store.StateDuplicate, By: BySystem, When: "the partner already has an open request or a live link for the organization"},
		{From: "", To: store.StatePendingPartner, By: BySystem, When: "the organization's administrator asked to be connected to a known partner"},
		{From: "", To: store.StatePendingReseller, By: BySystem, When: "a distributor's request names one of its resellers (`Reseller ID:`)"},

		{From: store.StateNeedsInfo, To: store.StatePendingApproval, By: ByPartner, When: "the partner's reply gives the Organization ID (new organization: the corrected fields) and the checks pass"},
		{From: store.StateNeedsInfo, To: store.StateRejected, By: ByPartner, When: "the partner's reply names an unknown or inactive organization (new organization: gives a VAT ID an organization has)"},
		{From: store.StateNeedsInfo, To: store.StateDuplicate, By: ByPartner, When: "the partner's reply names an organization it already asked for or is linked to"},
		{From: store.StateNeedsInfo, To: store.StatePendingPartner, By: ByCustomer, When: "the administrator's reply names a known partner"},
		{From: store.StateNeedsInfo, To: store.StateDuplicate, By: ByCustomer, When: "the administrator's reply names a partner already linked to or asked for the organization"},
		{From: store.StateNeedsInfo, To: store.StatePendingReseller, By: ByPartner, When: "a distributor's reply completes a request for one of its resellers"},
		{From: store.StateNeedsInfo, To: store.StateRejected, By: ByOps, Action: ActReject, When: "ops reject it, with a reason for the partner"},
		{From: store.StateNeedsInfo, To: store.StateExpired, By: BySystem, When: "14 days without an answer (chased once after 3; ONBOARDER_NEEDS_INFO_EXPIRE_AFTER, ONBOARDER_NEEDS_INFO_CHASE_AFTER)"},
		{From: store.StateNeedsInfo, To: store.StateCancelled, By: ByPartner, When: "the partner replies `cancel`"},

		{From: store.StatePendingPartner, To: store.StatePendingApproval, By: ByPartner, When: "the partner accepts on its link"},
		{From: store.StatePendingPartner, To: store.StateDeclined, By: ByPartner, When: "the partner declines on its link (its message goes to the administrator)"},
		{From: store.StatePendingPartner, To: store.StateRejected, By: ByOps, Action: ActReject, When: "ops reject it (the administrator is told)"},
		{From: store.StatePendingPartner, To: store.StateExpired, By: BySystem, When: "the partner's consent links expired unanswered (ONBOARDER_CONSENT_TTL; its contacts reminded once 3 days before); the administrator is told"},

		{From: store.StatePendingReseller, To: store.StatePendingApproval, By: ByReseller, When: "the reseller confirms on its link"},
		{From: store.StatePendingReseller, To: store.StateDeclined, By: ByReseller, When: "the reseller declines on its link (its message goes to the distributor)"},
		{From: store.StatePendingReseller, To: store.StateRejected, By: ByOps, Action: ActReject, When: "ops reject it"},
		{From: store.StatePendingReseller, To: store.StateCancelled, By: ByPartner, When: "the distributor replies `cancel`"},
		{From: store.StatePendingReseller, To: store.StateExpired, By: BySystem, When: "the reseller's confirmation links expired unanswered (ONBOARDER_CONSENT_TTL; its contacts reminded once 3 days before); the distributor is told"},

		{From: store.StatePendingApproval, To: store.StatePendingApproval, By: ByDirectory, When: "the organization directory answers after being down: the checks finish, warnings are recorded"},
		{From: store.StatePendingApproval, To: store.StateRejected, By: ByDirectory, When: "the directory, answering after being down, does not know the organization or says it is inactive"},
		{From: store.StatePendingApproval, To: store.StateDuplicate, By: ByDirectory, When: "the directory, answering after being down, resolves the ID to an organization the partner already asked for"},
		{From: store.StatePendingApproval, To: store.StateInvited, By: ByOps, Action: ActApprove, When: "ops approve (or the system, for a trusted partner's clean request): link invited, invitation out"},
		{From: store.StatePendingApproval, To: store.StateCompleted, By: ByOps, Action: ActApprove, When: "ops approve a customer's own request: both sides consented, the link is active at once"},
		{From: store.StatePendingApproval, To: store.StateRejected, By: ByOps, Action: ActReject, When: "ops reject it, with a reason for the partner"},
		{From: store.StatePendingApproval, To: store.StateCancelled, By: ByPartner, When: "the partner replies `cancel`"},

		{From: store.StateInvited, To: store.StateInvited, By: ByOps, Action: ActResend, When: "ops resend the invitation: a new token, the old one stops working (one per organization per hour)"},
		{From: store.StateInvited, To: store.StateCompleted, By: ByCustomer, When: "the administrator accepts: link active"},
		{From: store.StateInvited, To: store.StateDeclined, By: ByCustomer, When: "the administrator declines (optionally reporting fraud)"},
		{From: store.StateInvited, To: store.StateExpired, By: BySystem, When: "the invitation expired unanswered (default 14 days)"},
		{From: store.StateInvited, To: store.StateRejected, By: ByOps, Action: ActReject, When: "ops reject it: the link is revoked, the invitation stops working"},
		{From: store.StateInvited, To: store.StateRejected, By: ByOps, Action: ActRevoke, When: "ops revoke the invited link"},
		{From: store.StateInvited, To: store.StateCancelled, By: ByPartner, When: "the partner replies `cancel` before the administrator answered: the link is revoked"},
	},
}

// Links is the link machine.
var Links = Machine{
	Kind: "link",
	States: []State{
		{Name: store.LinkInvited, Meaning: "recorded on approval; waits for the administrator"},
		{Name: store.LinkActive, Meaning: "the reseller relation holds"},
		{Name: store.LinkDeclined, Meaning: "the administrator declined (final)"},
		{Name: store.LinkExpired, Meaning: "the invitation, or (turn 2) the link's end date, passed (final)"},
		{Name: store.LinkRevoked, Meaning: "ops ended it, or rejected its request (final)"},
		{Name: store.LinkEnded, Meaning: "the partner, the administrator or ops ended an active link (final; who and why are kept)"},
	},
	Transitions: []Transition{
		{From: "", To: store.LinkInvited, By: ByOps, Action: ActApprove, When: "ops approve the request"},
		{From: "", To: store.LinkActive, By: ByOps, Action: ActApprove, When: "ops approve a customer's own request (both sides consented)"},
		{From: store.LinkInvited, To: store.LinkActive, By: ByCustomer, When: "the administrator accepts"},
		{From: store.LinkInvited, To: store.LinkDeclined, By: ByCustomer, When: "the administrator declines"},
		{From: store.LinkInvited, To: store.LinkExpired, By: BySystem, When: "the invitation expired unanswered"},
		{From: store.LinkInvited, To: store.LinkRevoked, By: ByOps, Action: ActRevoke, When: "ops revoke it: the invitation stops working, the request is rejected"},
		{From: store.LinkInvited, To: store.LinkRevoked, By: ByOps, Action: ActReject, When: "ops reject its request"},
		{From: store.LinkInvited, To: store.LinkRevoked, By: ByPartner, When: "the partner cancels its request"},
		{From: store.LinkActive, To: store.LinkRevoked, By: ByOps, Action: ActRevoke, When: "ops revoke it"},
		{From: store.LinkActive, To: store.LinkEnded, By: ByPartner, When: "the partner mails `Please end reseller connection to customer <Name>`"},
		{From: store.LinkActive, To: store.LinkEnded, By: ByCustomer, When: "the administrator ends it on the \"manage your partners\" page"},
		{From: store.LinkActive, To: store.LinkEnded, By: ByOps, Action: ActEnd, When: "ops end it in the console or CLI"},
		{From: store.LinkActive, To: store.LinkExpired, By: BySystem, When: "its end date (`ends_at`, set by ops) is reached; reminders 30, 7 and 1 days before"},
	},
}

// Organizations is the organization machine. Statuses come from the
// directory (`orgs import`, the directory API); workflow itself moves
// only the organizations it created (turn 2).
var Organizations = Machine{
	Kind: "organization",
	States: []State{
		{Name: store.OrgInitializing, Meaning: "created in the directory for a new-organization request; waits for its administrator"},
		{Name: store.OrgActive, Meaning: "may be connected to a partner"},
		{Name: store.OrgSuspended, Meaning: "requests for it are rejected (organization_inactive)"},
		{Name: store.OrgDeleted, Meaning: "requests for it are rejected (organization_inactive)"},
	},
	Transitions: []Transition{
		{From: "", To: store.OrgActive, By: ByDirectory, When: "imported (`orgs import`) or answered by the directory API"},
		{From: "", To: store.OrgInitializing, By: ByOps, Action: ActApprove, When: "ops approve a new-organization request: created in the directory"},
		{From: store.OrgInitializing, To: store.OrgActive, By: ByCustomer, When: "the contact person accepts the invitation"},
		{From: store.OrgInitializing, To: store.OrgDeleted, By: ByCustomer, When: "the contact person declines the invitation"},
		{From: store.OrgInitializing, To: store.OrgDeleted, By: BySystem, When: "the contact person's invitation expires unanswered"},
		{From: store.OrgInitializing, To: store.OrgDeleted, By: ByOps, Action: ActReject, When: "ops reject the request before the contact person answered"},
		{From: store.OrgInitializing, To: store.OrgDeleted, By: ByOps, Action: ActRevoke, When: "ops revoke its invited link"},
		{From: store.OrgActive, To: store.OrgSuspended, By: ByDirectory, When: "the directory says so"},
		{From: store.OrgActive, To: store.OrgDeleted, By: ByDirectory, When: "the directory says so"},
		{From: store.OrgSuspended, To: store.OrgActive, By: ByDirectory, When: "the directory says so"},
		{From: store.OrgSuspended, To: store.OrgDeleted, By: ByDirectory, When: "the directory says so"},
	},
}

// Allows says whether the table lets a record move from one state to
// another: nil, or an error wrapping ErrState that says why not.
func (m Machine) Allows(from, to string) error {
	planned := false
	for _, t := range m.Transitions {
		if t.From == from && t.To == to {
			if !t.Planned {
				return nil
			}
			planned = true
		}
	}
	if planned {
		return fmt.Errorf("%s %s → %s is planned (product.md), not built yet: %w", m.Kind, stateName(from), to, ErrState)
	}
	return fmt.Errorf("%s %s → %s is not in the transition table: %w", m.Kind, stateName(from), to, ErrState)
}

// Can says whether ops action may be taken on a record in state: some
// row built today has that action from that state.
func (m Machine) Can(state, action string) bool {
	for _, t := range m.Transitions {
		if t.From == state && t.Action == action && !t.Planned {
			return true
		}
	}
	return false
}

// Open lists the states a record may still move on from (to another
// state), planned moves included, so that the unique index on open requests
// covers a state from the day it is added: store.OpenStates must agree.
func (m Machine) Open() []string {
	var out []string
	for _, s := range m.States {
		for _, t := range m.Transitions {
			if t.From == s.Name && t.To != s.Name {
				out = append(out, s.Name)
				break
			}
		}
	}
	return out
}

func stateName(s string) string {
	if s == "" {
		return "(new)"
	}
	return s
}

// CanRequest says whether ops action may be taken on a request in state
// (for ActRevoke, see CanLink: the action ends the request's link).
func CanRequest(state, action string) bool { return Requests.Can(state, action) }

// CanLink says whether ops action may be taken on a link in status.
func CanLink(status, action string) bool { return Links.Can(status, action) }

// moveRequest is the one way workflow moves a request, named apart from
// store's SetRequestState so that the guard shows at the call site: a move
// the transition table does not allow is refused (ErrState) before the
// store moves it (ErrConflict when it is no longer in from).
func (t *txn) moveRequest(id int64, from, to string, set map[string]any) error {
	if err := Requests.Allows(from, to); err != nil {
		return fmt.Errorf("moving %s: %w", store.Reference(id), err)
	}
	return t.Q.SetRequestState(id, from, to, set)
}

// allowLinkMove checks every status a link move may start from.
func allowLinkMove(id int64, from []string, to string) error {
	for _, f := range from {
		if err := Links.Allows(f, to); err != nil {
			return fmt.Errorf("moving link %d: %w", id, err)
		}
	}
	return nil
}

// recordLink records a new link: a status the transition table does not
// start links in is refused; with webhooks on, it writes the link's event.
func (t *txn) recordLink(l *store.Link) error {
	if err := Links.Allows("", l.Status); err != nil {
		return fmt.Errorf("recording link: %w", err)
	}
	if err := t.Q.InsertLink(l); err != nil {
		return err
	}
	return t.linkEvent(l.ID, "", "")
}

// moveLink is the one way workflow moves a link: a move the transition
// table does not allow is refused (ErrState) before the store moves it;
// with webhooks on, it writes the link's event.
func (t *txn) moveLink(id int64, from []string, to string) error {
	if err := allowLinkMove(id, from, to); err != nil {
		return err
	}
	prev := ""
	if t.s.opts.Webhooks {
		if l, err := t.Link(id); err == nil {
			prev = l.Status
		}
	}
	if err := t.Q.SetLinkStatus(id, from, to); err != nil {
		return err
	}
	if prev == to {
		return nil
	}
	return t.linkEvent(id, prev, "")
}

// Markdown renders the machine for docs/state_machine.md: its states, then
// every transition, built and planned.
func (m Machine) Markdown() string {
	var b strings.Builder
	title := strings.ToUpper(m.Kind[:1]) + m.Kind[1:]
	fmt.Fprintf(&b, "### %s states\n\n| state | meaning |\n| --- | --- |\n", title)
	for _, s := range m.States {
		meaning := s.Meaning
		if s.Planned {
			meaning += " *(planned)*"
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", s.Name, meaning)
	}
	fmt.Fprintf(&b, "\n### %s transitions\n\n| from | to | by | ops action | when | built |\n| --- | --- | --- | --- | --- | --- |\n", title)
	for _, t := range m.Transitions {
		from := "*(new)*"
		if t.From != "" {
			from = "`" + t.From + "`"
		}
		action, built := "", "yes"
		if t.Action != "" {
			action = "`" + t.Action + "`"
		}
		if t.Planned {
			built = "planned"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", from, t.To, t.By, action, t.When, built)
	}
	return b.String()
}

// Mermaid renders the machine's transitions as a Mermaid state diagram,
// each arrow labelled with who (or which ops action) makes it.
func (m Machine) Mermaid() string {
	var b strings.Builder
	b.WriteString("```mermaid\nstateDiagram-v2\n")
	seen := map[[2]string]bool{}
	for _, t := range m.Transitions {
		if t.From == t.To {
			continue
		}
		k := [2]string{t.From, t.To}
		if seen[k] {
			continue
		}
		seen[k] = true
		from := t.From
		if from == "" {
			from = "[*]"
		}
		var labels []string // who or which ops action, for every row of the pair
		for _, u := range m.Transitions {
			l := u.By
			if u.Action != "" {
				l = u.Action
			}
			if u.Planned {
				l += " (planned)"
			}
			if u.From == t.From && u.To == t.To && !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
		fmt.Fprintf(&b, "    %s --> %s: %s\n", from, t.To, strings.Join(labels, ", "))
	}
	b.WriteString("```\n")
	return b.String()
}

// StateMachineDoc is the generated part of docs/state_machine.md.
func StateMachineDoc() string {
	var b strings.Builder
	for i, m := range []Machine{Requests, Links, Organizations} {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(m.Mermaid())
		b.WriteString("\n")
		b.WriteString(m.Markdown())
	}
	return b.String()
}
