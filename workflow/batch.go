package workflow

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// intakeLanes is how many mails of a chunk are handled at once on
// PostgreSQL (each on its own connection). SQLite has one writer: one lane.
const intakeLanes = 4

// intakeBatch caps the mails handled in one transaction.
const intakeBatch = 50

// HandleMails handles a chunk of mails from one mailbox position range, as
// HandleMail would one by one, and returns one Result per mail in order.
//
// It is faster in these ways, and keeps every guarantee of HandleMail:
//   - one query finds the mails recorded before (a crash between commit and
//     move) instead of one per mail;
//   - partners are looked up once per chunk (store.WithLookupMemo);
//   - the chunk is parsed up front, on every core, while nothing waits;
//   - mails that cannot touch the same records are handled at the same
//     time, on up to four connections. Mails that could (the same
//     Message-ID, one in the other's thread, the same Organization ID or
//     request tag, mail without a Message-ID, delivery reports) are put in
//     one group and handled in chunk order on one connection, so a
//     duplicate is still a duplicate and a reply still finds its request;
//   - several mails (whole groups, up to about intakeBatch) share one
//     transaction, and so one commit; it is tried first without a
//     savepoint per mail, and only when a mail fails handled again with
//     one each;
//   - the answer limits are counted once per address and partner for the
//     chunk, then in memory across its lanes (answerTally), which also
//     keeps lanes from going past a limit together.
//
// A chunk may also come parsed ahead (HandleMailsParsed).
//
// A mail that fails is rolled back to its savepoint and recorded as failed
// on its own (retried, set aside after MaxAttempts) without stopping the
// others. Every mail is committed before HandleMails returns. The error is
// for infrastructure failures: the first one stops the chunk; what was
// committed stays committed and is recognised on the next pass.
func (s *Service) HandleMails(ctx context.Context, in []Incoming) ([]Result, error) {
	return s.HandleMailsParsed(ctx, in, nil)
}

// Parsed is a chunk of mail parsed ahead of its turn (ParseAhead).
type Parsed struct {
	mails []*parser.Mail
}

// ParseAhead parses a chunk on every core and records nothing: the mailbox
// calls it for the next chunk while the chunk before is in HandleMails, and
// hands the result to HandleMailsParsed with the same mails.
func (s *Service) ParseAhead(in []Incoming) *Parsed {
	return &Parsed{mails: s.parseAll(in, nil)}
}

