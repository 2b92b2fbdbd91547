package store

import "fmt"

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
