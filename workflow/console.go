package workflow

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// What the operations console reads and does: the queue, a request's page,
// ops logins and sessions, and the console's actions, each recorded with the
// ops user in the audit trail.

// Console errors.
var (
	// ErrChanged: the request changed after the page the action came from
	// was shown; nothing was done.
	ErrChanged = errors.New("the request changed since the page was shown")
	// ErrBadLogin: unknown e-mail address or wrong password (which one is
	// not told).
	ErrBadLogin = errors.New("wrong e-mail address or password")
	// ErrReasonRequired: a rejection needs a reason for the partner.
	ErrReasonRequired = errors.New("a rejection needs a reason; it goes to the partner")
)

// QueueItem is one row of the console's queue.
type QueueItem struct {
	Request      store.Request
	PartnerName  string // "" for an unknown sender
	Organization *store.Organization
	Findings     []store.Finding
	// FourEyes: the request needs two approvals, and who gave one.
	FourEyes FourEyes
}

// Queue lists one page of requests for the console, newest first, with
// their partners, organizations, findings and approvals.
func (s *Service) Queue(ctx context.Context, f store.RequestList, p store.Paging) (store.Page[QueueItem], error) {
	q := s.st.Q(ctx)
	pg, err := q.RequestPage(f, p)
	if err != nil {
		return store.Page[QueueItem]{}, err
	}
	items, err := s.queueItems(q, pg.Items)
	return store.Page[QueueItem]{Items: items, Next: pg.Next, Prev: pg.Prev}, err
}

func (s *Service) queueItems(q *store.Q, rs []store.Request) ([]QueueItem, error) {
	partners, err := s.partnerNames(q)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(rs))
	var orgIDs []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		if r.OrganizationID != nil {
			orgIDs = append(orgIDs, *r.OrganizationID)
		}
	}
	findings, err := q.FindingsFor(ids)
	if err != nil {
		return nil, fmt.Errorf("loading findings: %w", err)
	}
	orgs, err := q.OrganizationsByID(orgIDs)
	if err != nil {
		return nil, err
	}
	eyes, err := s.fourEyesFor(q, findings)
	if err != nil {
		return nil, err
	}
	out := make([]QueueItem, 0, len(rs))
	for _, r := range rs {
		it := QueueItem{Request: r, Findings: findings[r.ID], FourEyes: eyes[r.ID]}
		if r.PartnerID != nil {
			it.PartnerName = partners[*r.PartnerID]
		}
		if r.OrganizationID != nil {
			if o, ok := orgs[*r.OrganizationID]; ok {
				it.Organization = &o
			}
		}
		out = append(out, it)
	}
	return out, nil
}

func (s *Service) partnerNames(q *store.Q) (map[int64]string, error) {
	ps, err := q.Partners()
	if err != nil {
		return nil, fmt.Errorf("loading partners: %w", err)
	}
	out := make(map[int64]string, len(ps))
	for _, p := range ps {
		out[p.ID] = p.Name
	}
	return out, nil
}

// PartnerNames maps partner ids to names (for the console's lists).
func (s *Service) PartnerNames(ctx context.Context) (map[int64]string, error) {
	return s.partnerNames(s.st.Q(ctx))
}

// RequestView is everything the console shows about one request.
type RequestView struct {
	Request store.Request
	Partner *store.Partner
	// Distributor asked for the partner, one of its resellers (tier 2).
	Distributor  *store.Partner
	Organization *store.Organization // the directory's record, nil when unknown
	// NameMatches: the subject's customer name and the directory's name
	// agree (compared as SameName does); true when either is missing.
	NameMatches bool
	Findings    []store.Finding
	Original    *OriginalMail
	Thread      []ThreadEntry
	// Mails are the outbox rows about the request, oldest first.
	Mails       []store.OutboxMail
	Link        *store.Link
	Invitations []store.Invitation
	// Recipient is whom the invitation goes (or went) to, named before
	// the approve button is clicked.
	Recipient Recipient
	Audit     []store.AuditEntry
	// FraudReports are the open fraud reports on the request's
	// organization or against its partner (fraud.go).
	FraudReports []FraudReportView
	// Version identifies what the page showed; actions carry it back, and
	// an action on a request that changed meanwhile is refused.
	Version int64

	// FourEyes: the request needs two approvals, and who gave one.
	FourEyes FourEyes
}

