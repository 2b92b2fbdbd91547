package store

import (
	"fmt"
	"time"
)

// Finding is a check result recorded on a request (deciding or a warning).
type Finding struct {
	ID        int64
	RequestID int64
	Code      string
	Detail    string
	CreatedAt time.Time
}

// RequestsWithFinding lists up to limit requests in state that carry a
// finding with code, oldest first (the organization directory's re-check).
func (q *Q) RequestsWithFinding(state, code string, limit int) ([]Request, error) {
	var out []Request
	err := q.db.Where("state = ? AND id IN (?)", state,
		q.db.Model(&Finding{}).Select("request_id").Where("code = ?", code)).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("listing %s requests with finding %s: %w", state, code, err)
	}
	return out, nil
}

// DeleteFindings removes a request's findings with code (one that no
// longer holds, such as directory_unavailable once the directory answered;
// the audit trail keeps the history).
func (q *Q) DeleteFindings(requestID int64, code string) error {
	if err := q.db.Where("request_id = ? AND code = ?", requestID, code).Delete(&Finding{}).Error; err != nil {
		return fmt.Errorf("deleting finding %s of %s: %w", code, Reference(requestID), err)
	}
	return nil
}

// AddFinding records a finding on a request.
func (q *Q) AddFinding(requestID int64, code, detail string) error {
	f := newFinding(requestID, code, detail)
	return q.db.Create(&f).Error
}

func newFinding(requestID int64, code, detail string) Finding {
	return Finding{RequestID: requestID, Code: code, Detail: truncate(detail, 1000), CreatedAt: now()}
}

// Findings lists a request's findings in order.
func (q *Q) Findings(requestID int64) ([]Finding, error) {
	var fs []Finding
	err := q.db.Where("request_id = ?", requestID).Order("id").Find(&fs).Error
	return fs, err
}

// FindingsFor lists the findings of many requests, keyed by request id.
func (q *Q) FindingsFor(requestIDs []int64) (map[int64][]Finding, error) {
	out := map[int64][]Finding{}
	if len(requestIDs) == 0 {
		return out, nil
	}
	var fs []Finding
	if err := q.db.Where("request_id IN ?", requestIDs).Order("id").Find(&fs).Error; err != nil {
		return nil, err
	}
	for _, f := range fs {
		out[f.RequestID] = append(out[f.RequestID], f)
	}
	return out, nil
}
