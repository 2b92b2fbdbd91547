package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ---- partners ----

// CreatePartner registers a partner with its sender rules (addresses and
// whole domains, stored lower-case).
func (q *Q) CreatePartner(p *Partner, emails, domains []string) error {
	q.memo.forget()
	t := now()
	p.CreatedAt, p.UpdatedAt = t, t
	if p.Status == "" {
		p.Status = PartnerActive
	}
	if p.Locale == "" {
		p.Locale = "en"
	}
	p.Rules = nil
	for _, e := range emails {
		p.Rules = append(p.Rules, SenderRule{Kind: RuleEmail, Value: strings.ToLower(strings.TrimSpace(e))})
	}
	for _, d := range domains {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		p.Rules = append(p.Rules, SenderRule{Kind: RuleDomain, Value: d})
	}
	if err := q.db.Create(p).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("registering partner %q: a sender address or domain already belongs to another partner: %w", p.Name, ErrConflict)
		}
		return fmt.Errorf("registering partner %q: %w", p.Name, err)
	}
	return nil
}

// Partner returns one partner with its rules.
func (q *Q) Partner(id int64) (Partner, error) {
	if p, ok := q.memo.partner(id); ok {
		return p, nil
	}
	var p Partner
	err := q.db.Preload("Rules", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Where("id = ?", id).First(&p).Error
	if err == nil {
		q.memo.putPartner(p)
	}
	return p, notFound(err, fmt.Sprintf("partner %d", id))
}

// Partners lists every partner with its rules, by id.
func (q *Q) Partners() ([]Partner, error) {
	var ps []Partner
	err := q.db.Preload("Rules", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Order("id").Find(&ps).Error
	return ps, err
}

// PartnerForSender finds the partner whose rules allow addr: an exact
// address rule first, then a rule for the address's domain. It returns
// ErrNotFound when no rule matches.
func (q *Q) PartnerForSender(addr string) (Partner, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if addr == "" || at < 0 {
		return Partner{}, fmt.Errorf("partner for %q: %w", addr, ErrNotFound)
	}
	if p, err, ok := q.memo.sender(addr); ok {
		return p, err
	}
	p, err := q.partnerForSender(addr, at)
	if err == nil || errors.Is(err, ErrNotFound) {
		q.memo.putSender(addr, p, err)
	}
	return p, err
}

func (q *Q) partnerForSender(addr string, at int) (Partner, error) {
	var rules []SenderRule
	err := q.db.Where("(kind = ? AND value = ?) OR (kind = ? AND value = ?)",
		RuleEmail, addr, RuleDomain, addr[at+1:]).Find(&rules).Error
	if err != nil {
		return Partner{}, err
	}
	if len(rules) == 0 {
		return Partner{}, fmt.Errorf("partner for %q: %w", addr, ErrNotFound)
	}
	best := rules[0]
	for _, r := range rules {
		if r.Kind == RuleEmail {
			best = r
		}
	}
	return q.Partner(best.PartnerID)
}

// ---- organizations ----

// UpsertOrganization inserts or updates an organization by its id.
func (q *Q) UpsertOrganization(o *Organization) error {
	t := now()
	o.CreatedAt, o.UpdatedAt = t, t
	err := q.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "status", "admin_name", "admin_email", "country", "locale", "updated_at"}),
	}).Create(o).Error
	if err != nil {
		return fmt.Errorf("saving organization %s: %w", o.ID, err)
	}
	if _, ok := q.memo.org(o.ID); ok {
		q.memo.putOrg(o.ID, orgEntry{o: *o, found: true})
	}
	return nil
}

// Organization returns one organization by its canonical id.
func (q *Q) Organization(id string) (Organization, error) {
	if e, ok := q.memo.org(id); ok {
		if !e.found {
			return Organization{}, fmt.Errorf("organization %s: %w", id, ErrNotFound)
		}
		return e.o, nil
	}
	var o Organization
	err := q.db.Where("id = ?", id).First(&o).Error
	return o, notFound(err, "organization "+id)
}

// Organizations lists the directory by name.
func (q *Q) Organizations() ([]Organization, error) {
	var os []Organization
	err := q.db.Order("name, id").Find(&os).Error
	return os, err
}

// ---- messages ----

// MessageAt returns the message recorded at this mailbox position.
func (q *Q) MessageAt(mailbox string, uidValidity, uid int64) (Message, error) {
	var m Message
	err := q.db.Where("mailbox = ? AND uid_validity = ? AND uid = ?", mailbox, uidValidity, uid).First(&m).Error
	return m, notFound(err, fmt.Sprintf("message %s/%d/%d", mailbox, uidValidity, uid))
}

