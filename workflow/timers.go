package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// Schedule says when a scheduled run is due (a parsed cron spec; the
// composition root parses ONBOARDER_OPS_DIGEST_SCHEDULE).
type Schedule interface {
	// Next returns the first time after t the run is due.
	Next(t time.Time) time.Time
}

// TimerReport says what one RunTimers pass did.
type TimerReport struct {
	InvitationsExpired int // invitations that ran out (ExpireDue)
	InvitesReminded    int // administrators reminded of an invitation
	NeedsInfoChased    int // partners chased for a missing Organization ID
	NeedsInfoExpired   int // needs_info requests closed as expired
	ConsentsReminded   int // requests whose partner's (or reseller's) contacts were reminded of their consent links
	ConsentsExpired    int // pending_partner and pending_reseller requests closed as expired: their consent links ran out
	LinkTimers         int // link reminders sent and links expired at their end date (LinkTimers)
	Digests            int // ops digests queued
}

// Empty says whether the pass did nothing.
func (r TimerReport) Empty() bool { return r == TimerReport{} }

// Timer step names: the labels of what RunTimers did (logs, metrics).
const (
	StepInvitationsExpired  = "invitations_expired"
	StepInvitationsReminded = "invitations_reminded"
	StepNeedsInfoExpired    = "needs_info_expired"
	StepNeedsInfoChased     = "needs_info_chased"
	StepConsentsReminded    = "consents_reminded"
	StepConsentsExpired     = "consents_expired"
	StepLinkTimers          = "link_timers"
	StepDigests             = "digests"
)

// TimerSteps lists every step of RunTimers, in the order it runs them.
var TimerSteps = []string{StepInvitationsExpired, StepInvitationsReminded, StepNeedsInfoExpired,
	StepNeedsInfoChased, StepConsentsExpired, StepConsentsReminded, StepLinkTimers, StepDigests}

// Counts returns how many records each step acted on, by step name.
func (r TimerReport) Counts() map[string]int {
	return map[string]int{
		StepInvitationsExpired: r.InvitationsExpired, StepInvitationsReminded: r.InvitesReminded,
		StepNeedsInfoExpired: r.NeedsInfoExpired, StepNeedsInfoChased: r.NeedsInfoChased,
		StepConsentsExpired: r.ConsentsExpired, StepConsentsReminded: r.ConsentsReminded, StepLinkTimers: r.LinkTimers, StepDigests: r.Digests,
	}
}

// TimerStepError is the error of one step of RunTimers.
type TimerStepError struct {
	Step string // StepInvitationsExpired, …
	Err  error
}

// Error names the step and its error.
func (e *TimerStepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the step's error.
func (e *TimerStepError) Unwrap() error { return e.Err }

// FailedTimerSteps lists the steps whose errors err (from RunTimers) joins.
func FailedTimerSteps(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		var se *TimerStepError
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		default:
			if errors.As(err, &se) {
				out = append(out, se.Step)
			}
		}
	}
	walk(err)
	return out
}

// eachInOwnTx runs fn on every item, each in a transaction of its own, so
// that one record's fault does not undo the others': a conflict (another
// pass, or an answer, got there first) skips the item; an error stops the
// step, wrapped by what(item). It returns how many items fn handled.
func eachInOwnTx[T any](ctx context.Context, s *Service, items []T, what func(T) string, fn func(tx *txn, item T) error) (int, error) {
	n := 0
	for _, it := range items {
		err := s.transact(ctx, func(tx *txn) error { return fn(tx, it) })
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", what(it), err)
		}
		n++
	}
	return n, nil
}

// timerBatch bounds how many records one step of a pass handles; the rest
// wait for the next pass, a minute later.
const timerBatch = 200