// Can says whether the transition table allows ops action on the request
// now: ActRevoke and ActEnd by its link's status, the others by the
// request's state.
// The console shows an action's button only where Can says so.
func (v RequestView) Can(action string) bool {
	if action == ActRevoke || action == ActEnd {
		return v.Link != nil && CanLink(v.Link.Status, action)
	}
	return CanRequest(v.Request.State, action)
}

// Actions lists the console's actions Can allows on the request now.
func (v RequestView) Actions() []string {
	var out []string
	for _, a := range []string{ActApprove, ActReject, ActResend, ActRevoke, ActEnd} {
		if v.Can(a) {
			out = append(out, a)
		}
	}
	return out
}

// OriginalMail is the mail a request was born from, as text only.
type OriginalMail struct {
	MessageID int64  // our record's id
	Header    string // the raw header block
	Text      string // the new text of the mail, decoded
	Raw       string // the raw source, capped, as text
	Truncated bool
}

// ThreadEntry is one mail in or out about a request.
type ThreadEntry struct {
	At       time.Time
	Incoming bool
	ID       int64 // message id (incoming) or outbox id (outgoing)
	Party    string
	Subject  string
	Kind     string // disposition (incoming) or template (outgoing)
	Status   string // outgoing: outbox status
	Attempts int
	Error    string
}

// maxRawShown caps the raw source shown on a request's page.
const maxRawShown = 256 << 10

// Request loads a request's page.
func (s *Service) Request(ctx context.Context, id int64) (RequestView, error) {
	q := s.st.Q(ctx)
	var v RequestView
	r, err := q.Request(id)
	if err != nil {
		return v, err
	}
	v.Request = r
	if r.PartnerID != nil {
		p, err := q.Partner(*r.PartnerID)
		if err != nil {
			return v, err
		}
		v.Partner = &p
	}
	if r.DistributorID != nil {
		d, err := q.Partner(*r.DistributorID)
		if err != nil {
			return v, err
		}
		v.Distributor = &d
	}
	v.NameMatches = true
	if r.OrganizationID != nil {
		o, err := q.Organization(*r.OrganizationID)
		switch {
		case err == nil:
			v.Organization = &o
			v.NameMatches = r.CustomerName == "" || SameName(r.CustomerName, o.Name)
		case !errors.Is(err, store.ErrNotFound):
			return v, err
		}
	}
	if v.Findings, err = q.Findings(id); err != nil {
		return v, fmt.Errorf("loading findings of %s: %w", r.Reference(), err)
	}
	eyes, err := s.fourEyesFor(q, map[int64][]store.Finding{id: v.Findings})
	if err != nil {
		return v, fmt.Errorf("loading approvals of %s: %w", r.Reference(), err)
	}
	v.FourEyes = eyes[id]
	if v.FraudReports, err = s.requestFraudReports(q, r); err != nil {
		return v, fmt.Errorf("loading fraud reports for %s: %w", r.Reference(), err)
	}
	if v.Audit, err = q.Audit(id); err != nil {
		return v, fmt.Errorf("loading audit of %s: %w", r.Reference(), err)
	}
	if n := len(v.Audit); n > 0 {
		v.Version = v.Audit[n-1].ID
	}
	if l, err := q.LinkForRequest(id); err == nil {
		v.Link = &l
	} else if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	if v.Invitations, err = q.Invitations(id); err != nil {
		return v, fmt.Errorf("loading invitations of %s: %w", r.Reference(), err)
	}
	v.Recipient = recipientView(r, v.Partner, v.Organization, v.Invitations)
	msgs, err := q.ListMessages(store.MessageFilter{RequestID: id, Limit: 200})
	if err != nil {
		return v, fmt.Errorf("loading mails of %s: %w", r.Reference(), err)
	}
	out, err := q.ListOutbox(store.OutboxFilter{RequestID: id, Limit: 200})
	if err != nil {
		return v, fmt.Errorf("loading outbox of %s: %w", r.Reference(), err)
	}
	for _, m := range msgs {
		v.Thread = append(v.Thread, ThreadEntry{At: m.ReceivedAt, Incoming: true, ID: m.ID, Party: m.FromAddr,
			Subject: m.Subject, Kind: m.Disposition, Status: m.Detail})
	}
	v.Mails = out
	for _, m := range out {
		at := m.CreatedAt
		if m.SentAt != nil {
			at = *m.SentAt
		}
		v.Thread = append(v.Thread, ThreadEntry{At: at, ID: m.ID, Party: m.ToDisplay(), Subject: m.Subject,
			Kind: m.Kind, Status: m.Status, Attempts: m.Attempts, Error: m.LastError})
	}
	sort.SliceStable(v.Thread, func(i, j int) bool { return v.Thread[i].At.Before(v.Thread[j].At) })

	// The original mail: the one with the request's Message-ID, else the first.
	var orig *store.Message
	for i := range msgs {
		if msgs[i].MessageID == r.MessageID && r.MessageID != "" {
			orig = &msgs[i]
			break
		}
	}
	if orig == nil && len(msgs) > 0 {
		orig = &msgs[0]
	}
	if orig != nil {
		m, err := q.Message(orig.ID)
		if err != nil {
			return v, err
		}
		v.Original = s.originalMail(m)
	}
	return v, nil
}

