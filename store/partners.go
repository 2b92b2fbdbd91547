package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Partner statuses.
const (
	PartnerActive    = "active"
	PartnerSuspended = "suspended"
)

// Partner is a registered reseller.
type Partner struct {
	ID      int64
	Name    string
	Ref     string
	Status  string
	Locale  string
	Trusted bool
	// ParentID is the distributor the partner sells through (nil: none).
	ParentID  *int64
	CreatedAt time.Time
	UpdatedAt time.Time
	Rules     []SenderRule `gorm:"foreignKey:PartnerID"`
}

// Emails and Domains list the partner's sender rules by kind.
func (p Partner) Emails() []string { return p.rulesOf(RuleEmail) }

func (p Partner) Domains() []string { return p.rulesOf(RuleDomain) }

func (p Partner) rulesOf(kind string) []string {
	out := []string{}
	for _, r := range p.Rules {
		if r.Kind == kind {
			out = append(out, r.Value)
		}
	}
	return out
}

// Sender rule kinds.
const (
	RuleEmail  = "email"
	RuleDomain = "domain"
)

// SenderRule allows an exact address or a whole domain to send for a partner.
type SenderRule struct {
	ID        int64
	PartnerID int64
	Kind      string
	Value     string
}

// UpdatePartner writes a partner's fields (name, ref, locale, trusted,
// parent) and replaces its sender rules with emails and domains. It
// returns ErrNotFound when there is no such partner and ErrConflict when a
// rule already belongs to another partner.
func (q *Q) UpdatePartner(p *Partner, emails, domains []string) error {
	q.memo.forget()
	p.UpdatedAt = now()
	res := q.db.Model(&Partner{}).Where("id = ?", p.ID).Updates(map[string]any{
		"name": p.Name, "ref": p.Ref, "locale": p.Locale, "trusted": p.Trusted, "parent_id": p.ParentID,
		"updated_at": p.UpdatedAt,
	})
	if res.Error != nil {
		return fmt.Errorf("updating partner %d: %w", p.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("partner %d: %w", p.ID, ErrNotFound)
	}
	if err := q.db.Where("partner_id = ?", p.ID).Delete(&SenderRule{}).Error; err != nil {
		return fmt.Errorf("replacing the sender rules of partner %d: %w", p.ID, err)
	}
	p.Rules = nil
	for _, e := range emails {
		p.Rules = append(p.Rules, SenderRule{PartnerID: p.ID, Kind: RuleEmail, Value: strings.ToLower(strings.TrimSpace(e))})
	}
	for _, d := range domains {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		p.Rules = append(p.Rules, SenderRule{PartnerID: p.ID, Kind: RuleDomain, Value: d})
	}
	if len(p.Rules) == 0 {
		return nil
	}
	if err := q.db.Create(&p.Rules).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("updating partner %q: a sender address or domain already belongs to another partner: %w", p.Name, ErrConflict)
		}
		return fmt.Errorf("writing the sender rules of partner %d: %w", p.ID, err)
	}
	return nil
}

// SetPartnerStatus moves a partner from one status to another; it returns
// ErrConflict when the partner is not in from (or does not exist).
func (q *Q) SetPartnerStatus(id int64, from, to string) error {
	q.memo.forget()
	res := q.db.Model(&Partner{}).Where("id = ? AND status = ?", id, from).
		Updates(map[string]any{"status": to, "updated_at": now()})
	if res.Error != nil {
		return fmt.Errorf("setting partner %d %s: %w", id, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("partner %d is not %s: %w", id, from, ErrConflict)
	}
	return nil
}

// RuleConflict is a sender rule of another partner that clashes with a
// rule being written.
type RuleConflict struct {
	Rule        SenderRule
	PartnerName string
}

// ConflictingRules lists the rules of partners other than partnerID (0: of
// any partner) that clash with these addresses and domains: the same
// address, the same domain, an address inside another partner's domain,
// or a domain holding another partner's address.
func (q *Q) ConflictingRules(partnerID int64, emails, domains []string) ([]RuleConflict, error) {
	var conds []string
	var args []any
	for _, e := range emails {
		conds = append(conds, "(kind = ? AND value = ?)")
		args = append(args, RuleEmail, e)
		if at := strings.LastIndexByte(e, '@'); at >= 0 {
			conds = append(conds, "(kind = ? AND value = ?)")
			args = append(args, RuleDomain, e[at+1:])
		}
	}
	for _, d := range domains {
		conds = append(conds, "(kind = ? AND value = ?)", "(kind = ? AND value LIKE ? ESCAPE '\\')")
		args = append(args, RuleDomain, d, RuleEmail, "%@"+escapeLike(d))
	}
	if len(conds) == 0 {
		return nil, nil
	}
	var rules []SenderRule
	err := q.db.Where("partner_id <> ?", partnerID).Where("("+strings.Join(conds, " OR ")+")", args...).
		Order("id").Find(&rules).Error
	if err != nil {
		return nil, fmt.Errorf("looking for clashing sender rules: %w", err)
	}
	var out []RuleConflict
	for _, r := range rules {
		p, err := q.Partner(r.PartnerID)
		if err != nil {
			return nil, err
		}
		out = append(out, RuleConflict{Rule: r, PartnerName: p.Name})
	}
	return out, nil
}

// PartnerChildren lists the partners whose parent distributor is id.
func (q *Q) PartnerChildren(id int64) ([]Partner, error) {
	var out []Partner
	err := q.db.Preload("Rules", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Where("parent_id = ?", id).Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("listing the partners below %d: %w", id, err)
	}
	return out, nil
}

// PartnerList filters the console's partner list.
type PartnerList struct {
	Status string
	// Name matches a part of the partner's name.
	Name string
}

var partnerKeyset = keyset[Partner]{col: "name", asc: true, text: true, key: func(p Partner) (any, any) { return p.Name, p.ID }}

// PartnerPage lists one page of partners with their rules, by name.
func (q *Q) PartnerPage(f PartnerList, p Paging) (Page[Partner], error) {
	db := q.db.Model(&Partner{}).Preload("Rules", func(db *gorm.DB) *gorm.DB { return db.Order("id") })
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if s := strings.TrimSpace(f.Name); s != "" {
		db = db.Where("LOWER(name) LIKE ? ESCAPE '\\'", "%"+escapeLike(strings.ToLower(s))+"%")
	}
	pg, err := partnerKeyset.page(db, p)
	if err != nil {
		return pg, fmt.Errorf("listing partners: %w", err)
	}
	return pg, nil
}

// PartnersByRefOrName lists the active partners whose reference or name
// is s, without regard to case: the partner an administrator names.
func (q *Q) PartnersByRefOrName(s string) ([]Partner, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	var ps []Partner
	if s == "" {
		return ps, nil
	}
	err := q.db.Preload("Rules").Where("status = ? AND (LOWER(ref) = ? OR LOWER(name) = ?)", PartnerActive, s, s).
		Order("id").Find(&ps).Error
	return ps, err
}

// Reseller finds the partner with reference ref whose distributor is
// distributorID (ErrNotFound when the distributor has no such reseller).
func (q *Q) Reseller(distributorID int64, ref string) (Partner, error) {
	var p Partner
	err := q.db.Preload("Rules").Where("parent_id = ? AND LOWER(ref) = ?", distributorID, strings.ToLower(strings.TrimSpace(ref))).
		First(&p).Error
	return p, notFound(err, "reseller "+ref)
}

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
