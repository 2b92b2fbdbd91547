package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	mail "github.com/wneessen/go-mail"

	"github.com/onboarder/onboarder/parser"
)

// rate is mails (or transactions) per second.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// imapLimits appends 200 mails (the APPEND rate), delivers n mails to a
// scratch mailbox, then reads them all with UID FETCH BODY.PEEK[] in
// batches of 500 on one connection, then moves them with UID MOVE in
// batches of 500. It returns the three rates.
func imapLimits(t imapTarget, seq string, n int) (appendRate, fetchRate, moveRate float64, err error) {
	start := time.Now()
	if err := t.appendAll("bench-append-"+seq, 200, func(i int) []byte { return requestMail(seq, i) }); err != nil {
		return 0, 0, 0, fmt.Errorf("appending the probe mails: %w", err)
	}
	appendRate = rate(200, time.Since(start))
	mbox := "bench-limit-" + seq
	if err := t.deliver(mbox, n, func(i int) []byte { return requestMail(seq, i) }); err != nil {
		return 0, 0, 0, fmt.Errorf("delivering the probe mails: %w", err)
	}

	c, err := t.dial()
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	if _, err := c.Select(mbox, nil).Wait(); err != nil {
		return 0, 0, 0, fmt.Errorf("selecting %s: %w", mbox, err)
	}
	const batch = 500
	got := 0
	start = time.Now()
	for lo := 1; lo <= n; lo += batch {
		var set imap.UIDSet
		set.AddRange(imap.UID(lo), imap.UID(min(lo+batch-1, n)))
		cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			for {
				item := msg.Next()
				if item == nil {
					break
				}
				if b, ok := item.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
					if _, err := io.Copy(io.Discard, b.Literal); err != nil {
						return 0, 0, 0, err
					}
					got++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return 0, 0, 0, fmt.Errorf("UID FETCH: %w", err)
		}
	}
	fetchRate = rate(got, time.Since(start))
	if got != n {
		return 0, 0, 0, fmt.Errorf("UID FETCH returned %d of %d bodies", got, n)
	}

	if err := c.Create(mbox+"-moved", nil).Wait(); err != nil {
		return 0, 0, 0, fmt.Errorf("creating %s-moved: %w", mbox, err)
	}
	start = time.Now()
	for lo := 1; lo <= n; lo += batch {
		var set imap.UIDSet
		set.AddRange(imap.UID(lo), imap.UID(min(lo+batch-1, n)))
		if _, err := c.Move(set, mbox+"-moved").Wait(); err != nil {
			return 0, 0, 0, fmt.Errorf("UID MOVE: %w", err)
		}
	}
	moveRate = rate(n, time.Since(start))
	for _, m := range []string{mbox, mbox + "-moved", "bench-append-" + seq} {
		c.Delete(m).Wait() //nolint:errcheck // scratch mailboxes
	}
	c.Logout().Wait() //nolint:errcheck // some servers close first
	return appendRate, fetchRate, moveRate, nil
}

// parseRate runs the parser over n generated mails on one goroutine.
func parseRate(seq string, n int) float64 {
	mails := make([][]byte, 200)
	for i := range mails {
		mails[i] = requestMail(seq, i)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		parser.Parse(mails[i%len(mails)], parser.Options{})
	}
	return rate(n, time.Since(start))
}

// sqliteDSN matches store's settings (WAL, synchronous NORMAL, immediate
// transactions), so the probe measures the same commit.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// commitRate opens conns connections and commits one small insert per
// transaction on each, for d; it returns transactions per second.
func commitRate(ctx context.Context, driver, dsn string, conns int, d time.Duration) (float64, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	ddl := "CREATE TABLE IF NOT EXISTS bench_commit (id BIGSERIAL PRIMARY KEY, note TEXT NOT NULL, at TIMESTAMPTZ NOT NULL)"
	ph := "$1, $2"
	if driver == "sqlite" {
		ddl = "CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT NOT NULL, at TEXT NOT NULL)"
		ph = "?, ?"
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return 0, fmt.Errorf("creating the probe table: %w", err)
	}
	var done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				err := func() error {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, "INSERT INTO bench_commit (note, at) VALUES ("+ph+")", "probe", time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
						tx.Rollback() //nolint:errcheck
						return err
					}
					return tx.Commit()
				}()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("probe transaction: %w", firstErr)
	}
	return rate(int(done.Load()), time.Since(start)), nil
}

// smtpRate sends n answer-sized mails with go-mail over one connection.
func smtpRate(s *sink, n int) (float64, error) {
	host, portStr, _ := net.SplitHostPort(s.addr())
	port, _ := strconv.Atoi(portStr)
	c, err := mail.NewClient(host, mail.WithPort(port), mail.WithTLSPolicy(mail.NoTLS), mail.WithTimeout(time.Minute))
	if err != nil {
		return 0, err
	}
	text := strings.Repeat("Thank you for your request. We have recorded it and will answer soon.\n", 20)
	msgs := make([]*mail.Msg, n)
	for i := range msgs {
		m := mail.NewMsg()
		if err := m.From("Partner Onboarding <partners@onboarding.example>"); err != nil {
			return 0, err
		}
		if err := m.To(fmt.Sprintf("sales%d@%s", i%3, partnerDomain(i%partnerCount))); err != nil {
			return 0, err
		}
		m.Subject(fmt.Sprintf("Re: Please establish reseller connection to customer [%s] [REQ-%06d]", customerName(i), i))
		m.SetBodyString(mail.TypeTextPlain, text)
		m.AddAlternativeString(mail.TypeTextHTML, "<p>"+text+"</p>")
		msgs[i] = m
	}
	before := s.accepted.Load()
	start := time.Now()
	if err := c.DialAndSend(msgs...); err != nil {
		return 0, fmt.Errorf("sending with go-mail: %w", err)
	}
	d := time.Since(start)
	if got := s.accepted.Load() - before; got != int64(n) {
		return 0, fmt.Errorf("the sink accepted %d of %d mails", got, n)
	}
	return rate(n, d), nil
}
