package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/mailtest"
)

const processed = "Onboarder/Processed"

// memCursors is an in-memory CursorStore.
type memCursors struct {
	mu sync.Mutex
	m  map[string]Cursor
}

func (c *memCursors) LoadCursor(_ context.Context, mailbox string) (Cursor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[mailbox], nil
}

func (c *memCursors) SaveCursor(_ context.Context, mailbox string, cur Cursor) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Cursor)
	}
	c.m[mailbox] = cur
	return nil
}

func (c *memCursors) get(mailbox string) Cursor {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[mailbox]
}

// recorder is a Handler that remembers every batch and answers with decide.
type recorder struct {
	mu      sync.Mutex
	batches []Batch
	decide  func(ctx context.Context, m Message) (Action, error)
}

func (r *recorder) Prepare(b Batch) Handling {
	return func(ctx context.Context) ([]Action, error) { return r.HandleBatch(ctx, b) }
}

func (r *recorder) HandleBatch(ctx context.Context, b Batch) ([]Action, error) {
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.mu.Unlock()
	actions := make([]Action, len(b.Messages))
	for i, m := range b.Messages {
		a, err := r.decide(ctx, m)
		if err != nil {
			return nil, err
		}
		actions[i] = a
	}
	return actions, nil
}

// uids returns the UIDs of every batch, one slice per batch.
func (r *recorder) uids() [][]uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]uint32
	for _, b := range r.batches {
		var u []uint32
		for _, m := range b.Messages {
			u = append(u, m.UID)
		}
		out = append(out, u)
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.batches = nil
	r.mu.Unlock()
}

func always(a Action) func(context.Context, Message) (Action, error) {
	return func(context.Context, Message) (Action, error) { return a, nil }
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func mail(n int) []byte {
	return fmt.Appendf(nil, "From: partner%d@example.com\r\nTo: partners@example.org\r\nSubject: mail %d\r\nMessage-ID: <m%d@example.com>\r\n\r\nbody of mail %d\r\n", n, n, n, n)
}

func startServer(t *testing.T, disable ...imap.Cap) *mailtest.IMAPServer {
	t.Helper()
	s, err := mailtest.StartIMAP(mailtest.IMAPOptions{DisableCaps: disable, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendMails(t *testing.T, s *mailtest.IMAPServer, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := s.Append("INBOX", mail(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func testConfig(t *testing.T, s *mailtest.IMAPServer) Config {
	return Config{
		Addr:            s.Addr(),
		TLS:             TLSNone,
		Username:        s.Username(),
		Password:        s.Password(),
		ProcessedFolder: processed,
		CommandTimeout:  5 * time.Second,
		Logger:          testLogger(t),
	}
}

// messages lists (UID, subject number, flags) of a mailbox, as the server has it.
type stored struct {
	UID   uint32
	Raw   string
	Flags []string
}

func listMailbox(t *testing.T, s *mailtest.IMAPServer, mailbox string) []stored {
	t.Helper()
	msgs, err := s.Messages(mailbox)
	if err != nil {
		if strings.Contains(err.Error(), "No such mailbox") {
			return nil
		}
		t.Fatal(err)
	}
	var out []stored
	for _, m := range msgs {
		out = append(out, stored{UID: m.UID, Raw: string(m.Raw), Flags: m.Flags})
	}
	return out
}

func raws(l []stored) []string {
	var out []string
	for _, m := range l {
		out = append(out, m.Raw)
	}
	return out
}

func mailRaws(ns ...int) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(mail(n)))
	}
	return out
}

func TestNewMailFetchedOnce(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 3)
	cursors := &memCursors{}
	h := &recorder{decide: always(ActionMove)}
	p := NewPoller(testConfig(t, s), cursors, h)

	st, err := p.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stats{Seen: 3, Moved: 3}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if len(h.batches) != 1 {
		t.Fatalf("handler called %d times, want 1", len(h.batches))
	}
	b := h.batches[0]
	var got []string
	for _, m := range b.Messages {
		got = append(got, string(m.Raw))
		if m.Size != int64(len(m.Raw)) || m.TooLarge || m.InternalDate.IsZero() {
			t.Errorf("uid %d: size %d for %d bytes, too large %v, date %v", m.UID, m.Size, len(m.Raw), m.TooLarge, m.InternalDate)
		}
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3), got); diff != "" {
		t.Errorf("mails (-want +got):\n%s", diff)
	}
	if b.Mailbox != "INBOX" || b.Rescan || b.UIDValidity == 0 {
		t.Errorf("batch header %+v", Batch{Mailbox: b.Mailbox, UIDValidity: b.UIDValidity, Rescan: b.Rescan})
	}
	validity, _ := s.UIDValidity("INBOX")
	if diff := cmp.Diff(Cursor{UIDValidity: validity, LastUID: 3}, cursors.get("INBOX")); diff != "" {
		t.Errorf("cursor (-want +got):\n%s", diff)
	}
	if inbox := listMailbox(t, s, "INBOX"); len(inbox) != 0 {
		t.Errorf("INBOX still has %d mails", len(inbox))
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3), raws(listMailbox(t, s, processed))); diff != "" {
		t.Errorf("processed folder (-want +got):\n%s", diff)
	}

	h.reset()
	st, err = p.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{}) || len(h.batches) != 0 {
		t.Errorf("second pass: stats %+v, batches %v; want nothing", st, h.uids())
	}

	// A new mail after that is the only one offered.
	appendMails(t, s, 4, 4)
	h.reset()
	if _, err := p.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]uint32{{4}}, h.uids()); diff != "" {
		t.Errorf("third pass (-want +got):\n%s", diff)
	}
}

