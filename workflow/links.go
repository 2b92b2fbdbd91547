package workflow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// Links over time (product.md, "Relationships over time"): an active link
// is ended by the partner (by mail), the administrator (on the manage page,
// manage.go) or ops, or expires at the end date ops set; reminders go out
// 30, 7 and 1 days before it.

// ErrEndReasonRequired: ending a link needs a reason (it goes to both sides).
var ErrEndReasonRequired = errors.New("ending a link needs a reason; it goes to both sides")

// ReminderDays are the days before a link's end date when both sides are
// reminded, farthest first.
var ReminderDays = []int{30, 7, 1}

// linkSubject names a link in the audit trail.
func linkSubject(id int64) string { return "link:" + strconv.FormatInt(id, 10) }

// EndLink is ops ending an active link with a reason; both sides are told.
func (s *Service) EndLink(ctx context.Context, linkID int64, by, reason string) error {
	reason = parser.SanitizeText(strings.TrimSpace(reason), 2000)
	if strings.TrimSpace(by) == "" {
		return errors.New("ending a link: no ops user")
	}
	if reason == "" {
		return ErrEndReasonRequired
	}
	return s.transact(ctx, func(tx *txn) error {
		l, err := tx.Link(linkID)
		if err != nil {
			return err
		}
		if !CanLink(l.Status, ActEnd) {
			return stateErr("link %d is %s: only an active link can be ended", l.ID, l.Status)
		}
		return tx.endLink(l, ByOps, "ops:"+by, reason)
	})
}

// endLink moves active link l to ended for actor (who: ByPartner,
// ByCustomer or ByOps), with its audit entry and webhook event, and tells
// the side that did not end it. The partner that ended it is answered by
// its caller.
func (tx *txn) endLink(l store.Link, who, actor, reason string) error {
	if err := allowLinkMove(l.ID, []string{l.Status}, store.LinkEnded); err != nil {
		return err
	}
	if err := tx.Q.EndLink(l.ID, []string{store.LinkActive}, store.LinkEnded, tx.s.now(), actor, reason); err != nil {
		return err
	}
	if err := tx.linkAudit(l, actor, store.LinkEnded, "link ended: "+reason); err != nil {
		return err
	}
	if err := tx.linkEventWhy(l.ID, l.Status, actor, reason); err != nil {
		return err
	}
	partner, org, err := tx.linkParties(l)
	if err != nil {
		return err
	}
	d := templates.Data{EndedBy: who, Reason: reason}
	if who != ByPartner {
		if err := tx.tellPartner(l, partner, org, templates.KindLinkEnded, d); err != nil {
			return err
		}
	}
	if who != ByCustomer {
		return tx.tellAdmin(l, partner, org, templates.KindLinkEnded, d)
	}
	return nil
}

// linkAudit writes the audit entry of a link's move (subject link:ID; it
// shows in its request's trail too).
func (tx *txn) linkAudit(l store.Link, actor, to, reason string) error {
	return tx.AddAudit(&store.AuditEntry{RequestID: l.RequestID, LinkID: &l.ID, At: tx.s.now(), Actor: actor,
		FromState: l.Status, ToState: to, Reason: reason, Subject: linkSubject(l.ID)})
}

// linkParties reads a link's partner and organization.
func (tx *txn) linkParties(l store.Link) (store.Partner, store.Organization, error) {
	partner, err := tx.Partner(l.PartnerID)
	if err != nil {
		return partner, store.Organization{}, err
	}
	org, err := tx.Organization(l.OrganizationID)
	if errors.Is(err, store.ErrNotFound) {
		return partner, store.Organization{ID: l.OrganizationID}, nil
	}
	return partner, org, err
}

// linkData fills what every link mail shows.
func linkData(d *templates.Data, l store.Link, partner store.Partner, org store.Organization) {
	d.PartnerName, d.PartnerRef = partner.Name, partner.Ref
	d.OrganizationID, d.OrganizationName = l.OrganizationID, org.Name
	if l.RequestID != nil {
		d.Reference = store.Reference(*l.RequestID)
	}
}

