// Package mailbox is the IMAP intake client: it fetches the mail that
// arrived since the last pass (a UID cursor per mailbox, guarded by
// UIDVALIDITY), hands it to a Handler in chunks, moves handled mail to a
// processed folder safely, and can wait for new mail with IDLE.
//
// A pass is a pipeline on one connection: while the Handler works on one
// chunk, the next is fetched and prepared (Handler.Prepare) and the one
// before is moved.
//
// Every IMAP command runs under a deadline (Config.CommandTimeout) and the
// caller's context: go-imap's client takes no context and would wait
// forever on a silent server, so when either ends, the connection is closed
// and the call returns an error that names the command.
//
// Order of work for each chunk: the handler records and commits, then the
// mail is moved, then the cursor is saved. A crash between any two steps
// re-offers the mail on the next pass; the handler recognises it (by
// Message-ID) and answers Move again without redoing work.
package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// TLSMode says how the connection is secured.
type TLSMode string

// TLS modes.
const (
	TLSImplicit TLSMode = "tls"      // imaps://, TLS from the first byte
	TLSStartTLS TLSMode = "starttls" // imap://, STARTTLS required
	TLSNone     TLSMode = "none"     // plaintext, meant for loopback
)

// Defaults for the zero fields of Config.
const (
	DefaultMailbox         = "INBOX"
	DefaultProcessedFolder = "Onboarder/Processed"
	DefaultBatchSize       = 500
	DefaultFetchChunk      = 250
	DefaultMaxMessageBytes = 10 << 20
	DefaultCommandTimeout  = 60 * time.Second
	DefaultIdleRenew       = 25 * time.Minute
)

// maxChunkBodyBytes bounds the memory one chunk's bodies take: a chunk is
// cut short (at least one mail) when its mails' sizes would pass it.
const maxChunkBodyBytes = 64 << 20

