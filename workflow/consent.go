package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// The two ways in that wait for a partner's consent (product.md, "The other
// ways in", 2 and 3): an organization's administrator asks for a partner
// (customer first), and a distributor names one of its resellers. Both ask
// the partner's registered contacts by a single-use link (a consent token,
// minted when the mail goes out like an invitation's).

// Finding codes of these flows.
const (
	FindPartnerUnknown   = "partner_unknown"    // the administrator named no registered partner
	FindPartnerAmbiguous = "partner_ambiguous"  // the administrator's name fits several partners
	FindResellerNotYours = "reseller_not_yours" // the Reseller ID names none of the distributor's resellers
	FindNoPartnerContact = "no_partner_contact" // the partner has no registered address to ask
)

// newCustomerFirst records an organization administrator's own request
// ("Please connect our organization to reseller <Partner>"). Only the
// directory's administrator address of the organization may ask; anyone
// else is recorded as unknown_sender and never answered.
func (tx *txn) newCustomerFirst(_ context.Context, m *store.Message, p *parser.Mail) (int64, error) {
	r := &store.Request{Kind: store.KindCustomerFirst, Sender: p.From.Addr, MessageID: p.MessageID,
		Subject: p.Subject, Note: p.Note, ReceivedAt: m.ReceivedAt}
	if id := tx.orgIDOf(p); id != "" {
		r.OrganizationID = &id
	}
	org, why, err := tx.customerAdmin(p, r.OrganizationID)
	if err != nil {
		return 0, err
	}
	actor := "customer:" + p.From.Addr
	var f finding
	switch {
	case why != "":
		f = finding{FindUnknownSender, why}
	case p.Auth.Checked && p.Auth.Failed:
		f = finding{FindSenderAuthFailed, authDetail(p.Auth)}
	}
	if f.code != "" { // no answer: the sender is not known to be the administrator
		r.State = store.StateRejected
		if err := tx.InsertRequest(r); err != nil {
			return 0, err
		}
		return r.ID, tx.record(r, decision{state: r.State, findings: []finding{f}}, nil, p, actor)
	}
	r.CustomerName = org.Name
	named := p.PartnerNamed
	if named == "" {
		named = p.PartnerField
	}
	partner, miss, err := tx.namedPartner(named)
	if err != nil {
		return 0, err
	}
	warn := warnings(warningInput{auth: &p.Auth})
	if partner == nil {
		r.State = store.StateNeedsInfo
		if err := tx.InsertRequest(r); err != nil {
			return 0, err
		}
		if err := tx.record(r, decision{state: r.State, findings: append([]finding{miss}, warn...)}, nil, p, actor); err != nil {
			return 0, err
		}
		return r.ID, tx.askAdmin(r, org, templates.KindCustomerNeedsInfo,
			templates.Data{PartnerName: named, Problem: strings.TrimPrefix(miss.code, "partner_")})
	}
	r.PartnerID = &partner.ID
	d, err := tx.customerDecision(r, partner, warn)
	if err != nil {
		return 0, err
	}
	r.State = d.state
	if err := tx.InsertRequest(r); err != nil {
		return 0, err
	}
	if err := tx.record(r, d, nil, p, actor); err != nil {
		return 0, err
	}
	switch r.State {
	case store.StateDuplicate:
		return r.ID, tx.closeCustomerRequest(r, "duplicate", "")
	case store.StatePendingPartner:
		return r.ID, tx.askConsent(r, *partner, store.ConsentPartner, org)
	}
	return r.ID, nil
}

// closeCustomerRequest tells the administrator that their own request is
// closed: rejected by ops (code "ops", with their reason) or a duplicate
// ("duplicate": a request or link exists; which, and other partners, are
// not named).
func (tx *txn) closeCustomerRequest(r *store.Request, code, reason string) error {
	if r.OrganizationID == nil {
		return nil // never asked by a known administrator: no answer
	}
	org, err := tx.Organization(*r.OrganizationID)
	if err != nil {
		return err
	}
	d := templates.Data{ReasonCode: code, Reason: reason}
	if r.PartnerID != nil {
		p, err := tx.Partner(*r.PartnerID)
		if err != nil {
			return err
		}
		d.PartnerName, d.PartnerRef = p.Name, p.Ref
	}
	return tx.askAdmin(r, org, templates.KindCustomerRequestClosed, d)
}

