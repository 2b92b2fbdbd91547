package store

import "fmt"

var messageKeyset = keyset[Message]{col: "received_at", key: func(m Message) (any, any) { return m.ReceivedAt, m.ID }}

// MessagePage lists one page of received mails, newest first, without
// their raw source; disposition "" lists all.
func (q *Q) MessagePage(disposition string, p Paging) (Page[Message], error) {
	db := q.db.Model(&Message{}).Omit("raw")
	if disposition != "" {
		db = db.Where("disposition = ?", disposition)
	}
	pg, err := messageKeyset.page(db, p)
	if err != nil {
		return pg, fmt.Errorf("listing received mails: %w", err)
	}
	return pg, nil
}
