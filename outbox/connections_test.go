package outbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/config/defaults"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// insertRows inserts n due rows.
func insertRows(t *testing.T, st *store.Store, clk *fakeClock, n int) []store.OutboxMail {
	t.Helper()
	rows := make([]store.OutboxMail, n)
	for i := range rows {
		rows[i] = newRow("partner@partner.example")
		insert(t, st, clk, &rows[i])
	}
	return rows
}

// checkEachSentOnce fails t unless the server accepted every row's mail
// exactly once, nothing else, and every row is recorded as sent after
// wantAttempts[id] attempts (1 when absent).
func checkEachSentOnce(t *testing.T, st *store.Store, srv *mailtestServer, rows []store.OutboxMail, wantAttempts map[int64]int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[parseReceived(t, m).header.Get("Message-Id")]++
	}
	for _, r := range rows {
		if c := seen["<"+r.MessageID+">"]; c != 1 {
			t.Errorf("row %d accepted %d times, want once", r.ID, c)
		}
		want := wantAttempts[r.ID]
		if want == 0 {
			want = 1
		}
		if g := getRow(t, st, r.ID); g.Status != store.OutboxSent || g.Attempts != want || g.SentAt == nil || g.LockedBy != "" {
			t.Errorf("row %d: status %s attempts %d (want %d) sent_at %v locked_by %q", r.ID, g.Status, g.Attempts, want, g.SentAt, g.LockedBy)
		}
	}
	if len(seen) != len(rows) {
		t.Errorf("server accepted %d distinct mails, want %d", len(seen), len(rows))
	}
}

// TestFlushSendsOverSeveralConnections: a backlog is sent over up to
// Connections SMTP connections at once, each mail once, all recorded sent.
func TestFlushSendsOverSeveralConnections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		srv.SetDataDelay(5 * time.Millisecond) // a slow server: parallel sends overlap
		clk := newClock()
		cfg := testConfig(t, srv.Addr(), clk)
		cfg.Connections = 3
		cfg.Batch = 10
		d := New(st, cfg)
		rows := insertRows(t, st, clk, 60)

		if got := flush(t, d); got != (Result{Sent: 60}) {
			t.Fatalf("FlushOnce = %+v, want 60 sent", got)
		}
		if got := srv.MaxConcurrentMails(); got < 2 || got > 3 {
			t.Errorf("most mails in transfer at once = %d, want 2 or 3 (Connections = 3)", got)
		}
		t.Logf("sessions %d, most mails at once %d", srv.Sessions(), srv.MaxConcurrentMails())
		checkEachSentOnce(t, st, srv, rows, nil)
		if got := flush(t, d); got != (Result{}) {
			t.Errorf("second FlushOnce = %+v, want nothing", got)
		}
	})
}

// TestFlushFewMailsUsesOneConnection: a flush that claims less than a
// batch opens one connection, whatever Connections says.
func TestFlushFewMailsUsesOneConnection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		cfg := testConfig(t, srv.Addr(), clk)
		cfg.Connections = 3
		cfg.Batch = 10
		d := New(st, cfg)
		rows := insertRows(t, st, clk, 3)
		if got := flush(t, d); got != (Result{Sent: 3}) {
			t.Fatalf("FlushOnce = %+v, want 3 sent", got)
		}
		if n := srv.Sessions(); n != 1 {
			t.Errorf("SMTP sessions = %d, want 1 for 3 mails", n)
		}
		checkEachSentOnce(t, st, srv, rows, nil)
	})
}

// TestBrokenConnectionAmongSeveral: while three connections send a
// backlog, one of them breaks (421 on MAIL, or cut after DATA without an
// answer). Only that connection's mail in flight is deferred; the others
// go on, no mail is lost, and no mail the server answered is sent twice.
func TestBrokenConnectionAmongSeveral(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *mailtestServer)
		cut    bool // the broken mail was read by the server without an answer
	}{
		{"421 on MAIL", func(s *mailtestServer) { s.FailNextMail(1, 421, [3]int{4, 3, 2}, "Service shutting down") }, false},
		{"cut after DATA", func(s *mailtestServer) { s.CutAfterData(1) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				srv := startSMTP(t)
				srv.SetDataDelay(5 * time.Millisecond)
				clk := newClock()
				cfg := testConfig(t, srv.Addr(), clk)
				cfg.Connections = 3
				cfg.Batch = 10
				d := New(st, cfg)
				rows := insertRows(t, st, clk, 60)

				type outcome struct {
					res Result
					err error
				}
				done := make(chan outcome, 1)
				go func() {
					res, err := d.FlushOnce(context.Background())
					done <- outcome{res, err}
				}()
				// Break a connection in the middle of the flush.
				if _, err := srv.WaitFor(15, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				tt.inject(srv)
				out := <-done
				if out.err != nil {
					t.Fatalf("FlushOnce: %v", out.err)
				}
				if out.res != (Result{Sent: 59, Deferred: 1}) {
					t.Fatalf("FlushOnce = %+v, want 59 sent and 1 deferred", out.res)
				}
				if got := srv.MaxConcurrentMails(); got < 2 {
					t.Errorf("most mails in transfer at once = %d, want several connections", got)
				}
				var broken store.OutboxMail
				for _, r := range rows {
					if g := getRow(t, st, r.ID); g.Status == store.OutboxPending {
						broken = g
					}
				}
				if broken.ID == 0 || broken.Attempts != 1 || !strings.Contains(broken.LastError, "temporary") {
					t.Fatalf("deferred row: %+v", broken)
				}
				if tt.cut {
					cut := srv.Cut()
					if len(cut) != 1 || parseReceived(t, cut[0]).header.Get("Message-Id") != "<"+broken.MessageID+">" {
						t.Errorf("cut mails = %d, want the deferred row's", len(cut))
					}
				}

				clk.Advance(2 * time.Hour)
				if got := flush(t, d); got != (Result{Sent: 1}) {
					t.Fatalf("second FlushOnce = %+v, want the deferred row sent", got)
				}
				checkEachSentOnce(t, st, srv, rows, map[int64]int{broken.ID: 2})
			})
		})
	}
}

func TestConnectionsDefaultAndCap(t *testing.T) {
	for _, tc := range []struct{ set, want int }{{0, defaults.SMTPConnections}, {-1, defaults.SMTPConnections}, {1, 1}, {5, 5}, {100, defaults.MaxSMTPConnections}} {
		if got := New(nil, Config{Connections: tc.set}).cfg.Connections; got != tc.want {
			t.Errorf("Connections %d became %d, want %d", tc.set, got, tc.want)
		}
	}
}