// Config configures a Poller.
type Config struct {
	Addr      string      // host:port
	TLS       TLSMode     // default TLSImplicit
	TLSConfig *tls.Config // optional (InsecureSkipVerify, ServerName)

	Username, Password string
	// Token, when set, signs in with OAuth 2.0 instead of LOGIN: SASL
	// AUTHENTICATE OAUTHBEARER (RFC 7628) when the server offers it, else
	// XOAUTH2 (Microsoft 365, Gmail), with the access token Token returns
	// for Username. Password is then unused.
	Token func(ctx context.Context) (string, error)

	Mailbox string // default "INBOX"
	// ProcessedFolder is where handled mail goes, "/" between levels
	// (default "Onboarder/Processed"); it is put under the server's personal
	// namespace with its delimiter ("INBOX.Onboarder.Processed" on Cyrus
	// and Courier) unless it starts with that prefix, and created if missing.
	ProcessedFolder string
	BatchSize       int   // most mails one pass takes (default 500), oldest first
	FetchChunk      int   // mails per UID FETCH and per handler call (default 250)
	MaxMessageBytes int64 // larger mail: body not fetched, Message.TooLarge (default 10 MiB)

	// CommandTimeout is the deadline of every IMAP command (default 60s);
	// when it passes, the connection is closed and the call fails with an
	// error naming the command (errors.Is ErrCommandTimeout).
	CommandTimeout time.Duration
	// IdleRenew re-issues IDLE before the server's inactivity timeout
	// (default 25m).
	IdleRenew time.Duration

	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	if c.Mailbox == "" {
		c.Mailbox = DefaultMailbox
	}
	if c.ProcessedFolder == "" {
		c.ProcessedFolder = DefaultProcessedFolder
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FetchChunk <= 0 {
		c.FetchChunk = DefaultFetchChunk
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.IdleRenew <= 0 {
		c.IdleRenew = DefaultIdleRenew
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Cursor is how far intake got in one mailbox: every mail with a UID up to
// LastUID under this UIDValidity has been handled.
type Cursor struct{ UIDValidity, LastUID uint32 }

// CursorStore keeps cursors; store implements it.
type CursorStore interface {
	// LoadCursor returns the zero Cursor when there is none.
	LoadCursor(ctx context.Context, mailbox string) (Cursor, error)
	SaveCursor(ctx context.Context, mailbox string, c Cursor) error
}

// Message is one fetched mail.
type Message struct {
	UID          uint32
	Size         int64 // RFC822.SIZE
	InternalDate time.Time
	Raw          []byte // nil when TooLarge
	TooLarge     bool   // over MaxMessageBytes: the body was not fetched
	// Envelope is what the server's ENVELOPE says about a TooLarge mail
	// (nil for others, and when the server sent none): whose it is, read
	// without its body.
	Envelope *Envelope
}

// Envelope is the part of an IMAP ENVELOPE that tells whose a mail is.
type Envelope struct {
	MessageID string   // without <>
	Subject   string   // decoded (RFC 2047)
	From      []string // one per From address; "" for a group marker or an address without a domain
	Sender    []string // as From (the server repeats From when there is no Sender field)
	InReplyTo []string // without <>
}

// Batch is one chunk of mails for the handler, in UID order.
type Batch struct {
	Mailbox     string
	UIDValidity uint32
	// Rescan is set when UIDVALIDITY changed and the mailbox is read again
	// from UID 1: the handler must recognise mails it has (by Message-ID).
	Rescan   bool
	Messages []Message
}

// Action is what becomes of one handled mail.
type Action int

// Actions.
const (
	// ActionMove: handled; move it to the processed folder.
	ActionMove Action = iota + 1
	// ActionKeep: handled, not for us; leave it in place, unflagged.
	ActionKeep
	// ActionRetry: handling failed; leave it and do not advance the
	// cursor past it, so that the next pass offers it again.
	ActionRetry
)

func (a Action) String() string {
	switch a {
	case ActionMove:
		return "move"
	case ActionKeep:
		return "keep"
	case ActionRetry:
		return "retry"
	}
	return "invalid"
}

// Handler handles mail, a chunk at a time, in two steps. The poller calls
// Prepare as soon as a chunk is fetched, while the chunk before is still
// being handled; Prepare must not act on the mails (the worker's parses
// them). The Handling it returns runs in the chunk's turn.
type Handler interface {
	Prepare(b Batch) Handling
}

// Handling handles one prepared chunk and returns one Action per message.
// An error means an infrastructure failure: the pass stops, nothing of
// that chunk is moved and the cursor stays.
type Handling func(ctx context.Context) ([]Action, error)

// HandlerFunc is a Handler that needs no preparation.
type HandlerFunc func(ctx context.Context, b Batch) ([]Action, error)

// Prepare returns f for b.
func (f HandlerFunc) Prepare(b Batch) Handling {
	return func(ctx context.Context) ([]Action, error) { return f(ctx, b) }
}

// Stats counts what one pass did.
type Stats struct {
	Seen      int // mails offered to the handler
	Moved     int
	Kept      int
	Retried   int
	TooLarge  int
	Remaining int // new mails left for a later pass (over BatchSize)

	UIDValidityChanged bool
}

// ErrIdleUnsupported is returned by Idle when the server lacks IDLE.
var ErrIdleUnsupported = errors.New("mailbox: IMAP server does not support IDLE")

// ErrCommandTimeout is wrapped by the error of a command that got no answer
// within Config.CommandTimeout.
var ErrCommandTimeout = errors.New("IMAP command timed out")

// Poller reads one mailbox. It is safe to call RunOnce and Idle at the same
// time (each uses its own connection), but RunOnce must not run twice at
// once for the same mailbox.
type Poller struct {
	cfg     Config
	cursors CursorStore
	h       Handler
	log     *slog.Logger

	// beforeMove, when set (tests), runs after the handler and before the
	// move of a chunk.
	beforeMove func()

	// kept is the connection the last pass left for the next one (it left
	// mail waiting), since keptAt; see openSession.
	keptMu sync.Mutex
	kept   *session
	keptAt time.Time

	// folder is ProcessedFolder as the server names it (see
	// processedFolder), once asked; naming is what the server said.
	folderMu sync.Mutex
	folder   string
	naming   folderNaming
}

// NewPoller returns a Poller for cfg (zero fields take their defaults).
func NewPoller(cfg Config, cursors CursorStore, h Handler) *Poller {
	cfg = cfg.withDefaults()
	return &Poller{
		cfg:     cfg,
		cursors: cursors,
		h:       h,
		log:     cfg.Logger.With("mailbox", cfg.Mailbox),
	}
}
