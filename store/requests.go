package store

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Request states. Which may follow which is workflow's transition table
// (workflow/states.go, docs/state_machine.md).
const (
	StateNeedsInfo = "needs_info"
	// StatePendingPartner: a customer's request waits for the partner's
	// consent (product.md, turn 2).
	StatePendingPartner = "pending_partner"
	// StatePendingReseller: a distributor's request waits for the reseller's
	// confirmation (product.md, turn 2).
	StatePendingReseller = "pending_reseller"
	StatePendingApproval = "pending_approval"
	StateInvited         = "invited"
	StateCompleted       = "completed"
	StateDeclined        = "declined"
	StateExpired         = "expired"
	StateRejected        = "rejected"
	// StateCancelled: the partner cancelled the request before the customer
	// answered (product.md, turn 2).
	StateCancelled = "cancelled"
	StateDuplicate = "duplicate"
)

// OpenStates are the states from which a request may still move on.
var OpenStates = []string{StateNeedsInfo, StatePendingPartner, StatePendingReseller, StatePendingApproval, StateInvited}

// Request is one partner's ask to connect one organization.
type Request struct {
	ID             int64
	State          string
	PartnerID      *int64
	CustomerName   string
	OrganizationID *string
	Sender         string
	MessageID      string
	Subject        string
	ContactEmail   string
	Note           string
	// Kind is how the relation begins: KindConnect, KindNewOrganization or
	// KindCustomerFirst.
	Kind string
	// DistributorID is the distributor that asked for one of its resellers
	// (PartnerID, the reseller of record); nil otherwise.
	DistributorID *int64
	// NewOrg is a new organization's parsed company and contact fields
	// (JSON); "" for other kinds.
	NewOrg     string
	ReceivedAt time.Time
	UpdatedAt  time.Time
	// ChasedAt is when a needs_info request was chased (once); nil before.
	ChasedAt *time.Time
}

// Request kinds: the ways a customer relation begins (product.md).
const (
	KindConnect         = "connect"          // a partner asks for an existing organization
	KindNewOrganization = "new_organization" // a partner asks for a new organization (STACKIT Method 1)
	KindCustomerFirst   = "customer_first"   // the organization's administrator asks for a partner
)

// Reference is the request's human reference, e.g. REQ-000042.
func (r Request) Reference() string { return Reference(r.ID) }

// Reference formats a request number as REQ-000042.
func Reference(id int64) string { return fmt.Sprintf("REQ-%06d", id) }

// ParseReference reads "42", "REQ-000042" or "req-42" into a request number.
func ParseReference(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 4 && strings.EqualFold(s[:4], "REQ-") {
		s = s[4:]
	}
	var id int64
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		id = id*10 + int64(c-'0')
	}
	return id, id > 0
}

// RequestFilter narrows ListRequests.
type RequestFilter struct {
	State     string
	PartnerID int64
	Limit     int
}

// RequestConflicts is what stands against a partner's new request for an
// organization: checks 6 (an open request or a live link of the same
// partner) and the other-reseller warning, read in one round trip.
type RequestConflicts struct {
	OpenRequestID     int64  // the partner's oldest other open request (0: none)
	LiveLinkID        int64  // the partner's invited or active link (0: none)
	LiveLinkStatus    string // its status
	LiveLinkRequestID *int64 // the request that made it
	OtherReseller     bool   // another partner has a live link or an open request
}

// RequestList filters the console's request list and its export.
type RequestList struct {
	// State is a request state, "open" (the states of OpenStates) or ""
	// for all.
	State string
	// Kind is a request kind (KindConnect…); "" for all.
	Kind      string
	PartnerID int64
	// Finding is a finding code the request has; "" for any.
	Finding string
	// Text matches a reference (REQ-000042 or 42), an Organization ID (or
	// its start), or a part of the customer's or organization's name.
	Text string
}

var requestKeyset = keyset[Request]{col: "received_at", key: func(r Request) (any, any) { return r.ReceivedAt, r.ID }}

func (q *Q) requestList(f RequestList) *gorm.DB {
	db := q.db.Model(&Request{})
	switch f.State {
	case "":
	case "open":
		db = db.Where("state IN ?", OpenStates)
	default:
		db = db.Where("state = ?", f.State)
	}
	if f.Kind != "" {
		db = db.Where("kind = ?", f.Kind)
	}
	if f.PartnerID != 0 {
		db = db.Where("partner_id = ?", f.PartnerID)
	}
	if f.Finding != "" {
		db = db.Where("id IN (SELECT request_id FROM findings WHERE code = ?)", f.Finding)
	}
	if s := strings.TrimSpace(f.Text); s != "" {
		like := "%" + escapeLike(strings.ToLower(s)) + "%"
		cond := "LOWER(customer_name) LIKE ? ESCAPE '\\' OR organization_id LIKE ? ESCAPE '\\'" +
			" OR organization_id IN (SELECT id FROM organizations WHERE LOWER(name) LIKE ? ESCAPE '\\')"
		args := []any{like, escapeLike(strings.ToLower(strings.Trim(s, "{}"))) + "%", like}
		if id, ok := ParseReference(s); ok {
			cond += " OR id = ?"
			args = append(args, id)
		}
		db = db.Where("("+cond+")", args...)
	}
	return db
}