// EarlierMessage finds the first recorded message that is the same mail:
// the same Message-ID and sender, or (for mail without a Message-ID) the
// same raw bytes.
func (q *Q) EarlierMessage(messageID, from, sha string) (Message, error) {
	var m Message
	db := q.db
	if messageID != "" {
		db = db.Where("message_id = ? AND from_addr = ?", messageID, from)
	} else {
		db = db.Where("message_id = '' AND raw_sha256 = ?", sha)
	}
	err := db.Order("id").First(&m).Error
	return m, notFound(err, "earlier message")
}

// SaveMessage inserts m, or updates it when it has an id.
func (q *Q) SaveMessage(m *Message) error {
	t := now()
	m.UpdatedAt = t
	if m.ID == 0 {
		m.CreatedAt = t
		if err := q.db.Create(m).Error; err != nil {
			return fmt.Errorf("recording message uid %d: %w", m.UID, err)
		}
		return nil
	}
	if err := q.db.Save(m).Error; err != nil {
		return fmt.Errorf("updating message %d: %w", m.ID, err)
	}
	return nil
}

// MoveMessageLocation records that a known message now sits at a new
// mailbox position (after a UIDVALIDITY change).
func (q *Q) MoveMessageLocation(id int64, mailbox string, uidValidity, uid int64) error {
	return q.db.Model(&Message{}).Where("id = ?", id).Updates(map[string]any{
		"mailbox": mailbox, "uid_validity": uidValidity, "uid": uid, "updated_at": now(),
	}).Error
}

// Message returns one received message (with its raw source).
func (q *Q) Message(id int64) (Message, error) {
	var m Message
	err := q.db.Where("id = ?", id).First(&m).Error
	return m, notFound(err, fmt.Sprintf("message %d", id))
}

// MessageFilter narrows ListMessages.
type MessageFilter struct {
	RequestID   int64
	Disposition string
	Limit       int
}

// ListMessages lists received mails without their raw source, oldest first.
func (q *Q) ListMessages(f MessageFilter) ([]Message, error) {
	db := q.db.Omit("raw")
	if f.RequestID != 0 {
		db = db.Where("request_id = ?", f.RequestID)
	}
	if f.Disposition != "" {
		db = db.Where("disposition = ?", f.Disposition)
	}
	if f.Limit > 0 {
		db = db.Limit(f.Limit)
	}
	var out []Message
	err := db.Order("id").Find(&out).Error
	return out, err
}