// customerAdmin returns the organization whose directory administrator
// sent p, or why the sender is not it (one plain From, as for partners).
func (tx *txn) customerAdmin(p *parser.Mail, orgID *string) (store.Organization, string, error) {
	switch {
	case p.SenderProblem != "" || p.FromCount != 1 || p.From.Addr == "" || (p.Sender != "" && !strings.EqualFold(p.Sender, p.From.Addr)):
		return store.Organization{}, senderDetail(p), nil
	case orgID == nil:
		return store.Organization{}, "no usable Organization ID: " + p.From.Addr + " cannot be checked as an administrator", nil
	}
	org, err := tx.organization(*orgID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return org, "unknown organization " + *orgID, nil
	case err != nil: // the directory is down: the mail is handled again later
		return org, "", err
	case org.Status != store.OrgActive:
		return org, "organization " + org.ID + " is " + org.Status, nil
	case org.AdminEmail == "" || !strings.EqualFold(org.AdminEmail, p.From.Addr):
		return org, p.From.Addr + " is not the directory's administrator address of organization " + org.ID, nil
	}
	return org, "", nil
}

// namedPartner finds the one active partner whose reference or name is
// named; otherwise it returns the finding that says why not.
func (tx *txn) namedPartner(named string) (*store.Partner, finding, error) {
	ps, err := tx.PartnersByRefOrName(named)
	if err != nil {
		return nil, finding{}, err
	}
	// A reference names one partner even where a name is shared.
	for _, p := range ps {
		if named != "" && strings.EqualFold(p.Ref, strings.TrimSpace(named)) {
			return &p, finding{}, nil
		}
	}
	switch len(ps) {
	case 1:
		return &ps[0], finding{}, nil
	case 0:
		return nil, finding{FindPartnerUnknown, fmt.Sprintf("no active partner has the reference or name %q", named)}, nil
	}
	return nil, finding{FindPartnerAmbiguous, fmt.Sprintf("%d active partners are called %q", len(ps), named)}, nil
}

// customerDecision decides a customer's request for a known partner: a
// duplicate when the partner already has an open request or a live link
// for the organization, else it waits for the partner's consent.
func (tx *txn) customerDecision(r *store.Request, partner *store.Partner, warn []finding) (decision, error) {
	c, err := tx.RequestConflicts(partner.ID, *r.OrganizationID, r.ID)
	if err != nil {
		return decision{}, err
	}
	switch {
	case c.OpenRequestID != 0:
		return decision{state: store.StateDuplicate, findings: []finding{{FindDuplicate, "open request " + store.Reference(c.OpenRequestID)}}}, nil
	case c.LiveLinkID != 0:
		return decision{state: store.StateDuplicate, findings: []finding{{FindDuplicate, fmt.Sprintf("link %d is %s", c.LiveLinkID, c.LiveLinkStatus)}}}, nil
	}
	if c.OtherReseller {
		warn = append(warn, finding{FindOtherReseller, "another partner has a link or an open request for this organization"})
	}
	return decision{state: store.StatePendingPartner, findings: warn}, nil
}

