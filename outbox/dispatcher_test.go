package outbox

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestSendHeadersAndBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		d := New(st, testConfig(t, srv.Addr(), clk))

		full := newRow("Jürgen Müller <juergen@partner.example>")
		full.Subject = "Re: Please establish reseller connection to customer Müller GmbH [REQ-000042]"
		full.TextBody = "Grüße,\n\nwe received your request REQ-000042.\nA long line " + strings.Repeat("x", 120) + "\n"
		full.HTMLBody = "<p>Grüße</p>\n<p>REQ-000042</p>\n"
		full.InReplyTo = "CAF=abc123@mail.partner.example"
		full.Refs = "first@partner.example CAF=abc123@mail.partner.example"
		textOnly := newRow("admin@customer.example")
		textOnly.HTMLBody = ""
		textOnly.ReplyTo = ""
		textOnly.AutoSubmitted = "auto-generated"
		insert(t, st, clk, &full, &textOnly)

		if got := flush(t, d); got != (Result{Sent: 2}) {
			t.Fatalf("FlushOnce = %+v, want 2 sent", got)
		}
		msgs := srv.Messages()
		if len(msgs) != 2 {
			t.Fatalf("server got %d mails, want 2", len(msgs))
		}
		if n := srv.Sessions(); n != 1 {
			t.Errorf("SMTP sessions = %d, want 1 (one connection per batch)", n)
		}

		p := parseReceived(t, msgs[0])
		h := p.header
		wantHeaders := map[string]string{
			"Message-Id":               "<" + full.MessageID + ">",
			"In-Reply-To":              "<CAF=abc123@mail.partner.example>",
			"References":               "<first@partner.example> <CAF=abc123@mail.partner.example>",
			"Auto-Submitted":           "auto-replied",
			"X-Auto-Response-Suppress": "All",
			"X-Onboarder-Loop":         "partners@onboarder.example",
			"Mime-Version":             "1.0",
		}
		for k, want := range wantHeaders {
			if got := h.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if h.Get("Precedence") != "" {
			t.Errorf("Precedence = %q, want none", h.Get("Precedence"))
		}
		if p.subject != full.Subject {
			t.Errorf("Subject = %q, want %q", p.subject, full.Subject)
		}
		from, err := h.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "Partner Onboarding" || from[0].Address != "partners@onboarder.example" {
			t.Errorf("From = %v (%v)", from, err)
		}
		to, err := h.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Name != "Jürgen Müller" || to[0].Address != "juergen@partner.example" {
			t.Errorf("To = %v (%v)", to, err)
		}
		rt, err := h.AddressList("Reply-To")
		if err != nil || len(rt) != 1 || rt[0].Address != "partners@onboarder.example" {
			t.Errorf("Reply-To = %v (%v)", rt, err)
		}
		if date, err := h.Date(); err != nil || !date.Equal(clk.Now()) {
			t.Errorf("Date = %v (%v), want %v", date, err, clk.Now())
		}
		if p.ctype != "multipart/alternative" {
			t.Errorf("Content-Type = %q, want multipart/alternative", p.ctype)
		}
		if p.text != full.TextBody {
			t.Errorf("text part:\n%q\nwant\n%q", p.text, full.TextBody)
		}
		if p.html != full.HTMLBody {
			t.Errorf("html part:\n%q\nwant\n%q", p.html, full.HTMLBody)
		}
		if p.envFrom != "partners@onboarder.example" || !cmp.Equal(p.envTo, []string{"juergen@partner.example"}) {
			t.Errorf("envelope = %s -> %v", p.envFrom, p.envTo)
		}

		p2 := parseReceived(t, msgs[1])
		if p2.ctype != "text/plain" || p2.text != textOnly.TextBody || p2.html != "" {
			t.Errorf("text-only mail: type %q text %q html %q", p2.ctype, p2.text, p2.html)
		}
		if got := p2.header.Get("Auto-Submitted"); got != "auto-generated" {
			t.Errorf("Auto-Submitted = %q", got)
		}
		for _, k := range []string{"Reply-To", "In-Reply-To", "References"} {
			if v := p2.header.Get(k); v != "" {
				t.Errorf("text-only mail has %s: %q", k, v)
			}
		}
		if got := p2.header.Get("Message-Id"); got != "<"+textOnly.MessageID+">" {
			t.Errorf("Message-ID = %q", got)
		}

		for _, r := range []store.OutboxMail{full, textOnly} {
			row := getRow(t, st, r.ID)
			if row.Status != store.OutboxSent || row.Attempts != 1 || row.SentAt == nil || row.LastError != "" || row.LockedBy != "" {
				t.Errorf("row %d: status %s attempts %d sent_at %v last_error %q locked_by %q",
					row.ID, row.Status, row.Attempts, row.SentAt, row.LastError, row.LockedBy)
			}
		}
		if got := flush(t, d); got != (Result{}) {
			t.Errorf("second FlushOnce = %+v, want nothing", got)
		}
		if n := len(srv.Messages()); n != 2 {
			t.Errorf("server got %d mails after a second flush, want 2", n)
		}
	})
}