// ThreadRequest finds the request that any of the message ids belongs to:
// a mail we sent about it, or a mail we received for it. ok is false when
// none matches.
func (q *Q) ThreadRequest(messageIDs []string) (id int64, ok bool, err error) {
	if len(messageIDs) == 0 {
		return 0, false, nil
	}
	var ids []int64
	if err := q.db.Model(&OutboxMail{}).Where("message_id IN ? AND request_id IS NOT NULL", messageIDs).
		Order("id DESC").Limit(1).Pluck("request_id", &ids).Error; err != nil {
		return 0, false, err
	}
	if len(ids) == 0 {
		if err := q.db.Model(&Message{}).Where("message_id IN ? AND request_id IS NOT NULL", messageIDs).
			Order("id DESC").Limit(1).Pluck("request_id", &ids).Error; err != nil {
			return 0, false, err
		}
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// OutboxByMessageID returns the outbox row we sent with this Message-ID.
func (q *Q) OutboxByMessageID(messageID string) (OutboxMail, error) {
	var m OutboxMail
	err := q.db.Where("message_id = ?", messageID).First(&m).Error
	return m, notFound(err, "outbox mail "+messageID)
}

// MarkOutboxBounced records that a sent mail bounced.
func (q *Q) MarkOutboxBounced(id int64, detail string) error {
	return q.db.Model(&OutboxMail{}).Where("id = ?", id).Updates(map[string]any{
		"status": OutboxBounced, "last_error": truncate(detail, 2000), "updated_at": now(),
	}).Error
}

// ---- requests ----

// InsertRequest creates a request.
func (q *Q) InsertRequest(r *Request) error {
	t := now()
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = t
	}
	r.UpdatedAt = t
	if r.Kind == "" {
		r.Kind = KindConnect
	}
	if err := q.db.Create(r).Error; err != nil {
		return fmt.Errorf("recording request: %w", err)
	}
	return nil
}

// Request returns one request. Inside a PostgreSQL transaction the row is
// locked until commit, so concurrent transitions of one request queue up.
func (q *Q) Request(id int64) (Request, error) {
	var r Request
	db := q.db
	if q.dialect == Postgres {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := db.Where("id = ?", id).First(&r).Error
	return r, notFound(err, "request "+Reference(id))
}

// SetRequestState moves a request from one state to another, with other
// columns set alongside; ErrConflict when it is no longer in from.
func (q *Q) SetRequestState(id int64, from, to string, set map[string]any) error {
	if set == nil {
		set = map[string]any{}
	}
	set["state"] = to
	set["updated_at"] = now()
	res := q.db.Model(&Request{}).Where("id = ? AND state = ?", id, from).Updates(set)
	if res.Error != nil {
		if IsUniqueViolation(res.Error) {
			return fmt.Errorf("moving %s to %s: another open request exists: %w", Reference(id), to, ErrConflict)
		}
		return fmt.Errorf("moving %s from %s to %s: %w", Reference(id), from, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("moving %s from %s to %s: %w", Reference(id), from, to, ErrConflict)
	}
	return nil
}

// RequestFilter narrows ListRequests.
type RequestFilter struct {
	State     string
	PartnerID int64
	Limit     int
}

// ListRequests lists requests newest first.
func (q *Q) ListRequests(f RequestFilter) ([]Request, error) {
	db := q.db
	if f.State != "" {
		db = db.Where("state = ?", f.State)
	}
	if f.PartnerID != 0 {
		db = db.Where("partner_id = ?", f.PartnerID)
	}
	if f.Limit > 0 {
		db = db.Limit(f.Limit)
	}
	var out []Request
	err := db.Order("id DESC").Find(&out).Error
	return out, err
}

// OpenRequestFor returns the partner's open request for the organization.
func (q *Q) OpenRequestFor(partnerID int64, orgID string, exceptID int64) (Request, error) {
	var r Request
	err := q.db.Where("partner_id = ? AND organization_id = ? AND state IN ? AND id <> ?",
		partnerID, orgID, OpenStates, exceptID).Order("id").First(&r).Error
	return r, notFound(err, "open request")
}

// OtherResellerExists reports whether another partner has a live link or an
// open request for the organization.
func (q *Q) OtherResellerExists(orgID string, partnerID int64) (bool, error) {
	// One round trip for both (this runs for every request received).
	var n int64
	err := q.db.Raw(`SELECT
		(SELECT COUNT(*) FROM links WHERE organization_id = ? AND partner_id <> ? AND status IN ?) +
		(SELECT COUNT(*) FROM requests WHERE organization_id = ? AND partner_id <> ? AND state IN ?)`,
		orgID, partnerID, []string{LinkInvited, LinkActive},
		orgID, partnerID, []string{StatePendingApproval, StateInvited}).Scan(&n).Error
	return n > 0, err
}

// RequestConflicts is what stands against a partner's new request for an
// organization: checks 6 (an open request or a live link of the same
// partner) and the other-reseller warning, read in one round trip.
type RequestConflicts struct {
	OpenRequestID     int64  // the partner's oldest other open request (0: none)
	LiveLinkID        int64  // the partner's invited or active link (0: none)
	LiveLinkStatus    string // its status
	LiveLinkRequestID *int64 // the request that made it
	OtherReseller     bool   // another partner has a live link or an open request
}

// RequestConflicts reads, in one round trip, what OpenRequestFor, LiveLink
// and OtherResellerExists would (this runs for every request received).
func (q *Q) RequestConflicts(partnerID int64, orgID string, exceptID int64) (RequestConflicts, error) {
	var (
		open, linkID, linkReq sql.NullInt64
		linkStatus            sql.NullString
		other                 int64
	)
	live := []string{LinkInvited, LinkActive}
	row := q.db.Raw(`SELECT
		(SELECT id FROM requests WHERE partner_id = ? AND organization_id = ? AND state IN ? AND id <> ? ORDER BY id LIMIT 1),
		l.id, l.status, l.request_id,
		CASE WHEN EXISTS (SELECT 1 FROM links WHERE organization_id = ? AND partner_id <> ? AND status IN ?)
		       OR EXISTS (SELECT 1 FROM requests WHERE organization_id = ? AND partner_id <> ? AND state IN ?)
		     THEN 1 ELSE 0 END
		FROM (SELECT 1 AS one) one
		LEFT JOIN (SELECT id, status, request_id FROM links WHERE partner_id = ? AND organization_id = ? AND status IN ?
		           ORDER BY id LIMIT 1) l ON 1 = 1`,
		partnerID, orgID, OpenStates, exceptID,
		orgID, partnerID, live,
		orgID, partnerID, []string{StatePendingApproval, StateInvited},
		partnerID, orgID, live).Row()
	if err := row.Scan(&open, &linkID, &linkStatus, &linkReq, &other); err != nil {
		return RequestConflicts{}, fmt.Errorf("looking for requests and links of organization %s: %w", orgID, err)
	}
	c := RequestConflicts{OpenRequestID: open.Int64, LiveLinkID: linkID.Int64, LiveLinkStatus: linkStatus.String, OtherReseller: other > 0}
	if linkReq.Valid {
		id := linkReq.Int64
		c.LiveLinkRequestID = &id
	}
	return c, nil
}

// ---- findings and audit ----

// AddFinding records a finding on a request.
func (q *Q) AddFinding(requestID int64, code, detail string) error {
	f := newFinding(requestID, code, detail)
	return q.db.Create(&f).Error
}

func newFinding(requestID int64, code, detail string) Finding {
	return Finding{RequestID: requestID, Code: code, Detail: truncate(detail, 1000), CreatedAt: now()}
}

// Findings lists a request's findings in order.
func (q *Q) Findings(requestID int64) ([]Finding, error) {
	var fs []Finding
	err := q.db.Where("request_id = ?", requestID).Order("id").Find(&fs).Error
	return fs, err
}

// FindingsFor lists the findings of many requests, keyed by request id.
func (q *Q) FindingsFor(requestIDs []int64) (map[int64][]Finding, error) {
	out := map[int64][]Finding{}
	if len(requestIDs) == 0 {
		return out, nil
	}
	var fs []Finding
	if err := q.db.Where("request_id IN ?", requestIDs).Order("id").Find(&fs).Error; err != nil {
		return nil, err
	}
	for _, f := range fs {
		out[f.RequestID] = append(out[f.RequestID], f)
	}
	return out, nil
}

// AddAudit appends an audit entry.
func (q *Q) AddAudit(e *AuditEntry) error {
	auditDefaults(e)
	return q.db.Create(e).Error
}

func auditDefaults(e *AuditEntry) {
	if e.At.IsZero() {
		e.At = now()
	}
	e.Reason = truncate(e.Reason, 2000)
}

// Audit lists a request's audit trail in order.
func (q *Q) Audit(requestID int64) ([]AuditEntry, error) {
	var es []AuditEntry
	err := q.db.Where("request_id = ?", requestID).Order("id").Find(&es).Error
	return es, err
}

// ---- links and invitations ----

// InsertLink records a link.
func (q *Q) InsertLink(l *Link) error {
	t := now()
	l.CreatedAt, l.UpdatedAt = t, t
	if l.StartedAt.IsZero() {
		l.StartedAt = t
	}
	if l.Type == "" {
		l.Type = "reseller"
	}
	if err := q.db.Create(l).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("recording link: the partner already has a live link to %s: %w", l.OrganizationID, ErrConflict)
		}
		return fmt.Errorf("recording link: %w", err)
	}
	return nil
}

// Link returns one link.
func (q *Q) Link(id int64) (Link, error) {
	var l Link
	err := q.db.Where("id = ?", id).First(&l).Error
	return l, notFound(err, fmt.Sprintf("link %d", id))
}

// LiveLink returns the partner's invited or active link to the organization.
func (q *Q) LiveLink(partnerID int64, orgID string) (Link, error) {
	var l Link
	err := q.db.Where("partner_id = ? AND organization_id = ? AND status IN ?",
		partnerID, orgID, []string{LinkInvited, LinkActive}).First(&l).Error
	return l, notFound(err, "live link")
}

// LinkForRequest returns the link a request created.
func (q *Q) LinkForRequest(requestID int64) (Link, error) {
	var l Link
	err := q.db.Where("request_id = ?", requestID).Order("id DESC").First(&l).Error
	return l, notFound(err, "link of "+Reference(requestID))
}

// ListLinks lists links by id.
func (q *Q) ListLinks() ([]Link, error) {
	var ls []Link
	err := q.db.Order("id").Find(&ls).Error
	return ls, err
}

// SetLinkStatus moves a link between statuses; ending statuses set ended_at.
func (q *Q) SetLinkStatus(id int64, from []string, to string) error {
	t := now()
	set := map[string]any{"status": to, "updated_at": t}
	if to != LinkInvited && to != LinkActive {
		set["ended_at"] = t
	}
	res := q.db.Model(&Link{}).Where("id = ? AND status IN ?", id, from).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("moving link %d to %s: %w", id, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("moving link %d to %s: %w", id, to, ErrConflict)
	}
	return nil
}

// InsertInvitation records an invitation (its token's hash only).
func (q *Q) InsertInvitation(inv *Invitation) error {
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = now()
	}
	inv.UpdatedAt = inv.CreatedAt
	if inv.Status == "" {
		inv.Status = InvitePending
	}
	return q.db.Create(inv).Error
}

