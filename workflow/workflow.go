// Package workflow is onboarder's domain: it turns received mail into
// requests, runs the checks of the product specification in order, moves
// requests and links through their states, and queues every mail those
// transitions cause.
//
// Every transition is one store transaction that writes the new state, its
// audit entry and the rendered outbox rows together, so a crash leaves either
// all of it or none. workflow does no network I/O: mail is rendered here and
// sent later by the outbox dispatcher.
//
// Received mail has one way in: a Chunk, parsed by ParseChunk (the worker
// does it for the next chunk while this one is handled), then handled by
// HandleChunk (batch.go); HandleMail and Reprocess hand in a chunk of one.
package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/onboarder/onboarder/config/defaults"
	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// Finding codes.
const (
	FindUnknownSender       = "unknown_sender"
	FindSenderAuthFailed    = "sender_auth_failed"
	FindSenderAuthUnchecked = "sender_auth_unchecked"
	FindOrgIDMissing        = "organization_id_missing"
	FindOrgIDAmbiguous      = "organization_id_ambiguous"
	FindOrgIDMalformed      = "organization_id_malformed"
	FindUnknownOrganization = "unknown_organization"
	FindOrganizationInact   = "organization_inactive"
	FindDuplicate           = "duplicate_request"
	FindNameMismatch        = "name_mismatch"
	FindOtherReseller       = "org_has_other_reseller"
	FindInvitationBounced   = "invitation_bounced"
	FindAnswerBounced       = "answer_bounced"
	FindPartnerSuspended    = "partner_suspended"
	FindPossibleFraud       = "possibly_fraudulent"
)

// Errors the callers map to exit codes and HTTP statuses.
var (
	// ErrState: the request or link is not in a state that allows the action.
	ErrState = errors.New("not allowed in this state")
	// ErrNotFound: no such request, link or invitation.
	ErrNotFound = store.ErrNotFound
	// ErrTooSoon: an invitation for the organization was sent within the hour.
	ErrTooSoon = errors.New("an invitation for this organization was sent less than an hour ago")
)

// Options configure the service. The composition root fills every field
// that a setting controls (the ONBOARDER_ variable is named beside it);
// built without it (tests), such a field left zero takes the setting's
// default from config/defaults, so a service behaves as a worker with
// nothing set. No default of a setting is written in this package.
type Options struct {
	From    mail.Address // From of every mail
	ReplyTo mail.Address // the polled mailbox
	// PublicURL is the base of invitation links, without a trailing slash.
	PublicURL          string
	TrustedAuthServID  string
	AutoApproveTrusted bool
	InviteTTL          time.Duration // how long an invitation stays valid (ONBOARDER_INVITE_TTL)
	Templates          *templates.Set
	Logger             *slog.Logger
	// Queued is called after a commit that queued mail (wakes the dispatcher).
	Queued func()
	// Webhooks: write a webhook event (webhooks.go) with every request
	// and link transition, in its transaction.
	Webhooks bool
	// WebhookQueued is called after a commit that wrote webhook events.
	WebhookQueued func()
	// Directory resolves Organization IDs (default: StoreDirectory, the
	// organizations table). Another directory's answers are kept as
	// snapshots in the organizations table (directory.go).
	Directory Directory
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// MaxAttempts before a failing mail is set aside as unparseable (default 3).
	MaxAttempts int
	// Parser options (limits); TrustedAuthServID is filled in from above.
	Parser parser.Options
	// Parse replaces parser.Parse (tests use it to make handling fail).
	Parse func(raw []byte, opts parser.Options) *parser.Mail

	// FourEyesFindings (ONBOARDER_FOUR_EYES_FINDINGS): a request with any of
	// these findings needs approvals by two different ops users
	// (foureyes.go). nil takes the default; empty (not nil) means none.
	FourEyesFindings []string

	// Security options (security.go, ratelimit.go).
	// VerifyDKIM: without trusted Authentication-Results, check the DKIM
	// signatures of a known partner's mail ourselves (needs LookupTXT).
	VerifyDKIM bool
	// LookupTXT resolves DKIM key records and returns when its context ends.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// DKIMTimeout bounds all key lookups of one mail together (default
	// parser.DefaultDKIMTimeout, 10s).
	DKIMTimeout time.Duration
	// MaxDKIMSignatures caps the signatures checked per mail (default 5).
	MaxDKIMSignatures int
	// AnswerLimitSender and AnswerLimitPartner cap the answers that
	// received mail causes, per AnswerWindow, to one address and to all of
	// one partner's addresses (ONBOARDER_ANSWER_LIMIT_SENDER and
	// ONBOARDER_ANSWER_LIMIT_PARTNER; AnswerWindow defaults to an hour).
	// Beyond them the answer is written but held, and ops see why.
	AnswerLimitSender, AnswerLimitPartner int
	AnswerWindow                          time.Duration
	// MaxMessageBytes is the size over which the mailbox does not fetch a
	// mail (ONBOARDER_MAX_MESSAGE_BYTES): the limit the answer to such a
	// mail names.
	MaxMessageBytes int64
	// RawRetention is how long the raw source of a received mail is kept
	// (ONBOARDER_RAW_RETENTION); PurgeRawSources deletes older ones.
	RawRetention time.Duration
	// SessionMaxAge ends a console session this long after its login,
	// however active (ONBOARDER_SESSION_MAX_AGE); SessionTTL ends an idle
	// one sooner.
	SessionMaxAge time.Duration

	// Timers (timers.go). InviteReminderBefore: the administrator is
	// reminded of an invitation this long before it expires
	// (ONBOARDER_INVITE_REMINDER_BEFORE).
	InviteReminderBefore time.Duration
	// NeedsInfoChaseAfter: a needs_info request's partner is chased once
	// this long after the request came in (ONBOARDER_NEEDS_INFO_CHASE_AFTER);
	// NeedsInfoExpireAfter: then it is closed as expired
	// (ONBOARDER_NEEDS_INFO_EXPIRE_AFTER).
	NeedsInfoChaseAfter, NeedsInfoExpireAfter time.Duration
	// ConsentTTL: how long consent links work; a request waiting for a
	// consent whose links all expired is closed as expired (ONBOARDER_CONSENT_TTL).
	ConsentTTL time.Duration
	// DigestTo receive the daily ops digest (ONBOARDER_OPS_DIGEST_TO);
	// empty: no digest. DigestSchedule says when
	// (ONBOARDER_OPS_DIGEST_SCHEDULE, parsed by the composition root).
	DigestTo       []mail.Address
	DigestSchedule Schedule
}