func TestBatchSizeAndChunks(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 5)
	cursors := &memCursors{}
	h := &recorder{decide: always(ActionKeep)}
	cfg := testConfig(t, s)
	cfg.BatchSize = 3
	cfg.FetchChunk = 2
	p := NewPoller(cfg, cursors, h)

	tests := []struct {
		wantBatches [][]uint32
		wantStats   Stats
		wantLast    uint32
	}{
		{[][]uint32{{1, 2}, {3}}, Stats{Seen: 3, Kept: 3, Remaining: 2}, 3},
		{[][]uint32{{4, 5}}, Stats{Seen: 2, Kept: 2}, 5},
		{nil, Stats{}, 5},
	}
	for i, tt := range tests {
		h.reset()
		st, err := p.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.wantBatches, h.uids()); diff != "" {
			t.Errorf("pass %d batches (-want +got):\n%s", i+1, diff)
		}
		if diff := cmp.Diff(tt.wantStats, st); diff != "" {
			t.Errorf("pass %d stats (-want +got):\n%s", i+1, diff)
		}
		if got := cursors.get("INBOX").LastUID; got != tt.wantLast {
			t.Errorf("pass %d cursor %d, want %d", i+1, got, tt.wantLast)
		}
	}
}

// TestMove checks the three ways of moving, and that another client's
// \Deleted mail in INBOX is never expunged.
func TestMove(t *testing.T) {
	tests := []struct {
		name    string
		disable []imap.Cap
		// what stays in INBOX: the foreign mail, plus (without UIDPLUS) our
		// flagged copies.
		wantInbox []stored
	}{
		{
			name: "MOVE",
			wantInbox: []stored{
				{UID: 4, Raw: string(mail(4)), Flags: []string{`\Deleted`}},
			},
		},
		{
			name:    "COPY+UID EXPUNGE",
			disable: []imap.Cap{imap.CapMove},
			wantInbox: []stored{
				{UID: 4, Raw: string(mail(4)), Flags: []string{`\Deleted`}},
			},
		},
		{
			name:    "COPY+flag",
			disable: []imap.Cap{imap.CapMove, imap.CapUIDPlus},
			wantInbox: []stored{
				{UID: 1, Raw: string(mail(1)), Flags: []string{`$onboarded`, `\deleted`}},
				{UID: 2, Raw: string(mail(2)), Flags: []string{`$onboarded`, `\deleted`}},
				{UID: 3, Raw: string(mail(3)), Flags: []string{`$onboarded`, `\deleted`}},
				{UID: 4, Raw: string(mail(4)), Flags: []string{`\Deleted`}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.disable...)
			appendMails(t, s, 1, 4)
			// Another client (a human) deleted mail 4 but did not expunge.
			c, err := imapclient.DialInsecure(s.Addr(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(s.Username(), s.Password()).Wait(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			if err := c.Store(imap.UIDSetNum(4), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
				t.Fatal(err)
			}

			cursors := &memCursors{}
			h := &recorder{decide: func(_ context.Context, m Message) (Action, error) {
				if bytes.Contains(m.Raw, []byte("Subject: mail 4")) {
					return ActionKeep, nil
				}
				return ActionMove, nil
			}}
			p := NewPoller(testConfig(t, s), cursors, h)
			st, err := p.RunOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Stats{Seen: 4, Moved: 3, Kept: 1}, st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			inbox := listMailbox(t, s, "INBOX")
			// memserver lower-cases flags it stored itself; compare case-blind.
			for i := range inbox {
				for j := range inbox[i].Flags {
					inbox[i].Flags[j] = strings.ToLower(inbox[i].Flags[j])
				}
			}
			for i := range tt.wantInbox {
				for j := range tt.wantInbox[i].Flags {
					tt.wantInbox[i].Flags[j] = strings.ToLower(tt.wantInbox[i].Flags[j])
				}
			}
			if diff := cmp.Diff(tt.wantInbox, inbox); diff != "" {
				t.Errorf("INBOX (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mailRaws(1, 2, 3), raws(listMailbox(t, s, processed))); diff != "" {
				t.Errorf("processed folder (-want +got):\n%s", diff)
			}
			if got := cursors.get("INBOX").LastUID; got != 4 {
				t.Errorf("cursor %d, want 4", got)
			}

			// Nothing is offered again, and nothing is copied twice, even
			// when the cursor is lost and the mailbox read from the start.
			h.reset()
			cursors.SaveCursor(t.Context(), "INBOX", Cursor{UIDValidity: cursors.get("INBOX").UIDValidity})
			_, err = p.RunOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][]uint32{{4}}, h.uids()); diff != "" {
				t.Errorf("re-read from UID 1 offered (-want +got):\n%s", diff)
			}
			if n := len(listMailbox(t, s, processed)); n != 3 {
				t.Errorf("processed folder has %d mails after re-read, want 3", n)
			}
		})
	}
}

func TestKeepChangesNoFlag(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 2)
	p := NewPoller(testConfig(t, s), &memCursors{}, &recorder{decide: always(ActionKeep)})
	st, err := p.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stats{Seen: 2, Kept: 2}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	want := []stored{{UID: 1, Raw: string(mail(1)), Flags: []string{}}, {UID: 2, Raw: string(mail(2)), Flags: []string{}}}
	if diff := cmp.Diff(want, listMailbox(t, s, "INBOX")); diff != "" {
		t.Errorf("INBOX (-want +got; flags must stay empty, no \\Seen):\n%s", diff)
	}
}

func TestRetryHoldsCursor(t *testing.T) {
	for _, chunk := range []int{1, 2, 100} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			s := startServer(t)
			appendMails(t, s, 1, 4)
			cursors := &memCursors{}
			failing := true
			h := &recorder{decide: func(_ context.Context, m Message) (Action, error) {
				if m.UID == 2 && failing {
					return ActionRetry, nil
				}
				return ActionMove, nil
			}}
			cfg := testConfig(t, s)
			cfg.FetchChunk = chunk
			p := NewPoller(cfg, cursors, h)
			st, err := p.RunOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Stats{Seen: 4, Moved: 3, Retried: 1}, st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if got := cursors.get("INBOX").LastUID; got != 1 {
				t.Errorf("cursor %d, want 1 (just before the retried mail)", got)
			}
			if diff := cmp.Diff(mailRaws(2), raws(listMailbox(t, s, "INBOX"))); diff != "" {
				t.Errorf("INBOX (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mailRaws(1, 3, 4), raws(listMailbox(t, s, processed))); diff != "" {
				t.Errorf("processed (-want +got):\n%s", diff)
			}

			failing = false
			h.reset()
			if _, err := p.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][]uint32{{2}}, h.uids()); diff != "" {
				t.Errorf("second pass offered (-want +got):\n%s", diff)
			}
			if got := listMailbox(t, s, "INBOX"); len(got) != 0 {
				t.Errorf("INBOX not empty: %v", got)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	s := startServer(t)
	proxy, err := mailtest.StartProxy(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	big := append(mail(2), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"), 8192)...) // ~512 KiB
	appendMails(t, s, 1, 1)
	if _, err := s.Append("INBOX", big); err != nil {
		t.Fatal(err)
	}
	appendMails(t, s, 3, 3)

	cfg := testConfig(t, s)
	cfg.Addr = proxy.Addr()
	cfg.MaxMessageBytes = 4096
	h := &recorder{decide: always(ActionKeep)}
	p := NewPoller(cfg, &memCursors{}, h)
	st, err := p.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stats{Seen: 3, Kept: 3, TooLarge: 1}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	type view struct {
		UID      uint32
		Size     int64
		Raw      string
		TooLarge bool
		Envelope *Envelope
	}
	var got []view
	for _, m := range h.batches[0].Messages {
		got = append(got, view{m.UID, m.Size, string(m.Raw), m.TooLarge, m.Envelope})
	}
	// Whose the large mail is comes from its ENVELOPE, without the body.
	want := []view{
		{1, int64(len(mail(1))), string(mail(1)), false, nil},
		{2, int64(len(big)), "", true, &Envelope{MessageID: "m2@example.com", Subject: "mail 2",
			From: []string{"partner2@example.com"}, Sender: []string{"partner2@example.com"}}},
		{3, int64(len(mail(3))), string(mail(3)), false, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	fetched := proxy.BytesToClient()
	t.Logf("bytes from server for a %d-byte mail over the limit: %d", len(big), fetched)
	if fetched > 16*1024 {
		t.Errorf("%d bytes came from the server: the large body was fetched", fetched)
	}
}

func TestHandlerErrorMovesNothing(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 3)
	cursors := &memCursors{}
	validity, _ := s.UIDValidity("INBOX")
	start := Cursor{UIDValidity: validity, LastUID: 0}
	cursors.SaveCursor(t.Context(), "INBOX", start)
	boom := errors.New("database down")
	h := &recorder{decide: func(_ context.Context, m Message) (Action, error) {
		if m.UID == 3 {
			return 0, boom
		}
		return ActionMove, nil
	}}
	p := NewPoller(testConfig(t, s), cursors, h)
	_, err := p.RunOnce(t.Context())
	if !errors.Is(err, boom) {
		t.Fatalf("RunOnce error %v, want the handler's", err)
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3), raws(listMailbox(t, s, "INBOX"))); diff != "" {
		t.Errorf("INBOX (-want +got):\n%s", diff)
	}
	if got := cursors.get("INBOX"); got != start {
		t.Errorf("cursor moved to %+v", got)
	}
}

// TestCrashBetweenCommitAndMove: the handler commits, then the process
// dies before the move. The next pass offers the mail again; the handler
// knows it and answers Move; it is moved exactly once.
func TestCrashBetweenCommitAndMove(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 1)
	cursors := &memCursors{}
	committed := map[string]int{} // Message-ID line -> times the work was done
	ctx, cancel := context.WithCancel(t.Context())
	h := &recorder{decide: func(_ context.Context, m Message) (Action, error) {
		id := string(bytes.SplitN(m.Raw, []byte("Message-ID: "), 2)[1][:16])
		if committed[id] == 0 {
			committed[id]++
		}
		return ActionMove, nil
	}}
	p := NewPoller(testConfig(t, s), cursors, h)
	p.beforeMove = cancel // the crash
	if _, err := p.RunOnce(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunOnce error %v, want context.Canceled", err)
	}
	if n := len(listMailbox(t, s, "INBOX")); n != 1 {
		t.Fatalf("INBOX has %d mails after the crash, want 1", n)
	}
	if got := cursors.get("INBOX").LastUID; got != 0 {
		t.Errorf("cursor advanced to %d before the move", got)
	}

	p.beforeMove = nil
	st, err := p.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]uint32{{1}, {1}}, h.uids()); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	if st.Moved != 1 || len(committed) != 1 {
		t.Errorf("moved %d, committed %v", st.Moved, committed)
	}
	if diff := cmp.Diff(mailRaws(1), raws(listMailbox(t, s, processed))); diff != "" {
		t.Errorf("processed (-want +got):\n%s", diff)
	}
	if n := len(listMailbox(t, s, "INBOX")); n != 0 {
		t.Errorf("INBOX has %d mails", n)
	}
}