// InvitationByHash finds an invitation by its token hash.
func (q *Q) InvitationByHash(hash string) (Invitation, error) {
	var inv Invitation
	err := q.db.Where("token_hash = ?", hash).First(&inv).Error
	return inv, notFound(err, "invitation")
}

// Invitations lists a request's invitations, newest first.
func (q *Q) Invitations(requestID int64) ([]Invitation, error) {
	var out []Invitation
	err := q.db.Where("request_id = ?", requestID).Order("id DESC").Find(&out).Error
	return out, err
}

// SetInvitationStatus moves a pending invitation to another status.
func (q *Q) SetInvitationStatus(id int64, to string) error {
	t := now()
	set := map[string]any{"status": to, "updated_at": t}
	if to == InviteAccepted || to == InviteDeclined {
		set["used_at"] = t
	}
	res := q.db.Model(&Invitation{}).Where("id = ? AND status = ?", id, InvitePending).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("moving invitation %d to %s: %w", id, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("moving invitation %d to %s: %w", id, to, ErrConflict)
	}
	return nil
}

// DueExpiries lists pending invitations whose expiry has passed.
func (q *Q) DueExpiries(at time.Time, limit int) ([]Invitation, error) {
	var out []Invitation
	err := q.db.Where("status = ? AND expires_at <= ?", InvitePending, at.UTC()).Order("expires_at").Limit(limit).Find(&out).Error
	return out, err
}

