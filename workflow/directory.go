package workflow

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// FindDirectoryUnavailable: the organization directory could not be asked;
// the request waits as pending_approval and is checked again on the next
// pass (RecheckDirectory), which removes the finding.
const FindDirectoryUnavailable = "directory_unavailable"

// ErrDirectoryUnavailable is wrapped by a Directory that cannot answer now.
var ErrDirectoryUnavailable = errors.New("organization directory unavailable")

// Directory resolves the Organization ID a partner wrote, a UUID or (for a
// directory that knows them) a container ID ending in -organization, to the
// organization; the returned Organization's ID is always the UUID. It
// returns an error wrapping store.ErrNotFound when no such organization
// exists, and one wrapping ErrDirectoryUnavailable when it cannot answer.
type Directory interface {
	Organization(ctx context.Context, id string) (store.Organization, error)
}

// StoreDirectory is the default Directory: the organizations table, kept by
// `onboarder orgs import`.
type StoreDirectory struct{ St *store.Store }

// Organization reads the organization from the database.
func (d StoreDirectory) Organization(ctx context.Context, id string) (store.Organization, error) {
	return d.St.Q(ctx).Organization(id)
}

// external reports whether organizations come from outside the database;
// then each answer is kept as a snapshot in the organizations table, which
// the rest of the workflow (invitations, pages, console) reads.
func (s *Service) external() bool {
	_, isStore := s.opts.Directory.(StoreDirectory)
	return !isStore
}

// orgLookup is the directory's answer for the ID written in one mail,
// asked before the transaction (no network I/O inside one).
type orgLookup struct {
	written string // what the partner wrote (UUID or container ID)
	org     store.Organization
	err     error
}

// containerIDRe matches a container ID: a readable identifier ending in
// -organization.
var containerIDRe = regexp.MustCompile(`(?i)(?:^|[^a-z0-9-])([a-z0-9][a-z0-9-]{0,62}-organization)(?:[^a-z0-9-]|$)`)

// containerID returns the one container ID the mail's new text names, or "".
func containerID(p *parser.Mail) string {
	found := ""
	for _, m := range containerIDRe.FindAllStringSubmatch(truncateString(p.Text, 64<<10), 20) {
		id := strings.ToLower(m[1])
		if found != "" && found != id {
			return "" // several: let the parser's verdict stand
		}
		found = id
	}
	return found
}

// lookupOrg asks the directory about the mail's Organization ID.
func (s *Service) lookupOrg(ctx context.Context, p *parser.Mail) *orgLookup {
	if p == nil || !s.external() || p.Kind == parser.KindBounce || p.Kind == parser.KindAutoReply {
		return nil // the database directory is read inside the transaction
	}
	written := p.OrgID
	if written == "" && p.OrgIDStatus != parser.OrgIDAmbiguous {
		written = containerID(p)
	}
	if written == "" {
		return nil
	}
	org, err := s.opts.Directory.Organization(ctx, written)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, ErrDirectoryUnavailable) {
		err = fmt.Errorf("%w: %w", ErrDirectoryUnavailable, err)
	}
	if errors.Is(err, ErrDirectoryUnavailable) {
		s.log.Warn("organization directory unavailable: the request waits", "organization_id", written, "err", err)
	}
	return &orgLookup{written: written, org: org, err: err}
}

// orgIDOf is the Organization ID to record for mail p: the UUID the
// directory resolved, else what the partner wrote.
func (tx *txn) orgIDOf(p *parser.Mail) string {
	if l := tx.org; l != nil {
		if l.err == nil {
			return l.org.ID
		}
		return l.written
	}
	return p.OrgID
}

// organization returns the organization for a check: the answer looked up
// before the transaction (snapshotted into the database when it came from
// an external directory), or the database's row.
func (tx *txn) organization(id string) (store.Organization, error) {
	if l := tx.org; l != nil && (id == l.written || (l.err == nil && id == l.org.ID)) {
		if l.err != nil {
			return store.Organization{}, l.err
		}
		if tx.s.external() {
			o := l.org
			if err := tx.UpsertOrganization(&o); err != nil {
				return store.Organization{}, err
			}
		}
		return l.org, nil
	}
	return tx.Organization(id)
}

// directoryDown is check's outcome when the directory cannot answer: the
// duplicate check still runs (it needs no directory); otherwise the request
// waits as pending_approval with directory_unavailable, and the partner gets
// the usual acknowledgement.
func (tx *txn) directoryDown(r *store.Request, partner *store.Partner, orgID string, auth parser.AuthResult) (decision, error) {
	if d, dup, err := tx.duplicateOf(r, partner, orgID, ""); err != nil || dup {
		return d, err
	}
	// RecheckDirectory looks again once the directory has resolved the ID.
	fraud, err := tx.fraudWarning(orgID, partner.ID, r.ID)
	if err != nil {
		return decision{}, err
	}
	return decision{state: store.StatePendingApproval, mail: templates.KindRequestReceived,
		findings: append([]finding{{FindDirectoryUnavailable, orgID}}, warnings(warningInput{auth: &auth, fraud: fraud})...)}, nil
}

// duplicateOf runs check 6: the partner's other open request or live link
// for the organization.
func (tx *txn) duplicateOf(r *store.Request, partner *store.Partner, orgID, orgName string) (decision, bool, error) {
	existing, err := tx.OpenRequestFor(partner.ID, orgID, r.ID)
	if err == nil {
		return decision{state: store.StateDuplicate, mail: templates.KindRequestDuplicate,
			findings: []finding{{FindDuplicate, "open request " + existing.Reference()}},
			data:     templates.Data{ExistingReference: existing.Reference(), OrganizationName: orgName}}, true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return decision{}, false, err
	}
	if link, err := tx.LiveLink(partner.ID, orgID); err == nil {
		ref := ""
		if link.RequestID != nil {
			ref = store.Reference(*link.RequestID)
		}
		return decision{state: store.StateDuplicate, mail: templates.KindRequestDuplicate,
			findings: []finding{{FindDuplicate, fmt.Sprintf("link %d is %s", link.ID, link.Status)}},
			data:     templates.Data{ExistingReference: ref, OrganizationName: orgName}}, true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return decision{}, false, err
	}
	return decision{}, false, nil
}