// RunTimers runs everything that is due by the clock: invitation expiry,
// invitation reminders, the needs_info chase and expiry, the consent
// reminders and the expiry of requests whose consent links ran out, the
// link reminders and end dates, and the ops digest. Every step is idempotent, and each record moves in a
// transaction of its own whose conditional writes let only one of several
// concurrent passes act, so two workers running it at once send each mail
// once; the worker still runs it under a lease so that one does the work.
// A failing step does not stop the others; their errors are joined, each a
// *TimerStepError (FailedTimerSteps names them).
func (s *Service) RunTimers(ctx context.Context) (TimerReport, error) {
	var rep TimerReport
	var errs []error
	step := func(name string, n *int, fn func(context.Context) (int, error)) {
		c, err := fn(ctx)
		*n += c
		if err != nil {
			errs = append(errs, &TimerStepError{Step: name, Err: err})
		}
	}
	step(StepInvitationsExpired, &rep.InvitationsExpired, s.ExpireDue)
	step(StepInvitationsReminded, &rep.InvitesReminded, s.remindInvitations)
	step(StepNeedsInfoExpired, &rep.NeedsInfoExpired, s.expireNeedsInfo) // before the chase: a request due for both is closed, not chased
	step(StepNeedsInfoChased, &rep.NeedsInfoChased, s.chaseNeedsInfo)
	step(StepConsentsExpired, &rep.ConsentsExpired, s.expireConsents) // before the reminder, as for needs_info
	step(StepConsentsReminded, &rep.ConsentsReminded, s.remindConsents)
	step(StepLinkTimers, &rep.LinkTimers, s.LinkTimers)
	step(StepDigests, &rep.Digests, s.sendDigest)
	return rep, errors.Join(errs...)
}