// LastInvitationForOrg returns when the newest invitation for the
// organization was created (zero when none).
func (q *Q) LastInvitationForOrg(orgID string) (time.Time, error) {
	var invs []Invitation
	err := q.db.Joins("JOIN links ON links.id = invitations.link_id").
		Where("links.organization_id = ?", orgID).Order("invitations.created_at DESC").Limit(1).Find(&invs).Error
	if err != nil || len(invs) == 0 {
		return time.Time{}, err
	}
	return invs[0].CreatedAt, nil
}

// ---- ops users ----

// CreateOpsUser stores a console user with an already hashed password.
func (q *Q) CreateOpsUser(u *OpsUser) error {
	u.CreatedAt = now()
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if err := q.db.Create(u).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("creating ops user %s: exists already: %w", u.Email, ErrConflict)
		}
		return fmt.Errorf("creating ops user %s: %w", u.Email, err)
	}
	return nil
}

// OpsUserByEmail finds a console user.
func (q *Q) OpsUserByEmail(email string) (OpsUser, error) {
	var u OpsUser
	err := q.db.Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error
	return u, notFound(err, "ops user")
}

// ---- cursors and leases ----

// LoadCursor returns the intake position in a mailbox (zero when none).
func (s *Store) LoadCursor(ctx context.Context, mailbox string) (MailboxCursor, error) {
	var c MailboxCursor
	err := s.db.WithContext(ctx).Where("mailbox = ?", mailbox).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return MailboxCursor{Mailbox: mailbox}, nil
	}
	return c, err
}

// SaveCursor stores the intake position in a mailbox.
func (s *Store) SaveCursor(ctx context.Context, c MailboxCursor) error {
	c.UpdatedAt = now()
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "mailbox"}},
		DoUpdates: clause.AssignmentColumns([]string{"uid_validity", "last_uid", "updated_at"}),
	}).Create(&c).Error
}

// AcquireLease takes or renews the named lease for holder until now+ttl.
// It succeeds when the lease is free, expired, or already holder's.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	t := now()
	l := Lease{Name: name, Holder: holder, ExpiresAt: t.Add(ttl)}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.Assignments(map[string]any{"holder": holder, "expires_at": l.ExpiresAt}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "leases.holder = ? OR leases.expires_at < ?", Vars: []any{holder, t}},
		}},
	}).Create(&l)
	if res.Error != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives the lease up if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.db.WithContext(ctx).Where("name = ? AND holder = ?", name, holder).Delete(&Lease{}).Error
}
