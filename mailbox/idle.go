package mailbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Idle backoff between reconnections.
const (
	idleBackoffMin = time.Second
	idleBackoffMax = 2 * time.Minute
)

// Idle waits for new mail with IMAP IDLE on its own connection and calls
// notify (from Idle's goroutine) when the mailbox grows, and once after
// every (re)connection, since mail may have come while nobody listened.
// It re-issues IDLE every IdleRenew and reconnects with backoff on errors
// until ctx ends; then it returns ctx's error. It returns
// ErrIdleUnsupported at once when the server lacks IDLE.
func (p *Poller) Idle(ctx context.Context, notify func()) error {
	backoff := idleBackoffMin
	for {
		started := time.Now()
		err := p.idleSession(ctx, notify)
		if errors.Is(err, ErrIdleUnsupported) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(started) > idleBackoffMax {
			backoff = idleBackoffMin // it ran well for a while
		}
		p.log.Warn("IMAP IDLE failed, reconnecting", "err", err, "backoff", backoff.String())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, idleBackoffMax)
	}
}

// existsWatch turns EXISTS/EXPUNGE responses into a wake-up signal.
type existsWatch struct {
	mu     sync.Mutex
	count  uint32
	signal chan struct{} // capacity 1
}

func (w *existsWatch) set(n uint32) {
	w.mu.Lock()
	w.count = n
	w.mu.Unlock()
}

func (w *existsWatch) exists(n uint32) {
	w.mu.Lock()
	grew := n > w.count
	w.count = n
	w.mu.Unlock()
	if grew {
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
}

func (w *existsWatch) expunge() {
	w.mu.Lock()
	if w.count > 0 {
		w.count--
	}
	w.mu.Unlock()
}

// idleSession runs one connection: login, SELECT, then IDLE until an
// error or ctx ends.
func (p *Poller) idleSession(ctx context.Context, notify func()) error {
	cfg := p.cfg
	w := &existsWatch{signal: make(chan struct{}, 1)}
	handler := &imapclient.UnilateralDataHandler{
		Expunge: func(uint32) { w.expunge() },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				w.exists(*d.NumMessages)
			}
		},
	}
	s, err := dial(ctx, cfg, handler)
	if err != nil {
		return err
	}
	defer s.close()

	caps, err := s.caps(ctx)
	if err != nil {
		return err
	}
	if !caps.Has(imap.CapIdle) {
		return ErrIdleUnsupported
	}
	sel, err := s.selectMailbox(ctx, cfg.Mailbox)
	if err != nil {
		return err
	}
	w.set(sel.NumMessages)
	// Drop a signal from EXISTS sent during SELECT; it is covered below.
	select {
	case <-w.signal:
	default:
	}
	notify()

	for {
		var idle *imapclient.IdleCommand
		err := s.do(ctx, "IDLE", func() error {
			var err error
			idle, err = s.c.Idle()
			return err
		})
		if err != nil {
			return err
		}
		renew := time.NewTimer(cfg.IdleRenew)
	wait:
		for {
			select {
			case <-ctx.Done():
				renew.Stop()
				return ctx.Err() // the deferred close ends IDLE
			case <-s.c.Closed():
				renew.Stop()
				return fmt.Errorf("IDLE on %q: connection closed by server", cfg.Mailbox)
			case <-w.signal:
				notify()
			case <-renew.C:
				break wait
			}
		}
		// Renew: DONE, wait for the server's OK (a silent server fails
		// here within CommandTimeout), then IDLE again.
		err = s.do(ctx, "IDLE DONE", func() error {
			if err := idle.Close(); err != nil {
				return err
			}
			return idle.Wait()
		})
		if err != nil {
			return err
		}
	}
}
