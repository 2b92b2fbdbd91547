package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/onboarder/onboarder/store"
)

// JSON shapes of the CLI contract (../shared/spec/cli.md) and the
// helpers that print lists as JSON or as tab-separated text.

type jsonRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type jsonFinding struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

type jsonRequest struct {
	ID             int64         `json:"id"`
	Reference      string        `json:"reference"`
	State          string        `json:"state"`
	CustomerName   string        `json:"customer_name"`
	OrganizationID *string       `json:"organization_id"`
	Partner        *jsonRef      `json:"partner"`
	Sender         string        `json:"sender"`
	MessageID      *string       `json:"message_id"`
	Findings       []jsonFinding `json:"findings"`
	Kind           string        `json:"kind"`
	Distributor    *jsonRef      `json:"distributor"`
	// NewOrganization is the parsed company and contact fields of a
	// new_organization request, as stored; null for other kinds.
	NewOrganization json.RawMessage `json:"new_organization"`
	ReceivedAt      string          `json:"received_at"`
	UpdatedAt       string          `json:"updated_at"`
}

// jsonRecipient is whom a request's invitation goes (or went) to.
type jsonRecipient struct {
	Email  string  `json:"email"`
	Name   *string `json:"name"`
	Source string  `json:"source"` // directory or partner_suggested
}

// jsonRequestShow is `requests show`: the request, its invitation's
// recipient, and the contact the partner suggested (never invited unless
// ops pick it: `requests approve --invite-contact`).
type jsonRequestShow struct {
	jsonRequest
	// Mails and Audit are [] when there are none: the keys are the contract.
	Mails            []jsonOutbox   `json:"mails"`
	Audit            []jsonAudit    `json:"audit"`
	InviteRecipient  *jsonRecipient `json:"invite_recipient"`
	SuggestedContact *string        `json:"suggested_contact"`
	// SuggestedRefused says why the suggested contact cannot be picked.
	SuggestedRefused *string `json:"suggested_contact_refused"`
}

type jsonAudit struct {
	At     string  `json:"at"`
	Actor  string  `json:"actor"`
	From   *string `json:"from"`
	To     *string `json:"to"`
	Reason string  `json:"reason"`
}

// jsonAuditEntry is one entry of `audit list`: jsonAudit with what it is
// about (request:42, partner:3, link:7, organization:UUID, ops_user:EMAIL).
type jsonAuditEntry struct {
	At      string  `json:"at"`
	Actor   string  `json:"actor"`
	Subject *string `json:"subject"`
	From    *string `json:"from"`
	To      *string `json:"to"`
	Reason  string  `json:"reason"`
}

type jsonMessage struct {
	ID          int64   `json:"id"`
	MessageID   *string `json:"message_id"`
	From        string  `json:"from"`
	Subject     string  `json:"subject"`
	Disposition string  `json:"disposition"`
	RequestID   *int64  `json:"request_id"`
	ReceivedAt  string  `json:"received_at"`
	Detail      string  `json:"detail"`
	Attempts    int     `json:"attempts"`
	LastError   *string `json:"last_error"`
	Size        int64   `json:"size"`
}

type jsonOutbox struct {
	ID        int64    `json:"id"`
	Kind      string   `json:"kind"`
	To        []string `json:"to"`
	Subject   string   `json:"subject"`
	Status    string   `json:"status"`
	Attempts  int      `json:"attempts"`
	MessageID string   `json:"message_id"`
	RequestID *int64   `json:"request_id"`
	LastError *string  `json:"last_error"`
	InReplyTo *string  `json:"in_reply_to"`
	CreatedAt string   `json:"created_at"`
	SentAt    *string  `json:"sent_at"`
}

type jsonLink struct {
	ID             int64    `json:"id"`
	Partner        jsonRef  `json:"partner"`
	OrganizationID string   `json:"organization_id"`
	Distributor    *jsonRef `json:"distributor"`
	Type           string   `json:"type"`
	Status         string   `json:"status"`
	RequestID      *int64   `json:"request_id"`
	StartedAt      string   `json:"started_at"`
	EndsAt         *string  `json:"ends_at"`
	EndedAt        *string  `json:"ended_at"`
	EndedBy        *string  `json:"ended_by"`
	EndReason      *string  `json:"end_reason"`
	UpdatedAt      string   `json:"updated_at"`
}

