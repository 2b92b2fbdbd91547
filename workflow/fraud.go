package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// "This wasn't us" has consequences: an administrator who declines an
// invitation as not requested by them files a fraud report, which marks the
// organization and the partner who asked until ops clear it with a reason.
// While it is open, every request checked for that organization or from
// that partner gets the finding fraud_reported, which also keeps it from
// being approved automatically.

// FindFraudReported: an open fraud report names the request's organization
// or its partner.
const FindFraudReported = "fraud_reported"

// Webhook event types of fraud reports.
const (
	EventFraudReported = "organization.fraud_reported"
	EventFraudCleared  = "organization.fraud_cleared"
)

// ErrClearReasonRequired: clearing a fraud report needs a reason.
var ErrClearReasonRequired = errors.New("clearing a fraud report needs a reason")

// reportFraud records the fraud report of declined request r and its
// webhook event (Decline writes the audit entry).
func (tx *txn) reportFraud(r store.Request, actor string) error {
	if r.OrganizationID == nil || r.PartnerID == nil {
		return nil // an invited request always has both
	}
	rep := &store.FraudReport{OrganizationID: *r.OrganizationID, PartnerID: *r.PartnerID, RequestID: r.ID,
		ReportedAt: tx.s.now()}
	if err := tx.InsertFraudReport(rep); err != nil {
		return err
	}
	return tx.fraudEvent(EventFraudReported, *rep, actor, "")
}