// remindInvitations reminds the administrator of every pending invitation
// that expires within InviteReminderBefore, once. The reminder carries a
// fresh link, as a resend does: invitation tokens exist only in the mail
// that carries them (minted when it is sent, store.MintInvitationToken), so
// the reminder cannot repeat the first mail's link. The first invitation
// is replaced (its link stops working) and the new one keeps its expiry, so
// the reminder neither extends the invitation nor is reminded of again.
func (s *Service) remindInvitations(ctx context.Context) (int, error) {
	now := s.now()
	invs, err := s.st.Q(ctx).DueInviteReminders(now, now.Add(s.opts.InviteReminderBefore), timerBatch)
	if err != nil {
		return 0, fmt.Errorf("listing invitations to remind of: %w", err)
	}
	// A conflict skips the record: answered, revoked or reminded meanwhile.
	return eachInOwnTx(ctx, s, invs, func(inv store.Invitation) string { return fmt.Sprintf("reminding of invitation %d", inv.ID) },
		func(tx *txn, inv store.Invitation) error {
			r, err := tx.Request(inv.RequestID)
			if err != nil {
				return err
			}
			if r.State != store.StateInvited || r.PartnerID == nil || r.OrganizationID == nil {
				return fmt.Errorf("%s is %s: %w", r.Reference(), r.State, store.ErrConflict)
			}
			// Replacing it first makes a concurrent pass (or an accept)
			// that got there before us a conflict: one reminder only.
			if err := tx.SetInvitationStatus(inv.ID, store.InviteReplaced); err != nil {
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
			to := Recipient{Email: inv.Recipient, Source: inv.RecipientSource}
			if to.Email == "" {
				to.Email = org.AdminEmail
			}
			if to.Email == org.AdminEmail {
				to.Name = org.AdminName
			}
			if err := tx.audit(r.ID, &inv.LinkID, "system", r.State, r.State, fmt.Sprintf(
				"invitation reminder to %s, %s before it expires; the reminder's link replaces the first one",
				to.Email, inv.ExpiresAt.Sub(now).Round(time.Hour))); err != nil {
				return err
			}
			return tx.sendInvitation(&r, partner, org, to, inv.LinkID, invitationMail{
				kind: templates.KindInvitationReminder, at: now, expires: inv.ExpiresAt, reminder: true})
		})
}

// chaseNeedsInfo reminds the partner, once, of a request that has waited
// NeedsInfoChaseAfter for its Organization ID.
func (s *Service) chaseNeedsInfo(ctx context.Context) (int, error) {
	now := s.now()
	rs, err := s.st.Q(ctx).DueChases(now.Add(-s.opts.NeedsInfoChaseAfter), timerBatch)
	if err != nil {
		return 0, fmt.Errorf("listing requests to chase: %w", err)
	}
	// A conflict skips the record: answered or chased meanwhile.
	return eachInOwnTx(ctx, s, rs, func(r store.Request) string { return "chasing " + r.Reference() },
		func(tx *txn, r store.Request) error {
			if err := tx.MarkChased(r.ID, now); err != nil {
				return err
			}
			if err := tx.audit(r.ID, nil, "system", r.State, r.State,
				"partner chased: the Organization ID is still missing after "+days(now.Sub(r.ReceivedAt))); err != nil {
				return err
			}
			if r.PartnerID == nil {
				return nil
			}
			partner, err := tx.Partner(*r.PartnerID)
			if err != nil {
				return err
			}
			return tx.answerPartner(&r, &partner, templates.KindNeedsInfoReminder,
				templates.Data{ExpiresAt: r.ReceivedAt.Add(s.opts.NeedsInfoExpireAfter)}, nil)
		})
}

// expireNeedsInfo closes every request that has waited NeedsInfoExpireAfter
// for its Organization ID as expired, and tells the partner.
func (s *Service) expireNeedsInfo(ctx context.Context) (int, error) {
	now := s.now()
	rs, err := s.st.Q(ctx).DueNeedsInfoExpiries(now.Add(-s.opts.NeedsInfoExpireAfter), timerBatch)
	if err != nil {
		return 0, fmt.Errorf("listing needs_info requests to expire: %w", err)
	}
	// A conflict skips the record: answered meanwhile.
	return eachInOwnTx(ctx, s, rs, func(r store.Request) string { return "expiring " + r.Reference() },
		func(tx *txn, r store.Request) error {
			if err := tx.expire(&r, nil, "no Organization ID within "+days(s.opts.NeedsInfoExpireAfter)); err != nil {
				return err
			}
			if r.PartnerID == nil {
				return nil
			}
			partner, err := tx.Partner(*r.PartnerID)
			if err != nil {
				return err
			}
			return tx.answerPartner(&r, &partner, templates.KindRequestExpired, templates.Data{}, nil)
		})
}

// expire moves request r from its state to expired, the system's doing,
// with reason in the audit trail (linkID: the link it concerns, if any).
// The move is conditional on r's state, so of several passes one acts.
func (tx *txn) expire(r *store.Request, linkID *int64, reason string) error {
	if err := tx.moveRequest(r.ID, r.State, store.StateExpired, nil); err != nil {
		return err
	}
	if err := tx.audit(r.ID, linkID, "system", r.State, store.StateExpired, reason); err != nil {
		return err
	}
	r.State = store.StateExpired
	return nil
}

// expireConsents closes as expired every request waiting for a partner's
// (customer first) or reseller's (tier 2) consent whose links all expired
// unanswered, and tells whoever asked: the administrator or the distributor.
func (s *Service) expireConsents(ctx context.Context) (int, error) {
	now := s.now()
	rs, err := s.st.Q(ctx).DueConsentExpiries(now, now.Add(-s.opts.ConsentTTL), timerBatch)
	if err != nil {
		return 0, fmt.Errorf("listing requests whose consent links expired: %w", err)
	}
	// A conflict skips the record: answered or expired meanwhile.
	return eachInOwnTx(ctx, s, rs, func(r store.Request) string { return "expiring " + r.Reference() },
		func(tx *txn, r store.Request) error {
			if err := tx.expire(&r, nil, "no answer on the consent links within "+days(s.opts.ConsentTTL)); err != nil {
				return err
			}
			if err := tx.CloseConsentTokens(r.ID, 0, store.ConsentExpired); err != nil {
				return err
			}
			if r.PartnerID == nil {
				return nil
			}
			partner, err := tx.Partner(*r.PartnerID)
			if err != nil {
				return err
			}
			if r.DistributorID != nil { // a reseller confirmation: the distributor asked
				dist, err := tx.Partner(*r.DistributorID)
				if err != nil {
					return err
				}
				return tx.answerPartner(&r, &dist, templates.KindConsentExpired, templates.Data{}, nil)
			}
			if r.OrganizationID == nil {
				return nil
			}
			org, err := tx.Organization(*r.OrganizationID)
			if err != nil {
				return err
			}
			return tx.askAdmin(&r, org, templates.KindConsentExpired, templates.Data{PartnerName: partner.Name, PartnerRef: partner.Ref})
		})
}

// remindConsents reminds the contacts asked for a consent (a partner an
// administrator asked for, a reseller its distributor named), once per
// request, InviteReminderBefore before their links expire. As with the
// invitation reminder, each reminder carries a new link that replaces the
// first mail's and keeps its expiry; the request's timer run key, claimed
// in the same transaction, makes it once with several workers.
func (s *Service) remindConsents(ctx context.Context) (int, error) {
	now := s.now()
	toks, err := s.st.Q(ctx).DueConsentReminders(now, now.Add(s.opts.InviteReminderBefore), timerBatch)
	if err != nil {
		return 0, fmt.Errorf("listing consent links to remind of: %w", err)
	}
	errTaken := errors.New("consent reminder taken")
	n := 0
	done := map[int64]bool{}
	for _, c := range toks {
		if done[c.RequestID] {
			continue
		}
		done[c.RequestID] = true
		err := s.transact(ctx, func(tx *txn) error {
			r, err := tx.Request(c.RequestID)
			if err != nil {
				return err
			}
			if r.State != waitingState(c.Purpose) || r.OrganizationID == nil {
				return fmt.Errorf("%s is %s: %w", r.Reference(), r.State, store.ErrConflict)
			}
			ok, err := tx.ClaimTimerRun(store.ConsentReminderKey(r.ID), now, nil)
			if err != nil {
				return err
			}
			if !ok {
				return errTaken
			}
			pending, err := tx.PendingConsentTokens(r.ID)
			if err != nil {
				return err
			}
			partner, err := tx.Partner(c.PartnerID)
			if err != nil {
				return err
			}
			org, err := tx.Organization(*r.OrganizationID)
			if err != nil {
				return err
			}
			var to []string
			for _, p := range pending {
				// Replacing it first makes an answer on the old link that
				// got there before us a conflict.
				if err := tx.UseConsentToken(p.ID, store.ConsentReplaced); err != nil {
					return err
				}
				if err := tx.sendConsentLink(&r, partner, p.Purpose, org, p.Recipient, p.ExpiresAt, true); err != nil {
					return err
				}
				to = append(to, p.Recipient)
			}
			return tx.audit(r.ID, nil, "system", r.State, r.State, fmt.Sprintf(
				"consent reminder to %s, %s before the links expire; the reminder's links replace the first ones",
				strings.Join(to, ", "), c.ExpiresAt.Sub(now).Round(time.Hour)))
		})
		if errors.Is(err, store.ErrConflict) || errors.Is(err, errTaken) || (err != nil && store.IsUniqueViolation(err)) {
			continue // answered, closed or reminded meanwhile
		}
		if err != nil {
			return n, fmt.Errorf("reminding of the consent links of %s: %w", store.Reference(c.RequestID), err)
		}
		n++
	}
	return n, nil
}

// days renders a duration in whole days (hours below two days).
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return strconv.Itoa(int(d.Hours())) + " hours"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days"
}

