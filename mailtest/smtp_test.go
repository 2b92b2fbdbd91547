package mailtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

func startSMTP(t *testing.T, opts SMTPOptions) *SMTPServer {
	t.Helper()
	s, err := StartSMTP(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func dialSMTP(t *testing.T, s *SMTPServer) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

const testMail = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSMTPAccepts(t *testing.T) {
	s := startSMTP(t, SMTPOptions{})
	c := dialSMTP(t, s)
	if err := c.SendMail("a@example.com", []string{"b@example.com", "c@example.com"}, strings.NewReader(testMail)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("x@example.com", []string{"y@example.com"}, strings.NewReader(testMail)); err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitFor(2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	type env struct {
		From string
		To   []string
		Data string
	}
	var envs []env
	for _, m := range got {
		envs = append(envs, env{m.From, m.To, string(m.Data)})
		if m.At.IsZero() {
			t.Error("At not set")
		}
	}
	want := []env{
		{"a@example.com", []string{"b@example.com", "c@example.com"}, testMail},
		{"x@example.com", []string{"y@example.com"}, testMail},
	}
	if d := cmp.Diff(want, envs); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	if got := s.URL(); got != "smtp://"+s.Addr()+"?tls=none" {
		t.Errorf("URL = %q", got)
	}
}

func TestSMTPAuth(t *testing.T) {
	s := startSMTP(t, SMTPOptions{Username: "user", Password: "p@ss/word"})
	if got, want := s.URL(), "smtp://user:p%40ss%2Fword@"+s.Addr()+"?tls=none"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}

	c := dialSMTP(t, s)
	err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail))
	if smtpCode(err) != 502 {
		t.Errorf("unauthenticated send: %v, want 502", err)
	}

	c = dialSMTP(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "user", "wrong")); smtpCode(err) != 535 {
		t.Errorf("wrong password: %v, want 535", err)
	}

	c = dialSMTP(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "user", "p@ss/word")); err != nil {
		t.Fatalf("auth: %v", err)
	}
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
}

func TestSMTPFaults(t *testing.T) {
	tests := []struct {
		name     string
		inject   func(s *SMTPServer)
		wantCode int
		wantMsgs int // accepted after the failed attempt and one more good one
	}{
		{"data 451", func(s *SMTPServer) { s.FailNext(1, 451, [3]int{4, 3, 0}, "try later") }, 451, 1},
		{"data 554", func(s *SMTPServer) { s.FailNext(1, 554, [3]int{5, 6, 0}, "no") }, 554, 1},
		{"mail 421", func(s *SMTPServer) { s.FailNextMail(1, 421, [3]int{4, 3, 2}, "busy") }, 421, 1},
		{"rcpt 550", func(s *SMTPServer) { s.RejectRecipient("B@Example.com", 550, "no such user") }, 550, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSMTP(t, SMTPOptions{})
			tt.inject(s)
			c := dialSMTP(t, s)
			err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail))
			if smtpCode(err) != tt.wantCode {
				t.Fatalf("first send: %v, want code %d", err, tt.wantCode)
			}
			if err := c.Reset(); err != nil {
				t.Fatal(err)
			}
			_ = c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail))
			if n := len(s.Messages()); n != tt.wantMsgs {
				t.Errorf("accepted = %d, want %d", n, tt.wantMsgs)
			}
		})
	}
}

func TestSMTPCutAfterData(t *testing.T) {
	s := startSMTP(t, SMTPOptions{})
	s.CutAfterData(1)
	c := dialSMTP(t, s)
	err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail))
	if err == nil || smtpCode(err) != 0 {
		t.Fatalf("send over a cut connection: %v, want a connection error", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("accepted = %d, want 0", n)
	}
	cut := s.Cut()
	if len(cut) != 1 || string(cut[0].Data) != testMail {
		t.Fatalf("cut = %+v", cut)
	}
	// The next connection works normally.
	c = dialSMTP(t, s)
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitFor(1, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSMTPWaitForTimeout(t *testing.T) {
	s := startSMTP(t, SMTPOptions{})
	start := time.Now()
	got, err := s.WaitFor(1, 50*time.Millisecond)
	if err == nil || len(got) != 0 {
		t.Fatalf("WaitFor = %v, %v; want timeout", got, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("WaitFor took %s", d)
	}
}

func TestSMTPCloseTwice(t *testing.T) {
	s, err := StartSMTP(SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := smtp.Dial(s.Addr()); err == nil {
		t.Error("dial after close succeeded")
	}
}

func TestSMTPMaxConcurrentMails(t *testing.T) {
	s := startSMTP(t, SMTPOptions{})
	s.SetDataDelay(100 * time.Millisecond)
	one := dialSMTP(t, s)
	// One connection, one mail after the other: never more than one open.
	for range 2 {
		if err := one.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.MaxConcurrentMails(); got != 1 {
		t.Fatalf("MaxConcurrentMails after sequential mails = %d, want 1", got)
	}
	// Two connections at once: their transactions overlap in the slow DATA.
	two := dialSMTP(t, s)
	errs := make(chan error, 2)
	for _, c := range []*smtp.Client{one, two} {
		go func() { errs <- c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMail)) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := s.MaxConcurrentMails(); got != 2 {
		t.Errorf("MaxConcurrentMails after two parallel mails = %d, want 2", got)
	}
}