// tellPartner mails the partner about its link, in the thread of the
// request that made the link (the partner's locale).
func (tx *txn) tellPartner(l store.Link, partner store.Partner, org store.Organization, kind string, d templates.Data) error {
	if l.RequestID == nil {
		tx.s.log.Warn("link without a request: the partner is not told", "link", l.ID, "kind", kind)
		return nil
	}
	r, err := tx.Request(*l.RequestID)
	if err != nil {
		return err
	}
	linkData(&d, l, partner, org)
	return tx.answerPartner(&r, &partner, kind, d, nil)
}

// tellAdmin mails the organization's administrator about a link (the
// organization's locale), with the manage link.
func (tx *txn) tellAdmin(l store.Link, partner store.Partner, org store.Organization, kind string, d templates.Data) error {
	if org.AdminEmail == "" {
		return nil
	}
	linkData(&d, l, partner, org)
	d.Audience = templates.AudienceAdmin
	d.AdminName, d.AdminEmail, d.RecipientName = org.AdminName, org.AdminEmail, org.AdminName
	d.Mailbox = tx.s.opts.ReplyTo.Address
	var rid int64
	if l.RequestID != nil {
		rid = *l.RequestID
	}
	return tx.queueAdmin(outMail{kind: kind, locale: org.Locale, to: org.AdminEmail, toName: org.AdminName,
		requestID: rid, data: d, auto: "auto-generated"}, org.ID)
}

// ParseEndDate reads an end date as the CLI and the console take it:
// YYYY-MM-DD (midnight UTC) or RFC 3339.
func ParseEndDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("end date %q: want YYYY-MM-DD or RFC 3339 (2026-06-30T12:00:00Z)", s)
	}
	return t.UTC(), nil
}

// SetLinkEnd sets an active link's end date (nil clears it). The date must
// be in the future. Reminders not yet due under the new date are forgotten,
// so they go out again before it.
func (s *Service) SetLinkEnd(ctx context.Context, linkID int64, endsAt *time.Time, by string) error {
	if strings.TrimSpace(by) == "" {
		return errors.New("setting an end date: no ops user")
	}
	now := s.now()
	if endsAt != nil && !endsAt.After(now) {
		return fmt.Errorf("end date %s is not in the future: %w", endsAt.UTC().Format(time.RFC3339), ErrInvalid)
	}
	return s.transact(ctx, func(tx *txn) error {
		l, err := tx.Link(linkID)
		if err != nil {
			return err
		}
		if l.Status != store.LinkActive {
			return stateErr("link %d is %s: only an active link has an end date", l.ID, l.Status)
		}
		if err := tx.SetLinkEndsAt(l.ID, endsAt, now); err != nil {
			return err
		}
		// Reminders due under the new date stay as they are (sent or
		// passed over); the nearer ones, not due yet, are forgotten, and
		// all of them when the date is cleared.
		if err := tx.ResetLinkReminders(l.ID, nearestDue(endsAt, now)); err != nil {
			return err
		}
		old, reason := "none", "end date cleared"
		if l.EndsAt != nil {
			old = l.EndsAt.UTC().Format(time.RFC3339)
		}
		if endsAt != nil {
			reason = "end date set to " + endsAt.UTC().Format(time.RFC3339)
		}
		return tx.linkAudit(l, "ops:"+by, l.Status, reason+" (was "+old+")")
	})
}

