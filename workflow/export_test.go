package workflow

import "context"

// MoveRequestForTest moves a request through txn.moveRequest.
func (s *Service) MoveRequestForTest(ctx context.Context, id int64, from, to string) error {
	return s.transact(ctx, func(tx *txn) error { return tx.moveRequest(id, from, to, nil) })
}

// MoveLinkForTest moves a link through txn.moveLink.
func (s *Service) MoveLinkForTest(ctx context.Context, id int64, from []string, to string) error {
	return s.transact(ctx, func(tx *txn) error { return tx.moveLink(id, from, to) })
}
