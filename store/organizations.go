package store

import (
	"fmt"
	"strings"
)

// Organization queries for the database directory as ops edit it, one
// organization at a time (workflow/organizations.go).

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

// OrganizationRequests lists the requests for an organization, newest
// first; open only: just those in OpenStates.
func (q *Q) OrganizationRequests(orgID string, open bool, limit int) ([]Request, error) {
	db := q.db.Where("organization_id = ?", orgID)
	if open {
		db = db.Where("state IN ?", OpenStates)
	}
	var out []Request
	if err := db.Order("id DESC").Limit(clampLimit(limit)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing the requests for organization %s: %w", orgID, err)
	}
	return out, nil
}

// OrganizationLinks lists an organization's links, newest first.
func (q *Q) OrganizationLinks(orgID string) ([]Link, error) {
	var out []Link
	if err := q.db.Where("organization_id = ?", orgID).Order("id DESC").Limit(500).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("listing the links of organization %s: %w", orgID, err)
	}
	return out, nil
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

// SetRequestColumns sets columns of a request that is still in state,
// without moving it; ErrConflict when it is no longer there.
func (q *Q) SetRequestColumns(id int64, state string, set map[string]any) error {
	set["updated_at"] = now()
	res := q.db.Model(&Request{}).Where("id = ? AND state = ?", id, state).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("updating %s: %w", Reference(id), res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("updating %s in %s: %w", Reference(id), state, ErrConflict)
	}
	return nil
}