type jsonPartner struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Ref     *string  `json:"ref"`
	Status  string   `json:"status"`
	Locale  string   `json:"locale"`
	Trusted bool     `json:"trusted"`
	Emails  []string `json:"emails"`
	Domains []string `json:"domains"`
	Parent  *jsonRef `json:"parent"`
}

type jsonOrg struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	AdminName  *string `json:"admin_name"`
	AdminEmail *string `json:"admin_email"`
	Country    *string `json:"country"`
	Locale     string  `json:"locale"`
	VatID      *string `json:"vat_id"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsp(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := ts(*t)
	return &s
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func outboxJSON(m store.OutboxMail) jsonOutbox {
	to := m.To()
	if to == nil {
		to = []string{}
	}
	return jsonOutbox{ID: m.ID, Kind: m.Kind, To: to, Subject: m.Subject, Status: m.Status, Attempts: m.Attempts,
		MessageID: m.MessageID, RequestID: m.RequestID, LastError: nullable(m.LastError), InReplyTo: nullable(m.InReplyTo),
		CreatedAt: ts(m.CreatedAt), SentAt: tsp(m.SentAt)}
}

func messageJSON(m store.Message) jsonMessage {
	return jsonMessage{ID: m.ID, MessageID: nullable(m.MessageID), From: m.FromAddr, Subject: m.Subject,
		Disposition: m.Disposition, RequestID: m.RequestID, ReceivedAt: ts(m.ReceivedAt), Detail: m.Detail,
		Attempts: m.Attempts, LastError: nullable(m.LastError), Size: m.Size}
}

// requestJSON builds a request's JSON; partners maps ids to names.
func requestJSON(r store.Request, partners map[int64]string, findings []store.Finding) jsonRequest {
	j := jsonRequest{ID: r.ID, Reference: r.Reference(), State: r.State, CustomerName: r.CustomerName,
		OrganizationID: r.OrganizationID, Sender: r.Sender, MessageID: nullable(r.MessageID),
		Findings: []jsonFinding{}, Kind: r.Kind, NewOrganization: json.RawMessage("null"),
		ReceivedAt: ts(r.ReceivedAt), UpdatedAt: ts(r.UpdatedAt)}
	if j.Kind == "" {
		j.Kind = store.KindConnect
	}
	if r.PartnerID != nil {
		j.Partner = &jsonRef{ID: *r.PartnerID, Name: partners[*r.PartnerID]}
	}
	if r.DistributorID != nil {
		j.Distributor = &jsonRef{ID: *r.DistributorID, Name: partners[*r.DistributorID]}
	}
	if r.NewOrg != "" && json.Valid([]byte(r.NewOrg)) {
		j.NewOrganization = json.RawMessage(r.NewOrg)
	}
	for _, f := range findings {
		j.Findings = append(j.Findings, jsonFinding{Code: f.Code, Detail: f.Detail})
	}
	return j
}

func (e *env) partnerNames() (map[int64]string, error) {
	ps, err := e.st.Q(e.ctx).Partners()
	if err != nil {
		return nil, err
	}
	m := map[int64]string{}
	for _, p := range ps {
		m[p.ID] = p.Name
	}
	return m, nil
}

func jsonFlag(fs *flag.FlagSet) *bool { return fs.Bool("json", false, "print JSON") }

// printList prints rows as one JSON array (empty, not null, when there are
// none) or as an aligned table with a header.
func printList[T, J any](e *env, asJSON bool, rows []T, toJSON func(T) J, header string, line func(T) string) error {
	if asJSON {
		out := make([]J, 0, len(rows))
		for _, r := range rows {
			out = append(out, toJSON(r))
		}
		return writeJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, line(r))
	}
	return tw.Flush()
}
