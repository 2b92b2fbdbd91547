package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

func cmdPartnersAdd(e *env) error {
	fs := flag.NewFlagSet("partners add", flag.ContinueOnError)
	name := fs.String("name", "", "the partner's name")
	ref := fs.String("ref", "", "external reference, e.g. an MPN ID")
	locale := fs.String("locale", "en", "en or de")
	trusted := fs.Bool("trusted", false, "requests may be approved automatically (with ONBOARDER_AUTO_APPROVE_TRUSTED)")
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
		Emails: emails, Domains: domains}, "cli")
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
	toJSON := func(p store.Partner) jsonPartner {
		return jsonPartner{ID: p.ID, Name: p.Name, Ref: nullable(p.Ref), Status: p.Status, Locale: p.Locale,
			Trusted: p.Trusted, Emails: p.Emails(), Domains: p.Domains()}
	}
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
