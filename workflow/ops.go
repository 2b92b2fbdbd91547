package workflow

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// GoneError says why an invitation token no longer works.
type GoneError struct{ Status string }

func (e *GoneError) Error() string { return "the invitation is " + e.Status }

// stateErr builds an ErrState with the reason.
func stateErr(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrState)
}

// Approve approves a pending_approval request: the link is recorded as
// invited, an invitation goes to the organization's administrator in the
// directory and the partner is told.
func (s *Service) Approve(ctx context.Context, requestID int64, by, note string) error {
	return s.ApproveWith(ctx, requestID, Approval{By: by, Note: note})
}

// Approval is an ops user's approval of a request.
type Approval struct {
	By   string // the ops user
	Note string // for the partner; optional
	// InviteContact, when set, invites this address instead of the
	// directory's administrator: it must be the contact the partner's mail
	// suggested, the directory must have no administrator address, and it
	// must not belong to the partner (ErrContactRefused otherwise).
	InviteContact string
}

// ApproveWith approves a pending_approval request as a says.
// A request that needs two approvals (four eyes, foureyes.go) stays
// pending_approval after the first; ApproveStep tells.
func (s *Service) ApproveWith(ctx context.Context, requestID int64, a Approval) error {
	_, err := s.ApproveStep(ctx, requestID, a)
	return err
}