// Digest limits: how many rows of each list the mail shows, and how far
// ahead it looks for links that end.
const (
	digestRows       = 50
	digestLinksAhead = 30 * 24 * time.Hour
)

// sendDigest queues the ops digest of the schedule's latest slot, once per
// slot: the slot's key is recorded in the transaction that queues the mail,
// so a second worker (or pass) finds it taken and queues nothing. A slot
// older than a day (the worker was down) is skipped, and a digest with
// nothing to say is not sent (its slot is recorded all the same).
func (s *Service) sendDigest(ctx context.Context) (int, error) {
	if len(s.opts.DigestTo) == 0 || s.opts.DigestSchedule == nil {
		return 0, nil
	}
	now := s.now()
	slot, ok := lastSlot(s.opts.DigestSchedule, now)
	if !ok {
		return 0, nil
	}
	key := "ops_digest/" + slot.Format(time.RFC3339)
	if done, err := s.st.Q(ctx).TimerRunDone(key); err != nil || done {
		return 0, err
	}
	d, err := s.digest(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("gathering the ops digest: %w", err)
	}
	errTaken := errors.New("digest slot taken")
	n := 0
	err = s.transact(ctx, func(tx *txn) error {
		var outboxID *int64
		if !digestEmpty(d) {
			if err := tx.queue(outMail{kind: templates.KindOpsDigest, locale: templates.Locales[0], toAll: s.opts.DigestTo,
				data: templates.Data{Digest: &d, Mailbox: s.opts.ReplyTo.Address}, auto: "auto-generated"}); err != nil {
				return err
			}
			outboxID = &tx.lastOutbox
		}
		ok, err := tx.ClaimTimerRun(key, now, outboxID)
		if err != nil {
			return err
		}
		if !ok {
			return errTaken // roll the mail back: another pass sent it
		}
		if outboxID != nil {
			n = 1
		}
		return nil
	})
	if errors.Is(err, errTaken) || (err != nil && store.IsUniqueViolation(err)) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("queueing the ops digest: %w", err)
	}
	if n > 0 {
		s.log.Info("ops digest queued", "slot", slot, "open_requests", len(d.Requests)+d.MoreRequests,
			"mails", len(d.Mails)+d.MoreMails, "links_ending", len(d.Links), "fraud_reports", len(d.Fraud)+d.MoreFraud)
	}
	return n, nil
}

