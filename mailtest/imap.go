package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPOptions configures StartIMAP.
type IMAPOptions struct {
	// Username and Password of the one account (default "user" / "password").
	Username, Password string
	// DisableCaps hides these capabilities from clients and refuses the
	// commands that need them. Supported: MOVE, UIDPLUS, IDLE; and
	// AUTH=OAUTHBEARER or AUTH=XOAUTH2 (hidden from the capability list).
	DisableCaps []imap.Cap
	// Logger receives the server's error messages (default: discarded).
	Logger *slog.Logger
	// CheckToken, when set, makes the server offer AUTHENTICATE XOAUTH2
	// and OAUTHBEARER (besides PLAIN and LOGIN) and accept the bearer
	// tokens it approves for Username (see OAuthServer.Check).
	CheckToken TokenChecker
	// PersonalNamespace, when set ("INBOX/"), is where the account's
	// folders live, as on Cyrus and Courier (whose "INBOX." this server
	// spells with its own "/" delimiter): NAMESPACE says so, and CREATE
	// refuses any other name with "NO Invalid mailbox name", as they do.
	PersonalNamespace string
}

// StoredMessage is one mail as the IMAP server holds it.
type StoredMessage struct {
	UID          uint32
	Flags        []string // sorted, as the server reports them (e.g. `\Seen`)
	InternalDate time.Time
	Raw          []byte
}

// IMAPServer is an in-process IMAP server with one account whose INBOX
// exists from the start. It listens on 127.0.0.1 and speaks plaintext.
type IMAPServer struct {
	username, password string
	personalNamespace  string
	log                *slog.Logger
	checkToken         TokenChecker
	signIns            signIns

	ln     net.Listener
	srv    *imapserver.Server
	user   *imapmemserver.User
	served chan struct{} // closed when Serve returns

	adminMu sync.Mutex // serialises Append, Messages and ResetUIDValidity
}

// imapAdminTimeout bounds the internal client connection used by Messages.
const imapAdminTimeout = 30 * time.Second

// imapBaseCaps are the capabilities the server offers unless disabled. The
// server speaks IMAP4rev1 only, so that MOVE and UIDPLUS can be withheld
// (IMAP4rev2 implies them).
var imapBaseCaps = []imap.Cap{
	imap.CapIMAP4rev1,
	imap.CapNamespace,
	imap.CapUIDPlus,
	imap.CapMove,
	imap.CapLiteralPlus,
}