// Message loads one received mail with its source shown as text.
func (s *Service) Message(ctx context.Context, id int64) (store.Message, *OriginalMail, error) {
	m, err := s.st.Q(ctx).Message(id)
	if err != nil {
		return m, nil, err
	}
	o := s.originalMail(m)
	m.Raw = nil
	return m, o, nil
}

func (s *Service) originalMail(m store.Message) *OriginalMail {
	o := &OriginalMail{MessageID: m.ID}
	raw := m.Raw
	if len(raw) == 0 {
		o.Text = m.Detail
		return o
	}
	p := parser.Parse(raw, s.opts.Parser)
	o.Text = p.Text
	head := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head = raw[:i]
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head = raw[:i]
	}
	o.Header = textOf(head, 32<<10)
	if len(raw) > maxRawShown {
		raw, o.Truncated = raw[:maxRawShown], true
	}
	o.Raw = textOf(raw, maxRawShown)
	return o
}

// textOf makes bytes printable text: valid UTF-8, no control characters
// other than newline and tab.
func textOf(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n == 1:
			sb.WriteRune('\uFFFD')
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case r == '\r':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
			sb.WriteRune('\uFFFD')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// Console actions on a request; the transition table (states.go) says in
// which states each is allowed.
const (
	ActApprove = "approve"
	ActReject  = "reject"
	ActResend  = "resend"
	ActRevoke  = "revoke"
	// ActEnd ends an active link, with a reason (links.go).
	ActEnd = "end"
)

// Action is what an ops user asks the console to do with a request.
type Action struct {
	Kind string // ActApprove, ActReject, ActResend, ActRevoke, ActEnd
	By   string // the ops user (recorded in the audit trail)
	// Role is the ops user's role (ConsoleUser.Role): every action needs
	// RoleApprover or more, else ErrForbidden and nothing is done.
	Role string
	Text string // the note (approve) or the reason (reject and end, required)
	// InviteContact (approve): invite the contact the partner suggested
	// instead of the directory's administrator (see Approval).
	InviteContact string
	// Version is RequestView.Version of the page the action came from.
	Version int64
}

// Act runs a console action on a request, unless the request changed since
// the page was shown (ErrChanged). The action itself checks the state
// again inside its transaction, so a double submit is refused, not applied
// twice.
func (s *Service) Act(ctx context.Context, requestID int64, a Action) error {
	if a.By == "" {
		return errors.New("acting on a request: no ops user")
	}
	if err := (ConsoleUser{Email: a.By, Role: a.Role}).may(RoleApprover, "acting on a request"); err != nil {
		return err
	}
	q := s.st.Q(ctx)
	r, err := q.Request(requestID)
	if err != nil {
		return err
	}
	v, err := q.LastAuditID(requestID)
	if err != nil {
		return fmt.Errorf("checking %s: %w", r.Reference(), err)
	}
	if v != a.Version {
		return fmt.Errorf("%s is now %s: %w", r.Reference(), r.State, ErrChanged)
	}
	switch a.Kind {
	case ActApprove:
		return s.ApproveWith(ctx, requestID, Approval{By: a.By, Note: strings.TrimSpace(a.Text), InviteContact: a.InviteContact})
	case ActReject:
		reason := strings.TrimSpace(a.Text)
		if reason == "" {
			return ErrReasonRequired
		}
		return s.Reject(ctx, requestID, a.By, parser.SanitizeText(reason, 2000))
	case ActResend:
		return s.ResendInvitation(ctx, requestID, a.By)
	case ActRevoke:
		l, err := q.LinkForRequest(requestID)
		if err != nil {
			return err
		}
		return s.RevokeLink(ctx, l.ID, a.By)
	case ActEnd:
		l, err := q.LinkForRequest(requestID)
		if err != nil {
			return err
		}
		return s.EndLink(ctx, l.ID, a.By, a.Text)
	default:
		return fmt.Errorf("unknown action %q", a.Kind)
	}
}

// RetryOutbox puts a failed outbox mail back to pending and records who.
func (s *Service) RetryOutbox(ctx context.Context, id int64, by string) error {
	return s.transact(ctx, func(tx *txn) error {
		m, err := tx.Outbox(id)
		if err != nil {
			return err
		}
		if err := tx.Q.RetryOutbox(id); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return stateErr("outbox mail %d is %s, not failed", id, m.Status)
			}
			return err
		}
		tx.queued++
		var rid int64
		if m.RequestID != nil {
			rid = *m.RequestID
		}
		return tx.audit(rid, nil, "ops:"+by, "", "", fmt.Sprintf("outbox mail %d (%s) retried after: %s", id, m.Kind, m.LastError))
	})
}

