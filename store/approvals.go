package store

import (
	"fmt"
	"strings"
	"time"
)

// Approval is one ops user's approval of a request that needs two
// (four eyes); OpsUser is the login or the command line's --by.
type Approval struct {
	ID        int64
	RequestID int64
	OpsUser   string
	At        time.Time
}

// AddApproval records an ops user's approval of a request; ErrConflict
// when that user approved it already.
func (q *Q) AddApproval(a *Approval) error {
	a.OpsUser = strings.ToLower(strings.TrimSpace(a.OpsUser))
	a.At = a.At.UTC()
	if err := q.db.Create(a).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("recording the approval of %s by %s: %w", Reference(a.RequestID), a.OpsUser, ErrConflict)
		}
		return fmt.Errorf("recording the approval of %s by %s: %w", Reference(a.RequestID), a.OpsUser, err)
	}
	return nil
}

// ApprovalsFor returns the approvals of requests, oldest first, by request.
func (q *Q) ApprovalsFor(requestIDs []int64) (map[int64][]Approval, error) {
	out := map[int64][]Approval{}
	if len(requestIDs) == 0 {
		return out, nil
	}
	var as []Approval
	if err := q.db.Where("request_id IN ?", requestIDs).Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("loading approvals: %w", err)
	}
	for _, a := range as {
		out[a.RequestID] = append(out[a.RequestID], a)
	}
	return out, nil
}