// StartIMAP starts a server on 127.0.0.1:0. Close it when done.
func StartIMAP(opts IMAPOptions) (*IMAPServer, error) {
	if opts.Username == "" {
		opts.Username = "user"
	}
	if opts.Password == "" {
		opts.Password = "password"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	disabled := make(map[imap.Cap]bool)
	for _, c := range opts.DisableCaps {
		c = imap.Cap(strings.ToUpper(string(c)))
		if c == imap.CapIMAP4rev1 {
			return nil, fmt.Errorf("starting IMAP server: IMAP4rev1 cannot be disabled")
		}
		disabled[c] = true
	}
	caps := imap.CapSet{}
	for _, c := range imapBaseCaps {
		if !disabled[c] {
			caps[c] = struct{}{}
		}
	}

	s := &IMAPServer{}
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(opts.Username, opts.Password)
	if err := user.Create("INBOX", nil); err != nil {
		return nil, fmt.Errorf("creating INBOX: %w", err)
	}
	mem.AddUser(user)

	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return wrapIMAPSession(mem.NewSession(), disabled, s), nil, nil
		},
		Caps:         caps,
		Logger:       imapLogAdapter{log},
		InsecureAuth: true,
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for IMAP: %w", err)
	}
	var served net.Listener = ln
	if len(disabled) > 0 {
		// imapserver always advertises IDLE (and a few others) for
		// IMAP4rev1; hide what is disabled on the wire.
		served = &capFilterListener{Listener: ln, drop: disabled}
	}

	s.username, s.password, s.checkToken, s.log = opts.Username, opts.Password, opts.CheckToken, log
	s.personalNamespace = opts.PersonalNamespace
	s.ln, s.srv, s.user, s.served = ln, srv, user, make(chan struct{})
	go func() {
		defer close(s.served)
		if err := srv.Serve(served); err != nil {
			log.Warn("IMAP server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *IMAPServer) Addr() string { return s.ln.Addr().String() }

// Username returns the account's user name.
func (s *IMAPServer) Username() string { return s.username }

// Password returns the account's password.
func (s *IMAPServer) Password() string { return s.password }

// URL returns imap://user:pass@addr/MAILBOX?tls=none for the account.
func (s *IMAPServer) URL(mailbox string) string {
	u := url.URL{
		Scheme:   "imap",
		User:     url.UserPassword(s.username, s.password),
		Host:     s.Addr(),
		Path:     "/" + mailbox,
		RawQuery: "tls=none",
	}
	return u.String()
}

// CreateMailbox creates a mailbox; it is no error if it exists.
func (s *IMAPServer) CreateMailbox(name string) error {
	err := s.user.Create(name, nil)
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating mailbox %q: %w", name, err)
	}
	return nil
}

// Append stores raw in mailbox (created if missing) and returns its UID.
func (s *IMAPServer) Append(mailbox string, raw []byte) (uint32, error) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	return s.appendLocked(mailbox, raw, &imap.AppendOptions{})
}

func (s *IMAPServer) appendLocked(mailbox string, raw []byte, opts *imap.AppendOptions) (uint32, error) {
	if err := s.CreateMailbox(mailbox); err != nil {
		return 0, err
	}
	data, err := s.user.Append(mailbox, bytesLiteral{bytes.NewReader(raw)}, opts)
	if err != nil {
		return 0, fmt.Errorf("appending to %q: %w", mailbox, err)
	}
	return uint32(data.UID), nil
}

// Messages returns every mail of mailbox in UID order. It reads them over
// an IMAP connection with EXAMINE and BODY.PEEK, so it changes no flag.
func (s *IMAPServer) Messages(mailbox string) ([]StoredMessage, error) {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	return s.messagesLocked(mailbox)
}

func (s *IMAPServer) messagesLocked(mailbox string) ([]StoredMessage, error) {
	conn, err := net.DialTimeout("tcp", s.ln.Addr().String(), imapAdminTimeout)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", mailbox, err)
	}
	watchdog := time.AfterFunc(imapAdminTimeout, func() { conn.Close() })
	defer watchdog.Stop()
	c := imapclient.New(conn, nil)
	defer c.Close()

	if err := c.Login(s.username, s.password).Wait(); err != nil {
		return nil, fmt.Errorf("reading %q: login: %w", mailbox, err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("reading %q: select: %w", mailbox, err)
	}
	var out []StoredMessage
	if sel.NumMessages > 0 {
		bodySection := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID:          true,
			Flags:        true,
			InternalDate: true,
			BodySection:  []*imap.FetchItemBodySection{bodySection},
		}).Collect()
		if err != nil {
			return nil, fmt.Errorf("reading %q: fetch: %w", mailbox, err)
		}
		for _, b := range bufs {
			flags := make([]string, 0, len(b.Flags))
			for _, f := range b.Flags {
				flags = append(flags, string(f))
			}
			sort.Strings(flags)
			out = append(out, StoredMessage{
				UID:          uint32(b.UID),
				Flags:        flags,
				InternalDate: b.InternalDate,
				Raw:          b.FindBodySection(bodySection),
			})
		}
	}
	slices.SortFunc(out, func(a, b StoredMessage) int { return int(int64(a.UID) - int64(b.UID)) })
	if err := c.Logout().Wait(); err != nil {
		s.log.Debug("IMAP admin logout failed", "err", err)
	}
	return out, nil
}