// ReprocessBy is Reprocess on behalf of an ops user, recorded in the audit
// trail of the request the mail made or touched.
func (s *Service) ReprocessBy(ctx context.Context, id int64, by string) (Result, error) {
	res, err := s.Reprocess(ctx, id)
	if err != nil {
		return res, err
	}
	var rid int64 = res.RequestID
	aerr := s.transact(ctx, func(tx *txn) error {
		return tx.audit(rid, nil, "ops:"+by, "", "", fmt.Sprintf("mail %d reprocessed: %s", id, res.Disposition))
	})
	return res, aerr
}

// ---- logins and sessions ----

// SessionTTL is how long a console session lasts without activity.
const SessionTTL = 12 * time.Hour

// SessionCookieAge is how long the browser should keep a new session's
// cookie: until the session ends without activity or at its maximum age.
func (s *Service) SessionCookieAge() time.Duration {
	return min(SessionTTL, s.opts.SessionMaxAge)
}

// sessionExpiry is when a session created at created ends if nothing
// happens after at: idle for SessionTTL, or at its maximum age.
func (s *Service) sessionExpiry(created, at time.Time) time.Time {
	exp := at.Add(SessionTTL)
	if end := created.Add(s.opts.SessionMaxAge); end.Before(exp) {
		exp = end
	}
	return exp
}

// AddOpsUser creates a console user with every right (RoleAdmin, as all
// users had before roles); see AddOpsUserAs.
func (s *Service) AddOpsUser(ctx context.Context, email, password string, cost int) (store.OpsUser, error) {
	return s.AddOpsUserAs(ctx, email, password, RoleAdmin, cost)
}

// AddOpsUserAs creates a console user with a role and a bcrypt hash of
// password (cost 0 means 12); the password must pass CheckOpsPassword.
func (s *Service) AddOpsUserAs(ctx context.Context, email, password, role string, cost int) (store.OpsUser, error) {
	return s.addOpsUser(ctx, email, password, role, "system", cost)
}

// AddOpsUserBy is AddOpsUserAs by an ops user (the console's team page),
// who is named in the audit entry.
func (s *Service) AddOpsUserBy(ctx context.Context, email, password, role, by string, cost int) (store.OpsUser, error) {
	return s.addOpsUser(ctx, email, password, role, actorOf(by), cost)
}

