package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// flagOnboarded marks mail that was copied to the processed folder but
// could not be expunged (a server without MOVE and UIDPLUS).
const flagOnboarded imap.Flag = "$Onboarded"

// RunOnce makes one intake pass: it takes at most BatchSize of the mails
// that arrived since the cursor, oldest first, and for each chunk of
// FetchChunk calls the handler, moves what it says, then saves the cursor.
func (p *Poller) RunOnce(ctx context.Context) (Stats, error) {
	var st Stats
	cfg := p.cfg
	cur, err := p.cursors.LoadCursor(ctx, cfg.Mailbox)
	if err != nil {
		return st, fmt.Errorf("loading cursor of %q: %w", cfg.Mailbox, err)
	}

	s, sel, err := p.openSession(ctx)
	if err != nil {
		return st, err
	}
	keep := false
	defer func() {
		if keep {
			p.keepSession(s)
		} else {
			s.close()
		}
	}()
	ps := &passState{uidValidity: sel.UIDValidity, cur: cur, saved: cur}
	switch {
	case cur.UIDValidity == 0:
		ps.cur = Cursor{UIDValidity: sel.UIDValidity}
	case cur.UIDValidity != sel.UIDValidity:
		p.log.Warn("UIDVALIDITY changed, rescanning the mailbox",
			"old_uid_validity", cur.UIDValidity, "new_uid_validity", sel.UIDValidity, "old_last_uid", cur.LastUID)
		st.UIDValidityChanged = true
		ps.rescan = true
		ps.cur = Cursor{UIDValidity: sel.UIDValidity}
	}

	uids, err := p.searchNew(ctx, s, ps.cur.LastUID)
	if err != nil {
		return st, err
	}
	if len(uids) > cfg.BatchSize {
		st.Remaining = len(uids) - cfg.BatchSize
		uids = uids[:cfg.BatchSize]
	}
	if err := p.runChunks(ctx, s, uids, ps, &st); err != nil {
		return st, err
	}
	if err := p.saveCursor(ctx, ps); err != nil {
		return st, err
	}
	if st.Remaining > 0 {
		keep = true // the next pass follows at once: it takes this connection
	} else if err := s.logout(ctx); err != nil {
		p.log.Debug("IMAP logout failed", "err", err)
	}
	p.log.Info("intake pass done", "seen", st.Seen, "moved", st.Moved, "kept", st.Kept,
		"retried", st.Retried, "too_large", st.TooLarge, "remaining", st.Remaining,
		"uid_validity", ps.cur.UIDValidity, "last_uid", ps.cur.LastUID)
	return st, nil
}

// keptSessionAge is how long a connection kept after a pass that left mail
// waiting may be taken by the next pass; older ones are logged out.
const keptSessionAge = 10 * time.Second

