package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// decision is the outcome of the checks.
type decision struct {
	state    string
	findings []finding // deciding finding first, then warnings
	mail     string    // template kind for the partner, "" for none
	data     templates.Data
}

type finding struct{ code, detail string }

// newRequest records a request from a mail and runs the checks in the
// order of the product specification; the first failing check decides.
func (tx *txn) newRequest(ctx context.Context, m *store.Message, p *parser.Mail) (int64, error) {
	r := &store.Request{
		State:        store.StateNeedsInfo, // replaced below
		CustomerName: p.CustomerName,
		Sender:       p.From.Addr,
		MessageID:    p.MessageID,
		Subject:      p.Subject,
		ContactEmail: p.ContactEmail,
		Note:         p.Note,
		ReceivedAt:   m.ReceivedAt,
	}
	if p.Kind == parser.KindNewOrganization {
		r.Kind, r.NewOrg = store.KindNewOrganization, newOrgJSON(p.NewOrg)
	}
	if id := tx.orgIDOf(p); id != "" && r.Kind != store.KindNewOrganization {
		org := id
		r.OrganizationID = &org
	}

	// 1. The sender must match an active partner's rules.
	partner, err := tx.senderPartner(p)
	if err != nil {
		return 0, err
	}
	if partner != nil {
		r.PartnerID = &partner.ID
	}
	// A distributor may name one of its resellers as reseller of record:
	// the request then belongs to the reseller (checked for it).
	checked := partner
	var d decision
	switch {
	case partner == nil:
		d = decision{state: store.StateRejected, findings: []finding{{FindUnknownSender, senderDetail(p)}}}
	case partner.Status != store.PartnerActive:
		d = decision{state: store.StateRejected, findings: []finding{{FindUnknownSender, "partner " + partner.Name + " is " + partner.Status}}}
	case p.Auth.Checked && p.Auth.Failed:
		// 2. Trusted Authentication-Results say the From domain failed.
		d = decision{state: store.StateRejected, findings: []finding{{FindSenderAuthFailed, authDetail(p.Auth)}}}
	case p.ResellerRef != "":
		if checked, err = tx.distributorRequest(r, partner, p.ResellerRef); err != nil {
			return 0, err
		}
		if checked == nil {
			d = decision{state: store.StateRejected, mail: templates.KindRequestRejected,
				findings: []finding{{FindResellerNotYours, fmt.Sprintf("%q is not a reseller of %s", p.ResellerRef, partner.Name)}},
				data:     templates.Data{ReasonCode: FindResellerNotYours}}
		}
	}
	if d.state != "" {
		r.State = d.state
		if err := tx.InsertRequest(r); err != nil {
			return 0, err
		}
		return r.ID, tx.record(r, d, partner, p, "partner:"+p.From.Addr)
	}

	// Check first, then insert the request in the state the checks decided
	// (one statement): the duplicate check has had its say before the
	// unique index on open requests can fire. A request that is not there
	// yet needs no excluding from its own duplicate check (r.ID is 0).
	if r.Kind == store.KindNewOrganization {
		d, err = tx.checkNewOrg(r, checked, p.Auth)
	} else {
		d, err = tx.check(r, checked, p.Auth, p)
	}
	if err != nil {
		return 0, err
	}
	d = resellerFirst(r, d)
	r.State = d.state
	if err := tx.InsertRequest(r); err != nil {
		if store.IsUniqueViolation(err) {
			// Another worker or ops opened one meanwhile: the mail is
			// handled again on the next pass and found a duplicate then.
			return 0, fmt.Errorf("recording request as %s: another open request exists: %w", d.state, err)
		}
		return 0, err
	}
	if err := tx.record(r, d, partner, p, "partner:"+p.From.Addr); err != nil {
		return 0, err
	}
	if d.state == store.StatePendingReseller {
		return r.ID, tx.askConsent(r, *checked, store.ConsentReseller, store.Organization{})
	}
	// A new organization is created in an HTTP directory by ops' approval
	// only: the call cannot be made inside this transaction.
	newOrgOutside := r.Kind == store.KindNewOrganization && tx.s.external()
	if d.state == store.StatePendingApproval && !newOrgOutside && tx.autoApprovable(partner, p.Auth, d) {
		if err := tx.approve(r.ID, "system", "approved automatically: trusted partner, no warnings", ""); err != nil {
			return 0, err
		}
	}
	return r.ID, nil
}

