package store

import "fmt"

// MessagesAt returns the messages recorded at these UIDs of one mailbox
// (UIDVALIDITY included), by UID: one query for a whole chunk instead of
// one per mail.
func (q *Q) MessagesAt(mailbox string, uidValidity int64, uids []int64) (map[int64]Message, error) {
	out := make(map[int64]Message, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	var ms []Message
	err := q.db.Where("mailbox = ? AND uid_validity = ? AND uid IN ?", mailbox, uidValidity, uids).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("looking up %d messages of %s/%d: %w", len(uids), mailbox, uidValidity, err)
	}
	for _, m := range ms {
		out[m.UID] = m
	}
	return out, nil
}