// RecheckDirectory asks the directory again about the requests that wait
// with directory_unavailable (at most limit of them, oldest first), and
// finishes their checks: unknown or inactive organizations are rejected,
// duplicates closed, the rest stay pending_approval with their warnings and
// without the finding. It stops at the first lookup the directory still
// cannot answer. It returns how many requests it settled.
func (s *Service) RecheckDirectory(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	reqs, err := s.st.Q(ctx).RequestsWithFinding(store.StatePendingApproval, FindDirectoryUnavailable, limit)
	if err != nil {
		return 0, fmt.Errorf("listing requests waiting for the directory: %w", err)
	}
	n := 0
	for _, r := range reqs {
		if r.OrganizationID == nil || r.PartnerID == nil {
			continue
		}
		written := *r.OrganizationID
		org, err := s.opts.Directory.Organization(ctx, written)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, nil // still down: the next pass tries again
		}
		look := &orgLookup{written: written, org: org, err: err}
		err = s.transact(ctx, func(tx *txn) error {
			tx.org = look
			return tx.recheck(r.ID, written)
		})
		if errors.Is(err, store.ErrConflict) {
			continue // changed meanwhile (ops acted): nothing to settle
		}
		if err != nil {
			return n, fmt.Errorf("re-checking %s: %w", r.Reference(), err)
		}
		n++
	}
	return n, nil
}

func (tx *txn) recheck(id int64, written string) error {
	r, err := tx.Request(id)
	if err != nil {
		return err
	}
	if r.State != store.StatePendingApproval || r.PartnerID == nil {
		return store.ErrConflict
	}
	partner, err := tx.Partner(*r.PartnerID)
	if err != nil {
		return err
	}
	if err := tx.DeleteFindings(r.ID, FindDirectoryUnavailable); err != nil {
		return err
	}
	var d decision
	org, err := tx.organization(written)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d = decision{state: store.StateRejected, mail: templates.KindRequestRejected,
			findings: []finding{{FindUnknownOrganization, written}}, data: templates.Data{ReasonCode: FindUnknownOrganization}}
	case err != nil:
		return err
	case org.Status != store.OrgActive:
		d = decision{state: store.StateRejected, mail: templates.KindRequestRejected,
			findings: []finding{{FindOrganizationInact, "organization is " + org.Status}},
			data:     templates.Data{ReasonCode: FindOrganizationInact, OrganizationName: org.Name}}
	default:
		dup, isDup, err := tx.duplicateOf(&r, &partner, org.ID, org.Name)
		if err != nil {
			return err
		}
		if isDup {
			d = dup
			break
		}
		other, err := tx.OtherResellerExists(org.ID, partner.ID)
		if err != nil {
			return err
		}
		// Flagged while the directory was down (by the ID as written), or now.
		var fraud *finding
		if fs, err := tx.Findings(r.ID); err != nil {
			return err
		} else if !hasFinding(fs, FindFraudReported) {
			if fraud, err = tx.fraudWarning(org.ID, partner.ID, r.ID); err != nil {
				return err
			}
		}
		// The sender warning was recorded with the request (no auth here).
		d = decision{state: store.StatePendingApproval,
			findings: warnings(warningInput{request: &r, org: &org, otherReseller: other, fraud: fraud})}
	}
	set := map[string]any{}
	if err == nil && org.ID != "" && org.ID != written {
		set["organization_id"] = org.ID // a container ID resolved to the UUID
		r.OrganizationID = &org.ID
	}
	if err := tx.moveRequest(r.ID, store.StatePendingApproval, d.state, set); err != nil {
		return err
	}
	for _, f := range d.findings {
		if err := tx.AddFinding(r.ID, f.code, f.detail); err != nil {
			return err
		}
	}
	reason := "organization directory answered: checks completed"
	if d.state != store.StatePendingApproval && len(d.findings) > 0 {
		reason += ": " + d.findings[0].code
	}
	if err := tx.audit(r.ID, nil, "system", store.StatePendingApproval, d.state, reason); err != nil {
		return err
	}
	r.State = d.state
	if d.mail == "" {
		return nil
	}
	return tx.answerPartner(&r, &partner, d.mail, d.data, nil)
}

// refreshOrganization asks an external directory about a request's
// organization before ops act on it, and updates the snapshot: an
// approval must not invite on a stale or unreachable answer.
func (s *Service) refreshOrganization(ctx context.Context, requestID int64) error {
	if !s.external() {
		return nil
	}
	r, err := s.st.Q(ctx).Request(requestID)
	if err != nil || r.OrganizationID == nil {
		return err
	}
	org, err := s.opts.Directory.Organization(ctx, *r.OrganizationID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return stateErr("organization %s is not in the directory", *r.OrganizationID)
	case err != nil:
		return fmt.Errorf("asking the organization directory about %s: %w: try again when it answers", *r.OrganizationID, err)
	}
	if org.ID != *r.OrganizationID {
		return stateErr("%s waits for the organization directory to resolve %s", r.Reference(), *r.OrganizationID)
	}
	return s.st.Transact(ctx, func(q *store.Q) error { return q.UpsertOrganization(&org) })
}
