package workflow

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// Commands a partner may write in a request's thread: the first word of
// the reply's new text (not the quoted part), or the subject
// `Status REQ-000123` of a new mail.
const (
	cmdStatus = "status"
	cmdCancel = "cancel"
)

// commandWords maps the words that give a command (lower case) to it.
var commandWords = map[string]string{
	"status":     cmdStatus,
	"cancel":     cmdCancel,
	"stornieren": cmdCancel,
	"abbrechen":  cmdCancel,
	"storno":     cmdCancel,
}

// statusSubject is the subject of a new mail asking for a request's status.
var statusSubject = regexp.MustCompile(`(?i)^\s*status\s*[:\-]?\s*[\[(]?\s*REQ-\d{1,12}\s*[\])]?\s*$`)

// mailCommand is the command mail p gives, "" for none.
func mailCommand(p *parser.Mail) string {
	if f := strings.Fields(p.Text); len(f) > 0 {
		w := strings.ToLower(strings.TrimFunc(f[0], func(r rune) bool { return !unicode.IsLetter(r) }))
		if c, ok := commandWords[w]; ok {
			return c
		}
	}
	if statusSubject.MatchString(parser.StripSubjectPrefixes(p.Subject)) {
		return cmdStatus
	}
	return ""
}

// cancellable says whether a partner may still cancel a request in state
// (before the customer answered).
func cancellable(state string) bool { return Requests.Allows(state, store.StateCancelled) == nil }

// command acts on a command in the thread of request r: only the request's
// partner, from an address that authenticates, gets an answer; anyone else
// is recorded on the request and not answered, so that the state of a
// request leaks to nobody.
func (tx *txn) command(cmd string, r store.Request, m *store.Message, p *parser.Mail) error {
	actor := "partner:" + p.From.Addr
	what := cmd + " request"
	partner, err := tx.senderPartner(p)
	if err != nil {
		return err
	}
	if partner == nil || r.PartnerID == nil || partner.ID != *r.PartnerID {
		m.Detail = what + " on " + r.Reference() + " from someone other than the partner: recorded, not answered"
		return tx.audit(r.ID, nil, actor, r.State, r.State, what+" from "+p.From.Addr+" ignored: not the partner")
	}
	if p.Auth.Checked && p.Auth.Failed {
		m.Detail = what + " on " + r.Reference() + " failed sender authentication: not acted on"
		if err := tx.AddFinding(r.ID, FindSenderAuthFailed, authDetail(p.Auth)); err != nil {
			return err
		}
		return tx.audit(r.ID, nil, actor, r.State, r.State, what+" failed sender authentication")
	}
	if cmd == cmdCancel && cancellable(r.State) {
		return tx.cancel(r, partner, m, p)
	}
	refused := cmd == cmdCancel
	reason := "status requested by mail: answered"
	m.Detail = "status request on " + r.Reference() + " (" + r.State + "): answered"
	if refused {
		reason = "cancel requested by mail, refused: the request is " + r.State
		m.Detail = "cancel request on " + r.Reference() + " (" + r.State + "): too late, answered with the status"
	}
	if err := tx.audit(r.ID, nil, actor, r.State, r.State, reason); err != nil {
		return err
	}
	d := templates.Data{State: r.State, CancelRefused: refused}
	if d.StateAt, err = tx.stateSince(r); err != nil {
		return err
	}
	if r.State == store.StateCompleted { // the link may have ended since
		link, err := tx.LinkForRequest(r.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil && link.Status != store.LinkActive {
			d.LinkStatus = link.Status
		}
	}
	if r.State == store.StateInvited {
		if invs, err := tx.Invitations(r.ID); err != nil {
			return err
		} else if len(invs) > 0 {
			d.ExpiresAt = invs[0].ExpiresAt
		}
	}
	return tx.answerPartner(&r, partner, templates.KindRequestStatus, d, p)
}

// cancel cancels open request r as its partner asked: an invited one's link
// is revoked and its invitation stops working.
func (tx *txn) cancel(r store.Request, partner *store.Partner, m *store.Message, p *parser.Mail) error {
	from := r.State
	if err := tx.moveRequest(r.ID, from, store.StateCancelled, nil); err != nil {
		return err
	}
	var linkID *int64
	if from == store.StateInvited {
		link, err := tx.LinkForRequest(r.ID)
		if err != nil {
			return err
		}
		if err := allowLinkMove(link.ID, []string{link.Status}, store.LinkRevoked); err != nil {
			return err
		}
		if err := tx.endLinkOf(r.ID, store.LinkRevoked, store.InviteRevoked); err != nil {
			return err
		}
		linkID = &link.ID
	}
	if err := tx.audit(r.ID, linkID, "partner:"+p.From.Addr, from, store.StateCancelled, "cancelled by the partner by mail"); err != nil {
		return err
	}
	m.Detail = "cancel request on " + r.Reference() + ": cancelled (was " + from + ")"
	r.State = store.StateCancelled
	return tx.answerPartner(&r, partner, templates.KindRequestCancelled, templates.Data{State: from}, p)
}

// stateSince is when request r entered its state: its newest audit entry
// that moved it there.
func (tx *txn) stateSince(r store.Request) (time.Time, error) {
	es, err := tx.Audit(r.ID)
	if err != nil {
		return time.Time{}, err
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].ToState == r.State && es[i].FromState != r.State {
			return es[i].At, nil
		}
	}
	return r.ReceivedAt, nil
}

// strangerStatus records a `Status REQ-…` mail from someone who is not the
// request's partner (threadOf does not thread a tag for them): recorded
// on the request, not answered. handled is false when the mail is not one.
func (tx *txn) strangerStatus(m *store.Message, p *parser.Mail) (handled bool, err error) {
	if p.RequestTag == "" || !statusSubject.MatchString(parser.StripSubjectPrefixes(p.Subject)) {
		return false, nil
	}
	id, ok := store.ParseReference(p.RequestTag)
	if !ok {
		return false, nil
	}
	r, err := tx.Request(id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // nothing to record it on
	}
	if err != nil {
		return false, err
	}
	m.Disposition = store.DispReply
	m.RequestID = &r.ID
	m.Detail = fmt.Sprintf("status request on %s from %s, who is not its partner: recorded, not answered", r.Reference(), orNone(p.From.Addr))
	return true, tx.audit(r.ID, nil, "sender:"+p.From.Addr, r.State, r.State, "status request from "+orNone(p.From.Addr)+" ignored: not the partner")
}