// fraudWarning is the fraud_reported finding for a request of partnerID
// for orgID, or nil when no open report names either.
func (tx *txn) fraudWarning(orgID string, partnerID, requestID int64) (*finding, error) {
	reps, err := tx.OpenFraudReportsFor(orgID, partnerID)
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, rep := range reps {
		if rep.RequestID == requestID {
			continue
		}
		parts = append(parts, store.Reference(rep.RequestID)+" (matched by "+fraudMatch(rep, orgID, partnerID)+")")
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return &finding{FindFraudReported, "the administrator said they did not ask for " + strings.Join(parts, "; ")}, nil
}

// fraudMatch says what of a request a report matched.
func fraudMatch(rep store.FraudReport, orgID string, partnerID int64) string {
	org, partner := rep.OrganizationID == orgID, rep.PartnerID == partnerID
	switch {
	case org && partner:
		return "organization and partner"
	case org:
		return "organization"
	default:
		return "partner"
	}
}

// ClearFraud clears the open fraud reports on an organization: later
// requests for it, or from the partners of those reports, are no longer
// flagged. Each report keeps who cleared it, when and why, and gets an
// audit entry on its request (and on seenOn, the request page the ops user
// cleared it from, when that is another one). It returns how many it
// cleared; none open is ErrState.
func (s *Service) ClearFraud(ctx context.Context, orgID, by, reason string, seenOn int64) (int, error) {
	orgID = strings.ToLower(strings.TrimSpace(orgID))
	reason = parser.SanitizeText(strings.TrimSpace(reason), 2000)
	switch {
	case strings.TrimSpace(by) == "":
		return 0, errors.New("clearing a fraud report: no ops user")
	case reason == "":
		return 0, ErrClearReasonRequired
	}
	n := 0
	err := s.transact(ctx, func(tx *txn) error {
		n = 0
		if seenOn != 0 {
			if _, err := tx.Request(seenOn); err != nil {
				return err
			}
		}
		reps, err := tx.OpenFraudReportsOn(orgID)
		if err != nil {
			return err
		}
		if len(reps) == 0 {
			return stateErr("organization %s has no open fraud report", orgID)
		}
		actor, at := "ops:"+by, s.now()
		for _, rep := range reps {
			if err := tx.ClearFraudReport(rep.ID, by, reason, at); err != nil {
				return err
			}
			rep.Status, rep.ClearedAt, rep.ClearedBy, rep.ClearReason = store.FraudCleared, &at, by, reason
			msg := fmt.Sprintf("fraud report on organization %s (%s) cleared: %s", orgID, store.Reference(rep.RequestID), reason)
			if err := tx.audit(rep.RequestID, nil, actor, "", "", msg); err != nil {
				return err
			}
			if seenOn != 0 && seenOn != rep.RequestID {
				if err := tx.audit(seenOn, nil, actor, "", "", msg); err != nil {
					return err
				}
			}
			if err := tx.fraudEvent(EventFraudCleared, rep, actor, reason); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.log.Info("fraud report cleared", "organization_id", orgID, "reports", n, "ops_user", by)
	return n, nil
}

// FraudReportView is an open fraud report as the console shows it.
type FraudReportView struct {
	store.FraudReport
	Reference        string // of the declined request
	PartnerName      string
	OrganizationName string // "" when the organization is unknown
	// Match says how it matched the request shown (RequestView), else "".
	Match string
}

// OpenFraudReports lists the open fraud reports for the console's queue.
func (s *Service) OpenFraudReports(ctx context.Context) ([]FraudReportView, error) {
	q := s.st.Q(ctx)
	reps, err := q.OpenFraudReports(200)
	if err != nil {
		return nil, err
	}
	return s.fraudViews(q, reps, "", 0)
}

// fraudViews names the partners and organizations of reports; with orgID
// or partnerID set, each says how it matched them.
func (s *Service) fraudViews(q *store.Q, reps []store.FraudReport, orgID string, partnerID int64) ([]FraudReportView, error) {
	if len(reps) == 0 {
		return nil, nil
	}
	partners, err := s.partnerNames(q)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range reps {
		ids = append(ids, r.OrganizationID)
	}
	orgs, err := q.OrganizationsByID(ids)
	if err != nil {
		return nil, err
	}
	out := make([]FraudReportView, 0, len(reps))
	for _, r := range reps {
		v := FraudReportView{FraudReport: r, Reference: store.Reference(r.RequestID), PartnerName: partners[r.PartnerID],
			OrganizationName: orgs[r.OrganizationID].Name}
		if orgID != "" || partnerID != 0 {
			v.Match = fraudMatch(r, orgID, partnerID)
		}
		out = append(out, v)
	}
	return out, nil
}

// requestFraudReports are the open reports on a request's organization or
// against its partner, including the one made on the request itself.
func (s *Service) requestFraudReports(q *store.Q, r store.Request) ([]FraudReportView, error) {
	orgID, partnerID := "", int64(0)
	if r.OrganizationID != nil {
		orgID = *r.OrganizationID
	}
	if r.PartnerID != nil {
		partnerID = *r.PartnerID
	}
	if orgID == "" && partnerID == 0 {
		return nil, nil
	}
	reps, err := q.OpenFraudReportsFor(orgID, partnerID)
	if err != nil {
		return nil, err
	}
	return s.fraudViews(q, reps, orgID, partnerID)
}

// EventFraudReport is the fraud report an organization.* webhook event is
// about.
type EventFraudReport struct {
	ID               int64      `json:"id"`
	OrganizationID   string     `json:"organization_id"`
	Partner          *EventRef  `json:"partner"`
	RequestID        int64      `json:"request_id"`
	RequestReference string     `json:"request_reference"`
	Status           string     `json:"status"`
	ReportedAt       time.Time  `json:"reported_at"`
	ClearedAt        *time.Time `json:"cleared_at"`
	ClearedBy        string     `json:"cleared_by,omitempty"`
}

// fraudEvent writes an organization.* webhook event about rep.
func (tx *txn) fraudEvent(typ string, rep store.FraudReport, actor, reason string) error {
	if !tx.s.opts.Webhooks {
		return nil
	}
	e := Event{Type: typ, Actor: actor, Reason: truncateString(reason, 500), FraudReport: &EventFraudReport{
		ID: rep.ID, OrganizationID: rep.OrganizationID, Partner: tx.partnerRef(&rep.PartnerID), RequestID: rep.RequestID,
		RequestReference: store.Reference(rep.RequestID), Status: rep.Status, ReportedAt: rep.ReportedAt,
		ClearedAt: rep.ClearedAt, ClearedBy: rep.ClearedBy}}
	return tx.writeEvent(e, &rep.RequestID, nil)
}

func hasFinding(fs []store.Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}

// FraudFlagged reports whether the request carries fraud_reported or
// possibly_fraudulent: the console highlights it.
func (it QueueItem) FraudFlagged() bool { return fraudFlagged(it.Findings) }

// FraudFlagged reports whether the request carries fraud_reported or
// possibly_fraudulent, or an open report names its organization or partner.
func (v RequestView) FraudFlagged() bool { return len(v.FraudReports) > 0 || fraudFlagged(v.Findings) }

func fraudFlagged(fs []store.Finding) bool {
	return hasFinding(fs, FindFraudReported) || hasFinding(fs, FindPossibleFraud)
}
