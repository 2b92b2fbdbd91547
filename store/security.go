package store

import (
	"context"
	"fmt"
	"time"
)

// OutboxHeld marks an outbox mail that the workflow wrote but will not
// send on its own (a rate limit, a mailing list, a recipient that is no
// longer registered): LastError says why; RetryOutbox releases it.
const OutboxHeld = "held"

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

// TableName overrides.
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

// PurgeRawSources deletes the raw source of up to limit messages recorded
// before the cutoff and notes when (at). The record itself (sender,
// subject, disposition, checksum) stays. It returns how many were purged.
func (s *Store) PurgeRawSources(ctx context.Context, before, at time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	var n int64
	err := s.Transact(ctx, func(q *Q) error {
		var ids []int64
		if err := q.db.Model(&Message{}).Where("created_at < ? AND raw IS NOT NULL", before.UTC()).
			Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		res := q.db.Model(&Message{}).Where("id IN ?", ids).
			Updates(map[string]any{"raw": nil, "raw_deleted_at": at.UTC(), "updated_at": now()})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("deleting raw sources older than %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}
