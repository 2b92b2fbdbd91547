package outbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
		code      int
	}{
		{"550 reply", &textproto.Error{Code: 550, Msg: "5.1.1 no such user"}, true, 550},
		{"554 wrapped", fmt.Errorf("sending: %w", &textproto.Error{Code: 554, Msg: "5.6.0 refused"}), true, 554},
		{"451 reply", &textproto.Error{Code: 451, Msg: "4.3.0 later"}, false, 451},
		{"421 reply", &textproto.Error{Code: 421, Msg: "closing"}, false, 421},
		{"EOF after DATA", io.EOF, false, 0},
		{"unexpected EOF", io.ErrUnexpectedEOF, false, 0},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, false, 0},
		{"TLS record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false, 0},
		{"deadline", context.DeadlineExceeded, false, 0},
		{"odd reply code", &textproto.Error{Code: 354, Msg: "go ahead"}, false, 0},
		{"text that looks like a code", errors.New("read 500 bytes: 550 is not a reply"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := Classify(tt.err)
			if se.Permanent != tt.permanent || se.Code != tt.code {
				t.Errorf("Classify(%v) = permanent %v code %d, want %v %d", tt.err, se.Permanent, se.Code, tt.permanent, tt.code)
			}
			if !errors.Is(se, tt.err) {
				t.Errorf("Classify does not wrap the error")
			}
		})
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	// A refused sign-in or session is the operator's settings, not the
	// mail's: temporary whatever its code; a 5xx about the mail stays
	// permanent even when its text speaks of authentication.
	for _, tc := range []struct {
		err             error
		auth, permanent bool
	}{
		{&textproto.Error{Code: 535, Msg: "5.7.8 Error: authentication failed"}, true, false},
		{&textproto.Error{Code: 530, Msg: "5.7.0 Must issue a STARTTLS command first"}, true, false},
		{&textproto.Error{Code: 530, Msg: "5.7.57 Client not authenticated to send mail"}, true, false},
		{&textproto.Error{Code: 534, Msg: "5.7.9 Please log in with your web browser"}, true, false},
		{&textproto.Error{Code: 538, Msg: "5.7.11 Encryption required for requested authentication mechanism"}, true, false},
		{&textproto.Error{Code: 454, Msg: "4.7.0 Temporary authentication failure"}, true, false},
		{errors.New("connecting to h:587: server does not support SMTP AUTH"), true, false},
		{&textproto.Error{Code: 550, Msg: "5.7.26 Unauthenticated email is not accepted (DMARC authentication failed)"}, false, true},
		{&textproto.Error{Code: 554, Msg: "5.7.1 <a@b.example>: Recipient address rejected: Access denied"}, false, true},
		{&textproto.Error{Code: 451, Msg: "4.3.0 later"}, false, false},
	} {
		se := Classify(tc.err)
		if se.Auth != tc.auth || se.Permanent != tc.permanent {
			t.Errorf("Classify(%v) = auth %v permanent %v, want %v %v", tc.err, se.Auth, se.Permanent, tc.auth, tc.permanent)
		}
		if tc.auth && (ErrorClass(se) != ErrClassAuth || !strings.Contains(se.Error(), "temporary")) {
			t.Errorf("Classify(%v): class %s, %q", tc.err, ErrorClass(se), se.Error())
		}
	}
	se := Classify(&textproto.Error{Code: 550, Msg: "5.1.1 no such user"})
	if se.Enhanced != "5.1.1" || !strings.Contains(se.Error(), "permanent smtp error 550 5.1.1") {
		t.Errorf("enhanced %q error %q", se.Enhanced, se.Error())
	}
	if again := Classify(fmt.Errorf("outer: %w", se)); again != se {
		t.Error("an already classified error is classified again")
	}
}

func TestBackoff(t *testing.T) {
	d := New(nil, Config{MinBackoff: 30 * time.Second, MaxBackoff: time.Hour})
	for attempts := 0; attempts <= 200; attempts++ {
		ceiling := 30 * time.Second
		for i := 1; i < attempts && ceiling < time.Hour; i++ {
			ceiling *= 2
		}
		ceiling = min(ceiling, time.Hour)
		for range 50 {
			b := d.backoff(attempts)
			if b < 30*time.Second || b > ceiling {
				t.Fatalf("backoff(%d) = %s, want within [30s, %s]", attempts, b, ceiling)
			}
		}
	}
	if b := d.backoff(1); b != 30*time.Second {
		t.Errorf("backoff(1) = %s, want the minimum", b)
	}
	// Full jitter: late attempts spread over the whole range.
	lo, hi := time.Hour, time.Duration(0)
	for range 500 {
		b := d.backoff(20)
		lo, hi = min(lo, b), max(hi, b)
	}
	if lo > 10*time.Minute || hi < 50*time.Minute {
		t.Errorf("backoff(20) ranged %s..%s, want spread over 30s..1h", lo, hi)
	}
}

func TestHeaderText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\r\nb", "a b"},
		{"  a \t\t b  ", "a b"},
		{"a\x00b\x7fc", "a b c"},
		{"Müller\u2029GmbH", "Müller GmbH"},
		{strings.Repeat("x", 5000), strings.Repeat("x", maxHeaderValue+1)},
	}
	for _, tt := range tests {
		if got := headerText(tt.in); got != tt.want {
			t.Errorf("headerText(%.20q) = %.30q, want %.30q", tt.in, got, tt.want)
		}
	}
}

func TestStopReleasesRestOfBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := testConfig(t, srv.Addr(), clk)
		// Stop as soon as the first mail was accepted: the rest of the batch
		// must be handed back, not sent and not left locked.
		cfg.Metrics = &Metrics{Sent: cancelOnInc(cancel)}
		d := New(st, cfg)
		rows := []store.OutboxMail{newRow("a@partner.example"), newRow("b@partner.example"), newRow("c@partner.example")}
		for i := range rows {
			insert(t, st, clk, &rows[i])
		}
		res, err := d.FlushOnce(ctx)
		if !errors.Is(err, context.Canceled) || res != (Result{Sent: 1}) {
			t.Fatalf("FlushOnce = %+v, %v; want 1 sent and context.Canceled", res, err)
		}
		if r := getRow(t, st, rows[0].ID); r.Status != store.OutboxSent {
			t.Errorf("in-flight row: status %s, want sent", r.Status)
		}
		for _, row := range rows[1:] {
			r := getRow(t, st, row.ID)
			if r.Status != store.OutboxPending || r.LockedBy != "" || r.LockedUntil != nil || r.NextAttemptAt.After(clk.Now()) {
				t.Errorf("released row %d: status %s locked_by %q until %v next %v", r.ID, r.Status, r.LockedBy, r.LockedUntil, r.NextAttemptAt)
			}
		}
		d = New(st, testConfig(t, srv.Addr(), clk))
		if got := flush(t, d); got != (Result{Sent: 2}) {
			t.Errorf("next flush = %+v, want the 2 released rows sent", got)
		}
		if n := len(srv.Messages()); n != 3 {
			t.Errorf("server got %d mails, want 3", n)
		}
	})
}

type cancelOnInc context.CancelFunc

func (c cancelOnInc) Inc() { c() }

func TestAuth(t *testing.T) {
	srv, err := mailtest.StartSMTP(mailtest.SMTPOptions{Username: "robot", Password: "s3cret", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	clk := newClock()

	cfg := testConfig(t, srv.Addr(), clk)
	cfg.Username, cfg.Password = "robot", "wrong"
	bad := newRow("a@partner.example")
	insert(t, st, clk, &bad)
	if got := flush(t, New(st, cfg)); got != (Result{Deferred: 1}) {
		t.Fatalf("wrong password: %+v, want deferred (a configuration error is not the mail's fault)", got)
	}
	if r := getRow(t, st, bad.ID); !strings.Contains(r.LastError, "535") {
		t.Errorf("last_error %q, want the 535 reply", r.LastError)
	}

	cfg.Password = "s3cret"
	clk.Advance(time.Hour)
	if got := flush(t, New(st, cfg)); got != (Result{Sent: 1}) {
		t.Fatalf("right password: %+v, want sent", got)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d mails", n)
	}
}

// TestAuthRefusalNeverGivesUp: a refused sign-in (535) or session (530
// at MAIL FROM: a server that wants authentication or STARTTLS, and the
// URL has no user name) is the operator's to fix. The mail is deferred,
// logged as an error, and not given up after MaxAttempts: once the
// settings are right it is sent. A 5xx about the mail still fails it.
func TestAuthRefusalNeverGivesUp(t *testing.T) {
	srv, err := mailtest.StartSMTP(mailtest.SMTPOptions{Username: "robot", Password: "s3cret", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := storetest.Open(t, storetest.SQLiteURL(t))
	clk := newClock()
	var logBuf syncLog
	cfg := testConfig(t, srv.Addr(), clk)
	cfg.MaxAttempts = 2
	cfg.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	cfg.Username, cfg.Password = "robot", "wrong"
	row := newRow("a@partner.example")
	insert(t, st, clk, &row)
	for i := 1; i <= 4; i++ {
		if got := flush(t, New(st, cfg)); got != (Result{Deferred: 1}) {
			t.Fatalf("wrong password, attempt %d: %+v, want deferred (never failed for a refused sign-in)", i, got)
		}
		clk.Advance(2 * time.Hour)
	}
	// No user name: a server that wants STARTTLS (or a sign-in) first
	// refuses MAIL FROM with 530.
	plain := startSMTP(t)
	plain.FailNextMail(1, 530, [3]int{5, 7, 0}, "Must issue a STARTTLS command first")
	noAuth := cfg
	noAuth.Addr, noAuth.Username, noAuth.Password = plain.Addr(), "", ""
	if got := flush(t, New(st, noAuth)); got != (Result{Deferred: 1}) {
		t.Fatalf("530 on MAIL FROM: %+v, want deferred", got)
	}
	clk.Advance(2 * time.Hour)
	r := getRow(t, st, row.ID)
	if r.Status != store.OutboxPending || r.Attempts != 5 || !strings.Contains(r.LastError, "530") {
		t.Errorf("row: status %s attempts %d last_error %q, want pending after 5 attempts with the 530", r.Status, r.Attempts, r.LastError)
	}
	log := logBuf.String()
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "refused our sign-in") || !strings.Contains(log, "535") {
		t.Errorf("the log does not say clearly that the sign-in was refused:\n%s", log)
	}

	cfg.Username, cfg.Password = "robot", "s3cret"
	clk.Advance(2 * time.Hour)
	if got := flush(t, New(st, cfg)); got != (Result{Sent: 1}) {
		t.Fatalf("right password: %+v, want sent", got)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server got %d mails, want 1", n)
	}
}

// syncLog collects log output written from several goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