func TestUIDValidityChangeRescans(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 3)
	cursors := &memCursors{}
	h := &recorder{decide: always(ActionKeep)}
	p := NewPoller(testConfig(t, s), cursors, h)
	if _, err := p.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	old := cursors.get("INBOX")
	if err := s.ResetUIDValidity("INBOX"); err != nil {
		t.Fatal(err)
	}
	h.reset()
	st, err := p.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stats{Seen: 3, Kept: 3, UIDValidityChanged: true}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if len(h.batches) != 1 || !h.batches[0].Rescan {
		t.Fatalf("want one Rescan batch, got %+v", h.uids())
	}
	var got []string
	for _, m := range h.batches[0].Messages {
		got = append(got, string(m.Raw))
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3), got); diff != "" {
		t.Errorf("rescan mails (-want +got):\n%s", diff)
	}
	validity, _ := s.UIDValidity("INBOX")
	if validity == old.UIDValidity {
		t.Fatal("server kept its UIDVALIDITY")
	}
	if diff := cmp.Diff(Cursor{UIDValidity: validity, LastUID: 3}, cursors.get("INBOX")); diff != "" {
		t.Errorf("cursor (-want +got):\n%s", diff)
	}
	// And the pass after is normal again.
	h.reset()
	if st, err := p.RunOnce(t.Context()); err != nil || st != (Stats{}) {
		t.Errorf("next pass: %+v, %v", st, err)
	}
}

