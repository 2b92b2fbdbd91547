package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// AuditEntry records one transition: when, who, from, to, why.
type AuditEntry struct {
	ID        int64
	RequestID *int64
	LinkID    *int64
	At        time.Time
	Actor     string
	FromState string
	ToState   string
	Reason    string
	// Subject names what a registry entry is about (partner:3,
	// organization:UUID); "" for a request's or link's entries.
	Subject string
}

// TableName names the table.
func (AuditEntry) TableName() string { return "audit_entries" }

// RecentAudit lists the newest audit entries of every subject, newest
// first.
func (q *Q) RecentAudit(limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	if err := q.db.Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	return out, nil
}

// AuditSubject names what an entry is about: its Subject when it has one
// (partner:3, organization:UUID, ops_user:EMAIL), else request:ID or
// link:ID, else the ops_user:EMAIL that older ops-user entries start their
// reason with; "" when unknown.
func (e AuditEntry) AuditSubject() string {
	switch {
	case e.Subject != "":
		return e.Subject
	case e.RequestID != nil:
		return "request:" + strconv.FormatInt(*e.RequestID, 10)
	case e.LinkID != nil:
		return "link:" + strconv.FormatInt(*e.LinkID, 10)
	case strings.HasPrefix(e.Reason, "ops_user:"):
		s, _, _ := strings.Cut(e.Reason, " ")
		return s
	}
	return ""
}

// AuditList filters the global audit trail.
type AuditList struct {
	// Actor is who acted, as the entries name it ("system", partner:ADDR,
	// ops:ADDR); a bare address also matches ops:ADDR, since --by takes
	// the ops user's address and the workflow records it as ops:ADDR.
	Actor string
	// Subject is what the entries are about, as AuditSubject writes it;
	// request:ID matches every entry of the request, REQ-000042 included.
	Subject string
	// Since and Until bound the entries' time (zero: open).
	Since, Until time.Time
}

// ParseAuditSubject checks a subject filter (request:42, request:REQ-000042,
// partner:3, link:7, organization:UUID, ops_user:EMAIL) and returns it in
// the form AuditSubject writes.
func ParseAuditSubject(s string) (string, error) {
	kind, val, ok := strings.Cut(strings.TrimSpace(s), ":")
	val = strings.TrimSpace(val)
	if !ok || val == "" {
		return "", fmt.Errorf("subject %q: use request:42, partner:3, link:7, organization:UUID or ops_user:EMAIL", s)
	}
	switch kind {
	case "request":
		id, ok := ParseReference(val)
		if !ok {
			return "", fmt.Errorf("subject %q: a request is 42 or REQ-000042", s)
		}
		return "request:" + strconv.FormatInt(id, 10), nil
	case "partner", "link":
		id, err := strconv.ParseInt(val, 10, 64)
		if err != nil || id <= 0 {
			return "", fmt.Errorf("subject %q: a %s is a number", s, kind)
		}
		return kind + ":" + strconv.FormatInt(id, 10), nil
	case "organization", "ops_user":
		return kind + ":" + strings.ToLower(val), nil
	}
	return "", fmt.Errorf("subject %q: use request:42, partner:3, link:7, organization:UUID or ops_user:EMAIL", s)
}

var auditKeyset = keyset[AuditEntry]{col: "at", key: func(e AuditEntry) (any, any) { return e.At, e.ID }}

func (q *Q) auditList(f AuditList) (*gorm.DB, error) {
	db := q.db.Model(&AuditEntry{})
	if f.Actor != "" {
		actors := []string{f.Actor}
		if !strings.Contains(f.Actor, ":") && f.Actor != "system" {
			actors = append(actors, "ops:"+f.Actor)
		}
		db = db.Where("actor IN ?", actors)
	}
	if f.Subject != "" {
		s, err := ParseAuditSubject(f.Subject)
		if err != nil {
			return nil, err
		}
		kind, val, _ := strings.Cut(s, ":")
		switch kind {
		case "request":
			id, _ := strconv.ParseInt(val, 10, 64)
			db = db.Where("request_id = ?", id)
		case "link":
			id, _ := strconv.ParseInt(val, 10, 64)
			db = db.Where("(subject = ? OR link_id = ?)", s, id)
		default:
			db = db.Where("subject = ?", s)
		}
	}
	if !f.Since.IsZero() {
		db = db.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		db = db.Where("at < ?", f.Until.UTC())
	}
	return db, nil
}

// AuditPage lists one page of the audit trail, newest first.
func (q *Q) AuditPage(f AuditList, p Paging) (Page[AuditEntry], error) {
	db, err := q.auditList(f)
	if err != nil {
		return Page[AuditEntry]{}, err
	}
	pg, err := auditKeyset.page(db, p)
	if err != nil {
		return pg, fmt.Errorf("reading the audit trail: %w", err)
	}
	return pg, nil
}

// EachAudit calls fn with every audit entry of the list, newest first.
func (q *Q) EachAudit(f AuditList, fn func(AuditEntry) error) error {
	db, err := q.auditList(f)
	if err != nil {
		return err
	}
	return auditKeyset.each(db, fn)
}

// LastAuditID returns the id of a request's newest audit entry (0 when
// none). Every action on a request writes one, so it tells whether the
// request changed since a page was shown.
func (q *Q) LastAuditID(requestID int64) (int64, error) {
	var ids []int64
	err := q.db.Model(&AuditEntry{}).Where("request_id = ?", requestID).Order("id DESC").Limit(1).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

// LinkAudit lists the audit entries about a link, oldest first.
func (q *Q) LinkAudit(linkID int64) ([]AuditEntry, error) {
	var es []AuditEntry
	err := q.db.Where("link_id = ?", linkID).Order("id").Find(&es).Error
	return es, err
}

// OpsUserAudit lists the audit entries about an ops user, oldest first:
// entries of neither a request nor a link whose reason starts with
// "ops_user:EMAIL " (the subject, as the workflow writes it).
func (q *Q) OpsUserAudit(email string) ([]AuditEntry, error) {
	var out []AuditEntry
	prefix := escapeLike("ops_user:"+strings.ToLower(strings.TrimSpace(email))) + " %"
	err := q.db.Where("request_id IS NULL AND link_id IS NULL AND reason LIKE ? ESCAPE '\\'", prefix).
		Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("reading the audit of ops user %s: %w", email, err)
	}
	return out, nil
}

// SubjectAudit lists the audit entries about one subject (partner:3,
// organization:UUID), newest first.
func (q *Q) SubjectAudit(subject string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := q.db.Where("subject = ?", subject).Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("reading the audit trail of %s: %w", subject, err)
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