// approve approves request id; contact is the partner's suggested contact
// an ops user picked ("" invites the directory's administrator).
func (tx *txn) approve(id int64, actor, note, contact string) error {
	r, err := tx.Request(id)
	if err != nil {
		return err
	}
	if !CanRequest(r.State, ActApprove) {
		return stateErr("%s is %s, not pending_approval", r.Reference(), r.State)
	}
	eyes := false // fourEyes applied
	if r.Kind == store.KindNewOrganization && r.OrganizationID == nil && r.PartnerID != nil {
		// The organization is created only by the approval that counts.
		if pending, err := tx.fourEyes(r, actor); err != nil || pending {
			return err
		}
		eyes = true
		partner, err := tx.Partner(*r.PartnerID)
		if err != nil {
			return err
		}
		if err := tx.createOrganization(&r, partner, actor); err != nil {
			return err
		}
	}
	if r.PartnerID == nil || r.OrganizationID == nil {
		return stateErr("%s has no partner or organization", r.Reference())
	}
	partner, err := tx.Partner(*r.PartnerID)
	if err != nil {
		return err
	}
	org, err := tx.Organization(*r.OrganizationID)
	if err != nil {
		return err
	}
	if org.Status != store.OrgActive && (r.Kind != store.KindNewOrganization || org.Status != store.OrgInitializing) {
		return stateErr("organization %s is %s", org.ID, org.Status)
	}
	to := recipientOf(r, &partner, org)
	switch {
	case contact != "":
		if err := pickable(contact, r, &partner, org); err != nil {
			return err
		}
		to.Name, to.Email, to.Source = "", contact, store.RecipientSuggested
	case to.Email == "":
		hint := "add the administrator's address to the directory first"
		if to.Suggested != "" && to.SuggestedRefused == "" {
			hint += ", or invite the contact the partner suggested (" + to.Suggested + ") explicitly"
		}
		return stateErr("organization %s has no administrator address in the directory: %s", org.ID, hint)
	}
	if !eyes {
		if pending, err := tx.fourEyes(r, actor); err != nil || pending {
			return err
		}
	}
	if r.Kind == store.KindCustomerFirst {
		return tx.approveCustomerFirst(r, partner, org, actor, note)
	}
	link := &store.Link{PartnerID: partner.ID, OrganizationID: org.ID, Status: store.LinkInvited, RequestID: &r.ID,
		DistributorID: r.DistributorID, StartedAt: tx.s.now()}
	if err := tx.recordLink(link); err != nil {
		return err
	}
	if err := tx.moveRequest(r.ID, store.StatePendingApproval, store.StateInvited, nil); err != nil {
		return err
	}
	reason := "approved"
	if note != "" {
		reason = "approved: " + note
	}
	if err := tx.audit(r.ID, &link.ID, actor, store.StatePendingApproval, store.StateInvited, reason); err != nil {
		return err
	}
	r.State = store.StateInvited
	if to.Source == store.RecipientSuggested {
		if err := tx.audit(r.ID, &link.ID, actor, r.State, r.State, fmt.Sprintf(
			"invitation to %s, the contact the partner suggested, picked by %s: the directory has no administrator address",
			to.Email, actor)); err != nil {
			return err
		}
	}
	// At most one invitation per organization per hour: after another
	// partner's invitation to the same organization, this one waits.
	last, err := tx.LastInvitationForOrg(org.ID)
	if err != nil {
		return err
	}
	if !last.IsZero() && tx.s.now().Sub(last) < time.Hour {
		at := last.Add(time.Hour)
		tx.notBefore = at
		if err := tx.audit(r.ID, &link.ID, "system", r.State, r.State, fmt.Sprintf(
			"invitation waits until %s: one invitation per organization per hour", at.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
	}
	err = tx.invite(&r, partner, org, to, link.ID)
	tx.notBefore = time.Time{}
	if err != nil {
		return err
	}
	asker, err := tx.asker(r, &partner)
	if err != nil {
		return err
	}
	return tx.answerPartner(&r, asker, templates.KindRequestApproved,
		templates.Data{OrganizationName: org.Name, AdminName: org.AdminName, Note: note}, nil)
}

// invite queues the invitation mail to the recipient and records the
// invitation. The mail's stored bodies carry store.InviteTokenPlaceholder:
// the token is made when the mail is sent (store.MintInvitationToken), so
// no live token is ever written to the database. Until then the
// invitation's hash is that of a token nobody has.
func (tx *txn) invite(r *store.Request, partner store.Partner, org store.Organization, to Recipient, linkID int64) error {
	// The invitation counts from when it goes out (now, or later when
	// approve made it wait for the hourly limit): its validity, and its
	// time for that limit (LastInvitationForOrg).
	at := tx.s.now()
	if tx.notBefore.After(at) {
		at = tx.notBefore
	}
	return tx.sendInvitation(r, partner, org, to, linkID, invitationMail{
		kind: templates.KindInvitation, at: at, expires: at.Add(tx.s.opts.InviteTTL)})
}

// invitationMail is what sendInvitation sends: the first invitation, a
// resent one, or a reminder.
type invitationMail struct {
	kind     string    // templates.KindInvitation or KindInvitationReminder
	at       time.Time // when it goes out
	expires  time.Time
	reminder bool // the invitation is a reminder (timers.go)
}

// sendInvitation queues an invitation mail to the recipient and records
// its invitation (see invite).
func (tx *txn) sendInvitation(r *store.Request, partner store.Partner, org store.Organization, to Recipient, linkID int64, im invitationMail) error {
	unknown, err := store.NewToken()
	if err != nil {
		return fmt.Errorf("making invitation: %w", err)
	}
	d := templates.Data{Audience: "admin", OrganizationName: org.Name, AdminName: to.Name, AdminEmail: to.Email,
		InviteURL: tx.s.opts.PublicURL + "/invite/" + store.InviteTokenPlaceholder, ExpiresAt: im.expires}
	tx.fillRequestData(&d, r, &partner)
	d.ThreadSubject = ""
	if err := tx.queueAdmin(outMail{kind: im.kind, locale: org.Locale, to: to.Email, toName: to.Name,
		requestID: r.ID, data: d, auto: "auto-generated", notBefore: im.at}, org.ID); err != nil {
		return err
	}
	outboxID := tx.lastOutbox
	inv := &store.Invitation{LinkID: linkID, RequestID: r.ID, TokenHash: store.HashToken(unknown), ExpiresAt: im.expires,
		OutboxID: &outboxID, Recipient: to.Email, RecipientSource: to.Source, CreatedAt: im.at, Reminder: im.reminder}
	return tx.InsertInvitation(inv)
}

// HashToken is what is stored of a token (invitations, console sessions).
func HashToken(token string) string { return store.HashToken(token) }

// byToken finds the row a link's token names with find, by the token's
// hash (an index), compares the hash again in constant time, and gives
// ErrNotFound for a token of the wrong length or of no row.
func byToken[T any](token, what string, find func(hash string) (T, error), stored func(T) string) (T, error) {
	var zero T
	if len(token) < 20 || len(token) > 100 {
		return zero, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	hash := HashToken(token)
	row, err := find(hash)
	if err != nil {
		return zero, err
	}
	if subtle.ConstantTimeCompare([]byte(stored(row)), []byte(hash)) != 1 {
		return zero, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return row, nil
}

// Reject rejects an open request with a reason that goes to the partner.
func (s *Service) Reject(ctx context.Context, requestID int64, by, reason string) error {
	return s.transact(ctx, func(tx *txn) error {
		r, err := tx.Request(requestID)
		if err != nil {
			return err
		}
		if !CanRequest(r.State, ActReject) {
			return stateErr("%s is %s: only open requests can be rejected", r.Reference(), r.State)
		}
		if err := tx.moveRequest(r.ID, r.State, store.StateRejected, nil); err != nil {
			return err
		}
		if r.State == store.StateInvited {
			if err := tx.endLinkOf(r.ID, store.LinkRevoked, store.InviteRevoked); err != nil {
				return err
			}
			if err := tx.settleNewOrganization(r, store.OrgDeleted, "ops:"+by, "ops rejected the request"); err != nil {
				return err
			}
		}
		if err := tx.CloseConsentTokens(r.ID, 0, store.ConsentClosed); err != nil {
			return err
		}
		if err := tx.audit(r.ID, nil, "ops:"+by, r.State, store.StateRejected, reason); err != nil {
			return err
		}
		r.State = store.StateRejected
		if r.Kind == store.KindCustomerFirst {
			return tx.closeCustomerRequest(&r, "ops", reason)
		}
		if r.PartnerID == nil {
			return nil
		}
		partner, err := tx.Partner(*r.PartnerID)
		if err != nil {
			return err
		}
		asker, err := tx.asker(r, &partner)
		if err != nil {
			return err
		}
		return tx.answerPartner(&r, asker, templates.KindRequestRejected,
			templates.Data{ReasonCode: "ops", Reason: reason}, nil)
	})
}

// endLinkOf ends the live link of a request and its pending invitations.
func (tx *txn) endLinkOf(requestID int64, linkStatus, inviteStatus string) error {
	link, err := tx.LinkForRequest(requestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if link.Status == store.LinkInvited || link.Status == store.LinkActive {
		if err := tx.moveLink(link.ID, []string{store.LinkInvited, store.LinkActive}, linkStatus); err != nil {
			return err
		}
	}
	return tx.endPendingInvitations(requestID, inviteStatus)
}

// endPendingInvitations moves every pending invitation of a request to
// status: its token stops working.
func (tx *txn) endPendingInvitations(requestID int64, status string) error {
	invs, err := tx.Invitations(requestID)
	if err != nil {
		return err
	}
	for _, inv := range invs {
		if inv.Status == store.InvitePending {
			if err := tx.SetInvitationStatus(inv.ID, status); err != nil {
				return err
			}
		}
	}
	return nil
}

// InvitationInfo is what the invitation page shows.
type InvitationInfo struct {
	Invitation   store.Invitation
	Request      store.Request
	Partner      store.Partner
	Organization store.Organization
	// Distributor is the distributor the partner sells through, if any.
	Distributor *store.Partner
}

// recipient is whom the invitation went to (the directory's administrator
// for invitations from before recipients were recorded).
func (i InvitationInfo) recipient() string {
	if i.Invitation.Recipient != "" {
		return i.Invitation.Recipient
	}
	return i.Organization.AdminEmail
}

// LookupInvitation finds the invitation for a token (compared by its hash)
// without changing anything: a GET must never change state. A used,
// revoked or expired token gives a *GoneError.
func (s *Service) LookupInvitation(ctx context.Context, token string) (InvitationInfo, error) {
	return s.lookupInvitation(s.reader(ctx), token)
}

func (s *Service) lookupInvitation(tx *txn, token string) (InvitationInfo, error) {
	var info InvitationInfo
	inv, err := byToken(token, "invitation", tx.InvitationByHash, func(i store.Invitation) string { return i.TokenHash })
	if err != nil {
		return info, err
	}
	info.Invitation = inv
	if info.Request, err = tx.Request(inv.RequestID); err != nil {
		return info, err
	}
	if info.Request.PartnerID != nil {
		if info.Partner, err = tx.Partner(*info.Request.PartnerID); err != nil {
			return info, err
		}
	}
	if info.Request.OrganizationID != nil {
		if info.Organization, err = tx.Organization(*info.Request.OrganizationID); err != nil {
			return info, err
		}
	}
	if info.Distributor, err = tx.distributor(info.Request); err != nil {
		return info, err
	}
	switch {
	case inv.Status != store.InvitePending:
		return info, &GoneError{Status: inv.Status}
	case !s.now().Before(inv.ExpiresAt):
		return info, &GoneError{Status: store.InviteExpired}
	}
	return info, nil
}

// distributor is the distributor a request came through, or nil.
func (tx *txn) distributor(r store.Request) (*store.Partner, error) {
	if r.DistributorID == nil {
		return nil, nil
	}
	d, err := tx.Partner(*r.DistributorID)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// openInvitation is lookupInvitation for the administrator's answer: the
// request must still be waiting for it.
func (s *Service) openInvitation(tx *txn, token string) (InvitationInfo, error) {
	info, err := s.lookupInvitation(tx, token)
	if err == nil && info.Request.State != store.StateInvited {
		err = &GoneError{Status: "no longer open (" + info.Request.State + ")"}
	}
	return info, err
}

// Accept is the administrator's consent: link active, request completed,
// both the partner and the administrator are told.
func (s *Service) Accept(ctx context.Context, token string) (InvitationInfo, error) {
	var info InvitationInfo
	err := s.transact(ctx, func(tx *txn) error {
		var err error
		if info, err = s.openInvitation(tx, token); err != nil {
			return err
		}
		r, inv := info.Request, info.Invitation
		if err := tx.SetInvitationStatus(inv.ID, store.InviteAccepted); err != nil {
			return err
		}
		if err := tx.moveLink(inv.LinkID, []string{store.LinkInvited}, store.LinkActive); err != nil {
			return err
		}
		if err := tx.moveRequest(r.ID, store.StateInvited, store.StateCompleted, nil); err != nil {
			return err
		}
		actor := "customer:" + info.recipient()
		if err := tx.audit(r.ID, &inv.LinkID, actor, store.StateInvited, store.StateCompleted, "invitation accepted"); err != nil {
			return err
		}
		if err := tx.settleNewOrganization(r, store.OrgActive, actor, "its administrator accepted the invitation"); err != nil {
			return err
		}
		if info.Organization.Status == store.OrgInitializing {
			info.Organization.Status = store.OrgActive
		}
		r.State = store.StateCompleted
		org := info.Organization
		data := templates.Data{OrganizationName: org.Name, AdminName: org.AdminName, AdminEmail: org.AdminEmail}
		asker, err := tx.asker(r, &info.Partner)
		if err != nil {
			return err
		}
		if err := tx.answerPartner(&r, asker, templates.KindConnectionEstablished, data, nil); err != nil {
			return err
		}
		to, name := info.recipient(), org.AdminName
		if to == "" {
			return nil
		}
		if !strings.EqualFold(to, org.AdminEmail) {
			name = ""
		}
		d := data
		d.Audience = "admin"
		d.AdminName, d.AdminEmail = name, to
		tx.fillRequestData(&d, &r, &info.Partner)
		return tx.queueAdmin(outMail{kind: templates.KindConnectionEstablished, locale: org.Locale, to: to,
			toName: name, requestID: r.ID, data: d, auto: "auto-generated"}, org.ID)
	})
	return info, err
}

// Decline is the administrator's refusal, with an optional message for the
// partner. fraud flags the request to ops as possibly not requested by the
// customer at all, and files a fraud report that marks the organization and
// the partner until ops clear it (fraud.go).
func (s *Service) Decline(ctx context.Context, token, message string, fraud bool) (InvitationInfo, error) {
	var info InvitationInfo
	err := s.transact(ctx, func(tx *txn) error {
		var err error
		if info, err = s.openInvitation(tx, token); err != nil {
			return err
		}
		r, inv := info.Request, info.Invitation
		message = sanitizeMessage(message)
		if err := tx.SetInvitationStatus(inv.ID, store.InviteDeclined); err != nil {
			return err
		}
		if err := tx.moveLink(inv.LinkID, []string{store.LinkInvited}, store.LinkDeclined); err != nil {
			return err
		}
		if err := tx.moveRequest(r.ID, store.StateInvited, store.StateDeclined, nil); err != nil {
			return err
		}
		reason := "invitation declined"
		if message != "" {
			reason += ": " + parser.SanitizeText(message, 500) // one line
		}
		actor := "customer:" + info.recipient()
		if err := tx.audit(r.ID, &inv.LinkID, actor, store.StateInvited, store.StateDeclined, reason); err != nil {
			return err
		}
		if err := tx.settleNewOrganization(r, store.OrgDeleted, actor, "its administrator declined the invitation"); err != nil {
			return err
		}
		if fraud {
			if err := tx.AddFinding(r.ID, FindPossibleFraud, "the organization's administrator says this was not requested by them"); err != nil {
				return err
			}
			if err := tx.audit(r.ID, &inv.LinkID, actor, store.StateDeclined, store.StateDeclined, fmt.Sprintf(
				"flagged as possibly fraudulent by the customer: organization %s and partner %s are marked fraud_reported until ops clear it",
				info.Organization.ID, info.Partner.Name)); err != nil {
				return err
			}
			if err := tx.reportFraud(r, actor); err != nil {
				return err
			}
		}
		r.State = store.StateDeclined
		asker, err := tx.asker(r, &info.Partner)
		if err != nil {
			return err
		}
		return tx.answerPartner(&r, asker, templates.KindInvitationDeclined,
			templates.Data{OrganizationName: info.Organization.Name, Message: message}, nil)
	})
	return info, err
}

// sanitizeMessage keeps a customer's message as plain text in its lines
// (at most maxMessageLines, no more than one empty line in a row), each
// line without control characters or invisible runes, at most 2000 runes in
// all. Line breaks are safe in a mail body; the message never goes into a
// header.
func sanitizeMessage(s string) string {
	const maxRunes, maxMessageLines = 2000, 50
	var lines []string
	n := 0
	for _, l := range lineBreaks.Split(s, -1) {
		if n >= maxRunes {
			break
		}
		l = parser.SanitizeText(l, maxRunes-n)
		if l == "" && (len(lines) == 0 || lines[len(lines)-1] == "") {
			continue // leading or repeated empty lines
		}
		if len(lines) == maxMessageLines || n+utf8.RuneCountInString(l) > maxRunes {
			break
		}
		lines = append(lines, l)
		n += utf8.RuneCountInString(l) + 1
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// lineBreaks are the line ends a message from a browser may hold.
var lineBreaks = regexp.MustCompile("\r\n|\r|\n|\u2028|\u2029")

// ExpireDue expires every invitation whose time has passed: the link and
// the request become expired and the partner is told. It returns how many.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	invs, err := s.st.Q(ctx).DueExpiries(s.now(), 200)
	if err != nil {
		return 0, fmt.Errorf("listing due invitations: %w", err)
	}
	n := 0
	for _, inv := range invs {
		err := s.transact(ctx, func(tx *txn) error {
			if err := tx.SetInvitationStatus(inv.ID, store.InviteExpired); err != nil {
				return err
			}
			if err := tx.moveLink(inv.LinkID, []string{store.LinkInvited}, store.LinkExpired); err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
			r, err := tx.Request(inv.RequestID)
			if err != nil {
				return err
			}
			if r.State != store.StateInvited {
				return nil
			}
			if err := tx.expire(&r, &inv.LinkID, "invitation expired unanswered"); err != nil {
				return err
			}
			if err := tx.settleNewOrganization(r, store.OrgDeleted, "system", "the invitation expired unanswered"); err != nil {
				return err
			}
			partner, err := tx.Partner(*r.PartnerID)
			if err != nil {
				return err
			}
			org, _ := tx.Organization(*r.OrganizationID)
			asker, err := tx.asker(r, &partner)
			if err != nil {
				return err
			}
			return tx.answerPartner(&r, asker, templates.KindInvitationExpired,
				templates.Data{OrganizationName: org.Name, ExpiresAt: inv.ExpiresAt}, nil)
		})
		if errors.Is(err, store.ErrConflict) {
			continue // someone accepted or revoked it meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("expiring invitation %d: %w", inv.ID, err)
		}
		n++
	}
	return n, nil
}

// ResendInvitation sends a new invitation for an invited request; the old
// token stops working. At most one invitation per organization per hour.
func (s *Service) ResendInvitation(ctx context.Context, requestID int64, by string) error {
	return s.transact(ctx, func(tx *txn) error {
		r, err := tx.Request(requestID)
		if err != nil {
			return err
		}
		if !CanRequest(r.State, ActResend) {
			return stateErr("%s is %s: only an invited request has an invitation to resend", r.Reference(), r.State)
		}
		last, err := tx.LastInvitationForOrg(*r.OrganizationID)
		if err != nil {
			return err
		}
		if !last.IsZero() && s.now().Sub(last) < time.Hour {
			return fmt.Errorf("%s: last one at %s, try after %s: %w", r.Reference(), last.Format(time.RFC3339),
				last.Add(time.Hour).Format(time.RFC3339), ErrTooSoon)
		}
		link, err := tx.LinkForRequest(r.ID)
		if err != nil {
			return err
		}
		if err := tx.endPendingInvitations(r.ID, store.InviteReplaced); err != nil {
			return err
		}
		partner, err := tx.Partner(*r.PartnerID)
		if err != nil {
			return err
		}
		org, err := tx.Organization(*r.OrganizationID)
		if err != nil {
			return err
		}
		to, err := tx.resendRecipient(r, partner, org)
		if err != nil {
			return err
		}
		if err := tx.audit(r.ID, &link.ID, "ops:"+by, r.State, r.State, "invitation resent to "+to.Email+"; the previous link stopped working"); err != nil {
			return err
		}
		return tx.invite(&r, partner, org, to, link.ID)
	})
}

// resendRecipient is whom a resent invitation goes to: the directory's
// administrator; without one, the contact an ops user picked on approval
// (the previous invitation's recipient, when it is still pickable).
func (tx *txn) resendRecipient(r store.Request, partner store.Partner, org store.Organization) (Recipient, error) {
	to := recipientOf(r, &partner, org)
	if to.Email != "" {
		return to, nil
	}
	invs, err := tx.Invitations(r.ID)
	if err != nil {
		return to, err
	}
	if len(invs) > 0 && invs[0].RecipientSource == store.RecipientSuggested && pickable(invs[0].Recipient, r, &partner, org) == nil {
		to.Email, to.Source = invs[0].Recipient, store.RecipientSuggested
		return to, nil
	}
	return to, stateErr("organization %s has no administrator address in the directory: add it first", org.ID)
}

// RevokeLink ends a link (invited or active); its pending invitations stop
// working, and a request still waiting for consent is rejected.
func (s *Service) RevokeLink(ctx context.Context, linkID int64, by string) error {
	return s.transact(ctx, func(tx *txn) error {
		link, err := tx.Link(linkID)
		if err != nil {
			return err
		}
		if !CanLink(link.Status, ActRevoke) {
			return stateErr("link %d is %s: only invited or active links can be revoked", link.ID, link.Status)
		}
		if err := tx.moveLink(link.ID, []string{link.Status}, store.LinkRevoked); err != nil {
			return err
		}
		if link.RequestID == nil {
			return tx.audit(0, &link.ID, "ops:"+by, link.Status, store.LinkRevoked, "link revoked")
		}
		if err := tx.endPendingInvitations(*link.RequestID, store.InviteRevoked); err != nil {
			return err
		}
		r, err := tx.Request(*link.RequestID)
		if err != nil {
			return err
		}
		to := r.State
		if CanRequest(r.State, ActRevoke) { // invited: nobody will consent any more
			to = store.StateRejected
			if err := tx.moveRequest(r.ID, r.State, to, nil); err != nil {
				return err
			}
			if err := tx.settleNewOrganization(r, store.OrgDeleted, "ops:"+by, "ops revoked its invited link"); err != nil {
				return err
			}
		}
		return tx.audit(r.ID, &link.ID, "ops:"+by, r.State, to, "link revoked (was "+link.Status+")")
	})
}