func TestTemporaryFailureThenRecovery(t *testing.T) {
	tests := []struct {
		name     string
		inject   func(s *mailtestServer)
		wantCode string
	}{
		{"451 after DATA", func(s *mailtestServer) { s.FailNext(1, 451, [3]int{4, 3, 0}, "Mailbox busy, try later") }, "451 4.3.0"},
		{"421 on MAIL", func(s *mailtestServer) { s.FailNextMail(1, 421, [3]int{4, 3, 2}, "Service shutting down") }, "421 4.3.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				srv := startSMTP(t)
				tt.inject(srv)
				clk := newClock()
				d := New(st, testConfig(t, srv.Addr(), clk))
				row := newRow("partner@partner.example")
				insert(t, st, clk, &row)

				if got := flush(t, d); got != (Result{Deferred: 1}) {
					t.Fatalf("first flush = %+v, want 1 deferred", got)
				}
				r := getRow(t, st, row.ID)
				if r.Status != store.OutboxPending || r.Attempts != 1 || !strings.Contains(r.LastError, tt.wantCode) || !strings.Contains(r.LastError, "temporary") {
					t.Errorf("after failure: status %s attempts %d last_error %q", r.Status, r.Attempts, r.LastError)
				}
				if !r.NextAttemptAt.After(clk.Now()) {
					t.Errorf("next_attempt_at %v not after now %v", r.NextAttemptAt, clk.Now())
				}
				if r.NextAttemptAt.After(clk.Now().Add(time.Hour)) {
					t.Errorf("next_attempt_at %v more than MaxBackoff away", r.NextAttemptAt)
				}
				// Not due yet: nothing happens.
				if got := flush(t, d); got != (Result{}) {
					t.Errorf("flush before due = %+v, want nothing", got)
				}
				clk.Advance(r.NextAttemptAt.Sub(clk.Now()) + time.Second)
				if got := flush(t, d); got != (Result{Sent: 1}) {
					t.Fatalf("flush after backoff = %+v, want 1 sent", got)
				}
				msgs := srv.Messages()
				if len(msgs) != 1 {
					t.Fatalf("server accepted %d mails, want exactly 1", len(msgs))
				}
				if got := parseReceived(t, msgs[0]).header.Get("Message-Id"); got != "<"+row.MessageID+">" {
					t.Errorf("Message-ID = %q", got)
				}
				r = getRow(t, st, row.ID)
				if r.Status != store.OutboxSent || r.Attempts != 2 || r.LastError != "" {
					t.Errorf("after recovery: status %s attempts %d last_error %q", r.Status, r.Attempts, r.LastError)
				}
			})
		})
	}
}