// customerReply handles the administrator's reply to a customer-first
// request that waits for a known partner: a named partner resumes it.
func (tx *txn) customerReply(r store.Request, m *store.Message, p *parser.Mail) error {
	actor := "customer:" + p.From.Addr
	if r.State != store.StateNeedsInfo || r.OrganizationID == nil {
		m.Detail = "reply on " + r.Reference() + " (" + r.State + "): recorded for ops"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply received: "+truncateString(p.Subject, 200))
	}
	org, why, err := tx.customerAdmin(p, r.OrganizationID)
	if err != nil {
		return err
	}
	if why != "" || (p.Auth.Checked && p.Auth.Failed) {
		m.Detail = "reply on " + r.Reference() + " not from the organization's administrator: recorded, not acted on"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply from "+p.From.Addr+" ignored: "+why)
	}
	named := p.PartnerField
	if named == "" {
		named = p.PartnerNamed
	}
	partner, miss, err := tx.namedPartner(named)
	if err != nil {
		return err
	}
	if partner == nil {
		m.Detail = "reply on " + r.Reference() + " names no known partner: recorded"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply names no known partner: "+miss.detail)
	}
	r.PartnerID = &partner.ID
	d, err := tx.customerDecision(&r, partner, nil)
	if err != nil {
		return err
	}
	if err := tx.moveRequest(r.ID, store.StateNeedsInfo, d.state, map[string]any{"partner_id": partner.ID}); err != nil {
		return err
	}
	if _, err := tx.resumed(&r, m, d); err != nil {
		return err
	}
	if err := tx.audit(r.ID, nil, actor, store.StateNeedsInfo, d.state, "partner named in reply: "+partner.Name); err != nil {
		return err
	}
	if d.state == store.StateDuplicate {
		return tx.closeCustomerRequest(&r, "duplicate", "")
	}
	if d.state != store.StatePendingPartner {
		return nil
	}
	return tx.askConsent(&r, *partner, store.ConsentPartner, org)
}

// askAdmin queues a mail to the organization's administrator who asked,
// in their locale and in the thread of their mail.
func (tx *txn) askAdmin(r *store.Request, org store.Organization, kind string, d templates.Data) error {
	d.Audience = templates.AudienceAdmin
	d.Reference, d.CustomerFirst = r.Reference(), true
	d.OrganizationName, d.AdminName, d.AdminEmail = org.Name, org.AdminName, org.AdminEmail
	if r.OrganizationID != nil {
		d.OrganizationID = *r.OrganizationID
	}
	d.RecipientName = org.AdminName
	d.Mailbox = tx.s.opts.ReplyTo.Address
	d.ThreadSubject = threadSubject(r.Subject, r.Reference())
	if org.ID == "" { // the organization is not known (yet): no manage link
		return tx.queue(outMail{kind: kind, locale: org.Locale, to: r.Sender, toName: org.AdminName, requestID: r.ID,
			data: d, inReplyTo: r.MessageID, auto: "auto-replied"})
	}
	return tx.queueAdmin(outMail{kind: kind, locale: org.Locale, to: r.Sender, toName: org.AdminName, requestID: r.ID,
		data: d, inReplyTo: r.MessageID, auto: "auto-replied"}, org.ID)
}

// askConsent mails each registered contact of partner (its address rules)
// a single-use link to consent to request r: the partner an administrator
// asked for (store.ConsentPartner), or the reseller a distributor named
// (store.ConsentReseller). The links are minted when the mails go out.
func (tx *txn) askConsent(r *store.Request, partner store.Partner, purpose string, org store.Organization) error {
	contacts := partner.Emails()
	if len(contacts) == 0 {
		return tx.AddFinding(r.ID, FindNoPartnerContact, "partner "+partner.Name+" has no registered address to ask for its consent")
	}
	expires := tx.s.now().Add(tx.s.opts.ConsentTTL)
	for _, to := range contacts {
		if err := tx.sendConsentLink(r, partner, purpose, org, to, expires, false); err != nil {
			return err
		}
	}
	return nil
}

