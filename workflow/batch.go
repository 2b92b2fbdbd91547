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

// Chunk is mail taken from the mailbox together (one mailbox and
// UIDVALIDITY, in UID order), parsed and ready for HandleChunk. ParseChunk
// makes it; the worker parses the next chunk while HandleChunk works on
// the one before.
type Chunk struct {
	mails  []Incoming
	parsed []*parser.Mail // nil for mail too large, or whose parse failed
	// again handles recorded mails again on their records (Reprocess).
	again bool
}

// ParseChunk parses the mails on every core and records nothing. A mail
// whose parse fails (a parser panic) is parsed again, and fails, in
// HandleChunk, where the failure is recorded as usual.
func (s *Service) ParseChunk(in []Incoming) Chunk {
	return Chunk{mails: in, parsed: s.parseAll(in)}
}

// HandleChunk records the chunk's mails and acts on each, once, and
// returns one Result per mail in order. A mail that is already recorded
// at its position (a crash between commit and move), or that is the same
// mail seen at a new position after a UIDVALIDITY change, is recognised
// and not handled again. A mail that fails is recorded with the error on
// its own (retried, set aside as unparseable after MaxAttempts) without
// stopping the others. Every mail is committed before HandleChunk returns.
// The error is for infrastructure failures (the database is gone): the
// first one stops the chunk; what was committed stays committed and is
// recognised on the next pass.
//
// Handling a chunk together is what makes a backlog drain fast:
//   - one query finds the mails recorded before, one their earlier copies
//     (lookAhead), one the organizations they name; partners and open
//     fraud reports are read once per chunk (a store.Chunk);
//   - mails that cannot touch the same records are handled at the same
//     time, on up to four connections. Mails that could (the same
//     Message-ID, one in the other's thread, the same Organization ID or
//     request tag, mail without a Message-ID, delivery reports) are put in
//     one group and handled in chunk order on one connection, so a
//     duplicate is still a duplicate and a reply still finds its request;
//   - several mails (whole groups, up to about intakeBatch) share one
//     transaction, and so one commit; it is tried first without a
//     savepoint per mail, and only when a mail fails handled again with
//     one each; each mail's findings, audit entries, answer-log rows and
//     record go in one round trip at its end (store.Deferred);
//   - the answer limits are counted once per address and partner for the
//     chunk, then in memory across its lanes (answerTally), which also
//     keeps lanes from going past a limit together.
func (s *Service) HandleChunk(ctx context.Context, c Chunk) ([]Result, error) {
	in := c.mails
	r := &chunkRun{s: s, c: c, st: s.st.NewChunk(), tally: newAnswerTally(), res: make([]Result, len(in))}
	if len(in) == 0 {
		return r.res, nil
	}
	var err error
	if r.prev, err = r.recorded(ctx); err != nil {
		return nil, err
	}
	if r.hints, err = r.lookAhead(ctx); err != nil {
		return nil, err
	}

	lanes := intakeLanes
	if s.st.Dialect() == store.SQLite {
		lanes = 1
	}
	batches := batchGroups(conflictGroups(in, c.parsed), min(intakeBatch, (len(in)+lanes-1)/lanes))
	lanes = min(lanes, len(batches))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan []int)
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
				if err := r.handleBatch(lctx, b); err != nil {
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
	return r.res, nil
}

// chunkRun is one HandleChunk call: the chunk and what its lanes share.
type chunkRun struct {
	s     *Service
	c     Chunk
	st    *store.Chunk             // lookups remembered for the chunk
	prev  map[uint32]store.Message // the chunk's mails recorded before, by UID
	hints []*earlierHint           // by mail (lookAhead)
	tally *answerTally
	res   []Result // by mail, filled in by the lanes
}

// chunkMail is what the transaction of one mail of a chunk knows from the
// chunk (txn.chunk). A nil *chunkMail asks the database for everything.
type chunkMail struct {
	// earlier answers EarlierMessage for the mail, read for the whole
	// chunk (lookAhead); nil asks the database.
	earlier *earlierHint
	// tally counts the chunk's answers for the rate limits (ratelimit.go).
	tally *answerTally
	// took collects the answers this transaction's attempt counted in the
	// tally, to take them back if it is rolled back.
	took *[]tallyKey
}

func (c *chunkMail) earlierHint() *earlierHint {
	if c == nil {
		return nil
	}
	return c.earlier
}