// RequestPage lists one page of requests, newest first.
func (q *Q) RequestPage(f RequestList, p Paging) (Page[Request], error) {
	pg, err := requestKeyset.page(q.requestList(f), p)
	if err != nil {
		return pg, fmt.Errorf("listing requests: %w", err)
	}
	return pg, nil
}

// FindingCodes lists the finding codes requests have, for the queue's
// filter.
func (q *Q) FindingCodes() ([]string, error) {
	var out []string
	err := q.db.Model(&Finding{}).Distinct("code").Order("code").Pluck("code", &out).Error
	return out, err
}

// RequestKinds lists the kinds requests have, for the queue's filter.
func (q *Q) RequestKinds() ([]string, error) {
	var out []string
	err := q.db.Model(&Request{}).Distinct("kind").Order("kind").Pluck("kind", &out).Error
	return out, err
}

// RequestCounts counts requests by state.
func (q *Q) RequestCounts() (map[string]int64, error) {
	var rows []struct {
		State string
		N     int64
	}
	if err := q.db.Model(&Request{}).Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("counting requests: %w", err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// OrganizationRequests lists the requests for an organization, newest
// first; open only: just those in OpenStates.
func (q *Q) OrganizationRequests(orgID string, open bool, limit int) ([]Request, error) {
	db := q.db.Where("organization_id = ?", orgID)
	if open {
		db = db.Where("state IN ?", OpenStates)
	}
	var out []Request
	if err := db.Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing the requests for organization %s: %w", orgID, err)
	}
	return out, nil
}

// SetRequestColumns sets columns of a request that is still in state,
// without moving it; ErrConflict when it is no longer there.
func (q *Q) SetRequestColumns(id int64, state string, set map[string]any) error {
	set["updated_at"] = now()
	res := q.db.Model(&Request{}).Where("id = ? AND state = ?", id, state).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("updating %s: %w", Reference(id), res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("updating %s in %s: %w", Reference(id), state, ErrConflict)
	}
	return nil
}

// PartnerRequests lists a partner's requests, newest first.
func (q *Q) PartnerRequests(partnerID int64, limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("partner_id = ?", partnerID).Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("listing the requests of partner %d: %w", partnerID, err)
	}
	return out, nil
}

// InsertRequest creates a request.
func (q *Q) InsertRequest(r *Request) error {
	t := now()
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = t
	}
	r.UpdatedAt = t
	if r.Kind == "" {
		r.Kind = KindConnect
	}
	if err := q.db.Create(r).Error; err != nil {
		return fmt.Errorf("recording request: %w", err)
	}
	return nil
}

// Request returns one request. Inside a PostgreSQL transaction the row is
// locked until commit, so concurrent transitions of one request queue up.
func (q *Q) Request(id int64) (Request, error) {
	var r Request
	db := q.db
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := db.Where("id = ?", id).First(&r).Error
	return r, notFound(err, "request "+Reference(id))
}

