package mailtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// maxSMTPMessageBytes bounds one received mail (the server answers 552 above it).
const maxSMTPMessageBytes = 10 << 20

// SMTPOptions configures StartSMTP.
type SMTPOptions struct {
	// Username and Password of the one account. Empty Username: no
	// authentication needed. Set: AUTH PLAIN is offered (over plaintext,
	// AllowInsecureAuth) and MAIL FROM is refused until the client logged in.
	Username, Password string
	// Logger receives the server's internal errors (default: discarded).
	Logger *slog.Logger
	// CheckToken, when set with Username, makes the server offer AUTH
	// XOAUTH2 and OAUTHBEARER too and accept the bearer tokens it
	// approves for Username (see OAuthServer.Check).
	CheckToken TokenChecker
	// AuthMechanisms, when set, replaces the list of AUTH mechanisms the
	// server advertises (and accepts), e.g. []string{"XOAUTH2"} to play
	// Microsoft 365, which offers no OAUTHBEARER.
	AuthMechanisms []string
}

// Received is one mail the SMTP server accepted (or, for Cut, read and then
// dropped the connection on).
type Received struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO), in order
	Data []byte   // the raw message as transferred after DATA
	At   time.Time
}

// failure is one injected SMTP reply.
type failure struct {
	code     int
	enhanced [3]int
	text     string
}

func (f failure) smtpError() *smtp.SMTPError {
	return &smtp.SMTPError{Code: f.code, EnhancedCode: smtp.EnhancedCode(f.enhanced), Message: f.text}
}

// SMTPServer is an in-process SMTP server on 127.0.0.1 that records every
// mail it accepts and can be told to fail in the ways real servers do. All
// methods are safe for concurrent use.
type SMTPServer struct {
	username, password string
	log                *slog.Logger
	checkToken         TokenChecker
	mechs              []string
	signIns            signIns

	ln     net.Listener
	srv    *smtp.Server
	served chan struct{} // closed when Serve returns

	mu        sync.Mutex
	messages  []Received
	cut       []Received
	changed   chan struct{} // closed and replaced whenever messages grows
	failData  []failure     // consumed one per DATA
	failMail  []failure     // consumed one per MAIL
	rejects   map[string]failure
	cutNext   int
	sessions  int
	openMails int           // mail transactions in progress, across sessions
	maxMails  int           // the most openMails seen
	dataDelay time.Duration // each DATA waits this long before its answer
	closeOnce sync.Once
	closeErr  error
}

// StartSMTP starts a plaintext SMTP server on 127.0.0.1 on a free port.
// Close stops it.
func StartSMTP(opts SMTPOptions) (*SMTPServer, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for smtp: %w", err)
	}
	s := &SMTPServer{
		username:   opts.Username,
		password:   opts.Password,
		log:        log,
		ln:         ln,
		checkToken: opts.CheckToken,
		mechs:      opts.AuthMechanisms,
		served:     make(chan struct{}),
		changed:    make(chan struct{}),
		rejects:    map[string]failure{},
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = maxSMTPMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = slogPrinter{log}
	s.srv = srv
	go func() {
		defer close(s.served)
		if err := srv.Serve(ln); err != nil {
			log.Error("smtp server stopped", "err", err)
		}
	}()
	return s, nil
}

// slogPrinter adapts go-smtp's Printf logger to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("smtp server", "msg_text", fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("smtp server", "msg_text", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// Addr is the host:port the server listens on.
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// URL is the server in ONBOARDER_SMTP_URL form: smtp://user:pass@addr?tls=none
// (without user info when no authentication is needed).
func (s *SMTPServer) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr(), RawQuery: "tls=none"}
	if s.username != "" {
		u.User = url.UserPassword(s.username, s.password)
	}
	return u.String()
}

// Messages returns the accepted mails, in the order they were accepted.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneReceived(s.messages)
}

// Cut returns the mails the server read completely and then dropped the
// connection on without answering (see CutAfterData). The client cannot
// know whether such a mail was delivered.
func (s *SMTPServer) Cut() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneReceived(s.cut)
}

// Sessions counts the SMTP sessions (EHLO/HELO) the server has seen.
func (s *SMTPServer) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// MaxConcurrentMails is the most mail transactions that were in progress at
// once across all sessions: from an accepted MAIL FROM until the answer to
// DATA (or RSET, or the end of the session). One client sending over one
// connection at a time never gets above 1.
func (s *SMTPServer) MaxConcurrentMails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxMails
}

// SetDataDelay makes every DATA wait d after reading the mail before it
// answers, as a slow server does, so that mails sent over several
// connections at once are seen overlapping.
func (s *SMTPServer) SetDataDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataDelay = d
}

func cloneReceived(in []Received) []Received {
	out := make([]Received, len(in))
	for i, r := range in {
		out[i] = Received{From: r.From, To: append([]string(nil), r.To...), Data: append([]byte(nil), r.Data...), At: r.At}
	}
	return out
}

