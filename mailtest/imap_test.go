package mailtest

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/google/go-cmp/cmp"
)

func imapTestMail(n int) []byte {
	return fmt.Appendf(nil, "From: a@example.com\r\nTo: b@example.com\r\nSubject: test %d\r\nMessage-ID: <%d@example.com>\r\n\r\nbody %d\r\n", n, n, n)
}

func startTestIMAP(t *testing.T, opts IMAPOptions) *IMAPServer {
	t.Helper()
	s, err := StartIMAP(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func dialIMAPTestClient(t *testing.T, s *IMAPServer, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(s.Username(), s.Password()).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

func TestAppendAndMessages(t *testing.T) {
	s := startTestIMAP(t, IMAPOptions{})
	for i := 1; i <= 3; i++ {
		uid, err := s.Append("INBOX", imapTestMail(i))
		if err != nil {
			t.Fatal(err)
		}
		if uid != uint32(i) {
			t.Errorf("Append #%d: uid %d", i, uid)
		}
	}
	if _, err := s.Append("Other/Folder", imapTestMail(9)); err != nil {
		t.Fatalf("Append to a new mailbox: %v", err)
	}
	msgs, err := s.Messages("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for i, m := range msgs {
		got = append(got, m.UID)
		if diff := cmp.Diff(string(imapTestMail(i+1)), string(m.Raw)); diff != "" {
			t.Errorf("mail %d (-want +got):\n%s", i+1, diff)
		}
		if len(m.Flags) != 0 {
			t.Errorf("mail %d has flags %v; Messages must not set \\Seen", i+1, m.Flags)
		}
	}
	if diff := cmp.Diff([]uint32{1, 2, 3}, got); diff != "" {
		t.Errorf("UIDs (-want +got):\n%s", diff)
	}
	// Reading again shows no \Seen either.
	msgs, _ = s.Messages("INBOX")
	if len(msgs[0].Flags) != 0 {
		t.Errorf("second read: flags %v", msgs[0].Flags)
	}
	if other, _ := s.Messages("Other/Folder"); len(other) != 1 {
		t.Errorf("Other/Folder has %d mails, want 1", len(other))
	}
}

func TestURL(t *testing.T) {
	s := startTestIMAP(t, IMAPOptions{Username: "p@x.org", Password: "a:b/c?d"})
	u, err := url.Parse(s.URL("INBOX"))
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	got := []string{u.Scheme, u.User.Username(), pass, u.Host, u.Path, u.Query().Get("tls")}
	want := []string{"imap", "p@x.org", "a:b/c?d", s.Addr(), "/INBOX", "none"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("URL parts (-want +got):\n%s", diff)
	}
}

func TestResetUIDValidity(t *testing.T) {
	s := startTestIMAP(t, IMAPOptions{})
	for i := 1; i <= 3; i++ {
		if _, err := s.Append("INBOX", imapTestMail(i)); err != nil {
			t.Fatal(err)
		}
	}
	c := dialIMAPTestClient(t, s, s.Addr())
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err == nil {
		t.Fatal("STORE without SELECT succeeded")
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Messages("INBOX")
	v1, err := s.UIDValidity("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResetUIDValidity("INBOX"); err != nil {
		t.Fatal(err)
	}
	v2, _ := s.UIDValidity("INBOX")
	if v1 == v2 {
		t.Errorf("UIDVALIDITY unchanged: %d", v1)
	}
	after, _ := s.Messages("INBOX")
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("mails changed (-before +after):\n%s", diff)
	}
	sel, err := dialIMAPTestClient(t, s, s.Addr()).Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.UIDValidity != v2 {
		t.Errorf("SELECT UIDVALIDITY %d, want %d", sel.UIDValidity, v2)
	}
	// New mail continues after the recreated ones.
	if uid, _ := s.Append("INBOX", imapTestMail(4)); uid != 4 {
		t.Errorf("next uid %d, want 4", uid)
	}
}

func TestDisableCaps(t *testing.T) {
	tests := []struct {
		disable       []imap.Cap
		wantMove      bool
		wantUIDPlus   bool
		wantIdle      bool
		uidExpRefused bool
	}{
		{nil, true, true, true, false},
		{[]imap.Cap{imap.CapMove}, false, true, true, false},
		{[]imap.Cap{imap.CapMove, imap.CapUIDPlus}, false, false, true, true},
		{[]imap.Cap{imap.CapIdle}, true, true, false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.disable), func(t *testing.T) {
			s := startTestIMAP(t, IMAPOptions{DisableCaps: tt.disable})
			for i := 1; i <= 2; i++ {
				if _, err := s.Append("INBOX", imapTestMail(i)); err != nil {
					t.Fatal(err)
				}
			}
			c := dialIMAPTestClient(t, s, s.Addr())
			caps := c.Caps()
			got := []bool{caps.Has(imap.CapMove), caps.Has(imap.CapUIDPlus), caps.Has(imap.CapIdle)}
			if diff := cmp.Diff([]bool{tt.wantMove, tt.wantUIDPlus, tt.wantIdle}, got); diff != "" {
				t.Errorf("MOVE, UIDPLUS, IDLE advertised (-want +got):\n%s; caps %v", diff, caps)
			}
			// A fresh CAPABILITY command agrees.
			fresh, err := c.Capability().Wait()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.Has(imap.CapIdle) != tt.wantIdle || fresh.Has(imap.CapMove) != tt.wantMove {
				t.Errorf("CAPABILITY: %v", fresh)
			}
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateMailbox("Done"); err != nil {
				t.Fatal(err)
			}
			if tt.uidExpRefused {
				err := c.UIDExpunge(imap.UIDSetNum(1)).Close()
				if err == nil {
					t.Error("UID EXPUNGE accepted without UIDPLUS")
				}
			}
		})
	}
}

func TestProxyStallResumeCut(t *testing.T) {
	s := startTestIMAP(t, IMAPOptions{})
	p, err := StartProxy(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	c := dialIMAPTestClient(t, s, p.Addr())
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP through proxy: %v", err)
	}
	if p.BytesToClient() == 0 || p.BytesToServer() == 0 {
		t.Errorf("byte counters not counting: %d %d", p.BytesToClient(), p.BytesToServer())
	}

	p.Stall()
	done := make(chan error, 1)
	go func() { done <- c.Noop().Wait() }()
	select {
	case err := <-done:
		t.Fatalf("NOOP answered while stalled: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	p.Resume()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("NOOP after resume: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("NOOP not answered after Resume")
	}

	p.CutAll()
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("client connection still open after CutAll")
	}
	// New connections still work after a cut.
	conn, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestCapFilterKeepsLiterals(t *testing.T) {
	f := &capFilter{drop: map[imap.Cap]bool{imap.CapIdle: true}}
	in := "* OK [CAPABILITY IMAP4rev1 IDLE MOVE] hi\r\n* 1 FETCH (BODY[] {23}\r\n* CAPABILITY IDLE X\r\nab)\r\n* CAPA"
	got := string(f.filter([]byte(in)))
	got += string(f.filter([]byte("BILITY IMAP4rev1 IDLE\r\n")))
	want := "* OK [CAPABILITY IMAP4rev1 MOVE] hi\r\n* 1 FETCH (BODY[] {23}\r\n* CAPABILITY IDLE X\r\nab)\r\n* CAPABILITY IMAP4rev1\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