// SetRequestState moves a request from one state to another, with other
// columns set alongside; ErrConflict when it is no longer in from.
func (q *Q) SetRequestState(id int64, from, to string, set map[string]any) error {
	if set == nil {
		set = map[string]any{}
	}
	set["state"] = to
	set["updated_at"] = now()
	res := q.db.Model(&Request{}).Where("id = ? AND state = ?", id, from).Updates(set)
	if res.Error != nil {
		if IsUniqueViolation(res.Error) {
			return fmt.Errorf("moving %s to %s: another open request exists: %w", Reference(id), to, ErrConflict)
		}
		return fmt.Errorf("moving %s from %s to %s: %w", Reference(id), from, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("moving %s from %s to %s: %w", Reference(id), from, to, ErrConflict)
	}
	return nil
}

// ListRequests lists requests newest first.
func (q *Q) ListRequests(f RequestFilter) ([]Request, error) {
	db := q.db
	if f.State != "" {
		db = db.Where("state = ?", f.State)
	}
	if f.PartnerID != 0 {
		db = db.Where("partner_id = ?", f.PartnerID)
	}
	if f.Limit > 0 {
		db = db.Limit(f.Limit)
	}
	var out []Request
	err := db.Order("id DESC").Find(&out).Error
	return out, err
}

// OpenRequestFor returns the partner's open request for the organization.
func (q *Q) OpenRequestFor(partnerID int64, orgID string, exceptID int64) (Request, error) {
	var r Request
	err := q.db.Where("partner_id = ? AND organization_id = ? AND state IN ? AND id <> ?",
		partnerID, orgID, OpenStates, exceptID).Order("id").First(&r).Error
	return r, notFound(err, "open request")
}

// OtherResellerExists reports whether another partner has a live link or an
// open request for the organization.
func (q *Q) OtherResellerExists(orgID string, partnerID int64) (bool, error) {
	// One round trip for both (this runs for every request received).
	var n int64
	err := q.db.Raw(`SELECT
		(SELECT COUNT(*) FROM links WHERE organization_id = ? AND partner_id <> ? AND status IN ?) +
		(SELECT COUNT(*) FROM requests WHERE organization_id = ? AND partner_id <> ? AND state IN ?)`,
		orgID, partnerID, []string{LinkInvited, LinkActive},
		orgID, partnerID, []string{StatePendingApproval, StateInvited}).Scan(&n).Error
	return n > 0, err
}

// RequestConflicts reads, in one round trip, what OpenRequestFor, LiveLink
// and OtherResellerExists would (this runs for every request received).
func (q *Q) RequestConflicts(partnerID int64, orgID string, exceptID int64) (RequestConflicts, error) {
	var (
		open, linkID, linkReq sql.NullInt64
		linkStatus            sql.NullString
		other                 int64
	)
	live := []string{LinkInvited, LinkActive}
	row := q.db.Raw(`SELECT
		(SELECT id FROM requests WHERE partner_id = ? AND organization_id = ? AND state IN ? AND id <> ? ORDER BY id LIMIT 1),
		l.id, l.status, l.request_id,
		CASE WHEN EXISTS (SELECT 1 FROM links WHERE organization_id = ? AND partner_id <> ? AND status IN ?)
		       OR EXISTS (SELECT 1 FROM requests WHERE organization_id = ? AND partner_id <> ? AND state IN ?)
		     THEN 1 ELSE 0 END
		FROM (SELECT 1 AS one) one
		LEFT JOIN (SELECT id, status, request_id FROM links WHERE partner_id = ? AND organization_id = ? AND status IN ?
		           ORDER BY id LIMIT 1) l ON 1 = 1`,
		partnerID, orgID, OpenStates, exceptID,
		orgID, partnerID, live,
		orgID, partnerID, []string{StatePendingApproval, StateInvited},
		partnerID, orgID, live).Row()
	if err := row.Scan(&open, &linkID, &linkStatus, &linkReq, &other); err != nil {
		return RequestConflicts{}, fmt.Errorf("looking for requests and links of organization %s: %w", orgID, err)
	}
	c := RequestConflicts{OpenRequestID: open.Int64, LiveLinkID: linkID.Int64, LiveLinkStatus: linkStatus.String, OtherReseller: other > 0}
	if linkReq.Valid {
		id := linkReq.Int64
		c.LiveLinkRequestID = &id
	}
	return c, nil
}

// DueChases lists needs_info requests received at or before before and not
// chased yet, oldest first.
func (q *Q) DueChases(before time.Time, limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state = ? AND chased_at IS NULL AND received_at <= ?", StateNeedsInfo, before.UTC()).
		Order("received_at").Limit(limit).Find(&out).Error
	return out, err
}

// DueNeedsInfoExpiries lists needs_info requests received at or before
// before, oldest first.
func (q *Q) DueNeedsInfoExpiries(before time.Time, limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state = ? AND received_at <= ?", StateNeedsInfo, before.UTC()).
		Order("received_at").Limit(limit).Find(&out).Error
	return out, err
}

// MarkChased records that a needs_info request was chased; ErrConflict when
// it was chased already or left needs_info (another worker was first).
func (q *Q) MarkChased(id int64, at time.Time) error {
	res := q.db.Model(&Request{}).Where("id = ? AND state = ? AND chased_at IS NULL", id, StateNeedsInfo).
		Update("chased_at", at.UTC())
	return oneRow(res, "marking %s chased", Reference(id))
}

// OpenRequestsOldest lists up to limit open requests, oldest first.
func (q *Q) OpenRequestsOldest(limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state IN ?", OpenStates).Order("received_at, id").Limit(limit).Find(&out).Error
	return out, err
}

// CountRequests counts the requests in any of states.
func (q *Q) CountRequests(states []string) (int64, error) {
	var n int64
	err := q.db.Model(&Request{}).Where("state IN ?", states).Count(&n).Error
	return n, err
}

// DueConsentExpiries lists the requests waiting for a partner's or
// reseller's consent none of whose consent links still works at now: all
// expired (or closed) unanswered, or, asked of nobody (the partner has no
// registered address), received at or before asked, oldest first.
func (q *Q) DueConsentExpiries(now, asked time.Time, limit int) ([]Request, error) {
	var out []Request
	live := q.db.Model(&ConsentToken{}).Select("1").
		Where("consent_tokens.request_id = requests.id AND consent_tokens.status = ? AND consent_tokens.expires_at > ?", ConsentPending, now.UTC())
	some := q.db.Model(&ConsentToken{}).Select("1").Where("consent_tokens.request_id = requests.id")
	err := q.db.Where("state IN ?", []string{StatePendingPartner, StatePendingReseller}).
		Where("NOT EXISTS (?)", live).
		Where("(EXISTS (?) OR received_at <= ?)", some, asked.UTC()).
		Order("received_at").Limit(limit).Find(&out).Error
	return out, err
}