// WaitFor waits until at least n mails have been accepted and returns them
// all; after timeout it returns what it has and an error.
func (s *SMTPServer) WaitFor(n int, timeout time.Duration) ([]Received, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.messages), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return s.Messages(), fmt.Errorf("waiting for %d smtp messages: got %d after %s", n, got, timeout)
		}
	}
}

// FailNext makes the next n mails fail at the end of DATA (after the
// content was transferred) with this reply, e.g. 451 {4,3,0} or 554 {5,6,0}.
// A zero enhanced code becomes X.0.0.
func (s *SMTPServer) FailNext(n int, code int, enhanced [3]int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failData = append(s.failData, failure{code, enhanced, text})
	}
}

// FailNextMail makes the next n MAIL FROM commands fail with this reply.
func (s *SMTPServer) FailNextMail(n int, code int, enhanced [3]int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failMail = append(s.failMail, failure{code, enhanced, text})
	}
}

// RejectRecipient makes every RCPT TO for addr (compared without case)
// answer code, e.g. 550, until the server is closed. The enhanced code is
// X.1.1 (bad mailbox).
func (s *SMTPServer) RejectRecipient(addr string, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects[strings.ToLower(strings.TrimSpace(addr))] = failure{code, [3]int{code / 100, 1, 1}, text}
}

// CutAfterData makes the next n mails be read completely after DATA and
// then have their connection closed without an answer: the client sees the
// connection drop where it expects "250 OK". Such mails are listed by Cut,
// not by Messages.
func (s *SMTPServer) CutAfterData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutNext += n
}

// Close stops the server, drops open connections and waits for the accept
// loop to end.
func (s *SMTPServer) Close() error {
	s.closeOnce.Do(func() {
		err := s.srv.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		<-s.served
		if err != nil {
			s.closeErr = fmt.Errorf("closing smtp server: %w", err)
		}
	})
	return s.closeErr
}

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &smtpSession{srv: s, conn: c, authed: s.username == ""}, nil
}

// smtpSession is one client's SMTP conversation.
type smtpSession struct {
	srv    *SMTPServer
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
	inMail bool // a mail transaction is open (guarded by srv.mu)
}

// endMail closes the session's mail transaction, if open; srv.mu is held.
func (ss *smtpSession) endMail() {
	if ss.inMail {
		ss.inMail = false
		ss.srv.openMails--
	}
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.srv.username == "" {
		return nil
	}
	if ss.srv.mechs != nil {
		return ss.srv.mechs
	}
	if ss.srv.checkToken != nil {
		return []string{sasl.Plain, MechXOAuth2, MechOAuthBearer}
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if ss.srv.mechs != nil && !slices.Contains(ss.srv.mechs, strings.ToUpper(mech)) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	if ss.srv.username != "" && ss.srv.checkToken != nil {
		login := func(user string) error {
			if user != ss.srv.username {
				return smtp.ErrAuthFailed
			}
			ss.authed = true
			return nil
		}
		if srv := oauthSASL(mech, ss.srv.checkToken, login, ss.srv.signIns.add); srv != nil {
			return srv, nil
		}
	}
	if ss.srv.username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		if username != ss.srv.username || password != ss.srv.password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		ss.srv.signIns.add(sasl.Plain)
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failMail) > 0 {
		f := s.failMail[0]
		s.failMail = s.failMail[1:]
		return f.smtpError()
	}
	ss.from = from
	ss.to = nil
	if !ss.inMail {
		ss.inMail = true
		s.openMails++
		s.maxMails = max(s.maxMails, s.openMails)
	}
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s := ss.srv
	s.mu.Lock()
	f, rejected := s.rejects[strings.ToLower(to)]
	s.mu.Unlock()
	if rejected {
		return f.smtpError()
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		// go-smtp answers the size limit itself; any other read error
		// means the connection is gone.
		return err
	}
	rec := Received{From: ss.from, To: append([]string(nil), ss.to...), Data: data, At: time.Now()}
	s := ss.srv
	s.mu.Lock()
	delay := s.dataDelay
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer ss.endMail() // before go-smtp writes the answer
	if s.cutNext > 0 {
		s.cutNext--
		s.cut = append(s.cut, rec)
		// Close the socket under go-smtp: its "250" goes nowhere and its
		// read loop ends on the closed connection.
		if err := ss.conn.Conn().Close(); err != nil {
			s.log.Warn("cutting smtp connection", "err", err)
		}
		return errors.New("connection cut by test")
	}
	if len(s.failData) > 0 {
		f := s.failData[0]
		s.failData = s.failData[1:]
		return f.smtpError()
	}
	s.messages = append(s.messages, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (ss *smtpSession) Reset() {
	ss.from = ""
	ss.to = nil
	ss.srv.mu.Lock()
	ss.endMail()
	ss.srv.mu.Unlock()
}

func (ss *smtpSession) Logout() error {
	ss.srv.mu.Lock()
	ss.endMail()
	ss.srv.mu.Unlock()
	return nil
}