// openSession returns a logged-in connection with the mailbox selected:
// the one the last pass kept (it left mail waiting, so this pass follows
// at once; saves a login, and a TLS handshake in production), else a new
// one. A kept connection that fails its SELECT is dropped for a new one.
func (p *Poller) openSession(ctx context.Context) (*session, *imap.SelectData, error) {
	if s := p.takeSession(); s != nil {
		sel, err := s.selectMailbox(ctx, p.cfg.Mailbox)
		if err == nil {
			return s, sel, nil
		}
		s.close()
		p.log.Debug("kept IMAP connection failed, opening a new one", "err", err)
		if ctx.Err() != nil {
			return nil, nil, err
		}
	}
	s, err := dial(ctx, p.cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	sel, err := s.selectMailbox(ctx, p.cfg.Mailbox)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, sel, nil
}

// takeSession returns the kept connection if it is fresh enough (closing
// it otherwise), or nil.
func (p *Poller) takeSession() *session {
	p.keptMu.Lock()
	s, at := p.kept, p.keptAt
	p.kept = nil
	p.keptMu.Unlock()
	if s == nil {
		return nil
	}
	if time.Since(at) > keptSessionAge {
		s.close()
		return nil
	}
	return s
}

func (p *Poller) keepSession(s *session) {
	p.keptMu.Lock()
	old := p.kept
	p.kept, p.keptAt = s, time.Now()
	p.keptMu.Unlock()
	if old != nil {
		old.close()
	}
}

// Close closes the connection a pass kept for the next one, if any.
func (p *Poller) Close() {
	if s := p.takeSession(); s != nil {
		s.close()
	}
}

// searchNew returns the UIDs above last, ascending. "UID last+1:*" also
// matches the highest UID when it is below last+1, so the answer is
// filtered.
func (p *Poller) searchNew(ctx context.Context, s *session, last uint32) ([]uint32, error) {
	if last == math.MaxUint32 {
		return nil, nil
	}
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}}}
	var data *imap.SearchData
	err := s.do(ctx, fmt.Sprintf("UID SEARCH UID %d:*", last+1), func() error {
		var err error
		data, err = s.c.UIDSearch(criteria, nil).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, uid := range data.AllUIDs() {
		if uint32(uid) > last {
			out = append(out, uint32(uid))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

type msgMeta struct {
	size int64
	msg  Message
	skip bool // already handled (flagged $Onboarded and \Deleted)
}

// runChunks handles uids chunk by chunk, in order, and pipelines the
// server's work with the handler's: while the handler works on one chunk,
// the next chunk is fetched and the one before is moved (and the cursor
// saved past it). The connection carries one command at a time; a chunk is
// moved only after the handler returned for it, and chunks are moved and
// the cursor saved in UID order, so a crash anywhere leaves what it always
// did: handled mails not yet moved, found again and recognised.
func (p *Poller) runChunks(ctx context.Context, s *session, uids []uint32, ps *passState, st *Stats) error {
	if len(uids) == 0 {
		return nil
	}
	// One goroutine runs the connection's work in the order it was asked
	// for: the next chunk's fetch goes before the last chunk's move.
	jobs := make(chan func(), 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for job := range jobs {
			job()
		}
	}()
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	onConn := func(fn func() error) <-chan error {
		done := make(chan error, 1)
		jobs <- func() { done <- fn() }
		return done
	}
	// A chunk is ready once fetched and, off the connection, prepared.
	fetch := func(uids []uint32) (*fetchedChunk, <-chan error) {
		f := &fetchedChunk{}
		fetched := onConn(func() error {
			var err error
			*f, err = p.fetchChunk(ctx, s, uids)
			return err
		})
		ready := make(chan error, 1)
		go func() {
			err := <-fetched
			if err == nil && len(f.msgs) > 0 {
				f.handle = p.h.Prepare(Batch{Mailbox: p.cfg.Mailbox, UIDValidity: ps.uidValidity, Rescan: ps.rescan, Messages: f.msgs})
			}
			ready <- err
		}()
		return f, ready
	}
	var finishing <-chan error // the previous chunk's move and cursor
	waitFinish := func() error {
		if finishing == nil {
			return nil
		}
		err := <-finishing
		finishing = nil
		return err
	}
	cur, fetched := fetch(uids)
	for {
		if err := <-fetched; err != nil {
			if ferr := waitFinish(); ferr != nil {
				return ferr
			}
			return err
		}
		uids = uids[len(cur.chunk):]
		var next *fetchedChunk
		var nextFetched <-chan error
		if len(uids) > 0 {
			next, nextFetched = fetch(uids)
		}
		actions, err := p.handleChunk(ctx, cur, st)
		if err == nil {
			err = waitFinish()
		}
		if err != nil {
			if nextFetched != nil {
				<-nextFetched
			}
			if ferr := waitFinish(); ferr != nil {
				return ferr
			}
			return err
		}
		c := cur
		finishing = onConn(func() error { return p.finishChunk(ctx, s, c, actions, ps, st) })
		if next == nil {
			return waitFinish()
		}
		cur, fetched = next, nextFetched
	}
}

// fetchedChunk is one chunk read from the server.
type fetchedChunk struct {
	chunk  []uint32  // the UIDs it covers, including mails gone or already moved
	msgs   []Message // the mails to handle, in UID order
	handle Handling  // msgs prepared by the handler (Handler.Prepare)
}

// fetchChunk reads the first mails of uids (at most FetchChunk, fewer when
// their bodies would pass maxChunkBodyBytes).
func (p *Poller) fetchChunk(ctx context.Context, s *session, uids []uint32) (fetchedChunk, error) {
	cfg := p.cfg
	chunk := uids[:min(len(uids), cfg.FetchChunk)]

	metas, err := p.fetchMeta(ctx, s, chunk)
	if err != nil {
		return fetchedChunk{}, err
	}
	// Cut the chunk short when the bodies would take too much memory.
	var budget int64
	for i, uid := range chunk {
		m, ok := metas[uid]
		if !ok || m.skip || m.msg.TooLarge {
			continue
		}
		if i > 0 && budget+m.size > maxChunkBodyBytes {
			chunk = chunk[:i]
			break
		}
		budget += m.size
	}

	var msgs []Message
	var want imap.UIDSet
	for _, uid := range chunk {
		m, ok := metas[uid]
		if !ok || m.skip {
			continue // expunged meanwhile, or already moved
		}
		msgs = append(msgs, m.msg)
		if !m.msg.TooLarge {
			want.AddNum(imap.UID(uid))
		}
	}
	if len(want) > 0 {
		bodies, err := p.fetchBodies(ctx, s, want)
		if err != nil {
			return fetchedChunk{}, err
		}
		for i := range msgs {
			m := &msgs[i]
			if m.TooLarge {
				continue
			}
			raw, ok := bodies[m.UID]
			switch {
			case !ok:
				// Expunged between the two fetches: drop it.
				m.UID = 0
			case raw == nil:
				// The server sent more than it announced.
				m.TooLarge = true
			default:
				m.Raw = raw
			}
		}
		msgs = slices.DeleteFunc(msgs, func(m Message) bool { return m.UID == 0 })
	}
	return fetchedChunk{chunk: chunk, msgs: msgs}, nil
}

// handleChunk runs the handler's Handling of the chunk and returns one
// action per mail (none when the chunk has no mails left).
func (p *Poller) handleChunk(ctx context.Context, f *fetchedChunk, st *Stats) ([]Action, error) {
	msgs := f.msgs
	if len(msgs) == 0 {
		return nil, nil
	}
	mailbox := p.cfg.Mailbox
	for _, m := range msgs {
		if m.TooLarge {
			st.TooLarge++
		}
	}
	st.Seen += len(msgs)
	actions, err := f.handle(ctx)
	if err != nil {
		return nil, fmt.Errorf("handling uids %d-%d of %q: %w", msgs[0].UID, msgs[len(msgs)-1].UID, mailbox, err)
	}
	if len(actions) != len(msgs) {
		return nil, fmt.Errorf("handling uids %d-%d of %q: handler returned %d actions for %d mails",
			msgs[0].UID, msgs[len(msgs)-1].UID, mailbox, len(actions), len(msgs))
	}
	for i, a := range actions {
		if a != ActionMove && a != ActionKeep && a != ActionRetry {
			return nil, fmt.Errorf("handling uid %d of %q: invalid action %d", msgs[i].UID, mailbox, a)
		}
	}
	return actions, nil
}

// finishChunk moves what the handler said to move, then advances and saves
// the cursor past the chunk (or, after a Retry, only up to the mail before
// it, for the rest of the pass).
func (p *Poller) finishChunk(ctx context.Context, s *session, f *fetchedChunk, actions []Action, ps *passState, st *Stats) error {
	if len(f.msgs) > 0 {
		var toMove imap.UIDSet
		firstRetry := uint32(0)
		for i, a := range actions {
			uid := f.msgs[i].UID
			switch a {
			case ActionMove:
				toMove.AddNum(imap.UID(uid))
			case ActionKeep:
				st.Kept++
			case ActionRetry:
				st.Retried++
				if firstRetry == 0 {
					firstRetry = uid
				}
				p.log.Info("mail left for retry", "uid", uid)
			}
		}
		if p.beforeMove != nil {
			p.beforeMove()
		}
		if len(toMove) > 0 {
			if err := p.move(ctx, s, toMove); err != nil {
				return err
			}
			st.Moved += countUIDs(toMove)
		}
		if firstRetry != 0 && !ps.blocked {
			ps.blocked = true
			ps.cur.LastUID = max(ps.cur.LastUID, firstRetry-1)
		}
	}
	if !ps.blocked {
		ps.cur.LastUID = max(ps.cur.LastUID, f.chunk[len(f.chunk)-1])
	}
	return p.saveCursor(ctx, ps)
}

// passState is what one RunOnce pass carries from chunk to chunk.
type passState struct {
	uidValidity uint32
	rescan      bool
	cur         Cursor // where the pass got to
	saved       Cursor // what the store holds
	blocked     bool   // a Retry holds the cursor for the rest of the pass
}

func (p *Poller) saveCursor(ctx context.Context, ps *passState) error {
	if ps.cur == ps.saved {
		return nil
	}
	if err := p.cursors.SaveCursor(ctx, p.cfg.Mailbox, ps.cur); err != nil {
		return fmt.Errorf("saving cursor %+v of %q: %w", ps.cur, p.cfg.Mailbox, err)
	}
	ps.saved = ps.cur
	return nil
}

func countUIDs(set imap.UIDSet) int {
	n := 0
	for _, r := range set {
		n += int(r.Stop-r.Start) + 1
	}
	return n
}

// fetchMeta gets size, date and flags of the chunk in one UID FETCH, and
// the envelopes of the mails too large to fetch in another.
func (p *Poller) fetchMeta(ctx context.Context, s *session, chunk []uint32) (map[uint32]msgMeta, error) {
	var set imap.UIDSet
	for _, uid := range chunk {
		set.AddNum(imap.UID(uid))
	}
	var bufs []*imapclient.FetchMessageBuffer
	err := s.do(ctx, fmt.Sprintf("UID FETCH %s (RFC822.SIZE INTERNALDATE FLAGS)", set), func() error {
		var err error
		bufs, err = s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true, Flags: true}).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]msgMeta, len(bufs))
	var large imap.UIDSet
	for _, b := range bufs {
		if b.UID == 0 {
			continue
		}
		uid := uint32(b.UID)
		onboarded, deleted := false, false
		for _, f := range b.Flags {
			switch {
			case strings.EqualFold(string(f), string(flagOnboarded)):
				onboarded = true
			case strings.EqualFold(string(f), string(imap.FlagDeleted)):
				deleted = true
			}
		}
		out[uid] = msgMeta{
			size: b.RFC822Size,
			skip: onboarded && deleted,
			msg: Message{
				UID:          uid,
				Size:         b.RFC822Size,
				InternalDate: b.InternalDate,
				TooLarge:     b.RFC822Size > p.cfg.MaxMessageBytes,
			},
		}
		if m := out[uid]; m.msg.TooLarge && !m.skip {
			large.AddNum(imap.UID(uid))
		}
	}
	if len(large) == 0 {
		return out, nil
	}
	envs, err := p.fetchEnvelopes(ctx, s, large)
	if err != nil {
		return nil, err
	}
	for uid, e := range envs {
		if m, ok := out[uid]; ok {
			m.msg.Envelope = e
			out[uid] = m
		}
	}
	return out, nil
}

// fetchEnvelopes gets the ENVELOPE of the mails of set, too large to
// fetch: it names sender, subject and Message-ID without the body. It is
// asked only for them, as most chunks have none.
func (p *Poller) fetchEnvelopes(ctx context.Context, s *session, set imap.UIDSet) (map[uint32]*Envelope, error) {
	var bufs []*imapclient.FetchMessageBuffer
	err := s.do(ctx, fmt.Sprintf("UID FETCH %s (ENVELOPE)", set), func() error {
		var err error
		bufs, err = s.c.Fetch(set, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]*Envelope, len(bufs))
	for _, b := range bufs {
		if b.UID == 0 || b.Envelope == nil {
			continue
		}
		e := b.Envelope
		out[uint32(b.UID)] = &Envelope{MessageID: e.MessageID, Subject: e.Subject,
			From: addrs(e.From), Sender: addrs(e.Sender), InReplyTo: e.InReplyTo}
	}
	return out, nil
}

// addrs returns the addresses of an ENVELOPE address list, "" for group
// markers and addresses without a domain, so that callers can tell one
// plain address from anything else.
func addrs(list []imap.Address) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.Addr())
	}
	return out
}