func TestPermanentFailures(t *testing.T) {
	tests := []struct {
		name     string
		to       string
		inject   func(srv *mailtestServer)
		wantCode string
	}{
		{"550 recipient", "nobody@partner.example", func(s *mailtestServer) {
			s.RejectRecipient("nobody@partner.example", 550, "No such user")
		}, "550 5.1.1"},
		// go-mail refuses the whole message when any recipient is refused.
		{"550 one of two recipients", "ok@partner.example, nobody@partner.example", func(s *mailtestServer) {
			s.RejectRecipient("nobody@partner.example", 550, "No such user")
		}, "550"},
		{"554 after DATA", "partner@partner.example", func(s *mailtestServer) {
			s.FailNext(1, 554, [3]int{5, 6, 0}, "Message refused")
		}, "554 5.6.0"},
		{"550 on MAIL", "partner@partner.example", func(s *mailtestServer) {
			s.FailNextMail(1, 550, [3]int{5, 7, 1}, "Sender not allowed")
		}, "550 5.7.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				srv := startSMTP(t)
				tt.inject(srv)
				clk := newClock()
				d := New(st, testConfig(t, srv.Addr(), clk))
				bad := newRow(tt.to)
				good := newRow("fine@partner.example")
				insert(t, st, clk, &bad, &good)

				if got := flush(t, d); got != (Result{Sent: 1, Failed: 1}) {
					t.Fatalf("FlushOnce = %+v, want 1 sent 1 failed", got)
				}
				r := getRow(t, st, bad.ID)
				if r.Status != store.OutboxFailed || r.Attempts != 1 || !strings.Contains(r.LastError, tt.wantCode) || !strings.Contains(r.LastError, "permanent") {
					t.Errorf("failed row: status %s attempts %d last_error %q", r.Status, r.Attempts, r.LastError)
				}
				if g := getRow(t, st, good.ID); g.Status != store.OutboxSent {
					t.Errorf("the other row of the batch: status %s, want sent", g.Status)
				}
				if n := srv.Sessions(); n != 1 {
					t.Errorf("sessions = %d: a 5xx reply must not cost the connection", n)
				}
				clk.Advance(48 * time.Hour)
				if got := flush(t, d); got != (Result{}) {
					t.Errorf("a failed row was tried again: %+v", got)
				}
			})
		})
	}
}

func TestCutAfterDataIsTemporaryAndResendsSameMessageID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		srv.CutAfterData(1)
		clk := newClock()
		d := New(st, testConfig(t, srv.Addr(), clk))
		first, second, third := newRow("a@partner.example"), newRow("b@partner.example"), newRow("c@partner.example")
		insert(t, st, clk, &first, &second, &third)

		if got := flush(t, d); got != (Result{Sent: 2, Deferred: 1}) {
			t.Fatalf("FlushOnce = %+v, want 2 sent 1 deferred", got)
		}
		r := getRow(t, st, first.ID)
		if r.Status != store.OutboxPending || r.Attempts != 1 || !strings.Contains(r.LastError, "temporary") {
			t.Fatalf("cut row: status %s attempts %d last_error %q", r.Status, r.Attempts, r.LastError)
		}
		if n := srv.Sessions(); n != 2 {
			t.Errorf("sessions = %d, want 2 (reconnect after the cut for the rest of the batch)", n)
		}
		cut := srv.Cut()
		if len(cut) != 1 {
			t.Fatalf("cut mails = %d", len(cut))
		}

		clk.Advance(2 * time.Hour)
		if got := flush(t, d); got != (Result{Sent: 1}) {
			t.Fatalf("second flush = %+v, want 1 sent", got)
		}
		var ids []string
		for _, m := range srv.Messages() {
			ids = append(ids, parseReceived(t, m).header.Get("Message-Id"))
		}
		want := []string{"<" + second.MessageID + ">", "<" + third.MessageID + ">", "<" + first.MessageID + ">"}
		if d := cmp.Diff(want, ids); d != "" {
			t.Errorf("accepted Message-IDs (-want +got):\n%s", d)
		}
		if got := parseReceived(t, cut[0]).header.Get("Message-Id"); got != "<"+first.MessageID+">" {
			t.Errorf("cut mail's Message-ID = %q, resent as %q", got, "<"+first.MessageID+">")
		}
	})
}