// LinkTimers runs the link timers once: every reminder that became due is
// sent, and every active link whose end date passed expires. It is
// idempotent and safe to run on several workers at once: each reminder is
// recorded (link_reminders, unique per link and days) in the transaction
// that queues it, so it is sent once. It returns how many reminders and
// expiries it made.
//
// When the clock has passed several reminders of a link at once (a worker
// was down, or the end date was set closer than 30 days), only the nearest
// one is sent: the others are recorded as skipped. A link whose end date
// passed expires without a reminder.
func (s *Service) LinkTimers(ctx context.Context) (int, error) {
	now := s.now()
	links, err := s.st.Q(ctx).LinksEndingBy(now.Add(time.Duration(ReminderDays[0])*24*time.Hour), 500)
	if err != nil {
		return 0, fmt.Errorf("listing links ending soon: %w", err)
	}
	n := 0
	for _, l := range links {
		var did bool
		err := s.transact(ctx, func(tx *txn) error {
			did = false
			cur, err := tx.Link(l.ID)
			if err != nil {
				return err
			}
			if cur.Status != store.LinkActive || cur.EndsAt == nil {
				return nil
			}
			if !now.Before(*cur.EndsAt) {
				did = true
				return tx.expireLink(cur)
			}
			var err2 error
			did, err2 = tx.remindLink(cur, now)
			return err2
		})
		if errors.Is(err, store.ErrConflict) {
			continue // ended or expired meanwhile, by someone else
		}
		if err != nil {
			return n, fmt.Errorf("link %d timers: %w", l.ID, err)
		}
		if did {
			n++
		}
	}
	return n, nil
}

// nearestDue is the nearest reminder (in days) due at now before endsAt,
// math.MaxInt32 when none is (or there is no end date).
func nearestDue(endsAt *time.Time, now time.Time) int {
	due := math.MaxInt32
	if endsAt == nil {
		return due
	}
	for _, d := range ReminderDays {
		if !now.Before(endsAt.Add(-time.Duration(d) * 24 * time.Hour)) {
			due = min(due, d)
		}
	}
	return due
}

// remindLink sends the nearest due reminder of l that was not recorded yet;
// false when there is none.
func (tx *txn) remindLink(l store.Link, now time.Time) (bool, error) {
	due := nearestDue(l.EndsAt, now)
	if due == math.MaxInt32 {
		return false, nil
	}
	// Most passes find it recorded already: read before trying to write.
	done, err := tx.LinkReminders(l.ID)
	if err != nil {
		return false, err
	}
	for _, r := range done {
		if r.Days == due {
			return false, nil
		}
	}
	fresh, err := tx.AddLinkReminder(&store.LinkReminder{LinkID: l.ID, Days: due, EndsAt: l.EndsAt.UTC(), CreatedAt: now})
	if err != nil || !fresh {
		return false, err
	}
	for _, d := range ReminderDays {
		if d > due { // passed over together with the nearest: never sent later
			if _, err := tx.AddLinkReminder(&store.LinkReminder{LinkID: l.ID, Days: d, EndsAt: l.EndsAt.UTC(),
				Skipped: true, CreatedAt: now}); err != nil {
				return false, err
			}
		}
	}
	partner, org, err := tx.linkParties(l)
	if err != nil {
		return false, err
	}
	d := templates.Data{EndsAt: l.EndsAt.UTC(), DaysLeft: due}
	if err := tx.tellPartner(l, partner, org, templates.KindLinkReminder, d); err != nil {
		return false, err
	}
	if err := tx.tellAdmin(l, partner, org, templates.KindLinkReminder, d); err != nil {
		return false, err
	}
	return true, tx.linkAudit(l, BySystem, l.Status, fmt.Sprintf("reminder: the link ends in %d days (%s)", due,
		l.EndsAt.UTC().Format(time.RFC3339)))
}

// expireLink moves l to expired at its end date and tells both sides.
func (tx *txn) expireLink(l store.Link) error {
	if err := allowLinkMove(l.ID, []string{l.Status}, store.LinkExpired); err != nil {
		return err
	}
	const reason = "end date reached"
	if err := tx.Q.EndLink(l.ID, []string{store.LinkActive}, store.LinkExpired, tx.s.now(), BySystem, reason); err != nil {
		return err
	}
	if err := tx.linkAudit(l, BySystem, store.LinkExpired, reason+" ("+l.EndsAt.UTC().Format(time.RFC3339)+")"); err != nil {
		return err
	}
	if err := tx.linkEventWhy(l.ID, l.Status, BySystem, reason); err != nil {
		return err
	}
	partner, org, err := tx.linkParties(l)
	if err != nil {
		return err
	}
	d := templates.Data{EndsAt: l.EndsAt.UTC()}
	if err := tx.tellPartner(l, partner, org, templates.KindLinkExpired, d); err != nil {
		return err
	}
	return tx.tellAdmin(l, partner, org, templates.KindLinkExpired, d)
}

