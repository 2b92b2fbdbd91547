package cli

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

func cmdPartnersAdd(e *env) error {
	fs := flag.NewFlagSet("partners add", flag.ContinueOnError)
	name := fs.String("name", "", "the partner's name")
	ref := fs.String("ref", "", "external reference, e.g. an MPN ID")
	locale := fs.String("locale", "en", "en or de")
	trusted := fs.Bool("trusted", false, "requests may be approved automatically (with ONBOARDER_AUTO_APPROVE_TRUSTED)")
	parent := fs.Int64("parent", 0, "the parent distributor's partner ID")
	by := fs.String("by", "", "who registers it (recorded in the audit trail; default cli)")
	var emails, domains multiFlag
	fs.Var(&emails, "email", "a sender address allowed to ask for this partner (repeatable)")
	fs.Var(&domains, "domain", "a whole sender domain allowed to ask for this partner (repeatable)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := e.open(); err != nil {
		return err
	}
	p, err := e.wf.AddPartner(e.ctx, workflow.PartnerInput{Name: *name, Ref: *ref, Locale: *locale, Trusted: *trusted,
		Emails: emails, Domains: domains, Parent: *parent}, orText(strings.TrimSpace(*by), "cli"))
	if errors.Is(err, workflow.ErrInvalid) {
		return usagef("%v", strings.TrimSuffix(err.Error(), ": "+workflow.ErrInvalid.Error()))
	}
	if err != nil {
		return explain(err, "adding partner")
	}
	fmt.Fprintln(e.stdout, p.ID)
	return nil
}

func cmdPartnersList(e *env) error {
	fs := flag.NewFlagSet("partners list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ps, err := e.st.Q(e.ctx).Partners()
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	toJSON := func(p store.Partner) jsonPartner { return partnerJSON(p, names) }
	return printList(e, *asJSON, ps, toJSON, "ID\tNAME\tREF\tSTATUS\tLOCALE\tTRUSTED\tSENDERS", func(p store.Partner) string {
		senders := append(p.Emails(), prefixed("@", p.Domains())...)
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%v\t%s", p.ID, p.Name, orDash(p.Ref), p.Status, p.Locale, p.Trusted, strings.Join(senders, ", "))
	})
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

// partnerJSON is the contract's partner shape; names maps partner ids to
// names (for the parent).
func partnerJSON(p store.Partner, names map[int64]string) jsonPartner {
	j := jsonPartner{ID: p.ID, Name: p.Name, Ref: nullable(p.Ref), Status: p.Status, Locale: p.Locale,
		Trusted: p.Trusted, Emails: p.Emails(), Domains: p.Domains()}
	if p.ParentID != nil {
		j.Parent = &jsonRef{ID: *p.ParentID, Name: names[*p.ParentID]}
	}
	return j
}

// partnerArg reads one partner id.
func partnerArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("expected one partner ID (see partners list)")
	}
	id, err := strconv.ParseInt(strings.TrimSpace(pos[0]), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%q is not a partner ID: use the number partners list shows", pos[0])
	}
	return id, nil
}

// invalid turns workflow's ErrInvalid into a usage error (exit 2) with
// workflow's message; other errors are explained.
func invalid(err error, what string) error {
	if errors.Is(err, workflow.ErrInvalid) {
		return usagef("%s: %v", what, strings.TrimSuffix(err.Error(), ": "+workflow.ErrInvalid.Error()))
	}
	return explain(err, what)
}

