package cli

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

func cmdRequestsList(e *env) error {
	fs := flag.NewFlagSet("requests list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	state := fs.String("state", "", "only requests in this state")
	partner := fs.Int64("partner", 0, "only requests of this partner id")
	if _, err := e.flags(fs); err != nil {
		return err
	}
	// A mistyped state would list nothing and look like "no such requests".
	if *state != "" {
		var names []string
		for _, s := range workflow.Requests.States {
			names = append(names, s.Name)
		}
		if !slices.Contains(names, *state) {
			return usagef("--state %q is no request state: use one of %s", *state, strings.Join(names, ", "))
		}
	}
	if err := e.open(); err != nil {
		return err
	}
	q := e.st.Q(e.ctx)
	rs, err := q.ListRequests(store.RequestFilter{State: *state, PartnerID: *partner})
	if err != nil {
		return err
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	fds, err := q.FindingsFor(ids)
	if err != nil {
		return err
	}
	toJSON := func(r store.Request) jsonRequest { return requestJSON(r, names, fds[r.ID]) }
	return printList(e, *asJSON, rs, toJSON, "REFERENCE\tSTATE\tPARTNER\tCUSTOMER\tORGANIZATION\tFINDINGS\tRECEIVED", func(r store.Request) string {
		var codes []string
		for _, f := range fds[r.ID] {
			codes = append(codes, f.Code)
		}
		partner := "-"
		if r.PartnerID != nil {
			partner = names[*r.PartnerID]
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Reference(), r.State, partner, orDash(r.CustomerName),
			orDash(deref(r.OrganizationID)), orDash(strings.Join(codes, ",")), r.ReceivedAt.Format(time.DateTime))
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdRequestsShow(e *env) error {
	fs := flag.NewFlagSet("requests show", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	id, err := record(e, fs, requestArg)
	if err != nil {
		return err
	}
	v, err := e.wf.Request(e.ctx, id)
	if err != nil {
		return explain(err, "showing "+store.Reference(id))
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	j := requestJSON(v.Request, names, v.Findings)
	rc := v.Recipient
	show := jsonRequestShow{jsonRequest: j, Mails: []jsonOutbox{}, Audit: []jsonAudit{},
		SuggestedContact: nullable(rc.Suggested), SuggestedRefused: nullable(rc.SuggestedRefused)}
	for _, m := range v.Mails {
		show.Mails = append(show.Mails, outboxJSON(m))
	}
	for _, a := range v.Audit {
		show.Audit = append(show.Audit, jsonAudit{At: ts(a.At), Actor: a.Actor, From: nullable(a.FromState), To: nullable(a.ToState), Reason: a.Reason})
	}
	customerFirst := v.Request.Kind == store.KindCustomerFirst
	if rc.Email != "" && !customerFirst { // a customer's own request invites nobody
		show.InviteRecipient = &jsonRecipient{Email: rc.Email, Name: nullable(rc.Name), Source: rc.Source}
	}
	if *asJSON {
		return writeJSON(e.stdout, show)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s  %s\n", j.Reference, j.State)
	partner := "-"
	if j.Partner != nil {
		partner = fmt.Sprintf("%s (%d)", j.Partner.Name, j.Partner.ID)
	}
	fmt.Fprintf(w, "  partner:       %s\n  sender:        %s\n  customer:      %s\n  organization:  %s\n  received:      %s\n",
		partner, j.Sender, orDash(j.CustomerName), orDash(deref(j.OrganizationID)), j.ReceivedAt)
	if j.Kind == store.KindNewOrganization {
		nf := workflow.NewOrgFields(v.Request)
		fmt.Fprintf(w, "  new organization: %s, %s, %s %s, %s; VAT ID %s\n  contact person:  %s %s <%s>\n",
			orDash(nf.CompanyName), orDash(nf.Street), nf.Postcode, orDash(nf.City), orDash(nf.Country), orDash(nf.VatID),
			nf.ContactFirstName, nf.ContactLastName, orDash(nf.ContactEmail))
	}
	if customerFirst {
		fmt.Fprintf(w, "  on approval:   %s\n", customerFirstLine(v.Request.State))
	} else {
		fmt.Fprintf(w, "  invitation to: %s\n", recipientLine(rc))
	}
	if rc.Suggested != "" && !customerFirst {
		fmt.Fprintf(w, "  contact suggested by the partner: %s (%s)\n", rc.Suggested,
			orText(rc.SuggestedRefused, "not invited unless you approve with --invite-contact "+rc.Suggested))
	}
	fmt.Fprintln(w, "findings:")
	for _, f := range j.Findings {
		fmt.Fprintf(w, "  %s: %s\n", f.Code, f.Detail)
	}
	fmt.Fprintln(w, "mails:")
	for _, m := range show.Mails {
		fmt.Fprintf(w, "  #%d %s to %s: %s (attempts %d)\n", m.ID, m.Kind, strings.Join(m.To, ", "), m.Status, m.Attempts)
	}
	fmt.Fprintln(w, "audit:")
	for _, a := range show.Audit {
		fmt.Fprintf(w, "  %s %s %s -> %s: %s\n", a.At, a.Actor, orDash(deref(a.From)), orDash(deref(a.To)), a.Reason)
	}
	return nil
}

// recipientLine names an invitation's recipient and where the address
// came from.
func recipientLine(rc workflow.Recipient) string {
	switch {
	case rc.Email == "":
		return "nobody yet: the directory has no administrator address"
	case rc.Source == store.RecipientSuggested:
		return rc.Email + " (the contact the partner suggested, picked by ops)"
	case rc.Name != "":
		return fmt.Sprintf("%s <%s> (the directory's administrator)", rc.Name, rc.Email)
	}
	return rc.Email + " (the directory's administrator)"
}

// customerFirstLine says what approving an administrator's own request
// does: no invitation, both sides have consented.
func customerFirstLine(state string) string {
	switch state {
	case store.StateNeedsInfo:
		return "nothing yet: the administrator must name a known partner, which then accepts on its link"
	case store.StatePendingPartner:
		return "nothing yet: the partner must first accept on its link; then ops approve and the link becomes active at once (no invitation)"
	case store.StatePendingApproval:
		return "the link becomes active at once (the administrator asked, the partner accepted: no invitation); both are told"
	case store.StateCompleted:
		return "done: the link became active at once, without an invitation"
	}
	return "no invitation: the administrator asked for the partner themselves"
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func cmdRequestsApprove(e *env) error {
	fs := flag.NewFlagSet("requests approve", flag.ContinueOnError)
	by := fs.String("by", "", "who approves (recorded in the audit trail)")
	note := fs.String("note", "", "a note for the partner and the audit trail")
	contact := fs.String("invite-contact", "", "invite this address, the contact the partner suggested, when the directory has no administrator address (audited; never an address of the partner's)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := requestArg(pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required: say who approves")
	}
	if err := e.open(); err != nil {
		return err
	}
	step, err := e.wf.ApproveStep(e.ctx, id, workflow.Approval{By: *by, Note: *note, InviteContact: *contact})
	if err != nil {
		return explain(err, "approving "+store.Reference(id))
	}
	if step.FirstOfTwo {
		fmt.Fprintf(e.stdout, "%s approved 1 of 2 by %s: its findings need a second ops user's approval (requests approve %s --by OTHER); nothing is sent until then\n",
			store.Reference(id), strings.ToLower(strings.TrimSpace(*by)), store.Reference(id))
		return nil
	}
	if r, err := e.wf.Store().Q(e.ctx).Request(id); err == nil && r.Kind == store.KindCustomerFirst {
		fmt.Fprintf(e.stdout, "%s approved: both sides consented, the link is active; the partner and the administrator are told\n", store.Reference(id))
		return nil
	}
	rc, err := e.wf.InviteRecipient(e.ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s approved: invitation queued for %s\n", store.Reference(id), recipientLine(rc))
	return nil
}

func cmdRequestsReject(e *env) error {
	fs := flag.NewFlagSet("requests reject", flag.ContinueOnError)
	id, by, reason, err := recordByReason(e, fs, requestArg, "who rejects (recorded in the audit trail)", "why (sent to the partner)")
	if err != nil {
		return err
	}
	if err := e.wf.Reject(e.ctx, id, by, reason); err != nil {
		return explain(err, "rejecting "+store.Reference(id))
	}
	fmt.Fprintf(e.stdout, "%s rejected: the partner will be told\n", store.Reference(id))
	return nil
}
