package store

import (
	"fmt"

	"gorm.io/gorm"
)

// LinkList filters the console's link list and its export.
type LinkList struct {
	Status         string
	PartnerID      int64
	OrganizationID string
}

var linkKeyset = keyset[Link]{col: "started_at", key: func(l Link) (any, any) { return l.StartedAt, l.ID }}

func (q *Q) linkList(f LinkList) *gorm.DB {
	db := q.db.Model(&Link{})
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if f.PartnerID != 0 {
		db = db.Where("partner_id = ?", f.PartnerID)
	}
	if f.OrganizationID != "" {
		db = db.Where("organization_id = ?", f.OrganizationID)
	}
	return db
}

// LinkPage lists one page of links, the latest started first.
func (q *Q) LinkPage(f LinkList, p Paging) (Page[Link], error) {
	pg, err := linkKeyset.page(q.linkList(f), p)
	if err != nil {
		return pg, fmt.Errorf("listing links: %w", err)
	}
	return pg, nil
}