// nonEmpty drops empty values: --domain "" clears the list.
func nonEmpty(list []string) []string {
	out := []string{}
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func cmdPartnersUpdate(e *env) error {
	fs := flag.NewFlagSet("partners update", flag.ContinueOnError)
	name := fs.String("name", "", "the partner's name")
	ref := fs.String("ref", "", "external reference, e.g. an MPN ID")
	locale := fs.String("locale", "", "en or de")
	trusted := fs.Bool("trusted", false, "requests may be approved automatically (--trusted=false to take it back)")
	parent := fs.Int64("parent", 0, "the parent distributor's partner ID")
	noParent := fs.Bool("no-parent", false, "remove the parent distributor")
	by := fs.String("by", "", "who changes it (recorded in the audit trail)")
	var emails, domains multiFlag
	fs.Var(&emails, "email", "a sender address (repeatable; the given addresses replace the old ones)")
	fs.Var(&domains, "domain", "a whole sender domain (repeatable; the given domains replace the old ones; --domain '' removes all)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := partnerArg(pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required: the acting ops user's address, for the audit trail")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["parent"] && set["no-parent"] {
		return usagef("give --parent ID or --no-parent, not both")
	}
	var c workflow.PartnerChange
	if set["name"] {
		c.Name = name
	}
	if set["ref"] {
		c.Ref = ref
	}
	if set["locale"] {
		c.Locale = locale
	}
	if set["trusted"] {
		c.Trusted = trusted
	}
	if set["parent"] {
		if *parent <= 0 {
			return usagef("--parent %d: give the parent distributor's partner ID", *parent)
		}
		c.Parent = parent
	}
	if set["no-parent"] && *noParent {
		none := int64(0)
		c.Parent = &none
	}
	if set["email"] {
		es := nonEmpty(emails)
		c.Emails = &es
	}
	if set["domain"] {
		ds := nonEmpty(domains)
		c.Domains = &ds
	}
	if err := e.open(); err != nil {
		return err
	}
	p, err := e.wf.UpdatePartner(e.ctx, id, c, strings.TrimSpace(*by))
	if err != nil {
		return invalid(err, fmt.Sprintf("updating partner %d", id))
	}
	fmt.Fprintf(e.stdout, "partner %d (%s) updated\n", p.ID, p.Name)
	return nil
}

func cmdPartnersSuspend(e *env) error {
	fs := flag.NewFlagSet("partners suspend", flag.ContinueOnError)
	id, by, reason, err := recordByReason(e, fs, partnerArg, "who suspends (recorded in the audit trail)", "why (recorded in the audit trail)")
	if err != nil {
		return err
	}
	if err := e.wf.SuspendPartner(e.ctx, id, by, reason); err != nil {
		return invalid(err, fmt.Sprintf("suspending partner %d", id))
	}
	fmt.Fprintf(e.stdout, "partner %d suspended: its mail is answered as from an unknown sender until partners activate %d\n", id, id)
	return nil
}

func cmdPartnersActivate(e *env) error {
	fs := flag.NewFlagSet("partners activate", flag.ContinueOnError)
	id, by, _, err := recordByReason(e, fs, partnerArg, "who activates (recorded in the audit trail)", "")
	if err != nil {
		return err
	}
	if err := e.wf.ActivatePartner(e.ctx, id, by); err != nil {
		return invalid(err, fmt.Sprintf("activating partner %d", id))
	}
	fmt.Fprintf(e.stdout, "partner %d active\n", id)
	return nil
}

// jsonPartnerShow is `partners show --json`: the partner with its links
// and recent requests.
type jsonPartnerShow struct {
	jsonPartner
	Links          []jsonLink    `json:"links"`
	RecentRequests []jsonRequest `json:"recent_requests"`
}

func cmdPartnersShow(e *env) error {
	fs := flag.NewFlagSet("partners show", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	id, err := record(e, fs, partnerArg)
	if err != nil {
		return err
	}
	v, err := e.wf.Partner(e.ctx, id)
	if err != nil {
		return explain(err, fmt.Sprintf("showing partner %d", id))
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	ids := make([]int64, len(v.Requests))
	for i, r := range v.Requests {
		ids[i] = r.ID
	}
	fds, err := e.st.Q(e.ctx).FindingsFor(ids)
	if err != nil {
		return err
	}
	out := jsonPartnerShow{jsonPartner: partnerJSON(v.Partner, names), Links: []jsonLink{}, RecentRequests: []jsonRequest{}}
	for _, l := range v.Links {
		out.Links = append(out.Links, linkJSON(l, names))
	}
	for _, r := range v.Requests {
		out.RecentRequests = append(out.RecentRequests, requestJSON(r, names, fds[r.ID]))
	}
	if *asJSON {
		return writeJSON(e.stdout, out)
	}
	w := e.stdout
	p := v.Partner
	fmt.Fprintf(w, "partner %d: %s\nstatus:   %s\nref:      %s\nlocale:   %s\ntrusted:  %v\n", p.ID, p.Name, p.Status,
		orDash(p.Ref), p.Locale, p.Trusted)
	if v.Parent != nil {
		fmt.Fprintf(w, "parent:   %d %s\n", v.Parent.ID, v.Parent.Name)
	} else {
		fmt.Fprintln(w, "parent:   -")
	}
	fmt.Fprintf(w, "senders:  %s\n", orDash(strings.Join(append(p.Emails(), prefixed("@", p.Domains())...), ", ")))
	for _, c := range v.Children {
		fmt.Fprintf(w, "sells through it: %d %s\n", c.ID, c.Name)
	}
	fmt.Fprintf(w, "\nlinks (%d):\n", len(v.Links))
	for _, l := range v.Links {
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\n", l.ID, l.OrganizationID, v.Orgs[l.OrganizationID].Name, l.Status)
	}
	fmt.Fprintf(w, "\nrecent requests (%d):\n", len(v.Requests))
	for _, r := range v.Requests {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", r.Reference(), r.State, orDash(deref(r.OrganizationID)), r.ReceivedAt.Format(time.DateTime))
	}
	if len(v.Audit) > 0 {
		fmt.Fprintf(w, "\naudit:\n")
		for _, a := range v.Audit {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", a.At.UTC().Format(time.DateTime), a.Actor, a.Reason)
		}
	}
	return nil
}