// ResetUIDValidity simulates a server that lost its UID index: mailbox is
// recreated with the same mails (flags and dates kept), a new UIDVALIDITY
// and UIDs assigned afresh from 1. Clients that have it selected keep a
// stale view until they select it again.
func (s *IMAPServer) ResetUIDValidity(mailbox string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()

	msgs, err := s.messagesLocked(mailbox)
	if err != nil {
		return fmt.Errorf("resetting UIDVALIDITY of %q: %w", mailbox, err)
	}
	if err := s.user.Delete(mailbox); err != nil {
		return fmt.Errorf("resetting UIDVALIDITY of %q: deleting: %w", mailbox, err)
	}
	if err := s.user.Create(mailbox, nil); err != nil {
		return fmt.Errorf("resetting UIDVALIDITY of %q: creating: %w", mailbox, err)
	}
	for _, m := range msgs {
		flags := make([]imap.Flag, 0, len(m.Flags))
		for _, f := range m.Flags {
			flags = append(flags, imap.Flag(f))
		}
		if _, err := s.appendLocked(mailbox, m.Raw, &imap.AppendOptions{Flags: flags, Time: m.InternalDate}); err != nil {
			return fmt.Errorf("resetting UIDVALIDITY of %q: %w", mailbox, err)
		}
	}
	return nil
}

// UIDValidity returns the mailbox's current UIDVALIDITY.
func (s *IMAPServer) UIDValidity(mailbox string) (uint32, error) {
	data, err := s.user.Status(mailbox, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, fmt.Errorf("status of %q: %w", mailbox, err)
	}
	return data.UIDValidity, nil
}

// Close stops the server and closes every connection.
func (s *IMAPServer) Close() error {
	err := s.srv.Close()
	<-s.served
	if err != nil {
		return fmt.Errorf("closing IMAP server: %w", err)
	}
	return nil
}

// bytesLiteral adapts a bytes.Reader to imap.LiteralReader.
type bytesLiteral struct{ *bytes.Reader }

func (b bytesLiteral) Size() int64 { return b.Reader.Size() }

// imapLogAdapter turns imapserver's Printf logging into slog.
type imapLogAdapter struct{ log *slog.Logger }

func (a imapLogAdapter) Printf(format string, args ...any) {
	a.log.Warn(fmt.Sprintf(format, args...), "component", "imapserver")
}

// imapSession wraps a memserver session to refuse what is disabled.
type imapSession struct {
	imapserver.Session
	noUIDPlus, noIdle bool
	srv               *IMAPServer
}

// imapSessionMove is an imapSession that also supports MOVE.
type imapSessionMove struct {
	*imapSession
}

func wrapIMAPSession(sess imapserver.Session, disabled map[imap.Cap]bool, srv *IMAPServer) imapserver.Session {
	s := &imapSession{
		Session:   sess,
		noUIDPlus: disabled[imap.CapUIDPlus],
		noIdle:    disabled[imap.CapIdle],
		srv:       srv,
	}
	if disabled[imap.CapMove] {
		return s
	}
	return imapSessionMove{s}
}

func (s *imapSession) Namespace() (*imap.NamespaceData, error) {
	if p := s.srv.personalNamespace; p != "" {
		return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: p, Delim: '/'}}}, nil
	}
	ns, ok := s.Session.(imapserver.SessionNamespace)
	if !ok {
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "NAMESPACE not supported"}
	}
	return ns.Namespace()
}

func (s *imapSession) Create(name string, opts *imap.CreateOptions) error {
	if p := s.srv.personalNamespace; p != "" && !strings.HasPrefix(strings.ToUpper(name), strings.ToUpper(p)) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Invalid mailbox name"}
	}
	return s.Session.Create(name, opts)
}

func (s *imapSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if uids != nil && s.noUIDPlus {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "UID EXPUNGE needs UIDPLUS, which is disabled"}
	}
	return s.Session.Expunge(w, uids)
}

func (s *imapSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	data, err := s.Session.Copy(numSet, dest)
	if err == nil && s.noUIDPlus {
		data = nil // no COPYUID without UIDPLUS
	}
	return data, err
}

func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.noIdle {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "IDLE is disabled"}
	}
	return s.Session.Idle(w, stop)
}

func (s imapSessionMove) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	mv, ok := s.Session.(imapserver.SessionMove)
	if !ok {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "MOVE not supported"}
	}
	return mv.Move(w, numSet, dest)
}