// TestSilentServer: a server that stops answering makes RunOnce fail
// within CommandTimeout instead of hanging.
func TestSilentServer(t *testing.T) {
	tests := []struct {
		name  string
		stall string // when the proxy goes silent
	}{
		{"before greeting", "start"},
		{"during the pass", "handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			appendMails(t, s, 1, 2)
			proxy, err := mailtest.StartProxy(s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			cfg := testConfig(t, s)
			cfg.Addr = proxy.Addr()
			cfg.CommandTimeout = time.Second
			h := &recorder{decide: func(context.Context, Message) (Action, error) {
				if tt.stall == "handler" {
					proxy.Stall()
				}
				return ActionMove, nil
			}}
			cursors := &memCursors{}
			p := NewPoller(cfg, cursors, h)
			if tt.stall == "start" {
				proxy.Stall()
			}
			begin := time.Now()
			_, err = p.RunOnce(t.Context())
			took := time.Since(begin)
			if !errors.Is(err, ErrCommandTimeout) {
				t.Fatalf("RunOnce error %v, want ErrCommandTimeout", err)
			}
			t.Logf("error after %s: %v", took.Round(time.Millisecond), err)
			if took > 3*time.Second {
				t.Errorf("took %s for a 1s CommandTimeout", took)
			}
			if got := cursors.get("INBOX").LastUID; got != 0 {
				t.Errorf("cursor advanced to %d", got)
			}
			proxy.Resume()
			if n := len(listMailbox(t, s, "INBOX")); n != 2 {
				t.Errorf("INBOX has %d mails, want 2 (nothing moved)", n)
			}
		})
	}
}