// fetchBodies gets the full source of every mail of set in one UID FETCH
// BODY.PEEK[] (which never sets \Seen). A body longer than MaxMessageBytes
// is read no further and comes back nil.
func (p *Poller) fetchBodies(ctx context.Context, s *session, set imap.UIDSet) (map[uint32][]byte, error) {
	out := make(map[uint32][]byte)
	limit := p.cfg.MaxMessageBytes
	err := s.do(ctx, fmt.Sprintf("UID FETCH %s BODY.PEEK[]", set), func() error {
		cmd := s.c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		var readErr error
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			var uid uint32
			var raw []byte
			var got bool
			for {
				item := msg.Next()
				if item == nil {
					break
				}
				switch item := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = uint32(item.UID)
				case imapclient.FetchItemDataBodySection:
					if item.Literal == nil || got {
						continue
					}
					got = true
					b, err := io.ReadAll(io.LimitReader(item.Literal, limit+1))
					if err != nil && readErr == nil {
						readErr = err
					}
					if int64(len(b)) <= limit {
						raw = b
						if raw == nil {
							raw = []byte{}
						}
					}
				}
			}
			if uid != 0 && got {
				out[uid] = raw
			}
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return readErr
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// move moves set to the processed folder: UID MOVE when the server has
// MOVE; else UID COPY, then (with UIDPLUS) UID STORE \Deleted and UID
// EXPUNGE of exactly these UIDs, or (without UIDPLUS) UID STORE \Deleted
// $Onboarded and no EXPUNGE, so that other clients' deleted mail is never
// expunged. A missing folder is created and the command retried once.
func (p *Poller) move(ctx context.Context, s *session, set imap.UIDSet) error {
	folder, naming, err := p.processedFolder(ctx, s)
	if err != nil {
		return fmt.Errorf("moving uids %s to %q: naming the folder for the server: %w", set, p.cfg.ProcessedFolder, err)
	}
	caps, err := s.caps(ctx)
	if err != nil {
		return fmt.Errorf("moving uids %s to %q: %w", set, folder, err)
	}
	if caps.Has(imap.CapMove) {
		err := p.withFolder(ctx, s, folder, naming, func() error {
			return s.do(ctx, fmt.Sprintf("UID MOVE %s %q", set, folder), func() error {
				_, err := s.c.Move(set, folder).Wait()
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("moving uids %s to %q: %w", set, folder, err)
		}
		return nil
	}

	err = p.withFolder(ctx, s, folder, naming, func() error {
		return s.do(ctx, fmt.Sprintf("UID COPY %s %q", set, folder), func() error {
			_, err := s.c.Copy(set, folder).Wait()
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("moving uids %s to %q: %w", set, folder, err)
	}
	flags := []imap.Flag{imap.FlagDeleted}
	uidPlus := caps.Has(imap.CapUIDPlus)
	if !uidPlus {
		flags = append(flags, flagOnboarded)
	}
	err = s.do(ctx, fmt.Sprintf("UID STORE %s +FLAGS.SILENT %v", set, flags), func() error {
		return s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
	})
	if err != nil {
		return fmt.Errorf("moving uids %s to %q: copied, but flagging the originals failed: %w", set, folder, err)
	}
	if !uidPlus {
		p.log.Debug("server lacks MOVE and UIDPLUS: originals flagged, not expunged", "uids", set.String())
		return nil
	}
	err = s.do(ctx, fmt.Sprintf("UID EXPUNGE %s", set), func() error {
		return s.c.UIDExpunge(set).Close()
	})
	if err != nil {
		return fmt.Errorf("moving uids %s to %q: copied, but expunging the originals failed: %w", set, folder, err)
	}
	return nil
}

// withFolder runs cmd; when the server answers NO (TRYCREATE or another
// NO), it creates folder and runs cmd once more. A folder that cannot be
// created is a *FolderError: the setting, not the connection, needs a look.
func (p *Poller) withFolder(ctx context.Context, s *session, folder string, naming folderNaming, cmd func() error) error {
	err := cmd()
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Type != imap.StatusResponseTypeNo {
		return err
	}
	p.log.Info("creating processed folder", "folder", folder, "cause", imapErr.Text)
	cerr := s.do(ctx, fmt.Sprintf("CREATE %q", folder), func() error {
		return s.c.Create(folder, nil).Wait()
	})
	var createErr *imap.Error
	if cerr != nil && errors.As(cerr, &createErr) && createErr.Code != imap.ResponseCodeAlreadyExists {
		return &FolderError{Folder: folder, Setting: p.cfg.ProcessedFolder, Naming: naming.String(),
			Err: fmt.Errorf("%w (after %w)", cerr, err)}
	}
	if cerr != nil && createErr == nil {
		return fmt.Errorf("%w (and creating the folder failed: %w)", err, cerr)
	}
	return cmd()
}
