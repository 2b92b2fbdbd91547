package store

import (
	"fmt"
	"time"
)

// AnswerLog records one answer caused by a received mail, sent or held.
// The answer rate limits count the rows that were not held.
type AnswerLog struct {
	ID        int64
	OutboxID  int64
	PartnerID int64
	Recipient string // lower-case address
	Held      bool
	Reason    string
	At        time.Time
}

// TableName names the table.
func (AnswerLog) TableName() string { return "answer_log" }

// LogAnswer records an answer for the rate limits.
func (q *Q) LogAnswer(a *AnswerLog) error {
	answerDefaults(a)
	if err := q.db.Create(a).Error; err != nil {
		return fmt.Errorf("logging answer to %s: %w", a.Recipient, err)
	}
	return nil
}

func answerDefaults(a *AnswerLog) {
	a.At = a.At.UTC()
	a.Reason = truncate(a.Reason, 1000)
}

// AnswersSince counts the answers not held since the given time: to one
// recipient, and to every address of one partner. Each count stops at its
// cap (capRecipient, capPartner: the limits it is compared with), so that
// a big backlog day does not make every count slower than the last.
func (q *Q) AnswersSince(recipient string, partnerID int64, since time.Time, capRecipient, capPartner int) (toRecipient, toPartner int64, err error) {
	since = since.UTC()
	// One round trip for both counts (this runs for every answer queued).
	row := q.db.Raw(`SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM answer_log WHERE recipient = ? AND at >= ? AND held = ? LIMIT ?) r),
		(SELECT COUNT(*) FROM (SELECT 1 FROM answer_log WHERE partner_id = ? AND at >= ? AND held = ? LIMIT ?) p)`,
		recipient, since, false, max(capRecipient, 0), partnerID, since, false, max(capPartner, 0)).Row()
	if err := row.Scan(&toRecipient, &toPartner); err != nil {
		return 0, 0, fmt.Errorf("counting answers to %s and partner %d: %w", recipient, partnerID, err)
	}
	return toRecipient, toPartner, nil
}