func TestCancelStopsRunOnce(t *testing.T) {
	s := startServer(t)
	proxy, cfg := proxiedConfig(t, s)
	cfg.CommandTimeout = time.Minute
	proxy.Stall()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := NewPoller(cfg, &memCursors{}, &recorder{decide: always(ActionKeep)}).RunOnce(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("took %s after the context ended", took)
	}
}

func TestWrongPassword(t *testing.T) {
	s := startServer(t)
	cfg := testConfig(t, s)
	cfg.Password = "wrong"
	_, err := NewPoller(cfg, &memCursors{}, &recorder{decide: always(ActionKeep)}).RunOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), "logging in") {
		t.Fatalf("error %v, want a login failure", err)
	}
}

func TestIdle(t *testing.T) {
	s := startServer(t)
	proxy, cfg := proxiedConfig(t, s)
	p := NewPoller(cfg, &memCursors{}, &recorder{decide: always(ActionKeep)})

	notified := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Idle(ctx, func() { notified <- struct{}{} }) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Idle returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Idle did not return after cancel")
		}
	}()

	wait := func(what string, within time.Duration) {
		t.Helper()
		select {
		case <-notified:
		case <-time.After(within):
			t.Fatalf("no notify %s within %s", what, within)
		}
	}
	wait("after connecting", 5*time.Second)
	time.Sleep(100 * time.Millisecond) // let IDLE start
	appendMails(t, s, 1, 1)
	wait("after a new mail", time.Second)
	select {
	case <-notified:
		t.Error("extra notify for one mail")
	case <-time.After(200 * time.Millisecond):
	}

	// The connection is cut: Idle reconnects (backoff 1s) and notifies.
	proxy.CutAll()
	wait("after reconnecting", 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	appendMails(t, s, 2, 2)
	wait("after a new mail on the new connection", time.Second)
}

