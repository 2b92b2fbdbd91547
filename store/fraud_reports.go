package store

import (
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Fraud report statuses.
const (
	FraudOpen    = "open"
	FraudCleared = "cleared"
)

// FraudReport records that an organization's administrator declined an
// invitation as not requested by them. While it is open, the organization
// and the partner who asked are marked fraud_reported.
type FraudReport struct {
	ID             int64
	OrganizationID string
	PartnerID      int64
	RequestID      int64 // the declined request
	Status         string
	ReportedAt     time.Time
	ClearedAt      *time.Time
	ClearedBy      string
	ClearReason    string
}

// maxMemoFraudReports is how many open reports a chunk's lookup memo keeps;
// with more, every check asks the database.
const maxMemoFraudReports = 500

// InsertFraudReport records a new open report.
func (q *Q) InsertFraudReport(r *FraudReport) error {
	r.Status = FraudOpen
	if r.ReportedAt.IsZero() {
		r.ReportedAt = now()
	}
	if err := q.db.Create(r).Error; err != nil {
		return fmt.Errorf("recording the fraud report on organization %s: %w", r.OrganizationID, err)
	}
	return nil
}

// OpenFraudReportsFor returns the open reports on the organization or
// against the partner, oldest first (0 or "" matches nothing). A Chunk's
// handles read the open reports once per chunk: checks run for every
// request received, and reports are rare.
func (q *Q) OpenFraudReportsFor(orgID string, partnerID int64) ([]FraudReport, error) {
	if all, ok, err := q.memo.openFraudReports(q); err != nil {
		return nil, err
	} else if ok {
		var out []FraudReport
		for _, r := range all {
			if (orgID != "" && r.OrganizationID == orgID) || (partnerID != 0 && r.PartnerID == partnerID) {
				out = append(out, r)
			}
		}
		return out, nil
	}
	var out []FraudReport
	err := q.db.Where("status = ? AND (organization_id = ? OR partner_id = ?)", FraudOpen, orgID, partnerID).
		Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("looking for fraud reports on organization %s or partner %d: %w", orgID, partnerID, err)
	}
	return out, nil
}

// OpenFraudReports lists up to limit open reports, oldest first.
func (q *Q) OpenFraudReports(limit int) ([]FraudReport, error) {
	var out []FraudReport
	db := q.db.Where("status = ?", FraudOpen).Order("id")
	if limit > 0 {
		db = db.Limit(limit)
	}
	if err := db.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing open fraud reports: %w", err)
	}
	return out, nil
}

// OpenFraudReportsOn returns the organization's open reports, oldest
// first; inside a PostgreSQL transaction they stay locked until commit, so
// two ops clearing at once queue up.
func (q *Q) OpenFraudReportsOn(orgID string) ([]FraudReport, error) {
	db := q.db
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var out []FraudReport
	if err := db.Where("status = ? AND organization_id = ?", FraudOpen, orgID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing fraud reports on organization %s: %w", orgID, err)
	}
	return out, nil
}

// FraudReportsOfRequest returns the reports made on a request (at most one).
func (q *Q) FraudReportsOfRequest(requestID int64) ([]FraudReport, error) {
	var out []FraudReport
	if err := q.db.Where("request_id = ?", requestID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing fraud reports of %s: %w", Reference(requestID), err)
	}
	return out, nil
}

// ClearFraudReport closes an open report, recording who, when and why;
// ErrConflict when it is no longer open.
func (q *Q) ClearFraudReport(id int64, by, reason string, at time.Time) error {
	res := q.db.Model(&FraudReport{}).Where("id = ? AND status = ?", id, FraudOpen).Updates(map[string]any{
		"status": FraudCleared, "cleared_at": at.UTC(), "cleared_by": truncate(by, 320), "clear_reason": truncate(reason, 2000),
	})
	return oneRow(res, "clearing fraud report %d", id)
}

// fraudMemo is the open fraud reports of one batch (lookupMemo).
type fraudMemo struct {
	loaded  bool
	tooMany bool // more than maxMemoFraudReports: not kept
	open    []FraudReport
}

// openFraudReports returns the batch's open reports, read through q the
// first time; ok is false without a memo or with too many to keep.
func (m *lookupMemo) openFraudReports(q *Q) ([]FraudReport, bool, error) {
	if m == nil {
		return nil, false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.fraud.loaded {
		open, err := q.OpenFraudReports(maxMemoFraudReports + 1)
		if err != nil {
			return nil, false, err
		}
		m.fraud = fraudMemo{loaded: true, tooMany: len(open) > maxMemoFraudReports, open: open}
	}
	return m.fraud.open, !m.fraud.tooMany, nil
}
