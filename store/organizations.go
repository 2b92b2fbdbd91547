package store

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// Organization statuses (workflow's transition table, docs/state_machine.md).
const (
	// OrgInitializing: created in the directory for a new-organization
	// request, until its administrator accepts (product.md, turn 2).
	OrgInitializing = "initializing"
	OrgActive       = "active"
	OrgSuspended    = "suspended"
	OrgDeleted      = "deleted"
)

// Organization is an end customer's organization in the directory. ID is
// the canonical lower-case UUID.
type Organization struct {
	ID         string
	Name       string
	Status     string
	AdminName  string
	AdminEmail string
	Country    string
	Locale     string
	VatID      string `gorm:"column:vat_id"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CreateOrganization adds an organization; ErrConflict when its id is
// taken.
func (q *Q) CreateOrganization(o *Organization) error {
	q.memo.forget()
	t := now()
	o.CreatedAt, o.UpdatedAt = t, t
	if err := q.db.Create(o).Error; err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("organization %s exists already: %w", o.ID, ErrConflict)
		}
		return fmt.Errorf("adding organization %s: %w", o.ID, err)
	}
	return nil
}

// UpdateOrganization writes every field of o but its id and creation time.
func (q *Q) UpdateOrganization(o *Organization) error {
	q.memo.forget()
	o.UpdatedAt = now()
	res := q.db.Model(&Organization{}).Where("id = ?", o.ID).Updates(map[string]any{
		"name": o.Name, "status": o.Status, "admin_name": o.AdminName, "admin_email": o.AdminEmail,
		"country": o.Country, "locale": o.Locale, "vat_id": o.VatID, "updated_at": o.UpdatedAt,
	})
	if res.Error != nil {
		return fmt.Errorf("updating organization %s: %w", o.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("organization %s: %w", o.ID, ErrNotFound)
	}
	return nil
}

// OrganizationList filters the console's organization list.
type OrganizationList struct {
	Status string
	// Name matches a part of the name, or the start of the ID.
	Name string
}

var organizationKeyset = keyset[Organization]{col: "name", asc: true, text: true, textID: true,
	key: func(o Organization) (any, any) { return o.Name, o.ID }}

// OrganizationPage lists one page of the database directory, by name.
func (q *Q) OrganizationPage(f OrganizationList, p Paging) (Page[Organization], error) {
	db := q.db.Model(&Organization{})
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if s := strings.TrimSpace(f.Name); s != "" {
		db = db.Where("(LOWER(name) LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')",
			"%"+escapeLike(strings.ToLower(s))+"%", escapeLike(strings.ToLower(s))+"%")
	}
	pg, err := organizationKeyset.page(db, p)
	if err != nil {
		return pg, fmt.Errorf("listing organizations: %w", err)
	}
	return pg, nil
}

// OrganizationByVatID returns an organization that is not deleted with the
// VAT ID, compared without spaces, dots and dashes and in upper case;
// ErrNotFound when there is none.
func (q *Q) OrganizationByVatID(vat string) (Organization, error) {
	var o Organization
	err := q.db.Where("UPPER(REPLACE(REPLACE(REPLACE(vat_id, ' ', ''), '-', ''), '.', '')) = ? AND status <> ?",
		strings.ToUpper(vat), OrgDeleted).Order("id").First(&o).Error
	return o, notFound(err, "organization with VAT ID "+vat)
}

// OrganizationsInCountry lists up to limit organizations of a country that
// are not deleted (the similar-name check of new organizations).
func (q *Q) OrganizationsInCountry(country string, limit int) ([]Organization, error) {
	var out []Organization
	err := q.db.Where("country = ? AND status <> ?", country, OrgDeleted).Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("listing the organizations of %s: %w", country, err)
	}
	return out, nil
}

// SetOrganizationStatus moves an organization from one status to another;
// ErrConflict when it is no longer in from.
func (q *Q) SetOrganizationStatus(id, from, to string) error {
	q.memo.forget()
	res := q.db.Model(&Organization{}).Where("id = ? AND status = ?", id, from).
		Updates(map[string]any{"status": to, "updated_at": now()})
	if res.Error != nil {
		return fmt.Errorf("moving organization %s to %s: %w", id, to, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("moving organization %s from %s to %s: %w", id, from, to, ErrConflict)
	}
	return nil
}

// OrganizationsByID returns the organizations with these ids, keyed by id.
func (q *Q) OrganizationsByID(ids []string) (map[string]Organization, error) {
	out := map[string]Organization{}
	if len(ids) == 0 {
		return out, nil
	}
	var os []Organization
	if err := q.db.Where("id IN ?", ids).Find(&os).Error; err != nil {
		return nil, fmt.Errorf("loading organizations: %w", err)
	}
	for _, o := range os {
		out[o.ID] = o
	}
	return out, nil
}

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
