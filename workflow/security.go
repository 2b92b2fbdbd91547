package workflow

// What the worker trusts about a sender, and to whom it may answer.
//
//   - Authentication: the topmost Authentication-Results header of our own
//     MX (parser; only its results about the From domain count), or, when
//     there is none and VerifyDKIM is on, our own DKIM check: a valid
//     signature whose d= has the From domain's organizational domain (DMARC
//     relaxed alignment) authenticates the mail; other signatures are not
//     looked up, and all lookups of a mail share one deadline (DKIMTimeout).
//     The own check can only raise trust: without an aligned signature the
//     mail stays unchecked (sender_auth_unchecked), never "failed", because
//     SPF, the other half of DMARC, cannot be checked after delivery.
//   - A mail with several From fields or addresses, a From that does not
//     parse, or a Sender other than From, speaks for nobody (senderPartner):
//     it is rejected as unknown_sender, unanswered.
//   - Answers go only to the From address of the partner's mail, and only
//     while that address matches the partner's sender rules (an exact address,
//     or any address of a registered domain: a domain rule registers every
//     mailbox of the domain) and the partner is active. Reply-To, Sender and
//     Return-Path are never used as recipients, so a forger who writes as a
//     partner never sees the answer; unknown and spoofed senders get nothing.
//   - Answers caused by received mail are rate-limited per address and per
//     partner, and never sent for mailing-list mail: such answers are written
//     to the outbox as "held" with the reason, a finding answer_held goes on
//     the request, and ops can release one with `outbox retry ID`.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/config/defaults"
	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// Finding codes of this file.
const (
	// FindAnswerHeld: an answer to the partner was written but held.
	FindAnswerHeld = "answer_held"
)

// DefaultAnswerWindow is the period the answer limits count in. (The limits
// and RawRetention are settings: their defaults are in config/defaults.)
const DefaultAnswerWindow = time.Hour

func (o *Options) securityDefaults() {
	if o.AnswerLimitSender <= 0 {
		o.AnswerLimitSender = defaults.AnswerLimitSender
	}
	if o.AnswerLimitPartner <= 0 {
		o.AnswerLimitPartner = defaults.AnswerLimitPartner
	}
	if o.AnswerWindow <= 0 {
		o.AnswerWindow = DefaultAnswerWindow
	}
	if o.RawRetention <= 0 {
		o.RawRetention = defaults.RawRetention
	}
	if o.MaxDKIMSignatures <= 0 {
		o.MaxDKIMSignatures = 5
	}
	if o.DKIMTimeout <= 0 {
		o.DKIMTimeout = parser.DefaultDKIMTimeout
	}
}

// ownAuthentication settles p.Auth before the checks run; it runs before
// the database transaction, as it may wait for DNS.
//
// A mail counts as authenticated (p.Auth.Checked and not Failed) only with a
// DMARC pass: trusted Authentication-Results that say dmarc=pass, or our own
// DKIM check finding a valid signature aligned with the From domain. Trusted
// results without a DMARC verdict (dmarc=none, or no DMARC at the MX) that
// did not fail are turned into "unchecked", with the reason in Detail: a
// spammer's own valid DKIM signature, or an SPF pass for a bulk mailer's
// envelope, says nothing about the From address.
func (s *Service) ownAuthentication(ctx context.Context, q *store.Q, raw []byte, p *parser.Mail) {
	if a := p.Auth; a.Checked && !a.Failed && a.DMARC != "pass" {
		detail := "trusted Authentication-Results without a DMARC pass for the From domain (" + authDetail(a) + ")"
		if a.Detail != "" {
			detail += "; " + a.Detail
		}
		p.Auth = parser.AuthResult{Detail: detail}
	}
	if !s.opts.VerifyDKIM || p.Auth.Checked || s.opts.LookupTXT == nil {
		return
	}
	if p.Kind != parser.KindRequest && p.Kind != parser.KindNewOrganization && p.Kind != parser.KindEndLink && p.RequestTag == "" && len(p.InReplyTo) == 0 && len(p.References) == 0 {
		return // nothing this mail could do needs authentication
	}
	if p.SenderProblem != "" || p.FromCount != 1 || p.From.Addr == "" {
		return
	}
	if _, err := q.PartnerForSender(p.From.Addr); err != nil && !orgAdmin(q, p) {
		return // unknown senders are rejected anyway: no DNS work for them
	}
	domain := p.From.Addr[strings.LastIndexByte(p.From.Addr, '@')+1:]
	res := parser.VerifyDKIM(ctx, raw, domain, parser.DKIMOptions{LookupTXT: s.opts.LookupTXT,
		MaxSignatures: s.opts.MaxDKIMSignatures, Timeout: s.opts.DKIMTimeout})
	if res.Aligned { // an aligned DKIM pass is a DMARC pass
		p.Auth = parser.AuthResult{Checked: true, DKIM: "pass", DMARC: "pass", Detail: "own DKIM check: " + res.Detail}
	} else {
		p.Auth.Detail = strings.TrimPrefix(p.Auth.Detail+"; own DKIM check: "+res.Detail, "; ")
	}
	s.log.Debug("own DKIM check", "from_domain", domain, "aligned", res.Aligned, "detail", res.Detail)
}

