package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/onboarder/onboarder/store"
)

// Four eyes: a request carrying any of Options.FourEyesFindings
// (ONBOARDER_FOUR_EYES_FINDINGS) is approved only by two different ops
// users. The first approval is recorded in the approvals table and the
// audit trail ("approved 1 of 2 by …"); the request stays
// pending_approval and nothing is sent. The same user's second approval
// is refused; another user's approval approves as usual. The system actor
// (automatic approval) never counts; automatic approval needs a request
// without findings anyway. The approvals table, not the audit trail, is
// what counts: its unique key holds one approval per user, and approve
// reads it after locking the request row (store.Q.Request), so two
// approvals at once are counted one after the other.

// ErrSecondApprover: the ops user approved the request already and a
// second ops user must approve it; it wraps ErrState.
var ErrSecondApprover = errors.New("a second, different ops user must approve it")

// FourEyes is what the console shows of a request's four-eyes rule.
type FourEyes struct {
	// Findings are the request's findings that need two approvals (none:
	// one approval is enough).
	Findings []string
	// Approvals are those recorded so far, oldest first.
	Approvals []store.Approval
}

// Needed says whether the request needs two approvals.
func (f FourEyes) Needed() bool { return len(f.Findings) > 0 }

// Waiting says whether one approval is in and the second is missing.
func (f FourEyes) Waiting() bool { return f.Needed() && len(f.Approvals) == 1 }

// By lists who approved so far.
func (f FourEyes) By() string {
	var out []string
	for _, a := range f.Approvals {
		out = append(out, a.OpsUser)
	}
	return strings.Join(out, ", ")
}

// fourEyesOf picks the findings that need two approvals.
func (s *Service) fourEyesOf(fs []store.Finding) []string {
	var out []string
	for _, f := range fs {
		if slices.Contains(s.opts.FourEyesFindings, f.Code) && !slices.Contains(out, f.Code) {
			out = append(out, f.Code)
		}
	}
	return out
}

// fourEyesFor loads the four-eyes state of requests, by request id.
func (s *Service) fourEyesFor(q *store.Q, findings map[int64][]store.Finding) (map[int64]FourEyes, error) {
	out := map[int64]FourEyes{}
	var ids []int64
	for id, fs := range findings {
		if codes := s.fourEyesOf(fs); len(codes) > 0 {
			out[id] = FourEyes{Findings: codes}
			ids = append(ids, id)
		}
	}
	as, err := q.ApprovalsFor(ids)
	if err != nil {
		return nil, err
	}
	for id, a := range as {
		fe := out[id]
		fe.Approvals = a
		out[id] = fe
	}
	return out, nil
}

// fourEyes applies the rule to an approval of r (locked) by actor.
// pending: this was the first of two approvals, recorded; the caller stops.
func (tx *txn) fourEyes(r store.Request, actor string) (pending bool, err error) {
	fs, err := tx.Findings(r.ID)
	if err != nil {
		return false, fmt.Errorf("loading findings of %s: %w", r.Reference(), err)
	}
	codes := tx.s.fourEyesOf(fs)
	if len(codes) == 0 {
		return false, nil
	}
	who, ok := strings.CutPrefix(actor, "ops:")
	who = strings.ToLower(strings.TrimSpace(who))
	if !ok || who == "" || who == "system" {
		return false, stateErr("%s needs approvals by two ops users (findings %s); %s never counts as one",
			r.Reference(), strings.Join(codes, ", "), actor)
	}
	as, err := tx.ApprovalsFor([]int64{r.ID})
	if err != nil {
		return false, err
	}
	prior := as[r.ID]
	for _, a := range prior {
		if a.OpsUser == who {
			return false, fmt.Errorf("%s: %s approved it already (1 of 2, findings %s): %w: %w",
				r.Reference(), who, strings.Join(codes, ", "), ErrSecondApprover, ErrState)
		}
	}
	if err := tx.AddApproval(&store.Approval{RequestID: r.ID, OpsUser: who, At: tx.s.now()}); err != nil {
		return false, err
	}
	if len(prior) > 0 {
		return false, nil
	}
	tx.firstOfTwo = true
	return true, tx.audit(r.ID, nil, actor, r.State, r.State, fmt.Sprintf(
		"approved 1 of 2 by %s: findings %s need a second ops user's approval", who, strings.Join(codes, ", ")))
}

// ApprovalStep says what an approval did.
type ApprovalStep struct {
	// FirstOfTwo: the approval was recorded as 1 of 2; the request waits
	// for another ops user's approval and nothing was sent.
	FirstOfTwo bool
}

// ApproveStep is ApproveWith that says whether the approval was the first
// of two (four eyes).
func (s *Service) ApproveStep(ctx context.Context, requestID int64, a Approval) (ApprovalStep, error) {
	var step ApprovalStep
	if err := s.refreshOrganization(ctx, requestID); err != nil {
		return step, err
	}
	created, err := s.createInDirectory(ctx, requestID)
	if err != nil {
		return step, err
	}
	err = s.transact(ctx, func(tx *txn) error {
		tx.created = created
		err := tx.approve(requestID, "ops:"+a.By, a.Note, strings.ToLower(strings.TrimSpace(a.InviteContact)))
		step.FirstOfTwo = tx.firstOfTwo
		return err
	})
	if err != nil {
		return ApprovalStep{}, err
	}
	return step, nil
}
