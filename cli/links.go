package cli

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
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
	return printList(e, *asJSON, ls, toJSON, "ID\tPARTNER\tORGANIZATION\tSTATUS\tREQUEST\tSTARTED\tENDS_AT\tENDED_BY\tEND_REASON", func(l store.Link) string {
		req := "-"
		if l.RequestID != nil {
			req = store.Reference(*l.RequestID)
		}
		ends := "-"
		if l.EndsAt != nil {
			ends = l.EndsAt.UTC().Format(time.RFC3339)
		}
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", l.ID, names[l.PartnerID], l.OrganizationID, l.Status, req,
			l.StartedAt.Format(time.DateOnly), ends, orDash(l.EndedBy), orDash(l.EndReason))
	})
}

func cmdLinksEnd(e *env) error {
	fs := flag.NewFlagSet("links end", flag.ContinueOnError)
	id, by, reason, err := recordByReason(e, fs, linkArg, "who ends it (the ops user's address)", "why; both sides are told")
	if err != nil {
		return err
	}
	if err := e.wf.EndLink(e.ctx, id, by, reason); err != nil {
		return explain(err, fmt.Sprintf("ending link %d", id))
	}
	fmt.Fprintf(e.stdout, "link %d ended; the partner and the administrator are told\n", id)
	return nil
}

func cmdLinksSetEnd(e *env) error {
	fs := flag.NewFlagSet("links set-end", flag.ContinueOnError)
	by := fs.String("by", "", "who sets it (the ops user's address)")
	at := fs.String("at", "", "the end date: YYYY-MM-DD (midnight UTC) or RFC 3339, in the future")
	none := fs.Bool("none", false, "clear the end date")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := linkArg(pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required")
	}
	if (*at == "") == !*none {
		return usagef("give either --at DATE or --none")
	}
	var ends *time.Time
	if !*none {
		t, err := workflow.ParseEndDate(*at)
		if err != nil {
			return usagef("%v", err)
		}
		ends = &t
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.SetLinkEnd(e.ctx, id, ends, *by); err != nil {
		return explain(err, fmt.Sprintf("setting the end date of link %d", id))
	}
	if ends == nil {
		fmt.Fprintf(e.stdout, "link %d has no end date\n", id)
	} else {
		fmt.Fprintf(e.stdout, "link %d ends at %s\n", id, ends.Format(time.RFC3339))
	}
	return nil
}

func cmdLinksRevoke(e *env) error {
	fs := flag.NewFlagSet("links revoke", flag.ContinueOnError)
	id, by, _, err := recordByReason(e, fs, linkArg, "who revokes", "")
	if err != nil {
		return err
	}
	if err := e.wf.RevokeLink(e.ctx, id, by); err != nil {
		return explain(err, fmt.Sprintf("revoking link %d", id))
	}
	fmt.Fprintf(e.stdout, "link %d revoked\n", id)
	return nil
}

func cmdInvitesResend(e *env) error {
	fs := flag.NewFlagSet("invites resend", flag.ContinueOnError)
	by := fs.String("by", "cli", "who resends")
	id, err := record(e, fs, requestArg)
	if err != nil {
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

// linkArg reads one link ID.
func linkArg(pos []string) (int64, error) {
	id, err := messageArg(pos)
	if err != nil {
		return 0, usagef("expected one link ID")
	}
	return id, nil
}