func TestIdleRenew(t *testing.T) {
	s := startServer(t)
	cfg := testConfig(t, s)
	cfg.IdleRenew = 100 * time.Millisecond
	p := NewPoller(cfg, &memCursors{}, &recorder{decide: always(ActionKeep)})
	notified := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Idle(ctx, func() { notified <- struct{}{} }) }()
	<-notified
	time.Sleep(350 * time.Millisecond) // several renewals
	appendMails(t, s, 1, 1)
	select {
	case <-notified:
	case <-time.After(time.Second):
		t.Error("no notify after renewals")
	}
	select {
	case <-notified:
		t.Error("a renewal notified without new mail")
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Idle returned %v", err)
	}
}

func TestIdleUnsupported(t *testing.T) {
	s := startServer(t, imap.CapIdle)
	p := NewPoller(testConfig(t, s), &memCursors{}, &recorder{decide: always(ActionKeep)})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	called := false
	err := p.Idle(ctx, func() { called = true })
	if !errors.Is(err, ErrIdleUnsupported) {
		t.Fatalf("Idle returned %v, want ErrIdleUnsupported", err)
	}
	if called {
		t.Error("notify called")
	}
}

// TestTLSModes: imap:// means STARTTLS is required, so a server that
// cannot do it is refused rather than spoken to in plaintext.
func TestTLSModes(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 1)
	tests := []struct {
		mode    TLSMode
		wantErr string
	}{
		{TLSNone, ""},
		{TLSStartTLS, "STARTTLS"},
		{TLSImplicit, "TLS handshake"},
		{"bogus", "unknown TLS mode"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.TLS = tt.mode
			cfg.CommandTimeout = 2 * time.Second
			h := &recorder{decide: always(ActionKeep)}
			_, err := NewPoller(cfg, &memCursors{}, h).RunOnce(t.Context())
			if tt.wantErr == "" {
				if err != nil || len(h.batches) != 1 {
					t.Fatalf("err %v, batches %v", err, h.uids())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
			}
			if len(h.batches) != 0 {
				t.Error("mail handled over a connection that should have been refused")
			}
		})
	}
}

// TestChunksPipelined: while one chunk is moved, the next one is already
// fetched and in the handler's hands; still every mail is handled once,
// moved once, and the cursor ends past the last.
func TestChunksPipelined(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 4)
	proxy, cfg := proxiedConfig(t, s)
	cfg.FetchChunk = 2
	secondChunk := make(chan struct{}, 1)
	h := &recorder{decide: func(_ context.Context, m Message) (Action, error) {
		if m.UID == 3 {
			secondChunk <- struct{}{}
		}
		return ActionMove, nil
	}}
	cursors := &memCursors{}
	p := NewPoller(cfg, cursors, h)
	moving := proxy.StallOn("UID MOVE")
	done := make(chan error, 1)
	go func() {
		_, err := p.RunOnce(t.Context())
		done <- err
	}()
	<-moving // the first chunk's move is held on the wire
	select {
	case <-secondChunk:
	case <-time.After(3 * time.Second):
		t.Error("the second chunk was not handled while the first was being moved")
	}
	proxy.Resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]uint32{{1, 2}, {3, 4}}, h.uids()); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3, 4), raws(listMailbox(t, s, processed))); diff != "" {
		t.Errorf("processed (-want +got):\n%s", diff)
	}
	if got := cursors.get("INBOX").LastUID; got != 4 {
		t.Errorf("cursor at %d, want 4", got)
	}
}

