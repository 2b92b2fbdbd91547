package workflow

// Mail over the size limit (ONBOARDER_MAX_MESSAGE_BYTES): the mailbox does
// not fetch it, so it is never parsed. What the server's ENVELOPE says
// (sender, subject, Message-ID) is recorded so that ops can tell whose it
// was, and a registered partner is told to send it again without the large
// attachments. An unknown sender hears nothing (no backscatter).

import (
	"errors"
	"fmt"
	"strings"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// Envelope is what the mailbox server says about a mail too large to
// fetch (its IMAP ENVELOPE).
type Envelope struct {
	MessageID string   // without <>
	Subject   string   // decoded
	From      []string // one per From address; "" for one that is not a plain address
	Sender    []string // as From (servers repeat From when the mail has no Sender)
	InReplyTo []string // without <>
}

// tooLarge records a mail over the size limit from its envelope and
// answers its sender when that is a registered partner. Seen again (the
// same Message-ID), it is recognised as for any mail and not answered twice.
func (tx *txn) tooLarge(in Incoming, m store.Message, prev store.Message) (Result, error) {
	s := tx.s
	sender, problem := "", "the mailbox server named no sender"
	if e := in.Envelope; e != nil {
		m.MessageID = truncateString(strings.Trim(strings.TrimSpace(e.MessageID), "<>"), 500)
		m.Subject = truncateString(parser.SanitizeText(e.Subject, 500), 500)
		sender, problem = envelopeSender(e)
		m.FromAddr = truncateString(sender, 320)
	}
	if prev.ID == 0 && m.MessageID != "" {
		if r, handled, err := tx.seenBefore(in, m); err != nil || handled {
			return r, err
		}
	}
	answered := "not answered: " + problem
	if problem == "" {
		var err error
		if answered, err = tx.answerTooLarge(in, m, sender); err != nil {
			return Result{}, err
		}
	}
	m.Disposition = store.DispTooLarge
	m.Detail = fmt.Sprintf("%s (%d bytes), over the size limit of %s: not fetched, not parsed; %s",
		templates.HumanSize(in.Size, "en"), in.Size, templates.HumanSize(s.opts.MaxMessageBytes, "en"), answered)
	if err := tx.SaveMessage(&m); err != nil {
		return Result{}, err
	}
	return Result{Outcome: Move, MessageID: m.ID, Disposition: m.Disposition}, nil
}

// envelopeSender returns the From address of e, lower-cased, and why it
// speaks for nobody ("" when it may): as for a request (senderPartner), the
// From must be one plain address, and a Sender, if any, the same. The
// address is returned either way, for ops.
func envelopeSender(e *Envelope) (addr, problem string) {
	var from []string
	plain := true
	for _, a := range e.From {
		if a == "" {
			plain = false
			continue
		}
		from = append(from, strings.ToLower(a))
	}
	if len(from) > 0 {
		addr = from[0]
	}
	switch {
	case len(from) == 0:
		return "", "the mail names no sender address"
	case !plain:
		return addr, "the From is not one plain address (a group, or an address without a domain)"
	case len(from) > 1:
		return addr, fmt.Sprintf("%d From addresses (%s)", len(from), strings.Join(from, ", "))
	}
	for _, sd := range e.Sender {
		if !strings.EqualFold(sd, addr) {
			return addr, "Sender " + sd + " differs from From " + addr
		}
	}
	return addr, ""
}

// answerTooLarge queues the request_too_large answer to a registered
// partner at its From address, in the thread of its mail, and returns what
// ops are told: that it was answered, held, or why not.
func (tx *txn) answerTooLarge(in Incoming, m store.Message, to string) (string, error) {
	s := tx.s
	if strings.EqualFold(to, s.opts.From.Address) || strings.EqualFold(to, s.opts.ReplyTo.Address) {
		return "not answered: our own mail came back (loop)", nil
	}
	partner, err := tx.PartnerForSender(to)
	if errors.Is(err, store.ErrNotFound) {
		return "not answered: " + to + " matches no partner's sender rules", nil
	}
	if err != nil {
		return "", err
	}
	if partner.Status != store.PartnerActive {
		return "not answered: partner " + partner.Name + " is " + partner.Status, nil
	}
	// Only the envelope is known: no header says the mail was automatic
	// or came through a list, so the rate limits are what guard a loop.
	hold, err := tx.answerHold(&partner, to, &parser.Mail{})
	if err != nil {
		return "", err
	}
	data := templates.Data{PartnerName: partner.Name, PartnerRef: partner.Ref, Mailbox: s.opts.ReplyTo.Address,
		MessageSize: in.Size, SizeLimit: s.opts.MaxMessageBytes}
	if base := parser.StripSubjectPrefixes(m.Subject); base != "" {
		data.ThreadSubject = "Re: " + base
	}
	var refs []string
	if in.Envelope != nil {
		refs = in.Envelope.InReplyTo // the envelope has no References: the parent is the next best
	}
	if err := tx.queue(outMail{kind: templates.KindRequestTooLarge, locale: partner.Locale, to: to, data: data,
		inReplyTo: m.MessageID, refs: refs, auto: "auto-replied", hold: hold}); err != nil {
		return "", err
	}
	if err := tx.LogAnswer(&store.AnswerLog{OutboxID: tx.lastOutbox, PartnerID: partner.ID, Recipient: to,
		Held: hold != "", Reason: hold, At: s.now()}); err != nil {
		return "", err
	}
	if hold != "" {
		s.log.Warn("answer held", "outbox_id", tx.lastOutbox, "kind", templates.KindRequestTooLarge, "to", to, "reason", hold)
		return fmt.Sprintf("answer to partner %s at %s held (outbox mail %d): %s", partner.Name, to, tx.lastOutbox, hold), nil
	}
	return fmt.Sprintf("partner %s answered at %s (outbox mail %d)", partner.Name, to, tx.lastOutbox), nil
}
