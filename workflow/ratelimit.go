package workflow

import (
	"fmt"

	"github.com/onboarder/onboarder/store"
)

// rateLimited says why an answer caused by a received mail must be held
// ("" when it may go): the answers not held within the window, to this
// address and to all of the partner's addresses, are at their limits. A
// loop with a broken autoresponder, or a flood of requests, thus costs at
// most AnswerLimitSender mails per window per address; the requests are
// still recorded and checked, only their answers wait for ops.
func (tx *txn) rateLimited(partner *store.Partner, to string) (string, error) {
	o := tx.s.opts
	toAddr, toPartner, err := tx.AnswersSince(to, partner.ID, tx.s.now().Add(-o.AnswerWindow), o.AnswerLimitSender, o.AnswerLimitPartner)
	if err != nil {
		return "", err
	}
	switch {
	case toAddr >= int64(o.AnswerLimitSender):
		return fmt.Sprintf("rate limit: %d answers to %s in the last %s (limit %d)", toAddr, to, o.AnswerWindow, o.AnswerLimitSender), nil
	case toPartner >= int64(o.AnswerLimitPartner):
		return fmt.Sprintf("rate limit: %d answers to partner %s in the last %s (limit %d)", toPartner, partner.Name, o.AnswerWindow, o.AnswerLimitPartner), nil
	}
	return "", nil
}
