package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Chunk is the store's side of one chunk of received mail handled
// together (workflow's intake). The handles its Q and Transact make
// remember partner lookups (Partner, PartnerForSender), the organizations
// RememberOrganizations read and the open fraud reports
// (OpenFraudReportsFor) for as long as the chunk is used, and on
// PostgreSQL let a Deferred handle keep new outbox rows, their ids
// reserved in blocks. Use one for one short batch of work only: a partner
// changed meanwhile is seen with its old rules and status until the chunk
// is dropped. Registering a partner through one of its handles forgets
// everything.
type Chunk struct {
	st   *Store
	memo *lookupMemo
}

// NewChunk starts a chunk that remembers nothing yet.
func (s *Store) NewChunk() *Chunk {
	return &Chunk{st: s, memo: &lookupMemo{senders: map[string]senderEntry{}, byID: map[int64]Partner{},
		orgs: map[string]orgEntry{}}}
}

// Q returns an autocommit handle of the chunk.
func (c *Chunk) Q(ctx context.Context) *Q {
	q := c.st.Q(ctx)
	q.memo = c.memo
	return q
}

// Transact is Store.Transact with a handle of the chunk.
func (c *Chunk) Transact(ctx context.Context, fn func(q *Q) error) error {
	return c.st.transact(ctx, c.memo, fn)
}

// RememberOrganizations reads the organizations ids in one query and
// remembers each (and which do not exist) for the Organization lookups of
// the chunk's handles.
func (c *Chunk) RememberOrganizations(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var os []Organization
	if err := c.st.db.WithContext(ctx).Where("id IN ?", ids).Find(&os).Error; err != nil {
		return fmt.Errorf("looking up %d organizations: %w", len(ids), err)
	}
	for _, id := range ids {
		c.memo.putOrg(id, orgEntry{})
	}
	for _, o := range os {
		c.memo.putOrg(o.ID, orgEntry{o: o, found: true})
	}
	return nil
}

// lookupMemo is what a Chunk remembers: a chunk of a hundred mails from a
// few partners asks for the same partners hundreds of times, three queries
// each. A nil memo (a handle of no chunk) remembers nothing.
type lookupMemo struct {
	mu      sync.Mutex
	senders map[string]senderEntry
	byID    map[int64]Partner
	orgs    map[string]orgEntry // RememberOrganizations
	// outboxIDs are ids reserved from outbox_mails' sequence for rows a
	// Deferred handle keeps (PostgreSQL); unused ones are left as gaps.
	outboxIDs []int64
	fraud     fraudMemo // open fraud reports (OpenFraudReportsFor)
}

// outboxIDBlock is how many outbox ids one reservation takes.
const outboxIDBlock = 64

// outboxID returns a reserved outbox id, reserving a block through q when
// none is left.
func (m *lookupMemo) outboxID(q *Q) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.outboxIDs) == 0 {
		var ids []int64
		err := q.db.Raw("SELECT nextval(pg_get_serial_sequence('outbox_mails', 'id')) FROM generate_series(1, ?)", outboxIDBlock).
			Scan(&ids).Error
		if err != nil {
			return 0, fmt.Errorf("reserving outbox ids: %w", err)
		}
		if len(ids) == 0 {
			return 0, fmt.Errorf("reserving outbox ids: none returned")
		}
		m.outboxIDs = ids
	}
	id := m.outboxIDs[0]
	m.outboxIDs = m.outboxIDs[1:]
	return id, nil
}

type orgEntry struct {
	o     Organization
	found bool
}

type senderEntry struct {
	p   Partner
	err error // nil or ErrNotFound
}

func (m *lookupMemo) partner(id int64) (Partner, bool) {
	if m == nil {
		return Partner{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.byID[id]
	return clonePartner(p), ok
}

func (m *lookupMemo) putPartner(p Partner) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.byID[p.ID] = clonePartner(p)
	m.mu.Unlock()
}

func (m *lookupMemo) sender(addr string) (Partner, error, bool) {
	if m == nil {
		return Partner{}, nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.senders[addr]
	if !ok {
		return Partner{}, nil, false
	}
	if e.err != nil {
		return Partner{}, fmt.Errorf("partner for %q: %w", addr, ErrNotFound), true
	}
	return clonePartner(e.p), nil, true
}

func (m *lookupMemo) putSender(addr string, p Partner, err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.senders[addr] = senderEntry{p: clonePartner(p), err: err}
	if err == nil {
		m.byID[p.ID] = clonePartner(p)
	}
	m.mu.Unlock()
}

func (m *lookupMemo) forget() {
	if m == nil {
		return
	}
	m.mu.Lock()
	clear(m.senders)
	clear(m.byID)
	clear(m.orgs)
	m.mu.Unlock()
}

func (m *lookupMemo) org(id string) (orgEntry, bool) {
	if m == nil {
		return orgEntry{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.orgs[id]
	return e, ok
}

func (m *lookupMemo) putOrg(id string, e orgEntry) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.orgs[id] = e
	m.mu.Unlock()
}

// clonePartner copies p's rules, so that no caller shares them.
func clonePartner(p Partner) Partner {
	p.Rules = slices.Clone(p.Rules)
	return p
}

// Savepoint starts savepoint name inside the transaction q, releasing
// savepoint release first when it is not "": several mails in one
// transaction each get their own savepoint, so that one can fail alone
// (RollbackTo). On PostgreSQL both go in one round trip. Names are
// identifiers chosen by the caller (letters, digits, underscores).
func (q *Q) Savepoint(release, name string) error {
	if !isIdent(name) || (release != "" && !isIdent(release)) {
		return fmt.Errorf("savepoint %q after %q: not an identifier", name, release)
	}
	sql := "SAVEPOINT " + name
	if release != "" {
		if q.dialect == Postgres {
			// No arguments: pgx sends it with the simple protocol, where
			// several statements may go at once.
			sql = "RELEASE SAVEPOINT " + release + "; " + sql
		} else if err := q.db.Exec("RELEASE SAVEPOINT " + release).Error; err != nil {
			return fmt.Errorf("releasing savepoint %s: %w", release, err)
		}
	}
	if err := q.db.Exec(sql).Error; err != nil {
		return fmt.Errorf("starting savepoint %s: %w", name, err)
	}
	return nil
}

// RollbackTo undoes what the transaction q did since savepoint name (the
// savepoint stays). On PostgreSQL it also ends the aborted state a failed
// statement leaves.
func (q *Q) RollbackTo(name string) error {
	if !isIdent(name) {
		return fmt.Errorf("rolling back to savepoint %q: not an identifier", name)
	}
	if err := q.db.Exec("ROLLBACK TO SAVEPOINT " + name).Error; err != nil {
		return fmt.Errorf("rolling back to savepoint %s: %w", name, err)
	}
	return nil
}

// IsRetryable reports whether err is a serialization failure or deadlock
// (PostgreSQL) or a busy database (SQLite): the whole transaction may
// succeed when run again, as Transact does a few times.
func IsRetryable(err error) bool { return err != nil && retryable(err) }

func isIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