// sendConsentLink queues one consent mail to contact to with a new link
// (a token minted when the mail goes out) that works until expires; a
// reminder says so.
func (tx *txn) sendConsentLink(r *store.Request, partner store.Partner, purpose string, org store.Organization, to string, expires time.Time, reminder bool) error {
	kind := templates.KindConsentRequest
	d := templates.Data{Audience: templates.AudienceContact, CustomerFirst: true, OrganizationName: org.Name,
		AdminName: org.AdminName, AdminEmail: org.AdminEmail}
	if purpose == store.ConsentReseller {
		kind = templates.KindResellerConfirmation
		d = templates.Data{Audience: templates.AudienceContact}
		if r.DistributorID != nil {
			dist, err := tx.Partner(*r.DistributorID)
			if err != nil {
				return err
			}
			d.DistributorName = dist.Name
		}
	}
	tx.fillRequestData(&d, r, &partner)
	if purpose == store.ConsentPartner {
		d.CustomerName = org.Name
	}
	d.InviteURL = tx.s.opts.PublicURL + "/consent/" + store.ConsentTokenPlaceholder
	d.ExpiresAt, d.Reminder = expires, reminder
	if err := tx.queue(outMail{kind: kind, locale: partner.Locale, to: to, requestID: r.ID, data: d, auto: "auto-generated"}); err != nil {
		return err
	}
	unknown, err := store.NewToken() // until the mail goes out, a token nobody has
	if err != nil {
		return err
	}
	outboxID := tx.lastOutbox
	return tx.InsertConsentToken(&store.ConsentToken{RequestID: r.ID, PartnerID: partner.ID, Purpose: purpose,
		TokenHash: store.HashToken(unknown), Recipient: to, OutboxID: &outboxID, ExpiresAt: expires,
		CreatedAt: tx.s.now()})
}

// ConsentInfo is what the consent page shows.
type ConsentInfo struct {
	Token   store.ConsentToken
	Request store.Request
	// Partner is the partner asked (the reseller, for a distributor's
	// request); Distributor is set for a distributor's request.
	Partner      store.Partner
	Distributor  *store.Partner
	Organization store.Organization
}

// Locale is the asked partner's language, for the page.
func (c ConsentInfo) Locale() string { return c.Partner.Locale }

// LookupConsent finds the consent link of a token without changing
// anything. A used, closed or expired token gives a *GoneError.
func (s *Service) LookupConsent(ctx context.Context, token string) (ConsentInfo, error) {
	return s.lookupConsent(s.reader(ctx), token)
}

func (s *Service) lookupConsent(tx *txn, token string) (ConsentInfo, error) {
	var info ConsentInfo
	c, err := byToken(token, "consent link", tx.ConsentTokenByHash, func(c store.ConsentToken) string { return c.TokenHash })
	if err != nil {
		return info, err
	}
	info.Token = c
	if info.Request, err = tx.Request(c.RequestID); err != nil {
		return info, err
	}
	if info.Partner, err = tx.Partner(c.PartnerID); err != nil {
		return info, err
	}
	if info.Distributor, err = tx.distributor(info.Request); err != nil {
		return info, err
	}
	if info.Request.OrganizationID != nil {
		if info.Organization, err = tx.Organization(*info.Request.OrganizationID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return info, err
		}
	}
	switch {
	case c.Status != store.ConsentPending:
		return info, &GoneError{Status: c.Status}
	case !s.now().Before(c.ExpiresAt):
		return info, &GoneError{Status: store.ConsentExpired}
	case info.Request.State != waitingState(c.Purpose):
		return info, &GoneError{Status: "no longer open (" + info.Request.State + ")"}
	}
	return info, nil
}

// waitingState is the request state a consent link of purpose answers.
func waitingState(purpose string) string {
	if purpose == store.ConsentReseller {
		return store.StatePendingReseller
	}
	return store.StatePendingPartner
}