// Service runs the workflow on a store.
type Service struct {
	st   *store.Store
	opts Options
	log  *slog.Logger
}

// New checks the options and returns a service.
func New(st *store.Store, opts Options) (*Service, error) {
	if opts.Templates == nil {
		return nil, errors.New("workflow: no templates")
	}
	if opts.From.Address == "" {
		return nil, errors.New("workflow: no From address")
	}
	if opts.ReplyTo.Address == "" {
		opts.ReplyTo = opts.From
	}
	if opts.InviteTTL <= 0 {
		opts.InviteTTL = defaults.InviteTTL
	}
	if opts.FourEyesFindings == nil {
		opts.FourEyesFindings = strings.Split(defaults.FourEyesFindings, ",")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Queued == nil {
		opts.Queued = func() {}
	}
	if opts.Parse == nil {
		opts.Parse = parser.Parse
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = defaults.MaxMessageBytes
	}
	if opts.SessionMaxAge <= 0 {
		opts.SessionMaxAge = defaults.SessionMaxAge
	}
	if opts.InviteReminderBefore <= 0 {
		opts.InviteReminderBefore = defaults.InviteReminderBefore
	}
	if opts.NeedsInfoChaseAfter <= 0 {
		opts.NeedsInfoChaseAfter = defaults.NeedsInfoChaseAfter
	}
	if opts.NeedsInfoExpireAfter <= 0 {
		opts.NeedsInfoExpireAfter = defaults.NeedsInfoExpireAfter
	}
	if opts.ConsentTTL <= 0 {
		opts.ConsentTTL = defaults.ConsentTTL
	}
	opts.securityDefaults()
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	opts.Parser.TrustedAuthServID = opts.TrustedAuthServID
	if opts.Directory == nil {
		opts.Directory = StoreDirectory{St: st}
	}
	return &Service{st: st, opts: opts, log: opts.Logger}, nil
}

// Store returns the service's store (read access for the web and the CLI).
func (s *Service) Store() *store.Store { return s.st }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// reader is a txn outside any transaction, for lookups that change
// nothing (a GET must never change state).
func (s *Service) reader(ctx context.Context) *txn {
	return &txn{Deferred: s.st.Q(ctx).Deferred(), s: s}
}

// transact runs fn in a transaction and wakes the dispatcher when fn queued mail.
func (s *Service) transact(ctx context.Context, fn func(tx *txn) error) error {
	queued, hooks := false, false
	err := s.st.Transact(ctx, func(q *store.Q) error {
		t := &txn{Deferred: q.Deferred(), s: s}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.Flush(); err != nil {
			return err
		}
		queued, hooks = t.queued > 0, t.webhooks > 0
		return nil
	})
	if err == nil && queued {
		s.opts.Queued()
	}
	if err == nil && hooks && s.opts.WebhookQueued != nil {
		s.opts.WebhookQueued()
	}
	return err
}

// txn is one transaction of the workflow. Its findings, audit entries and
// answer-log rows go to the database together when it ends
// (store.Deferred; transact and the intake flush it).
type txn struct {
	*store.Deferred
	s *Service

	// What the transaction did so far.
	queued     int   // mails queued to be sent (not held)
	webhooks   int   // webhook events written (webhooks.go)
	lastOutbox int64 // the id of the outbox row queue wrote last
	firstOfTwo bool  // approve recorded the first of two approvals (foureyes.go)

	// What the transition was given.
	// org is the directory's answer for the mail being handled, asked
	// before the transaction (directory.go); nil asks the database.
	org *orgLookup
	// chunk is what the chunk of the mail being handled read ahead and
	// counts across its lanes (batch.go); nil asks the database.
	chunk *chunkMail
	// notBefore delays the invitation approve queues (one per organization
	// per hour); zero sends it now.
	notBefore time.Time
	// created is the organization a new-organization request's approval
	// created in the HTTP directory before the transaction (neworg.go).
	created *store.Organization
}

// audit appends an audit entry.
func (t *txn) audit(reqID int64, linkID *int64, actor, from, to, reason string) error {
	var rid *int64
	if reqID != 0 {
		rid = &reqID
	}
	if err := t.AddAudit(&store.AuditEntry{RequestID: rid, LinkID: linkID, At: t.s.now(), Actor: actor,
		FromState: from, ToState: to, Reason: reason}); err != nil {
		return err
	}
	return t.requestEvent(reqID, linkID, actor, from, to, reason)
}

// newMessageID makes a Message-ID for one of our mails.
func (s *Service) newMessageID() string {
	b := make([]byte, 12)
	rand.Read(b)
	domain := "localhost"
	if at := strings.LastIndexByte(s.opts.From.Address, '@'); at >= 0 {
		domain = s.opts.From.Address[at+1:]
	}
	return "onb-" + hex.EncodeToString(b) + "@" + domain
}

// outMail is what a transition wants sent.
type outMail struct {
	kind      string
	locale    string
	to        string // one address
	toName    string
	toAll     []mail.Address // instead of to: several (the ops digest)
	requestID int64
	data      templates.Data
	// threading: the partner mail we answer (its Message-ID and References)
	inReplyTo string
	refs      []string
	auto      string    // Auto-Submitted value
	hold      string    // why the mail is held instead of sent ("" sends it)
	notBefore time.Time // not sent before (zero: now)
}

// queue renders m and writes it to the outbox.
func (t *txn) queue(m outMail) error {
	r, err := t.s.opts.Templates.Render(m.kind, m.locale, m.data)
	if err != nil {
		return fmt.Errorf("rendering %s: %w", m.kind, err)
	}
	var rid *int64
	if m.requestID != 0 {
		rid = &m.requestID
	}
	auto := m.auto
	if auto == "" {
		auto = "auto-replied"
	}
	refs := append([]string(nil), m.refs...)
	if m.inReplyTo != "" && !contains(refs, m.inReplyTo) {
		refs = append(refs, m.inReplyTo)
	}
	if len(refs) > 20 { // keep the first and the newest, as RFC 5322 suggests
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	row := &store.OutboxMail{
		Kind:          m.kind,
		RequestID:     rid,
		FromAddr:      t.s.opts.From.String(),
		ReplyTo:       t.s.opts.ReplyTo.String(),
		Subject:       r.Subject,
		TextBody:      r.Text,
		HTMLBody:      r.HTML,
		MessageID:     t.s.newMessageID(),
		InReplyTo:     m.inReplyTo,
		Refs:          strings.Join(refs, " "),
		AutoSubmitted: auto,
		Delivery:      store.Delivery{NextAttemptAt: t.s.now()},
	}
	if m.toAll != nil {
		rs := make([]store.Recipient, len(m.toAll))
		for i, a := range m.toAll {
			rs[i] = store.Recipient{Name: parser.SanitizeText(a.Name, 200), Addr: a.Address}
		}
		row.SetRecipients(rs...)
	} else {
		row.SetRecipients(store.Recipient{Name: parser.SanitizeText(m.toName, 200), Addr: m.to})
	}
	if m.notBefore.After(row.NextAttemptAt) {
		row.NextAttemptAt = m.notBefore
	}
	if m.hold != "" {
		row.Status = store.OutboxHeld
		row.LastError = "held: " + m.hold
	}
	if err := t.InsertOutbox(row); err != nil {
		return err
	}
	t.lastOutbox = row.ID
	if m.hold == "" {
		t.queued++
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// threadSubject is the subject of an answer in the partner's thread:
// "Re: <their subject without prefixes> [REQ-000123]".
func threadSubject(original, ref string) string {
	base := parser.StripSubjectPrefixes(original)
	base = strings.TrimSpace(strings.ReplaceAll(base, "["+ref+"]", ""))
	if base == "" {
		base = "Reseller connection"
	}
	return "Re: " + base + " [" + ref + "]"
}
