package workflow

import "context"

// SetRequestStateForTest moves a request through the guarded txn method.
func (s *Service) SetRequestStateForTest(ctx context.Context, id int64, from, to string) error {
	return s.transact(ctx, func(tx *txn) error { return tx.SetRequestState(id, from, to, nil) })
}

// SetLinkStatusForTest moves a link through the guarded txn method.
func (s *Service) SetLinkStatusForTest(ctx context.Context, id int64, from []string, to string) error {
	return s.transact(ctx, func(tx *txn) error { return tx.SetLinkStatus(id, from, to) })
}