// Consent is a partner's (or reseller's) answer on its consent link: accept
// sends the request to ops (pending_approval), decline closes it
// (declined); message, optional, is relayed to whoever asked. The other
// contacts' links stop working.
func (s *Service) Consent(ctx context.Context, token string, accept bool, message string) (ConsentInfo, error) {
	var info ConsentInfo
	err := s.transact(ctx, func(tx *txn) error {
		var err error
		if info, err = s.lookupConsent(tx, token); err != nil {
			return err
		}
		r, c := info.Request, info.Token
		message = sanitizeMessage(message)
		status, to, kind, verb := store.ConsentDeclined, store.StateDeclined, templates.KindConsentDeclined, "declined"
		if accept {
			status, to, kind, verb = store.ConsentAccepted, store.StatePendingApproval, templates.KindConsentAccepted, "accepted"
		}
		if err := tx.UseConsentToken(c.ID, status); err != nil {
			return err
		}
		if err := tx.CloseConsentTokens(r.ID, c.ID, store.ConsentClosed); err != nil {
			return err
		}
		if err := tx.moveRequest(r.ID, r.State, to, nil); err != nil {
			return err
		}
		by := "partner:"
		if c.Purpose == store.ConsentReseller {
			by = "reseller:"
		}
		reason := c.Purpose + " " + verb
		if message != "" {
			reason += ": " + parser.SanitizeText(message, 500)
		}
		if err := tx.audit(r.ID, nil, by+c.Recipient, r.State, to, reason); err != nil {
			return err
		}
		r.State = to
		d := templates.Data{PartnerName: info.Partner.Name, PartnerRef: info.Partner.Ref, Message: message}
		if info.Distributor == nil {
			return tx.askAdmin(&r, info.Organization, kind, d)
		}
		return tx.answerPartner(&r, info.Distributor, kind, d, nil)
	})
	return info, err
}

// distributorRequest makes a distributor's request (partner, the sender)
// belong to the reseller its Reseller ID names: it returns the reseller,
// or nil when the distributor has no active reseller with that reference.
func (tx *txn) distributorRequest(r *store.Request, partner *store.Partner, ref string) (*store.Partner, error) {
	reseller, err := tx.Reseller(partner.ID, ref)
	if errors.Is(err, store.ErrNotFound) || (err == nil && reseller.Status != store.PartnerActive) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.PartnerID, r.DistributorID = &reseller.ID, &partner.ID
	return &reseller, nil
}

// asker is the partner who mails in request r's thread: its distributor
// when a distributor asked for one of its resellers, else partner.
func (tx *txn) asker(r store.Request, partner *store.Partner) (*store.Partner, error) {
	if r.DistributorID == nil || *r.DistributorID == partner.ID {
		return partner, nil
	}
	d, err := tx.Partner(*r.DistributorID)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// resellerFirst: a distributor's request that passed the checks waits for
// its reseller's confirmation before it goes to ops.
func resellerFirst(r *store.Request, d decision) decision {
	if r.DistributorID != nil && d.state == store.StatePendingApproval {
		d.state = store.StatePendingReseller
	}
	return d
}

// approveCustomerFirst approves an administrator's own request that the
// partner accepted: both sides consented, so the link is active at once,
// the request completed, and the partner's contacts and the administrator
// are told.
func (tx *txn) approveCustomerFirst(r store.Request, partner store.Partner, org store.Organization, actor, note string) error {
	if err := Links.Allows("", store.LinkActive); err != nil {
		return err
	}
	link := &store.Link{PartnerID: partner.ID, OrganizationID: org.ID, Status: store.LinkActive, RequestID: &r.ID,
		StartedAt: tx.s.now()}
	if err := tx.recordLink(link); err != nil {
		return err
	}
	if err := tx.moveRequest(r.ID, store.StatePendingApproval, store.StateCompleted, nil); err != nil {
		return err
	}
	reason := "approved: both sides consented, link active"
	if note != "" {
		reason += ": " + note
	}
	if err := tx.audit(r.ID, &link.ID, actor, store.StatePendingApproval, store.StateCompleted, reason); err != nil {
		return err
	}
	r.State = store.StateCompleted
	d := templates.Data{Audience: templates.AudiencePartner, CustomerFirst: true, OrganizationName: org.Name,
		AdminName: org.AdminName, AdminEmail: org.AdminEmail, Note: note}
	tx.fillRequestData(&d, &r, &partner)
	d.CustomerName = org.Name
	for _, to := range partner.Emails() {
		if err := tx.queue(outMail{kind: templates.KindConnectionEstablished, locale: partner.Locale, to: to,
			requestID: r.ID, data: d, auto: "auto-generated"}); err != nil {
			return err
		}
	}
	return tx.askAdmin(&r, org, templates.KindConnectionEstablished, templates.Data{PartnerName: partner.Name, PartnerRef: partner.Ref, Note: note})
}