// earlierHint is what EarlierMessage would say about a mail, read for the
// whole chunk at once (lookAhead).
type earlierHint struct {
	found bool
	m     store.Message
}

// lookAhead reads in one query each what the chunk's mails will be checked
// against: the earlier records of the same mails (EarlierMessage), and the
// organizations they name (remembered in the store.Chunk). A mail whose
// identity an earlier mail of the chunk shares gets no hint: it must see
// that mail's record, written in its own group's transaction.
func (r *chunkRun) lookAhead(ctx context.Context) ([]*earlierHint, error) {
	s, in := r.s, r.c.mails
	hints := make([]*earlierHint, len(in))
	keys := make([]string, len(in))
	seen := map[string]bool{}
	var unique, orgs []string
	for i, m := range in {
		p := r.c.parsed[i]
		if _, recorded := r.prev[m.UID]; recorded || p == nil || m.TooLarge {
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
	if err := r.st.RememberOrganizations(ctx, slices.Compact(slices.Sorted(slices.Values(orgs)))); err != nil {
		return nil, err
	}
	found, err := s.st.Q(ctx).EarlierMessages(unique)
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
func (r *chunkRun) handleBatch(ctx context.Context, idx []int) error {
	s, in, tally := r.s, r.c.mails, r.tally
	cq := r.st.Q(ctx)
	var todo []batchMail
	for _, i := range idx {
		p, found := r.prev[in[i].UID]
		if found && p.Disposition != store.DispPending {
			r.res[i] = resultOf(p)
			continue
		}
		if !found {
			p = store.Message{}
		}
		w := batchMail{i: i, prev: p}
		w.p, w.look, w.herr = s.prepare(ctx, cq, in[i], r.c.parsed[i])
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
				// record go in one round trip at its end.
				t := &txn{Deferred: q.Deferred(), s: s, org: w.look,
					chunk: &chunkMail{earlier: r.hints[w.i], tally: tally, took: &took}}
				res, err := t.handleIn(ctx, in[w.i], w.prev, w.p)
				if err == nil {
					err = t.Flush()
				}
				if id := t.FlushedMessageID(); err == nil && res.MessageID == 0 {
					res.MessageID = id // the record went in with the flush
				}
				if err == nil {
					out[k] = res
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
			res, n, err := s.recordFailureOn(q, in[w.i], w.prev, herr)
			if err != nil {
				return err
			}
			out[k], failed[k], attempts[k] = res, herr, n
		}
		return nil
	}
	err := r.st.Transact(ctx, attempt)
	if errors.Is(err, errWithSavepoints) {
		safe = true
		err = r.st.Transact(ctx, attempt)
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
		r.res[w.i] = out[k]
		if failed[k] != nil {
			s.logFailure(in[w.i], out[k], attempts[k], failed[k])
		} else {
			s.logHandled(in[w.i], out[k])
		}
	}
	return nil
}

// recorded finds the mails of the chunk that are recorded already, by UID
// (those of a chunk handled again, as pending). A chunk spans one mailbox
// and UIDVALIDITY.
func (r *chunkRun) recorded(ctx context.Context) (map[uint32]store.Message, error) {
	in := r.c.mails
	out := make(map[uint32]store.Message, len(in))
	uids := make([]int64, 0, len(in))
	for _, m := range in {
		if m.Mailbox != in[0].Mailbox || m.UIDValidity != in[0].UIDValidity {
			return nil, fmt.Errorf("handling a chunk: uid %d is from %s/%d, the chunk from %s/%d",
				m.UID, m.Mailbox, m.UIDValidity, in[0].Mailbox, in[0].UIDValidity)
		}
		uids = append(uids, int64(m.UID))
	}
	found, err := r.s.st.Q(ctx).MessagesAt(in[0].Mailbox, int64(in[0].UIDValidity), uids)
	if err != nil {
		return nil, err
	}
	for uid, m := range found {
		if r.c.again {
			m.Disposition = store.DispPending
		}
		out[uint32(uid)] = m
	}
	return out, nil
}

// parseAll parses the mails (all but the too large) on every core. A mail
// whose parse fails (a parser panic) gets nil.
func (s *Service) parseAll(in []Incoming) []*parser.Mail {
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
		if !m.TooLarge {
			work <- i
		}
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
		if p.Kind == parser.KindNewOrganization { // checked against each other's VAT IDs
			join(i, "new-org")
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