// uncheckedDetail explains a sender_auth_unchecked warning.
func uncheckedDetail(a parser.AuthResult) string {
	d := "no trusted Authentication-Results"
	if a.Detail != "" {
		d += "; " + a.Detail
	}
	return d
}

// answerHold decides whether an answer to the partner at address to is
// held instead of sent, and why ("" sends it). p is the received mail the
// answer is caused by, nil for answers that ops or the customer caused.
func (tx *txn) answerHold(partner *store.Partner, to string, p *parser.Mail) (string, error) {
	to = strings.ToLower(strings.TrimSpace(to))
	// Only to a registered address of this partner, while it is active.
	owner, err := tx.PartnerForSender(to)
	switch {
	case err == nil && owner.ID == partner.ID && owner.Status == store.PartnerActive:
	case err == nil && owner.ID == partner.ID:
		return "partner " + partner.Name + " is " + owner.Status, nil
	case err == nil || errors.Is(err, store.ErrNotFound):
		return to + " is not (or no longer) a registered address of partner " + partner.Name, nil
	default:
		return "", err
	}
	if p == nil {
		return "", nil
	}
	switch {
	case p.OwnLoop, p.Kind == parser.KindAutoReply, p.Kind == parser.KindBounce:
		return "the mail was automatic: never answered", nil
	case p.List:
		return "the mail came through a mailing list (List-Id, List-Post or List-Unsubscribe): never answered automatically", nil
	}
	return tx.rateLimited(partner, to)
}

// answerQueued records an answer caused by a received mail for the rate
// limits, and tells ops about a held one.
func (tx *txn) answerQueued(r *store.Request, partner *store.Partner, to, kind, hold string, p *parser.Mail) error {
	to = strings.ToLower(strings.TrimSpace(to))
	if hold != "" {
		tx.s.log.Warn("answer held", "request_ref", r.Reference(), "outbox_id", tx.lastOutbox, "kind", kind,
			"to", to, "reason", hold)
		if err := tx.AddFinding(r.ID, FindAnswerHeld, fmt.Sprintf("%s to %s (outbox mail %d): %s", kind, to, tx.lastOutbox, hold)); err != nil {
			return err
		}
		if err := tx.audit(r.ID, nil, "system", "", "", "answer held: "+hold); err != nil {
			return err
		}
	}
	if p == nil {
		return nil
	}
	// (A chunk's tally counted the answer when rateLimited let it go.)
	return tx.LogAnswer(&store.AnswerLog{OutboxID: tx.lastOutbox, PartnerID: partner.ID, Recipient: to,
		Held: hold != "", Reason: hold, At: tx.s.now()})
}

// PurgeRawSources deletes the raw source of every received mail recorded
// longer ago than the retention (ONBOARDER_RAW_RETENTION), in batches; the
// record of the mail stays. It returns how many sources were deleted.
func (s *Service) PurgeRawSources(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.opts.RawRetention)
	var total int64
	for {
		n, err := s.st.PurgeRawSources(ctx, cutoff, s.now(), 500)
		total += n
		if err != nil || n < 500 {
			if total > 0 {
				s.log.Info("raw sources deleted", "count", total, "older_than", cutoff.Format(time.RFC3339))
			}
			return total, err
		}
	}
}

// orgAdmin says whether p is an administrator's own request (or its reply)
// from the directory's administrator address of the organization it names.
func orgAdmin(q *store.Q, p *parser.Mail) bool {
	if !p.CustomerFirst || p.OrgID == "" {
		return false
	}
	org, err := q.Organization(p.OrgID)
	return err == nil && org.AdminEmail != "" && strings.EqualFold(org.AdminEmail, p.From.Addr)
}
