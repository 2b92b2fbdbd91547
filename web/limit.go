package web

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (the client address, the e-mail
// address) in a fixed window. After max failures a key is refused until its
// window ends. Memory is bounded: when the table is full, expired entries
// are dropped, and if none are, a new key is not tracked (the other key of
// the same attempt, e.g. the e-mail address, still is).
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	seen   map[string]*tally
}

type tally struct {
	n     int
	start time.Time
}

const limiterCap = 10000

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, seen: map[string]*tally{}}
}

// blocked reports whether any of the keys is over its limit, and until when.
func (l *limiter) blocked(keys ...string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	for _, k := range keys {
		if c, ok := l.seen[k]; ok && t.Sub(c.start) < l.window && c.n >= l.max {
			return true, c.start.Add(l.window)
		}
	}
	return false, time.Time{}
}

// fail records a failed attempt for every key.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	for _, k := range keys {
		c, ok := l.seen[k]
		if !ok || t.Sub(c.start) >= l.window {
			if !ok && len(l.seen) >= limiterCap {
				l.sweep(t)
				if len(l.seen) >= limiterCap {
					continue
				}
			}
			c = &tally{start: t}
			l.seen[k] = c
		}
		c.n++
	}
}

// reset forgets the keys (after a successful login).
func (l *limiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.seen, k)
	}
}

func (l *limiter) sweep(t time.Time) {
	for k, c := range l.seen {
		if t.Sub(c.start) >= l.window {
			delete(l.seen, k)
		}
	}
}
