package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
	_ "github.com/glebarez/go-sqlite"  // database/sql driver "sqlite" for the commit-rate probe
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the commit-rate probe
)

// ---- SMTP sink ----

// sink is an SMTP server that accepts every mail, reads it to the end and
// discards it: it counts, and (when tracking) notes when the answer to a
// given Message-ID arrived. mailtest's server keeps every mail in memory,
// which 50,000 answers would turn into the benchmark's own footprint.
type sink struct {
	ln       net.Listener
	srv      *smtp.Server
	accepted atomic.Int64

	mu      sync.Mutex
	track   bool
	answers map[string]time.Time // In-Reply-To -> accepted at
	changed chan struct{}
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the SMTP sink: %w", err)
	}
	s := &sink{ln: ln, answers: map[string]time.Time{}, changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	s.srv = srv
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) url() string { return "smtp://" + s.addr() + "?tls=none" }

func (s *sink) close() { s.srv.Close() }

// waitFor blocks until at least n mails were accepted in all.
func (s *sink) waitFor(ctx context.Context, n int64) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if s.accepted.Load() >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the SMTP sink got %d of %d mails: %w", s.accepted.Load(), n, ctx.Err())
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *sink) setTracking(on bool) {
	s.mu.Lock()
	s.track = on
	s.answers = map[string]time.Time{}
	s.mu.Unlock()
}

func (s *sink) answerTime(msgID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.answers[msgID]
	return t, ok
}

type sinkSession struct{ s *sink }

func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	br := bufio.NewReader(r)
	h, _ := textproto.NewReader(br).ReadMIMEHeader()
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	at := time.Now()
	s := ss.s
	s.accepted.Add(1)
	s.mu.Lock()
	if s.track {
		if irt := strings.TrimSpace(h.Get("In-Reply-To")); irt != "" {
			s.answers[irt] = at
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// ---- IMAP ----

// imapTarget is the IMAP server under test: Dovecot or go-imap's
// in-process server.
type imapTarget struct {
	name     string // what the table says it was
	addr     string
	user     string
	password string
	close    func()
	// maildir, when set (Dovecot), is the account's Maildir: a backlog is
	// delivered as files into a folder's new/ (as an MDA does), because
	// IMAP APPEND is fsync-bound on Dovecot (~70/s) and 50,000 mails would
	// take the whole time budget.
	maildir  string
	uid, gid int
}

// workerURL is the ONBOARDER_IMAP_URL of mailbox.
func (t imapTarget) workerURL(mailbox string) string {
	u := url.URL{Scheme: "imap", User: url.UserPassword(t.user, t.password), Host: t.addr, Path: "/" + mailbox, RawQuery: "tls=none"}
	return u.String()
}

func (t imapTarget) dial() (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(t.addr, nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to IMAP %s: %w", t.addr, err)
	}
	if err := c.Login(t.user, t.password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP login: %w", err)
	}
	return c, nil
}

// deliver puts n mails into mailbox: into the Maildir when there is one,
// else with APPEND. Either way the server has indexed them on return.
func (t imapTarget) deliver(mailbox string, n int, gen func(i int) []byte) error {
	if t.maildir == "" || n == 0 {
		return t.appendAll(mailbox, n, gen)
	}
	if err := t.appendAll(mailbox, 0, nil); err != nil { // CREATE
		return err
	}
	dir := filepath.Join(t.maildir, "."+mailbox)
	host, _ := os.Hostname()
	for i := 0; i < n; i++ {
		raw := gen(i)
		name := fmt.Sprintf("%d.M%06dP%d.%s,S=%d", time.Now().Unix(), i, os.Getpid(), host, len(raw))
		tmp := filepath.Join(dir, "tmp", name)
		if err := os.WriteFile(tmp, raw, 0o600); err != nil {
			return fmt.Errorf("delivering mail %d: %w", i, err)
		}
		if err := os.Chown(tmp, t.uid, t.gid); err != nil {
			return fmt.Errorf("delivering mail %d: %w", i, err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
			return fmt.Errorf("delivering mail %d: %w", i, err)
		}
	}
	got, err := t.count(mailbox) // Dovecot indexes the new mail here
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("delivered %d mails into %s, the server sees %d", n, mailbox, got)
	}
	return nil
}

// appendAll creates mailbox and appends the mails, pipelined (a window of
// outstanding APPENDs), in order.
func (t imapTarget) appendAll(mailbox string, n int, gen func(i int) []byte) error {
	c, err := t.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Create(mailbox, nil).Wait(); err != nil && !strings.Contains(err.Error(), "ALREADYEXISTS") && !strings.Contains(strings.ToLower(err.Error()), "exists") {
		return fmt.Errorf("creating %s: %w", mailbox, err)
	}
	const window = 64
	var pending []*imapclient.AppendCommand
	for i := 0; i < n; i++ {
		raw := gen(i)
		cmd := c.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Time: time.Now()})
		if _, err := cmd.Write(raw); err != nil {
			return fmt.Errorf("appending mail %d: %w", i, err)
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("appending mail %d: %w", i, err)
		}
		pending = append(pending, cmd)
		if len(pending) >= window {
			if _, err := pending[0].Wait(); err != nil {
				return fmt.Errorf("appending: %w", err)
			}
			pending = pending[1:]
		}
	}
	for _, cmd := range pending {
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("appending: %w", err)
		}
	}
	c.Logout().Wait() //nolint:errcheck // some servers close first
	return nil
}