func TestConnectionFailuresAreTemporary(t *testing.T) {
	srv := startSMTP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		addr    string
		mode    TLSMode
		wantErr string
	}{
		{"server down", closedAddr, TLSNone, "connect"},
		{"implicit TLS against plaintext", srv.Addr(), TLSImplicit, "tls"},
		{"STARTTLS required but not offered", srv.Addr(), TLSStartTLS, "STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				clk := newClock()
				cfg := testConfig(t, tt.addr, clk)
				cfg.TLS = tt.mode
				d := New(st, cfg)
				a, b := newRow("a@partner.example"), newRow("b@partner.example")
				insert(t, st, clk, &a, &b)
				if got := flush(t, d); got != (Result{Deferred: 2}) {
					t.Fatalf("FlushOnce = %+v, want 2 deferred", got)
				}
				for _, id := range []int64{a.ID, b.ID} {
					r := getRow(t, st, id)
					if r.Status != store.OutboxPending || !strings.Contains(r.LastError, "temporary") ||
						!strings.Contains(strings.ToLower(r.LastError), strings.ToLower(tt.wantErr)) || !r.NextAttemptAt.After(clk.Now()) {
						t.Errorf("row %d: status %s next %v last_error %q", id, r.Status, r.NextAttemptAt, r.LastError)
					}
				}
			})
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server accepted %d mails", n)
	}
}

func TestMaxAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		srv.FailNext(10, 451, [3]int{4, 3, 0}, "try later")
		clk := newClock()
		cfg := testConfig(t, srv.Addr(), clk)
		cfg.MaxAttempts = 3
		d := New(st, cfg)
		row := newRow("a@partner.example")
		insert(t, st, clk, &row)
		for i := 1; i <= 2; i++ {
			if got := flush(t, d); got != (Result{Deferred: 1}) {
				t.Fatalf("flush %d = %+v, want 1 deferred", i, got)
			}
			clk.Advance(2 * time.Hour)
		}
		if got := flush(t, d); got != (Result{Failed: 1}) {
			t.Fatalf("flush 3 = %+v, want 1 failed", got)
		}
		r := getRow(t, st, row.ID)
		if r.Status != store.OutboxFailed || r.Attempts != 3 || !strings.Contains(r.LastError, "giving up after 3 attempts") || !strings.Contains(r.LastError, "451") {
			t.Errorf("row: status %s attempts %d last_error %q", r.Status, r.Attempts, r.LastError)
		}
	})
}

func TestInvalidRowsFail(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(r *store.OutboxMail)
		wantErr string
	}{
		{"no recipients", func(r *store.OutboxMail) { r.ToAddrs = " , " }, "no recipients"},
		{"bad recipient", func(r *store.OutboxMail) { r.ToAddrs = "not an address" }, "invalid To"},
		{"bad from", func(r *store.OutboxMail) { r.FromAddr = "Partner Onboarding" }, "invalid From"},
		{"bad reply-to", func(r *store.OutboxMail) { r.ReplyTo = "<<>>" }, "invalid Reply-To"},
		{"message id with brackets", func(r *store.OutboxMail) { r.MessageID = "<x@y>" }, "invalid Message-ID"},
		{"message id with space", func(r *store.OutboxMail) { r.MessageID = "x y@z" }, "invalid Message-ID"},
		{"empty message id", func(r *store.OutboxMail) { r.MessageID = "" }, "invalid Message-ID"},
		{"bad auto-submitted", func(r *store.OutboxMail) { r.AutoSubmitted = "no" }, "invalid Auto-Submitted"},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		m := &countingMetrics{}
		cfg := testConfig(t, srv.Addr(), clk)
		cfg.Metrics = m.metrics()
		d := New(st, cfg)
		rows := make([]store.OutboxMail, len(tests))
		for i, tt := range tests {
			rows[i] = newRow("a@partner.example")
			tt.mod(&rows[i])
			insert(t, st, clk, &rows[i])
		}
		if got := flush(t, d); got != (Result{Failed: len(tests)}) {
			t.Fatalf("FlushOnce = %+v, want %d failed", got, len(tests))
		}
		for i, tt := range tests {
			r := getRow(t, st, rows[i].ID)
			if r.Status != store.OutboxFailed || !strings.Contains(r.LastError, tt.wantErr) {
				t.Errorf("%s: status %s last_error %q, want failed with %q", tt.name, r.Status, r.LastError, tt.wantErr)
			}
		}
		if n := srv.Sessions(); n != 0 {
			t.Errorf("connected %d times for rows that cannot be sent", n)
		}
		if got := m.snapshot(); !cmp.Equal(got, map[string]int{"failed/invalid": len(tests)}) {
			t.Errorf("metrics = %v", got)
		}
	})
}

