package cli

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
)

func cmdLinksList(e *env) error {
	fs := flag.NewFlagSet("links list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ls, err := e.st.Q(e.ctx).ListLinks()
	if err != nil {
		return err
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	toJSON := func(l store.Link) jsonLink { return linkJSON(l, names) }
	return printList(e, *asJSON, ls, toJSON, "ID\tPARTNER\tORGANIZATION\tSTATUS\tREQUEST\tSTARTED", func(l store.Link) string {
		req := "-"
		if l.RequestID != nil {
			req = store.Reference(*l.RequestID)
		}
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", l.ID, names[l.PartnerID], l.OrganizationID, l.Status, req, l.StartedAt.Format(time.DateOnly))
	})
}

func cmdLinksRevoke(e *env) error {
	fs := flag.NewFlagSet("links revoke", flag.ContinueOnError)
	by := fs.String("by", "", "who revokes")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := messageArg(pos)
	if err != nil {
		return usagef("expected one link ID")
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required")
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.RevokeLink(e.ctx, id, *by); err != nil {
		return explain(err, fmt.Sprintf("revoking link %d", id))
	}
	fmt.Fprintf(e.stdout, "link %d revoked\n", id)
	return nil
}

func cmdInvitesResend(e *env) error {
	fs := flag.NewFlagSet("invites resend", flag.ContinueOnError)
	by := fs.String("by", "cli", "who resends")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := requestArg(pos)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.ResendInvitation(e.ctx, id, *by); err != nil {
		return explain(err, "resending the invitation of "+store.Reference(id))
	}
	fmt.Fprintf(e.stdout, "%s: new invitation queued; the previous link no longer works\n", store.Reference(id))
	return nil
}

func linkJSON(l store.Link, names map[int64]string) jsonLink {
	j := jsonLink{ID: l.ID, Partner: jsonRef{ID: l.PartnerID, Name: names[l.PartnerID]},
		OrganizationID: l.OrganizationID, Type: l.Type, Status: l.Status, RequestID: l.RequestID,
		StartedAt: ts(l.StartedAt), EndsAt: tsp(l.EndsAt), EndedAt: tsp(l.EndedAt),
		EndedBy: nullable(l.EndedBy), EndReason: nullable(l.EndReason), UpdatedAt: ts(l.UpdatedAt)}
	if l.DistributorID != nil {
		j.Distributor = &jsonRef{ID: *l.DistributorID, Name: names[*l.DistributorID]}
	}
	return j
}