// HandleMailsParsed is HandleMails for a chunk parsed ahead (pre from
// ParseAhead of the same mails; nil parses them here).
func (s *Service) HandleMailsParsed(ctx context.Context, in []Incoming, pre *Parsed) ([]Result, error) {
	res := make([]Result, len(in))
	if len(in) == 0 {
		return res, nil
	}
	// The few partners of a chunk are looked up once, not per mail.
	ctx = store.WithLookupMemo(ctx)
	prev, err := s.recorded(ctx, in)
	if err != nil {
		return nil, err
	}
	var parsed []*parser.Mail
	if pre != nil && len(pre.mails) == len(in) {
		parsed = pre.mails
	} else {
		parsed = s.parseAll(in, prev)
	}
	groups := conflictGroups(in, parsed)
	hints, err := s.lookAhead(ctx, in, prev, parsed)
	if err != nil {
		return nil, err
	}

	lanes := intakeLanes
	if s.st.Dialect() == store.SQLite {
		lanes = 1
	}
	batches := batchGroups(groups, min(intakeBatch, (len(in)+lanes-1)/lanes))
	lanes = min(lanes, len(batches))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan []int)
	tally := newAnswerTally()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < lanes; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				if err := s.handleBatch(lctx, in, b, prev, parsed, hints, tally, res); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for _, b := range batches {
		select {
		case next <- b:
		case <-lctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// earlierHint is what EarlierMessage would say about a mail, read for the
// whole chunk at once (lookAhead).
type earlierHint struct {
	found bool
	m     store.Message
}

// lookAhead reads in one query each what the chunk's mails will be checked
// against: the earlier records of the same mails (EarlierMessage), and the
// organizations they name (remembered under the chunk's lookup memo). A
// mail whose identity an earlier mail of the chunk shares gets no hint: it
// must see that mail's record, written in its own group's transaction.
func (s *Service) lookAhead(ctx context.Context, in []Incoming, prev map[uint32]store.Message, parsed []*parser.Mail) ([]*earlierHint, error) {
	hints := make([]*earlierHint, len(in))
	keys := make([]string, len(in))
	seen := map[string]bool{}
	var unique, orgs []string
	for i, m := range in {
		p := parsed[i]
		if _, recorded := prev[m.UID]; recorded || p == nil || m.TooLarge {
			continue
		}
		rec := s.newMessageRecord(m, p)
		k := store.EarlierKey(rec.MessageID, rec.FromAddr, rec.RawSHA256)
		if seen[k] {
			continue // the second of the chunk: asked in its transaction
		}
		seen[k] = true
		keys[i] = k
		unique = append(unique, k)
		if p.OrgID != "" && !s.external() {
			orgs = append(orgs, p.OrgID)
		}
	}
	q := s.st.Q(ctx)
	if err := q.RememberOrganizations(slices.Compact(slices.Sorted(slices.Values(orgs)))); err != nil {
		return nil, err
	}
	found, err := q.EarlierMessages(unique)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if k == "" {
			continue
		}
		m, ok := found[k]
		hints[i] = &earlierHint{found: ok, m: m}
	}
	return hints, nil
}

// batchGroups joins consecutive conflict groups into batches of at least
// size mails (a bigger group stays whole), each in chunk order.
func batchGroups(groups [][]int, size int) [][]int {
	var out [][]int
	var cur []int
	for _, g := range groups {
		cur = append(cur, g...)
		if len(cur) >= size {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// errWithSavepoints ends a batch's first attempt, made without a savepoint
// per mail, when a mail failed: the batch is handled again with them.
var errWithSavepoints = errors.New("a mail of the batch failed: handling the batch again with a savepoint per mail")

// batchMail is one mail of a batch, prepared for its transaction.
type batchMail struct {
	i    int // index in the chunk
	prev store.Message
	p    *parser.Mail
	look *orgLookup
	herr error // preparing it failed (a parser panic)
}

// handleBatch handles the mails idx of the chunk, in order, in one
// transaction (each under its own savepoint once one has failed), and fills
// in their results.
func (s *Service) handleBatch(ctx context.Context, in []Incoming, idx []int, prev map[uint32]store.Message, parsed []*parser.Mail,
	hints []*earlierHint, tally *answerTally, res []Result) error {
	var todo []batchMail
	for _, i := range idx {
		p, found := prev[in[i].UID]
		if found && p.Disposition != store.DispPending {
			res[i] = resultOf(p)
			continue
		}
		if !found {
			p = store.Message{}
		}
		w := batchMail{i: i, prev: p}
		w.p, w.look, w.herr = s.prepare(ctx, in[i], parsed[i])
		todo = append(todo, w)
	}
	if len(todo) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out := make([]Result, len(todo))
	failed := make([]error, len(todo))
	attempts := make([]int, len(todo))
	queued, hooks := 0, 0
	// First without savepoints (each costs a round trip and a
	// subtransaction); when a mail fails, the whole attempt is rolled back
	// and the batch handled again with a savepoint per mail, so that the
	// failing mail is rolled back and recorded alone.
	safe := false
	for _, w := range todo {
		safe = safe || w.herr != nil
	}
	var took []tallyKey // answers the current attempt counted in the tally
	attempt := func(q *store.Q) error {
		tally.undo(took) // a previous attempt that did not commit
		took = took[:0]
		queued, hooks = 0, 0
		clear(failed)
		last := ""
		for k, w := range todo {
			sp := fmt.Sprintf("mail_%d", k)
			if safe {
				if err := q.Savepoint(last, sp); err != nil {
					return err
				}
				last = sp
			}
			mark := len(took)
			herr := w.herr
			if herr == nil {
				// Findings, audit entries, answer-log rows and the mail's
				// record go in one round trip at its end (store.Q.Deferred).
				t := &txn{Q: q.Deferred(), s: s, org: w.look, earlier: hints[w.i], tally: tally, took: &took}
				r, err := t.handleIn(ctx, in[w.i], w.prev, w.p)
				if err == nil {
					err = t.Flush()
				}
				if id := t.FlushedMessageID(); err == nil && r.MessageID == 0 {
					r.MessageID = id // the record went in with the flush
				}
				if err == nil {
					out[k] = r
					queued += t.queued
					hooks += t.webhooks
					continue
				}
				herr = err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if errors.Is(herr, context.Canceled) || errors.Is(herr, context.DeadlineExceeded) || store.IsRetryable(herr) {
				return herr // the whole transaction: run again, or stop
			}
			if !safe {
				return errWithSavepoints
			}
			// This mail alone: undo what it did, record the failure.
			if err := q.RollbackTo(sp); err != nil {
				return fmt.Errorf("handling uid %d failed (%v): %w", in[w.i].UID, herr, err)
			}
			tally.undo(took[mark:])
			took = took[:mark]
			r, n, err := s.recordFailureOn(q, in[w.i], w.prev, herr)
			if err != nil {
				return err
			}
			out[k], failed[k], attempts[k] = r, herr, n
		}
		return nil
	}
	err := s.st.Transact(ctx, attempt)
	if errors.Is(err, errWithSavepoints) {
		safe = true
		err = s.st.Transact(ctx, attempt)
	}
	if err != nil {
		tally.undo(took)
		return err
	}
	if queued > 0 {
		s.opts.Queued()
	}
	if hooks > 0 && s.opts.WebhookQueued != nil {
		s.opts.WebhookQueued()
	}
	for k, w := range todo {
		res[w.i] = out[k]
		if failed[k] != nil {
			s.logFailure(in[w.i], out[k], attempts[k], failed[k])
		} else {
			s.logHandled(in[w.i], out[k])
		}
	}
	return nil
}

// recorded finds the mails of the chunk that are recorded already, by UID.
// A chunk spans one mailbox and UIDVALIDITY; mixed input is looked up per
// mail.
func (s *Service) recorded(ctx context.Context, in []Incoming) (map[uint32]store.Message, error) {
	out := make(map[uint32]store.Message, len(in))
	q := s.st.Q(ctx)
	uids := make([]int64, 0, len(in))
	for _, m := range in {
		if m.Mailbox != in[0].Mailbox || m.UIDValidity != in[0].UIDValidity {
			return nil, fmt.Errorf("handling a chunk: uid %d is from %s/%d, the chunk from %s/%d",
				m.UID, m.Mailbox, m.UIDValidity, in[0].Mailbox, in[0].UIDValidity)
		}
		uids = append(uids, int64(m.UID))
	}
	found, err := q.MessagesAt(in[0].Mailbox, int64(in[0].UIDValidity), uids)
	if err != nil {
		return nil, err
	}
	for uid, m := range found {
		out[uint32(uid)] = m
	}
	return out, nil
}

// parseAll parses the mails that will be handled (all but the too large,
// and those prev says are done), on every core. A mail whose parse fails (a
// parser panic) gets nil and is parsed again, and fails, where it is
// handled, so that the failure is recorded as usual.
func (s *Service) parseAll(in []Incoming, prev map[uint32]store.Message) []*parser.Mail {
	out := make([]*parser.Mail, len(in))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, min(runtime.GOMAXPROCS(0), len(in))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i], _ = s.parse(in[i].Raw)
			}
		}()
	}
	for i, m := range in {
		if p, ok := prev[m.UID]; (ok && p.Disposition != store.DispPending) || m.TooLarge {
			continue
		}
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// conflictGroups splits the chunk into groups of mails that may touch the
// same records, each group in chunk order, the groups ordered by their
// first mail. Mails share a group when they share a key: a Message-ID
// (their own, one they refer to, or the one a delivery report names), an
// Organization ID, a request tag; mail without a Message-ID, delivery
// reports and mail that could not be parsed share one group each.
func conflictGroups(in []Incoming, parsed []*parser.Mail) [][]int {
	parent := make([]int, len(in))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	join := func(i int, key string) {
		if o, ok := owner[key]; ok {
			a, b := find(o), find(i)
			if a != b {
				parent[max(a, b)] = min(a, b) // the root is the earliest mail
			}
			return
		}
		owner[key] = i
	}
	for i, p := range parsed {
		if p == nil {
			join(i, "unparsed")
			continue
		}
		if p.MessageID == "" {
			join(i, "no-message-id")
		} else {
			join(i, "msg:"+p.MessageID)
		}
		for _, id := range p.InReplyTo {
			join(i, "msg:"+id)
		}
		for _, id := range p.References {
			join(i, "msg:"+id)
		}
		if p.OrgID != "" {
			join(i, "org:"+strings.ToLower(p.OrgID))
		}
		for _, c := range p.OrgIDCandidates {
			join(i, "org:"+strings.ToLower(c))
		}
		if p.RequestTag != "" {
			join(i, "tag:"+p.RequestTag)
		}
		if p.Kind == parser.KindBounce || p.DSN != nil {
			join(i, "bounce")
		}
	}
	byRoot := map[int]int{}
	var groups [][]int
	for i := range in {
		r := find(i)
		gi, ok := byRoot[r]
		if !ok {
			gi = len(groups)
			byRoot[r] = gi
			groups = append(groups, nil)
		}
		groups[gi] = append(groups[gi], i)
	}
	return groups
}
