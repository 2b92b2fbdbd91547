package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

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