func TestHeaderInjection(t *testing.T) {
	tests := []struct {
		name string
		mod  func(r *store.OutboxMail)
		// wantSubject is the decoded subject when the row is sent; "" means
		// the row must fail instead.
		wantSubject string
	}{
		{"CRLF in subject", func(r *store.OutboxMail) {
			r.Subject = "Hello\r\nBcc: evil@attacker.example\r\nX-Injected: 1"
		}, "Hello Bcc: evil@attacker.example X-Injected: 1"},
		{"LF in subject", func(r *store.OutboxMail) { r.Subject = "Hello\nX-Injected: 1\n\nbody" }, "Hello X-Injected: 1 body"},
		{"CR in subject", func(r *store.OutboxMail) { r.Subject = "Hello\rX-Injected: 1" }, "Hello X-Injected: 1"},
		{"CRLF in To", func(r *store.OutboxMail) {
			r.ToAddrs = "a@partner.example\r\nBcc: evil@attacker.example"
		}, ""},
		{"CRLF in To name", func(r *store.OutboxMail) {
			r.ToAddrs = "\"Evil\r\nX-Injected: 1\" <a@partner.example>"
		}, ""},
		{"CRLF in From name", func(r *store.OutboxMail) {
			r.FromAddr = "Evil\r\nX-Injected: 1 <partners@onboarder.example>"
		}, ""},
		{"CRLF in In-Reply-To", func(r *store.OutboxMail) {
			r.InReplyTo = "x@y\r\nX-Injected: 1"
			r.Refs = "a@b\r\nX-Injected: 1"
		}, "Subject kept"},
		{"controls and unicode line breaks in subject", func(r *store.OutboxMail) {
			r.Subject = "A\u2028X-Injected: 1\x07\x1b B"
		}, "A X-Injected: 1 B"},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		d := New(st, testConfig(t, srv.Addr(), clk))
		rows := make([]store.OutboxMail, len(tests))
		for i, tt := range tests {
			rows[i] = newRow("a@partner.example")
			rows[i].Subject = "Subject kept"
			tt.mod(&rows[i])
			insert(t, st, clk, &rows[i])
		}
		flush(t, d)
		byID := map[string]parsed{}
		for _, m := range srv.Messages() {
			p := parseReceived(t, m)
			byID[p.header.Get("Message-Id")] = p
			for _, name := range headerNames(p.rawHead) {
				switch strings.ToLower(name) {
				case "bcc", "x-injected":
					t.Errorf("injected header %q in:\n%s", name, p.rawHead)
				}
				if strings.HasPrefix(name, "!malformed") {
					t.Errorf("malformed header line %q", name)
				}
			}
			if !cmp.Equal(p.envTo, []string{"a@partner.example"}) {
				t.Errorf("envelope recipients %v", p.envTo)
			}
		}
		for i, tt := range tests {
			r := getRow(t, st, rows[i].ID)
			p, sent := byID["<"+rows[i].MessageID+">"]
			switch {
			case tt.wantSubject == "":
				if r.Status != store.OutboxFailed || !strings.Contains(r.LastError, "invalid") || sent {
					t.Errorf("%s: status %s last_error %q sent %v, want failed as invalid", tt.name, r.Status, r.LastError, sent)
				}
			case !sent || r.Status != store.OutboxSent:
				t.Errorf("%s: not sent (status %s, last_error %q)", tt.name, r.Status, r.LastError)
			case p.subject != tt.wantSubject:
				t.Errorf("%s: subject %q, want %q", tt.name, p.subject, tt.wantSubject)
			}
		}
	})
}

func TestConcurrentDispatchersSendEachRowOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		const n = 40
		rows := make([]store.OutboxMail, n)
		for i := range rows {
			rows[i] = newRow("a@partner.example")
			insert(t, st, clk, &rows[i])
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total Result
		)
		for w := 0; w < 3; w++ {
			cfg := testConfig(t, srv.Addr(), clk)
			cfg.Holder = "worker-" + string(rune('a'+w))
			cfg.Batch = 4
			cfg.Logger = nil
			d := New(st, cfg)
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := d.FlushOnce(context.Background())
				if err != nil {
					t.Errorf("worker %s: %v", cfg.Holder, err)
				}
				mu.Lock()
				total.add(res)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if total != (Result{Sent: n}) {
			t.Errorf("total = %+v, want %d sent", total, n)
		}
		seen := map[string]int{}
		for _, m := range srv.Messages() {
			seen[parseReceived(t, m).header.Get("Message-Id")]++
		}
		for _, r := range rows {
			if c := seen["<"+r.MessageID+">"]; c != 1 {
				t.Errorf("row %d sent %d times", r.ID, c)
			}
			if g := getRow(t, st, r.ID); g.Status != store.OutboxSent || g.Attempts != 1 {
				t.Errorf("row %d: status %s attempts %d", r.ID, g.Status, g.Attempts)
			}
		}
		if len(seen) != n {
			t.Errorf("distinct mails = %d, want %d", len(seen), n)
		}
	})
}

func TestRunKickAndStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		cfg := testConfig(t, srv.Addr(), newClock())
		cfg.Now = nil // real time: the store stamps new rows with it
		cfg.PollInterval = time.Hour
		d := New(st, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()

		time.Sleep(100 * time.Millisecond) // Run is now asleep for up to an hour
		row := newRow("a@partner.example")
		insert(t, st, nil, &row)
		start := time.Now()
		d.Kick()
		if _, err := srv.WaitFor(1, time.Second); err != nil {
			t.Fatalf("kicked row not sent within a second: %v", err)
		}
		t.Logf("kick to accepted: %s", time.Since(start))

		// A row due later wakes Run up by its timer, not the poll interval.
		later := newRow("b@partner.example")
		later.NextAttemptAt = time.Now().Add(300 * time.Millisecond)
		insert(t, st, nil, &later)
		d.Kick()
		if _, err := srv.WaitFor(2, 3*time.Second); err != nil {
			t.Fatalf("row due later not sent: %v", err)
		}

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		for _, id := range []int64{row.ID, later.ID} {
			if r := getRow(t, st, id); r.Status != store.OutboxSent {
				t.Errorf("row %d status %s, want sent", id, r.Status)
			}
		}
	})
}

func TestConfigErrors(t *testing.T) {
	st := storetest.Open(t, storetest.SQLiteURL(t))
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown TLS mode", Config{Addr: "127.0.0.1:25", TLS: "ssl"}, "unknown TLS mode"},
		{"no address", Config{TLS: TLSNone}, "no SMTP address"},
		{"bad port", Config{Addr: "host:99999", TLS: TLSNone}, "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(st, tt.cfg)
			if _, err := d.FlushOnce(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FlushOnce = %v, want %q", err, tt.want)
			}
			if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want %q", err, tt.want)
			}
		})
	}
}