// senderPartner returns the partner the sender writes for, or nil. A mail
// with several From addresses, or a Sender other than From, is not trusted
// to speak for anyone.
func (tx *txn) senderPartner(p *parser.Mail) (*store.Partner, error) {
	if p.SenderProblem != "" || p.FromCount != 1 || p.From.Addr == "" {
		return nil, nil
	}
	if p.Sender != "" && !strings.EqualFold(p.Sender, p.From.Addr) {
		return nil, nil
	}
	partner, err := tx.PartnerForSender(p.From.Addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &partner, nil
}

func senderDetail(p *parser.Mail) string {
	switch {
	case p.SenderProblem != "":
		return p.SenderProblem
	case p.FromCount != 1:
		return fmt.Sprintf("%d From addresses", p.FromCount)
	case p.Sender != "" && !strings.EqualFold(p.Sender, p.From.Addr):
		return "Sender " + p.Sender + " differs from From " + p.From.Addr
	default:
		return p.From.Addr + " matches no partner's sender rules"
	}
}

func authDetail(a parser.AuthResult) string {
	return fmt.Sprintf("dmarc=%s dkim=%s spf=%s", orNone(a.DMARC), orNone(a.DKIM), orNone(a.SPF))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// check runs checks 3 to 6 and the warnings for a request of a known,
// authenticated partner whose Organization ID may be known.
func (tx *txn) check(r *store.Request, partner *store.Partner, auth parser.AuthResult, p *parser.Mail) (decision, error) {
	// A request that a check decides keeps the sender warning only.
	senderWarnings := warnings(warningInput{auth: &auth})
	// 3. An Organization ID, well-formed and unambiguous.
	if r.OrganizationID == nil {
		code, problem := FindOrgIDMissing, "missing"
		var cands []string
		if p != nil {
			cands = p.OrgIDCandidates
			switch p.OrgIDStatus {
			case parser.OrgIDAmbiguous:
				code, problem = FindOrgIDAmbiguous, "ambiguous"
			case parser.OrgIDMalformed:
				code, problem = FindOrgIDMalformed, "malformed"
			}
		}
		d := decision{state: store.StateNeedsInfo, mail: templates.KindNeedsInfo,
			findings: append([]finding{{code, strings.Join(cands, ", ")}}, senderWarnings...)}
		d.data.Problem = problem
		d.data.Candidates = cands
		return d, nil
	}
	orgID := *r.OrganizationID
	// 4. Known to the directory, 5. active.
	org, err := tx.organization(orgID)
	if errors.Is(err, ErrDirectoryUnavailable) {
		return tx.directoryDown(r, partner, orgID, auth)
	}
	if errors.Is(err, store.ErrNotFound) {
		return decision{state: store.StateRejected, mail: templates.KindRequestRejected,
			findings: append([]finding{{FindUnknownOrganization, orgID}}, senderWarnings...),
			data:     templates.Data{ReasonCode: FindUnknownOrganization}}, nil
	}
	if err != nil {
		return decision{}, err
	}
	if org.Status != store.OrgActive {
		return decision{state: store.StateRejected, mail: templates.KindRequestRejected,
			findings: append([]finding{{FindOrganizationInact, "organization is " + org.Status}}, senderWarnings...),
			data:     templates.Data{ReasonCode: FindOrganizationInact, OrganizationName: org.Name}}, nil
	}
	// 6. Not already asked for or linked by the same partner (one round
	// trip for this check and the other-reseller warning).
	c, err := tx.RequestConflicts(partner.ID, orgID, r.ID)
	if err != nil {
		return decision{}, err
	}
	if c.OpenRequestID != 0 {
		ref := store.Reference(c.OpenRequestID)
		return decision{state: store.StateDuplicate, mail: templates.KindRequestDuplicate,
			findings: []finding{{FindDuplicate, "open request " + ref}},
			data:     templates.Data{ExistingReference: ref, OrganizationName: org.Name}}, nil
	}
	if c.LiveLinkID != 0 {
		ref := ""
		if c.LiveLinkRequestID != nil {
			ref = store.Reference(*c.LiveLinkRequestID)
		}
		return decision{state: store.StateDuplicate, mail: templates.KindRequestDuplicate,
			findings: []finding{{FindDuplicate, fmt.Sprintf("link %d is %s", c.LiveLinkID, c.LiveLinkStatus)}},
			data:     templates.Data{ExistingReference: ref, OrganizationName: org.Name}}, nil
	}
	fraud, err := tx.fraudWarning(orgID, partner.ID, r.ID)
	if err != nil {
		return decision{}, err
	}
	return decision{state: store.StatePendingApproval, mail: templates.KindRequestReceived,
		findings: warnings(warningInput{auth: &auth, request: r, org: &org, otherReseller: c.OtherReseller, fraud: fraud}),
		data:     templates.Data{OrganizationName: org.Name}}, nil
}

// warningInput is what the warnings for ops are decided on. A nil field
// was not looked at (the directory did not answer, or the warning was
// recorded before); its warning is left out.
type warningInput struct {
	auth          *parser.AuthResult  // sender_auth_unchecked
	request       *store.Request      // its customer name (name_mismatch) and suggested contact
	org           *store.Organization // the directory's record: name, administrator address
	otherReseller bool                // org_has_other_reseller: from RequestConflicts
	fraud         *finding            // fraud_reported: fraudWarning's answer (fraud.go)
}

// warnings decides every warning a request gets: findings that go to ops
// without deciding anything (product.md, "Check"). Each rule is here, in
// this order: sender_auth_unchecked, name_mismatch, org_has_other_reseller,
// no_admin_contact, fraud_reported.
func warnings(in warningInput) []finding {
	var out []finding
	if in.auth != nil && !in.auth.Checked {
		out = append(out, finding{FindSenderAuthUnchecked, uncheckedDetail(*in.auth)})
	}
	if in.org != nil && in.request != nil && in.request.CustomerName != "" && !SameName(in.request.CustomerName, in.org.Name) {
		out = append(out, finding{FindNameMismatch, fmt.Sprintf("subject says %q, directory says %q", in.request.CustomerName, in.org.Name)})
	}
	if in.otherReseller {
		out = append(out, finding{FindOtherReseller, "another partner has a link or an open request for this organization"})
	}
	if in.org != nil && in.org.AdminEmail == "" {
		detail := "the directory has no administrator address: nobody to invite"
		if in.request != nil && in.request.ContactEmail != "" {
			detail += "; the partner suggested " + in.request.ContactEmail + " (invited only if ops pick it)"
		}
		out = append(out, finding{FindNoAdminContact, detail})
	}
	if in.fraud != nil {
		out = append(out, *in.fraud)
	}
	return out
}

// SameName is the name_mismatch rule: it compares a customer name from a
// subject with the directory's name, without case, accents, punctuation
// and legal forms.
func SameName(a, b string) bool { return nameKey(a) == nameKey(b) }

// nameKey is a name as SameName compares it: lower case, without accents,
// punctuation and legal forms.
func nameKey(s string) string {
	s = norm.NFKD.String(strings.ToLower(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ß':
			b.WriteString("ss")
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteRune(' ')
		}
	}
	var words []string
	for _, w := range strings.Fields(b.String()) {
		if !legalForms[w] {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

// legalForms are dropped when names are compared.
var legalForms = map[string]bool{
	"gmbh": true, "ag": true, "ltd": true, "limited": true, "inc": true, "incorporated": true, "se": true,
	"llc": true, "corp": true, "corporation": true, "co": true, "kg": true, "kgaa": true, "sa": true, "sarl": true,
	"sas": true, "bv": true, "nv": true, "plc": true, "oy": true, "ab": true, "as": true, "spa": true, "srl": true,
	"ug": true, "ohg": true, "gbr": true, "ev": true, "pty": true, "llp": true, "lp": true, "kk": true, "mbh": true,
	"company": true, "und": true, "and": true, "the": true,
}

// autoApprovable: only a request without any finding is approved without
// ops; a warning such as fraud_reported leaves it to them.
func (tx *txn) autoApprovable(partner *store.Partner, auth parser.AuthResult, d decision) bool {
	return tx.s.opts.AutoApproveTrusted && partner != nil && partner.Trusted &&
		auth.Checked && !auth.Failed && len(d.findings) == 0
}

// record writes the decision's findings, audit entry and partner mail.
func (tx *txn) record(r *store.Request, d decision, partner *store.Partner, p *parser.Mail, actor string) error {
	for _, f := range d.findings {
		if err := tx.AddFinding(r.ID, f.code, f.detail); err != nil {
			return err
		}
	}
	reason := "request received"
	if len(d.findings) > 0 && d.state != store.StatePendingApproval && d.state != store.StatePendingReseller && d.state != store.StatePendingPartner {
		reason = d.findings[0].code
	}
	if err := tx.audit(r.ID, nil, actor, "", d.state, reason); err != nil {
		return err
	}
	if d.mail == "" || partner == nil {
		return nil
	}
	return tx.answerPartner(r, partner, d.mail, d.data, p)
}

// answerPartner queues a mail to the partner in the thread of their mail p
// (or of the request's first mail when p is nil). Answers go only to the
// sender address, which matched the partner's rules, and only while it still
// does; answerHold decides whether the answer is held instead (security.go).
func (tx *txn) answerPartner(r *store.Request, partner *store.Partner, kind string, data templates.Data, p *parser.Mail) error {
	to, subject, inReplyTo := r.Sender, r.Subject, r.MessageID
	var refs []string
	if p != nil {
		to, subject, inReplyTo, refs = p.From.Addr, p.Subject, p.MessageID, p.References
		if subject == "" {
			subject = r.Subject
		}
	}
	tx.fillRequestData(&data, r, partner)
	data.Audience = "partner"
	data.ThreadSubject = threadSubject(subject, r.Reference())
	hold, err := tx.answerHold(partner, to, p)
	if err != nil {
		return err
	}
	if err := tx.queue(outMail{kind: kind, locale: partner.Locale, to: to, requestID: r.ID, data: data,
		inReplyTo: inReplyTo, refs: refs, auto: "auto-replied", hold: hold}); err != nil {
		return err
	}
	return tx.answerQueued(r, partner, to, kind, hold, p)
}

func (tx *txn) fillRequestData(d *templates.Data, r *store.Request, partner *store.Partner) {
	d.Reference = r.Reference()
	d.PartnerName, d.PartnerRef = partner.Name, partner.Ref
	d.NewOrganization = r.Kind == store.KindNewOrganization
	// A distributor's request is about its reseller; mails name both.
	switch {
	case r.DistributorID == nil || r.PartnerID == nil:
	case *r.DistributorID == partner.ID:
		if res, err := tx.Partner(*r.PartnerID); err == nil {
			d.PartnerName, d.PartnerRef, d.DistributorName = res.Name, res.Ref, partner.Name
		}
	case *r.PartnerID == partner.ID:
		if dist, err := tx.Partner(*r.DistributorID); err == nil {
			d.DistributorName = dist.Name
		}
	}
	d.CustomerName = r.CustomerName
	if r.OrganizationID != nil {
		d.OrganizationID = *r.OrganizationID
	}
	d.Mailbox = tx.s.opts.ReplyTo.Address
}

// resumed records what the check of a reply decided for request r, which
// waited in needs_info and has been moved on (the mail's detail, the
// decision's findings, r's new state), and returns the state r left.
func (tx *txn) resumed(r *store.Request, m *store.Message, d decision) (from string, err error) {
	from, r.State = r.State, d.state
	m.Detail = "reply resumed " + r.Reference() + ": " + d.state
	for _, f := range d.findings {
		if err := tx.AddFinding(r.ID, f.code, f.detail); err != nil {
			return from, err
		}
	}
	return from, nil
}

// reply handles a mail in the thread of request id. A `status` or `cancel`
// is answered (commands.go); a reply to a request that waits for its
// Organization ID resumes it; anything else is recorded on the request and
// not answered.
func (tx *txn) reply(ctx context.Context, id int64, m *store.Message, p *parser.Mail) error {
	r, err := tx.Request(id)
	if err != nil {
		return err
	}
	if r.Kind == store.KindCustomerFirst {
		return tx.customerReply(r, m, p)
	}
	// A `Status …` that brings the missing Organization ID resumes the
	// request instead: its answer says where it stands too.
	if cmd := mailCommand(p); cmd != "" && (cmd != cmdStatus || r.State != store.StateNeedsInfo || tx.orgIDOf(p) == "") {
		return tx.command(cmd, r, m, p)
	}
	actor := "partner:" + p.From.Addr
	if r.State != store.StateNeedsInfo || r.PartnerID == nil {
		m.Detail = "reply on " + r.Reference() + " (" + r.State + "): recorded for ops"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply received: "+truncateString(p.Subject, 200))
	}
	partner, err := tx.senderPartner(p)
	if err != nil {
		return err
	}
	if partner == nil || (partner.ID != *r.PartnerID && (r.DistributorID == nil || partner.ID != *r.DistributorID)) {
		m.Detail = "reply on " + r.Reference() + " from someone other than the partner: recorded, not acted on"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply from "+p.From.Addr+" ignored: not the partner")
	}
	if p.Auth.Checked && p.Auth.Failed {
		m.Detail = "reply on " + r.Reference() + " failed sender authentication: not acted on"
		if err := tx.AddFinding(r.ID, FindSenderAuthFailed, authDetail(p.Auth)); err != nil {
			return err
		}
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply failed sender authentication")
	}
	if r.Kind == store.KindNewOrganization {
		return tx.replyNewOrg(&r, partner, m, p, actor)
	}
	if tx.orgIDOf(p) == "" {
		m.Detail = "reply on " + r.Reference() + " without a usable Organization ID: recorded"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply without a usable Organization ID ("+string(p.OrgIDStatus)+")")
	}
	org := tx.orgIDOf(p)
	r.OrganizationID = &org
	if r.CustomerName == "" {
		r.CustomerName = p.CustomerName
	}
	checked := partner
	if partner.ID != *r.PartnerID { // the distributor answers for its reseller
		res, err := tx.Partner(*r.PartnerID)
		if err != nil {
			return err
		}
		checked = &res
	}
	d, err := tx.check(&r, checked, p.Auth, p)
	if err != nil {
		return err
	}
	d = resellerFirst(&r, d)
	set := map[string]any{"organization_id": org, "customer_name": r.CustomerName}
	if d.state != store.StateNeedsInfo {
		if err := tx.moveRequest(r.ID, store.StateNeedsInfo, d.state, set); err != nil {
			return err
		}
	}
	from, err := tx.resumed(&r, m, d)
	if err != nil {
		return err
	}
	reason := "Organization ID received in reply"
	if d.state != store.StatePendingApproval && len(d.findings) > 0 {
		reason += ": " + d.findings[0].code
	}
	if err := tx.audit(r.ID, nil, actor, from, d.state, reason); err != nil {
		return err
	}
	if d.mail != "" {
		if err := tx.answerPartner(&r, partner, d.mail, d.data, p); err != nil {
			return err
		}
	}
	if d.state == store.StatePendingReseller {
		return tx.askConsent(&r, *checked, store.ConsentReseller, store.Organization{})
	}
	if d.state == store.StatePendingApproval && tx.autoApprovable(partner, p.Auth, d) {
		return tx.approve(r.ID, "system", "approved automatically: trusted partner, no warnings", "")
	}
	return nil
}
