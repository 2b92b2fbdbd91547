package store

import "fmt"

// RecentAudit lists the newest audit entries of every subject, newest
// first.
func (q *Q) RecentAudit(limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	if err := q.db.Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	return out, nil
}