// count returns how many mails mailbox holds.
func (t imapTarget) count(mailbox string) (int, error) {
	c, err := t.dial()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	d, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("STATUS %s: %w", mailbox, err)
	}
	return int(*d.NumMessages), nil
}

// ---- PostgreSQL ----

// pgAdmin creates and drops the benchmark's own databases.
type pgAdmin struct {
	url string // of the maintenance database
	db  *sql.DB
	seq int
	pid int
}

func (a *pgAdmin) create(ctx context.Context) (string, string, error) {
	a.seq++
	name := fmt.Sprintf("onboarder_bench_%d_%d", a.pid, a.seq)
	if _, err := a.db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", fmt.Errorf("creating database %s: %w", name, err)
	}
	u, err := url.Parse(a.url)
	if err != nil {
		return "", "", err
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

func (a *pgAdmin) drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck // best effort
}

// startDovecot starts a private Dovecot (and Postfix, unused here) on
// loopback with the end-to-end suite's script; any login works with the
// password the script writes to DIR/env.
func startDovecot(tmp string) (imapTarget, error) {
	script, err := filepath.Abs("scripts/e2e-servers.sh")
	if err != nil {
		return imapTarget{}, err
	}
	if _, err := os.Stat(script); err != nil {
		return imapTarget{}, fmt.Errorf("%s: %w", script, err)
	}
	if _, err := exec.LookPath("dovecot"); err != nil {
		return imapTarget{}, fmt.Errorf("dovecot is not installed (scripts/e2e-servers.sh install): %w", err)
	}
	dir := filepath.Join(tmp, "servers")
	// The daemons inherit the script's stdout: a pipe would never close, so
	// the output goes to a file.
	logPath := filepath.Join(tmp, "servers-start.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return imapTarget{}, err
	}
	cmd := exec.Command(script, "start", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Run()
	logf.Close()
	if err != nil {
		exec.Command(script, "stop", dir).Run() //nolint:errcheck
		out, _ := os.ReadFile(logPath)
		return imapTarget{}, fmt.Errorf("%s start: %v\n%s", script, err, out)
	}
	stop := func() { exec.Command(script, "stop", dir).Run() } //nolint:errcheck
	raw, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		stop()
		return imapTarget{}, err
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	t := imapTarget{addr: "127.0.0.1:" + env["E2E_IMAP_PORT"], user: "partners@onboarding.example", password: env["E2E_PASSWORD"], close: stop,
		maildir: filepath.Join(dir, "mail", "onboarding.example", "partners", "Maildir")}
	u, err := user.Lookup("dovecot")
	if err != nil {
		stop()
		return imapTarget{}, err
	}
	t.uid, _ = strconv.Atoi(u.Uid)
	t.gid, _ = strconv.Atoi(u.Gid)
	out, _ := exec.Command("dovecot", "--version").Output()
	t.name = "Dovecot " + strings.Fields(string(out) + " ?")[0] + " (scripts/e2e-servers.sh, maildir)"
	return t, nil
}
