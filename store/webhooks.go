package store

import (
	"context"
	"fmt"
	"time"
)

// Webhook event statuses.
const (
	WebhookPending = "pending"
	WebhookSent    = "sent"
	WebhookFailed  = "failed"
)

// WebhookEvent is one event for ONBOARDER_WEBHOOK_URL: written in the
// transaction of the transition it reports (like an outbox mail), then
// delivered by the webhook dispatcher.
type WebhookEvent struct {
	ID        int64
	EventID   string // unique, sent as the delivery id
	Type      string // e.g. request.pending_approval, link.active
	RequestID *int64
	LinkID    *int64
	Payload   string // the JSON body, exactly as sent and signed
	Delivery
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InsertWebhook writes a new pending event, due now.
func (q *Q) InsertWebhook(e *WebhookEvent) error {
	t := now()
	if e.Status == "" {
		e.Status = WebhookPending
	}
	if e.NextAttemptAt.IsZero() {
		e.NextAttemptAt = t
	}
	e.CreatedAt, e.UpdatedAt = t, t
	if err := q.db.Create(e).Error; err != nil {
		return fmt.Errorf("inserting webhook event %s: %w", e.Type, err)
	}
	return nil
}

// ClaimWebhooks takes up to limit due pending events for holder, recording
// the attempt before anything is sent (as ClaimOutbox does).
func (s *Store) ClaimWebhooks(ctx context.Context, holder string, limit int, lease time.Duration, at time.Time) ([]WebhookEvent, error) {
	rows, err := claimRows[WebhookEvent](ctx, s, "webhook_events", WebhookPending, holder, limit, lease, at)
	if err != nil {
		return nil, fmt.Errorf("claiming webhook events: %w", err)
	}
	return rows, nil
}

// MarkWebhookSent records a 2xx answer (only while holder holds the lease).
func (s *Store) MarkWebhookSent(ctx context.Context, id int64, holder string, at time.Time) error {
	return s.finishWebhook(ctx, id, holder, map[string]any{"status": WebhookSent, "sent_at": at.UTC(), "last_error": ""})
}

// MarkWebhookRetry puts the event back for another attempt at next.
func (s *Store) MarkWebhookRetry(ctx context.Context, id int64, holder string, next time.Time, errText string) error {
	return s.finishWebhook(ctx, id, holder, map[string]any{"next_attempt_at": next.UTC(), "last_error": truncate(errText, 2000)})
}

// MarkWebhookFailed gives the event up.
func (s *Store) MarkWebhookFailed(ctx context.Context, id int64, holder string, errText string) error {
	return s.finishWebhook(ctx, id, holder, map[string]any{"status": WebhookFailed, "last_error": truncate(errText, 2000)})
}

func (s *Store) finishWebhook(ctx context.Context, id int64, holder string, set map[string]any) error {
	return finishClaimed[WebhookEvent](ctx, s, "webhook event", id, WebhookPending, holder, set)
}

// NextWebhookDue returns when the earliest pending event becomes due.
func (s *Store) NextWebhookDue(ctx context.Context) (time.Time, bool, error) {
	return nextDue(ctx, s, "webhook_events", WebhookPending)
}

// ListWebhooks lists events, oldest first (status "" for all).
func (q *Q) ListWebhooks(status string, limit int) ([]WebhookEvent, error) {
	db := q.db.Model(&WebhookEvent{})
	if status != "" {
		db = db.Where("status = ?", status)
	}
	if limit > 0 {
		db = db.Limit(limit)
	}
	var out []WebhookEvent
	err := db.Order("id").Find(&out).Error
	return out, err
}
