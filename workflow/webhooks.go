package workflow

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/onboarder/onboarder/store"
)

// Webhook event types are "request.<state>" and "link.<status>", one for
// every transition, e.g. request.pending_approval, request.invited,
// link.invited, link.active, link.revoked, link.ended (with who ended it
// and why), link.expired; and organization.fraud_reported
// and organization.fraud_cleared for fraud reports (fraud.go).

// Event is the JSON body of a webhook delivery.
type Event struct {
	ID         string        `json:"id"`   // unique per event; also the X-Onboarder-Delivery header
	Type       string        `json:"type"` // request.<state>, link.<status> or organization.fraud_*
	OccurredAt time.Time     `json:"occurred_at"`
	Actor      string        `json:"actor,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Request    *EventRequest `json:"request,omitempty"`
	Link       *EventLink    `json:"link,omitempty"`
	// FraudReport: the report of an organization.fraud_* event.
	FraudReport *EventFraudReport `json:"fraud_report,omitempty"`
}

// EventRequest is the request an event is about.
type EventRequest struct {
	ID             int64     `json:"id"`
	Reference      string    `json:"reference"`
	State          string    `json:"state"`
	PreviousState  *string   `json:"previous_state"`
	OrganizationID *string   `json:"organization_id"`
	CustomerName   string    `json:"customer_name"`
	Partner        *EventRef `json:"partner"`
}

// EventLink is the link an event is about.
type EventLink struct {
	ID             int64     `json:"id"`
	Status         string    `json:"status"`
	PreviousStatus *string   `json:"previous_status"`
	OrganizationID string    `json:"organization_id"`
	Partner        *EventRef `json:"partner"`
	RequestID      *int64    `json:"request_id"`
}

// EventRef names a partner.
type EventRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func (t *txn) partnerRef(id *int64) *EventRef {
	if id == nil {
		return nil
	}
	p, err := t.Partner(*id)
	if err != nil {
		return &EventRef{ID: *id}
	}
	return &EventRef{ID: p.ID, Name: p.Name}
}

func (t *txn) linkEvent(id int64, prev, actor string) error {
	return t.linkEventWhy(id, prev, actor, "")
}

// linkEventWhy writes a link's event with who moved it and why.
func (t *txn) linkEventWhy(id int64, prev, actor, reason string) error {
	if !t.s.opts.Webhooks {
		return nil
	}
	l, err := t.Link(id)
	if err != nil {
		return fmt.Errorf("reading link %d for its webhook event: %w", id, err)
	}
	e := Event{Type: "link." + l.Status, Actor: actor, Reason: truncateString(reason, 500), Link: &EventLink{ID: l.ID, Status: l.Status,
		OrganizationID: l.OrganizationID, Partner: t.partnerRef(&l.PartnerID), RequestID: l.RequestID}}
	if prev != "" {
		e.Link.PreviousStatus = &prev
	}
	return t.writeEvent(e, l.RequestID, &l.ID)
}

// requestEvent is written by audit for every entry that changes the state.
func (t *txn) requestEvent(reqID int64, linkID *int64, actor, from, to, reason string) error {
	if !t.s.opts.Webhooks || reqID == 0 || to == "" || to == from {
		return nil
	}
	r, err := t.Request(reqID)
	if err != nil {
		return fmt.Errorf("reading %s for its webhook event: %w", store.Reference(reqID), err)
	}
	e := Event{Type: "request." + to, Actor: actor, Reason: truncateString(reason, 500),
		Request: &EventRequest{ID: r.ID, Reference: r.Reference(), State: to, OrganizationID: r.OrganizationID,
			CustomerName: r.CustomerName, Partner: t.partnerRef(r.PartnerID)}}
	if from != "" {
		e.Request.PreviousState = &from
	}
	return t.writeEvent(e, &r.ID, linkID)
}

func (t *txn) writeEvent(e Event, reqID, linkID *int64) error {
	b := make([]byte, 12)
	rand.Read(b)
	e.ID = "evt_" + hex.EncodeToString(b)
	e.OccurredAt = t.s.now()
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding webhook event %s: %w", e.Type, err)
	}
	if err := t.InsertWebhook(&store.WebhookEvent{EventID: e.ID, Type: e.Type, RequestID: reqID, LinkID: linkID,
		Payload: string(body)}); err != nil {
		return err
	}
	t.webhooks++
	return nil
}
