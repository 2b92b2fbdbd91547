package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// Incoming is one mail taken from the mailbox.
type Incoming struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	Raw         []byte // nil when TooLarge
	Size        int64
	TooLarge    bool
	// Envelope is what the mailbox server said about a TooLarge mail
	// without sending it (nil when it said nothing).
	Envelope   *Envelope
	ReceivedAt time.Time
}

// Outcome tells the mailbox what to do with a handled mail.
type Outcome int

const (
	// Move: recorded; move it to the processed folder.
	Move Outcome = iota + 1
	// Keep: not for us; leave it in the mailbox, unflagged.
	Keep
	// Retry: handling failed; offer it again on the next pass.
	Retry
)

// Result is what became of one mail.
type Result struct {
	Outcome     Outcome
	MessageID   int64 // our record's id
	Disposition string
	RequestID   int64
}

// HandleMail handles one received mail as a chunk of one (HandleChunk):
// tests, and mail that comes alone, take the worker's path.
func (s *Service) HandleMail(ctx context.Context, in Incoming) (Result, error) {
	return s.handleOne(ctx, s.ParseChunk([]Incoming{in}))
}

// handleOne handles a chunk of one mail.
func (s *Service) handleOne(ctx context.Context, c Chunk) (Result, error) {
	res, err := s.HandleChunk(ctx, c)
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

func resultOf(m store.Message) Result {
	r := Result{Outcome: Move, MessageID: m.ID, Disposition: m.Disposition}
	if m.RequestID != nil {
		r.RequestID = *m.RequestID
	}
	if m.Disposition == store.DispIgnored {
		r.Outcome = Keep
	}
	return r
}

// recordFailureOn records that handling the mail failed, through q (the
// transaction of its batch, rolled back to the mail's savepoint), so that
// the raw mail is kept and the attempt counted. It returns the attempts
// counted so far.
func (s *Service) recordFailureOn(q *store.Q, in Incoming, prev store.Message, herr error) (Result, int, error) {
	m := prev
	if m.ID == 0 {
		m = s.newMessageRecord(in, nil)
	}
	m.Attempts++
	m.LastError = truncateString(herr.Error(), 2000)
	m.Disposition = store.DispPending
	out := Retry
	if m.Attempts >= s.opts.MaxAttempts {
		m.Disposition = store.DispUnparseable
		out = Move
	}
	if err := q.SaveMessage(&m); err != nil {
		return Result{}, 0, fmt.Errorf("handling uid %d failed (%v), and recording that failed too: %w", in.UID, herr, err)
	}
	return Result{Outcome: out, MessageID: m.ID, Disposition: m.Disposition}, m.Attempts, nil
}

func (s *Service) logFailure(in Incoming, res Result, attempts int, herr error) {
	s.log.Error("handling mail failed", "uid", in.UID, "message", res.MessageID, "attempts", attempts,
		"disposition", res.Disposition, "err", herr)
}

func (s *Service) newMessageRecord(in Incoming, p *parser.Mail) store.Message {
	sum := sha256.Sum256(in.Raw)
	m := store.Message{
		Mailbox:     in.Mailbox,
		UIDValidity: int64(in.UIDValidity),
		UID:         int64(in.UID),
		Size:        in.Size,
		Raw:         in.Raw,
		RawSHA256:   hex.EncodeToString(sum[:]),
		ReceivedAt:  in.ReceivedAt.UTC(),
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = s.now()
	}
	if p != nil {
		m.MessageID = truncateString(p.MessageID, 500)
		m.FromAddr = truncateString(p.From.Addr, 320)
		m.Subject = truncateString(p.Subject, 500)
	}
	return m
}

// parse runs the parser, turning a panic into an error (the mail is then
// retried and set aside; the worker goes on).
func (s *Service) parse(raw []byte) (p *parser.Mail, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.opts.Parse(raw, s.opts.Parser), nil
}

// prepare does what handling a mail needs before its transaction: it
// parses the mail (unless p is parsed already or the mail is too large),
// settles its authentication (may ask DNS) and asks an external directory
// about its Organization ID. q is a handle of the mail's chunk.
func (s *Service) prepare(ctx context.Context, q *store.Q, in Incoming, p *parser.Mail) (*parser.Mail, *orgLookup, error) {
	if p == nil && !in.TooLarge {
		var err error
		if p, err = s.parse(in.Raw); err != nil {
			return nil, nil, err
		}
	}
	if p != nil {
		s.ownAuthentication(ctx, q, in.Raw, p)
	}
	return p, s.lookupOrg(ctx, p), nil
}

func (s *Service) logHandled(in Incoming, res Result) {
	s.log.Info("mail handled", "uid", in.UID, "message", res.MessageID, "disposition", res.Disposition,
		"request_ref", refOrEmpty(res.RequestID))
}

// handleIn records and acts on one prepared mail inside tx.
func (tx *txn) handleIn(ctx context.Context, in Incoming, prev store.Message, p *parser.Mail) (Result, error) {
	s := tx.s
	m := s.newMessageRecord(in, p)
	if prev.ID != 0 {
		m.ID, m.Attempts, m.CreatedAt = prev.ID, prev.Attempts, prev.CreatedAt
	}
	if in.TooLarge {
		return tx.tooLarge(in, m, prev)
	}
	// The same mail seen before (delivered twice, or at a new UID after
	// a UIDVALIDITY change)?
	if prev.ID == 0 {
		if r, handled, err := tx.seenBefore(in, m); err != nil || handled {
			return r, err
		}
	}
	res, err := tx.classify(ctx, &m, p)
	if err != nil {
		return Result{}, err
	}
	if err := tx.SaveMessage(&m); err != nil {
		return Result{}, err
	}
	res.MessageID = m.ID
	return res, nil
}

func refOrEmpty(id int64) string {
	if id == 0 {
		return ""
	}
	return store.Reference(id)
}

// earlierMessage is EarlierMessage for m, answered from the chunk's
// look-ahead when there is one.
func (tx *txn) earlierMessage(m store.Message) (store.Message, error) {
	if h := tx.chunk.earlierHint(); h != nil {
		if h.found {
			return h.m, nil
		}
		return store.Message{}, fmt.Errorf("earlier message: %w", store.ErrNotFound)
	}
	return tx.EarlierMessage(m.MessageID, m.FromAddr, m.RawSHA256)
}

// seenBefore handles a mail recorded before (delivered twice, or at a new
// UID after a UIDVALIDITY change), with handled false when there is no
// such record or the earlier one only failed.
func (tx *txn) seenBefore(in Incoming, m store.Message) (Result, bool, error) {
	earlier, err := tx.earlierMessage(m)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	return tx.sameMailAgain(in, m, earlier)
}

// sameMailAgain handles a mail that was recorded before at another
// position. handled is false when the earlier record only failed and the
// mail should be handled normally.
func (tx *txn) sameMailAgain(in Incoming, m store.Message, earlier store.Message) (Result, bool, error) {
	if earlier.Disposition == store.DispPending {
		return Result{}, false, nil
	}
	if earlier.Mailbox != in.Mailbox || earlier.UIDValidity != int64(in.UIDValidity) || earlier.Disposition == store.DispIgnored {
		// The very mail we have, at a new position (UIDVALIDITY changed, or
		// an ignored mail that is still where it was): remember where it is,
		// do nothing else.
		if err := tx.MoveMessageLocation(earlier.ID, in.Mailbox, int64(in.UIDValidity), int64(in.UID)); err != nil {
			return Result{}, true, err
		}
		return resultOf(earlier), true, nil
	}
	// Delivered twice into the same mailbox: record the copy as a duplicate.
	m.Disposition = store.DispDuplicate
	m.Detail = fmt.Sprintf("same mail as message %d", earlier.ID)
	m.RequestID = earlier.RequestID
	if err := tx.SaveMessage(&m); err != nil {
		return Result{}, true, err
	}
	r := Result{Outcome: Move, MessageID: m.ID, Disposition: m.Disposition}
	if m.RequestID != nil {
		r.RequestID = *m.RequestID
	}
	return r, true, nil
}

// classify decides what the mail is and acts on it; it sets m's disposition.
func (tx *txn) classify(ctx context.Context, m *store.Message, p *parser.Mail) (Result, error) {
	s := tx.s
	ours := strings.EqualFold(p.From.Addr, s.opts.From.Address) || strings.EqualFold(p.From.Addr, s.opts.ReplyTo.Address)
	switch {
	case p.OwnLoop || (ours && p.Kind != parser.KindBounce):
		m.Disposition = store.DispAutoReply
		m.Detail = "our own mail came back (loop): not answered"
	case p.Kind == parser.KindBounce:
		m.Disposition = store.DispBounce
		if err := tx.bounce(m, p); err != nil {
			return Result{}, err
		}
	case p.Kind == parser.KindAutoReply:
		m.Disposition = store.DispAutoReply
		m.Detail = "automatic reply (" + p.AutoReason + "): not answered"
		if id, ok, err := tx.threadOf(p); err != nil {
			return Result{}, err
		} else if ok {
			m.RequestID = &id
		}
	case p.Kind == parser.KindEndLink:
		// Before threading: a partner may write it as a reply in an old
		// thread, and it is an end request all the same.
		m.Disposition = store.DispEndLink
		if err := tx.endByMail(m, p); err != nil {
			return Result{}, err
		}
	default:
		id, ok, err := tx.threadOf(p)
		if err != nil {
			return Result{}, err
		}
		switch {
		case ok:
			m.Disposition = store.DispReply
			m.RequestID = &id
			if err := tx.reply(ctx, id, m, p); err != nil {
				return Result{}, err
			}
		case p.Kind != parser.KindRequest && p.Kind != parser.KindNewOrganization && p.RequestTag != "":
			if handled, err := tx.strangerStatus(m, p); err != nil {
				return Result{}, err
			} else if !handled {
				m.Disposition = store.DispIgnored
				m.Detail = "not a request, reply, automatic reply or bounce: left for the people who read the mailbox"
			}
		case p.Kind == parser.KindRequest || p.Kind == parser.KindNewOrganization:
			m.Disposition = store.DispRequest
			newRequest := tx.newRequest
			if p.CustomerFirst { // the organization's administrator asks for a partner
				newRequest = tx.newCustomerFirst
			}
			id, err := newRequest(ctx, m, p)
			if err != nil {
				return Result{}, err
			}
			m.RequestID = &id
		default:
			m.Disposition = store.DispIgnored
			m.Detail = "not a request, reply, automatic reply or bounce: left for the people who read the mailbox"
		}
	}
	r := Result{Outcome: Move, Disposition: m.Disposition}
	if m.Disposition == store.DispIgnored {
		r.Outcome = Keep
	}
	if m.RequestID != nil {
		r.RequestID = *m.RequestID
	}
	return r, nil
}

// threadOf finds the request a mail belongs to: by In-Reply-To/References
// against the mails we sent or received, or by the [REQ-…] tag.
func (tx *txn) threadOf(p *parser.Mail) (int64, bool, error) {
	ids := append(append([]string{}, p.InReplyTo...), p.References...)
	id, ok, err := tx.ThreadRequest(ids)
	if err != nil || ok {
		return id, ok, err
	}
	if p.RequestTag == "" {
		return 0, false, nil
	}
	rid, valid := store.ParseReference(p.RequestTag)
	if !valid {
		return 0, false, nil
	}
	r, err := tx.Request(rid)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	// A tag alone threads only for the partner the request belongs to
	// (or the distributor that asked for it).
	if r.PartnerID == nil {
		return 0, false, nil
	}
	partner, err := tx.PartnerForSender(p.From.Addr)
	if err != nil || (partner.ID != *r.PartnerID && (r.DistributorID == nil || partner.ID != *r.DistributorID)) {
		return 0, false, nil
	}
	return r.ID, true, nil
}

// bounce matches a delivery status notification to the mail it reports on.
func (tx *txn) bounce(m *store.Message, p *parser.Mail) error {
	if p.DSN == nil || p.DSN.OriginalMessageID == "" {
		m.Detail = "delivery status notification: the original mail is not named"
		return nil
	}
	row, err := tx.OutboxByMessageID(p.DSN.OriginalMessageID)
	if errors.Is(err, store.ErrNotFound) {
		m.Detail = "delivery status notification for a mail we did not send (" + p.DSN.OriginalMessageID + ")"
		return nil
	}
	if err != nil {
		return err
	}
	detail := dsnDetail(p.DSN)
	m.Detail = fmt.Sprintf("bounce of outbox mail %d (%s): %s", row.ID, row.Kind, detail)
	m.RequestID = row.RequestID
	if !p.DSN.Permanent {
		m.Detail += " (delayed, not final)"
		return nil
	}
	if err := tx.MarkOutboxBounced(row.ID, detail); err != nil {
		return err
	}
	if row.RequestID != nil {
		code := FindAnswerBounced
		if row.Kind == templates.KindInvitation || row.Kind == templates.KindInvitationReminder {
			code = FindInvitationBounced
		}
		if err := tx.AddFinding(*row.RequestID, code, fmt.Sprintf("%s to %s: %s", row.Kind, strings.Join(row.To(), ", "), detail)); err != nil {
			return err
		}
		if err := tx.audit(*row.RequestID, nil, "system", "", "", fmt.Sprintf("%s mail bounced: %s", row.Kind, detail)); err != nil {
			return err
		}
	}
	return nil
}

func dsnDetail(d *parser.DSN) string {
	var parts []string
	for _, r := range d.Recipients {
		s := strings.TrimSpace(r.FinalRecipient + " " + r.Status + " " + r.DiagnosticCode)
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "undeliverable"
	}
	return truncateString(strings.Join(parts, "; "), 500)
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Reprocess handles a recorded mail again from its raw source, after a fix:
// one that failed or was set aside as unparseable, or one left in the
// mailbox as not for us. A mail that already made or touched a request is
// refused: handling it again would act twice.
func (s *Service) Reprocess(ctx context.Context, id int64) (Result, error) {
	m, err := s.st.Q(ctx).Message(id)
	if err != nil {
		return Result{}, err
	}
	switch m.Disposition {
	case store.DispPending, store.DispUnparseable, store.DispIgnored, store.DispTooLarge:
	default:
		return Result{}, stateErr("message %d was handled as %s; handling it again would act twice", id, m.Disposition)
	}
	if len(m.Raw) == 0 {
		why := "it was over the size limit"
		if m.RawDeletedAt != nil {
			why = "the retention schedule deleted it on " + m.RawDeletedAt.UTC().Format(time.DateOnly)
		}
		return Result{}, stateErr("message %d has no stored source (%s)", id, why)
	}
	in := Incoming{Mailbox: m.Mailbox, UIDValidity: uint32(m.UIDValidity), UID: uint32(m.UID), Raw: m.Raw,
		Size: m.Size, ReceivedAt: m.ReceivedAt}
	c := s.ParseChunk([]Incoming{in})
	c.again = true // on its record, whatever its disposition
	return s.handleOne(ctx, c)
}
