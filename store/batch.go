package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// MessagesAt returns the messages recorded at these UIDs of one mailbox
// (UIDVALIDITY included), by UID: one query for a whole chunk instead of
// one per mail.
func (q *Q) MessagesAt(mailbox string, uidValidity int64, uids []int64) (map[int64]Message, error) {
	out := make(map[int64]Message, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	var ms []Message
	err := q.db.Where("mailbox = ? AND uid_validity = ? AND uid IN ?", mailbox, uidValidity, uids).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("looking up %d messages of %s/%d: %w", len(uids), mailbox, uidValidity, err)
	}
	for _, m := range ms {
		out[m.UID] = m
	}
	return out, nil
}

// lookupMemo remembers partner lookups for the length of one batch of
// work (a chunk of received mail): a chunk of a hundred mails from a few
// partners asks for the same partners hundreds of times, three queries each.
// A nil memo remembers nothing.
type lookupMemo struct {
	mu      sync.Mutex
	senders map[string]senderEntry
	byID    map[int64]Partner
}

type senderEntry struct {
	p   Partner
	err error // nil or ErrNotFound
}

type memoKey struct{}

// WithLookupMemo returns a context under which the store remembers
// partner lookups (Partner, PartnerForSender) until the context is
// dropped. Use it for one short batch of work only: a partner changed
// meanwhile is seen with its old rules and status until the batch ends.
// Registering a partner through a handle of the batch forgets everything.
func WithLookupMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &lookupMemo{senders: map[string]senderEntry{}, byID: map[int64]Partner{}})
}

func memoFrom(ctx context.Context) *lookupMemo {
	m, _ := ctx.Value(memoKey{}).(*lookupMemo)
	return m
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
	m.mu.Unlock()
}

// clonePartner copies p's rules, so that no caller shares them.
func clonePartner(p Partner) Partner {
	p.Rules = slices.Clone(p.Rules)
	return p
}