// preparer is a recorder that notes the batches it prepares.
type preparer struct {
	recorder
	prepared    chan uint32 // first UID of each batch prepared
	preparedFor []uint32    // by handled batch: the first UID its Handling was prepared from
}

func (p *preparer) Prepare(b Batch) Handling {
	uid := b.Messages[0].UID
	p.prepared <- uid
	return func(ctx context.Context) ([]Action, error) {
		p.mu.Lock()
		p.preparedFor = append(p.preparedFor, uid)
		p.mu.Unlock()
		return p.HandleBatch(ctx, b)
	}
}

// TestPrepareAhead: the handler prepares the next chunk while the chunk
// before is still being handled, and each batch is handled with what was
// prepared for it.
func TestPrepareAhead(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 4)
	cfg := testConfig(t, s)
	cfg.FetchChunk = 2
	h := &preparer{prepared: make(chan uint32, 2)}
	h.decide = func(_ context.Context, m Message) (Action, error) {
		if m.UID == 1 { // the first chunk waits for the second's preparation
			select {
			case <-h.prepared: // its own
			case <-time.After(3 * time.Second):
			}
			select {
			case uid := <-h.prepared:
				if uid != 3 {
					t.Errorf("prepared chunk from uid %d while handling the first, want 3", uid)
				}
			case <-time.After(3 * time.Second):
				t.Error("the second chunk was not prepared while the first was being handled")
			}
		}
		return ActionMove, nil
	}
	if _, err := NewPoller(cfg, &memCursors{}, h).RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, b := range h.batches {
		if h.preparedFor[i] != b.Messages[0].UID {
			t.Errorf("batch from uid %d came with uid %d prepared", b.Messages[0].UID, h.preparedFor[i])
		}
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3, 4), raws(listMailbox(t, s, processed))); diff != "" {
		t.Errorf("processed (-want +got):\n%s", diff)
	}
}

// TestBacklogPassesShareConnection: passes that follow each other through a
// backlog (each leaving mail waiting) reuse one logged-in connection; one
// that finds the kept connection broken opens a new one by itself.
func TestBacklogPassesShareConnection(t *testing.T) {
	s := startServer(t)
	appendMails(t, s, 1, 7)
	proxy, cfg := proxiedConfig(t, s)
	cfg.BatchSize, cfg.FetchChunk = 2, 2
	cursors := &memCursors{}
	p := NewPoller(cfg, cursors, &recorder{decide: always(ActionMove)})
	defer p.Close()
	signIns := func() int { return s.SignIns("LOGIN") + s.SignIns("PLAIN") }
	before := signIns()
	for i, want := range []int{5, 3} {
		st, err := p.RunOnce(t.Context())
		if err != nil || st.Remaining != want {
			t.Fatalf("pass %d: remaining %d (%v), want %d", i+1, st.Remaining, err, want)
		}
	}
	if n := signIns() - before; n != 1 {
		t.Errorf("two passes through a backlog signed in %d times, want once", n)
	}
	proxy.CutAll() // the kept connection breaks
	for _, want := range []int{1, 0} {
		if st, err := p.RunOnce(t.Context()); err != nil || st.Remaining != want {
			t.Fatalf("after the cut: remaining %d (%v), want %d", st.Remaining, err, want)
		}
	}
	if diff := cmp.Diff(mailRaws(1, 2, 3, 4, 5, 6, 7), raws(listMailbox(t, s, processed))); diff != "" {
		t.Errorf("processed (-want +got):\n%s", diff)
	}
	if got := cursors.get("INBOX").LastUID; got != 7 {
		t.Errorf("cursor at %d, want 7", got)
	}
}

// proxiedConfig is testConfig through a mailtest.Proxy (closed with the
// test), for tests that hold or cut the connection.
func proxiedConfig(t *testing.T, s *mailtest.IMAPServer) (*mailtest.Proxy, Config) {
	t.Helper()
	proxy, err := mailtest.StartProxy(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	cfg := testConfig(t, s)
	cfg.Addr = proxy.Addr()
	return proxy, cfg
}