// lastSlot is the schedule's latest time at or before now, if it lies
// within the last day.
func lastSlot(sch Schedule, now time.Time) (time.Time, bool) {
	var last time.Time
	t := now.Add(-24 * time.Hour)
	for i := 0; i < 24*60+1; i++ { // a schedule due every minute, at most
		next := sch.Next(t)
		if next.IsZero() || next.After(now) || !next.After(t) {
			break
		}
		last, t = next, next
	}
	return last, !last.IsZero()
}

// digest gathers the ops digest's lists.
func (s *Service) digest(ctx context.Context, now time.Time) (templates.Digest, error) {
	q := s.st.Q(ctx)
	d := templates.Digest{LinksWithin: int(digestLinksAhead.Hours() / 24)}
	partners := map[int64]string{}
	ps, err := q.Partners()
	if err != nil {
		return d, err
	}
	for _, p := range ps {
		partners[p.ID] = p.Name
	}
	orgName := func(id string) string {
		if o, err := q.Organization(id); err == nil && o.Name != "" {
			return o.Name
		}
		return id
	}
	reqURL := func(id int64) string { return s.opts.PublicURL + "/ops/requests/" + strconv.FormatInt(id, 10) }

	open, err := q.OpenRequestsOldest(digestRows + 1)
	if err != nil {
		return d, err
	}
	if len(open) > digestRows {
		total, err := q.CountRequests(store.OpenStates)
		if err != nil {
			return d, err
		}
		d.MoreRequests = int(total) - digestRows
		open = open[:digestRows]
	}
	for _, r := range open {
		row := templates.DigestRequest{Reference: r.Reference(), State: r.State, Customer: r.CustomerName,
			Since: r.ReceivedAt, AgeDays: int(now.Sub(r.ReceivedAt).Hours() / 24), URL: reqURL(r.ID)}
		if r.PartnerID != nil {
			row.Partner = partners[*r.PartnerID]
		} else {
			row.Partner = r.Sender
		}
		d.Requests = append(d.Requests, row)
	}

	for _, status := range []string{store.OutboxHeld, store.OutboxFailed} {
		var rows []store.OutboxMail
		if room := digestRows - len(d.Mails); room > 0 { // (a zero Limit lists all)
			if rows, err = q.ListOutbox(store.OutboxFilter{Status: status, Limit: room}); err != nil {
				return d, err
			}
		}
		total, err := q.CountOutbox(status)
		if err != nil {
			return d, err
		}
		d.MoreMails += int(total) - len(rows)
		for _, m := range rows {
			row := templates.DigestMail{ID: m.ID, Kind: m.Kind, Status: m.Status, Error: truncateString(strings.TrimPrefix(m.LastError, "held: "), 200)}
			row.To = joinAddrs(m.To())
			if m.RequestID != nil {
				row.Reference, row.URL = store.Reference(*m.RequestID), reqURL(*m.RequestID)
			}
			d.Mails = append(d.Mails, row)
		}
	}

	links, err := q.LinksEndingBy(now.Add(digestLinksAhead), digestRows)
	if err != nil {
		return d, err
	}
	for _, l := range links {
		d.Links = append(d.Links, templates.DigestLink{ID: l.ID, Partner: partners[l.PartnerID],
			Organization: orgName(l.OrganizationID), EndsAt: *l.EndsAt})
	}

	frauds, err := q.OpenFraudReports(0) // few: each one blocks a partner and an organization
	if err != nil {
		return d, err
	}
	if len(frauds) > digestRows {
		d.MoreFraud, frauds = len(frauds)-digestRows, frauds[:digestRows]
	}
	for _, f := range frauds {
		d.Fraud = append(d.Fraud, templates.DigestFraud{ID: f.ID, Organization: orgName(f.OrganizationID),
			Partner: partners[f.PartnerID], Reference: store.Reference(f.RequestID), URL: reqURL(f.RequestID),
			ReportedAt: f.ReportedAt})
	}
	return d, nil
}

func joinAddrs(as []string) string {
	out := ""
	for i, a := range as {
		if i > 0 {
			out += ", "
		}
		out += a
	}
	return out
}

// digestEmpty says whether the digest has nothing to say.
func digestEmpty(d templates.Digest) bool {
	return len(d.Requests) == 0 && len(d.Mails) == 0 && len(d.Links) == 0 && len(d.Fraud) == 0
}
