package workflow

import (
	"fmt"
	"sync"

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
	ask := func() (int64, int64, error) {
		return tx.AnswersSince(to, partner.ID, tx.s.now().Add(-o.AnswerWindow), o.AnswerLimitSender, o.AnswerLimitPartner)
	}
	var toAddr, toPartner int64
	var err error
	if c := tx.chunk; c != nil {
		var took bool
		toAddr, toPartner, took, err = c.tally.take(to, partner.ID, int64(o.AnswerLimitSender), int64(o.AnswerLimitPartner), ask)
		if took {
			*c.took = append(*c.took, tallyKey{to, partner.ID})
		}
	} else {
		toAddr, toPartner, err = ask()
	}
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

// answerTally counts, for one chunk of mail (HandleChunk), the answers not
// held per address and per partner: the count the database had when the
// chunk first asked about a key, plus every answer the chunk's mails
// queued since, in whichever lane. Without it each answer asked the
// database (one count per answer, which grows with the window when the
// limits are high), and mails of one chunk on different lanes could not see
// each other's uncommitted answers and went past a limit together.
//
// An answer counted here whose mail is then rolled back (alone, or with its
// transaction) is taken back (undo). Meanwhile it counted: the tally errs
// only on the safe side, where at worst an answer is held that could have
// gone.
type answerTally struct {
	mu         sync.Mutex
	recipients map[string]int64
	partners   map[int64]int64
}

func newAnswerTally() *answerTally {
	return &answerTally{recipients: map[string]int64{}, partners: map[int64]int64{}}
}

// take returns the tallies of to and partnerID, asking the database (ask)
// for keys the chunk has not seen yet, and when both are under their
// limits counts the answer about to be queued right away: checking and
// counting are one step, so two lanes never both take the last answer.
func (a *answerTally) take(to string, partnerID int64, limitTo, limitPartner int64, ask func() (int64, int64, error)) (toCount, partnerCount int64, took bool, err error) {
	a.mu.Lock()
	_, okR := a.recipients[to]
	_, okP := a.partners[partnerID]
	a.mu.Unlock()
	if !okR || !okP {
		dbR, dbP, err := ask()
		if err != nil {
			return 0, 0, false, err
		}
		a.mu.Lock()
		if _, ok := a.recipients[to]; !ok { // another lane may have set it meanwhile
			a.recipients[to] = dbR
		}
		if _, ok := a.partners[partnerID]; !ok {
			a.partners[partnerID] = dbP
		}
		a.mu.Unlock()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r, p := a.recipients[to], a.partners[partnerID]
	if r < limitTo && p < limitPartner {
		a.recipients[to]++
		a.partners[partnerID]++
		took = true
	}
	return r, p, took, nil
}

// tallyKey is one answer take counted.
type tallyKey struct {
	to        string
	partnerID int64
}

// undo takes back answers counted for mails that were rolled back.
func (a *answerTally) undo(keys []tallyKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		a.recipients[k.to]--
		a.partners[k.partnerID]--
	}
}