// endByMail handles a partner's mail "Please end reseller connection to
// customer <Name>": the sender must be a registered, authenticated partner
// (one plain From, as for requests); it is answered whether its active link
// to the organization was ended or there was none. Unknown or failing
// senders are recorded and not answered (no backscatter).
func (tx *txn) endByMail(m *store.Message, p *parser.Mail) error {
	partner, err := tx.senderPartner(p)
	if err != nil {
		return err
	}
	switch {
	case partner == nil:
		m.Detail = "request to end a link from an unknown sender (" + senderDetail(p) + "): not acted on, not answered"
		return nil
	case partner.Status != store.PartnerActive:
		m.Detail = "request to end a link from partner " + partner.Name + ", which is " + partner.Status + ": not acted on, not answered"
		return nil
	case p.Auth.Checked && p.Auth.Failed:
		m.Detail = "request to end a link failed sender authentication (" + authDetail(p.Auth) + "): not acted on, not answered"
		return nil
	}
	orgID := tx.orgIDOf(p)
	var l store.Link
	if orgID != "" {
		l, err = tx.LiveLink(partner.ID, orgID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if orgID == "" || l.ID == 0 || l.Status != store.LinkActive {
		m.Detail = fmt.Sprintf("request to end a link: partner %s has no active link to organization %q; answered", partner.Name, orgID)
		return tx.answerSender(partner, p, templates.KindLinkEndAnswer, templates.Data{ReasonCode: "no_link", OrganizationID: orgID})
	}
	m.RequestID = l.RequestID
	m.Detail = fmt.Sprintf("link %d ended at the partner's request", l.ID)
	if err := tx.endLink(l, ByPartner, "partner:"+p.From.Addr, "the partner asked by mail"); err != nil {
		return err
	}
	_, org, err := tx.linkParties(l)
	if err != nil {
		return err
	}
	d := templates.Data{ReasonCode: "ended"}
	linkData(&d, l, *partner, org)
	if l.RequestID == nil {
		return tx.answerSender(partner, p, templates.KindLinkEndAnswer, d)
	}
	r, err := tx.Request(*l.RequestID)
	if err != nil {
		return err
	}
	return tx.answerPartner(&r, partner, templates.KindLinkEndAnswer, d, p)
}

// answerSender answers a partner's mail that belongs to no request, in its
// thread, under the same rules as answerPartner (answerHold).
func (tx *txn) answerSender(partner *store.Partner, p *parser.Mail, kind string, d templates.Data) error {
	to := p.From.Addr
	d.Audience = templates.AudiencePartner
	d.PartnerName, d.PartnerRef = partner.Name, partner.Ref
	d.Mailbox = tx.s.opts.ReplyTo.Address
	if base := parser.StripSubjectPrefixes(p.Subject); base != "" {
		d.ThreadSubject = "Re: " + base
	}
	hold, err := tx.answerHold(partner, to, p)
	if err != nil {
		return err
	}
	if err := tx.queue(outMail{kind: kind, locale: partner.Locale, to: to, data: d, inReplyTo: p.MessageID,
		refs: p.References, auto: "auto-replied", hold: hold}); err != nil {
		return err
	}
	if hold != "" {
		tx.s.log.Warn("answer held", "outbox_id", tx.lastOutbox, "kind", kind, "to", to, "reason", hold)
	}
	return tx.LogAnswer(&store.AnswerLog{OutboxID: tx.lastOutbox, PartnerID: partner.ID, Recipient: strings.ToLower(to),
		Held: hold != "", Reason: hold, At: tx.s.now()})
}