func (s *Service) addOpsUser(ctx context.Context, email, password, role, actor string, cost int) (store.OpsUser, error) {
	if err := CheckAddress(email); err != nil {
		return store.OpsUser{}, fmt.Errorf("adding ops user: the login is an e-mail address: %v", err)
	}
	role, err := CheckRole(role)
	if err != nil {
		return store.OpsUser{}, fmt.Errorf("adding ops user: %w", err)
	}
	hash, err := hashOpsPassword(password, cost)
	if err != nil {
		return store.OpsUser{}, fmt.Errorf("adding ops user: %w", err)
	}
	u := store.OpsUser{Email: email, PasswordHash: hash, Role: role}
	err = s.transact(ctx, func(tx *txn) error {
		if err := tx.CreateOpsUser(&u); err != nil {
			return err
		}
		return tx.auditSubject(opsSubject(u.Email), actor, "", "active", opsSubject(u.Email)+" added as "+role)
	})
	return u, err
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// Login checks an ops user's password and starts a session. The returned
// token goes into the session cookie; only its hash is stored. An unknown
// address costs as much time as a wrong password, and a disabled user is
// told nothing else than a wrong password. The console logs in with
// LoginFrom, which throttles guessing.
func (s *Service) Login(ctx context.Context, email, password string) (string, store.OpsUser, error) {
	if len(email) > 320 || len(password) > 1024 {
		return "", store.OpsUser{}, ErrBadLogin
	}
	q := s.st.Q(ctx)
	u, err := q.OpsUserByEmail(email)
	if errors.Is(err, store.ErrNotFound) {
		dummyOnce.Do(func() { dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user, no such password"), 12) })
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return "", store.OpsUser{}, ErrBadLogin
	}
	if err != nil {
		return "", store.OpsUser{}, fmt.Errorf("looking up ops user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.DisabledAt != nil {
		return "", store.OpsUser{}, ErrBadLogin
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", store.OpsUser{}, fmt.Errorf("making session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	t := s.now()
	sess := &store.OpsSession{TokenHash: HashToken(token), UserID: u.ID, CreatedAt: t, LastSeenAt: t, ExpiresAt: s.sessionExpiry(t, t)}
	if err := q.CreateOpsSession(sess); err != nil {
		return "", store.OpsUser{}, err
	}
	if err := q.TouchOpsUserLogin(u.ID, t); err != nil {
		return "", store.OpsUser{}, fmt.Errorf("recording the login: %w", err)
	}
	u.LastLoginAt = &t
	_ = q.DeleteExpiredOpsSessions(t)
	return token, u, nil
}

// SessionUser returns the ops user of a live session and extends it (never
// beyond its maximum age); ErrNotFound when the token is unknown or
// expired, or its user disabled.
func (s *Service) SessionUser(ctx context.Context, token string) (store.OpsUser, error) {
	sess, err := s.SessionOf(ctx, token)
	return sess.User, err
}

// SessionOf is SessionUser with the session's role: the one the identity
// provider stated at a single sign-on login, "" for a password login.
func (s *Service) SessionOf(ctx context.Context, token string) (Session, error) {
	u, sess, err := s.sessionUser(ctx, token)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, Role: sess.Role, SSO: sess.Role != ""}, nil
}

func (s *Service) sessionUser(ctx context.Context, token string) (store.OpsUser, store.OpsSession, error) {
	if len(token) < 20 || len(token) > 100 {
		return store.OpsUser{}, store.OpsSession{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	q := s.st.Q(ctx)
	t := s.now()
	sess, err := q.OpsSessionByHash(HashToken(token), t)
	if err != nil {
		return store.OpsUser{}, store.OpsSession{}, err
	}
	if !t.Before(sess.CreatedAt.Add(s.opts.SessionMaxAge)) {
		// Older sessions may carry an idle expiry beyond the maximum age.
		return store.OpsUser{}, store.OpsSession{}, fmt.Errorf("session past its maximum age: %w", ErrNotFound)
	}
	u, err := q.OpsUser(sess.UserID)
	if err != nil {
		return store.OpsUser{}, store.OpsSession{}, err
	}
	if u.DisabledAt != nil {
		// Disabling ends the sessions; this catches one made meanwhile.
		return store.OpsUser{}, store.OpsSession{}, fmt.Errorf("ops user disabled: %w", ErrNotFound)
	}
	if t.Sub(sess.LastSeenAt) > time.Minute {
		if err := q.TouchOpsSession(sess.ID, t, s.sessionExpiry(sess.CreatedAt, t)); err != nil {
			return store.OpsUser{}, store.OpsSession{}, fmt.Errorf("extending session: %w", err)
		}
	}
	return u, sess, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.st.Q(ctx).DeleteOpsSession(HashToken(token))
}
