package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

func cmdMigrate(e *env) error {
	if _, err := e.flags(flag.NewFlagSet("migrate", flag.ContinueOnError)); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	v, err := e.st.SchemaVersion(e.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema at version %d (%s)\n", v, e.st.Dialect())
	return nil
}

// ---- JSON shapes (cli.md) ----

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
	ReceivedAt     string        `json:"received_at"`
	UpdatedAt      string        `json:"updated_at"`
	Mails          []jsonOutbox  `json:"mails,omitempty"`
	Audit          []jsonAudit   `json:"audit,omitempty"`
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
	ID             int64   `json:"id"`
	Partner        jsonRef `json:"partner"`
	OrganizationID string  `json:"organization_id"`
	Type           string  `json:"type"`
	Status         string  `json:"status"`
	RequestID      *int64  `json:"request_id"`
	StartedAt      string  `json:"started_at"`
	EndedAt        *string `json:"ended_at"`
	UpdatedAt      string  `json:"updated_at"`
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
}

type jsonOrg struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	AdminName  *string `json:"admin_name"`
	AdminEmail *string `json:"admin_email"`
	Country    *string `json:"country"`
	Locale     string  `json:"locale"`
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
		Findings: []jsonFinding{}, ReceivedAt: ts(r.ReceivedAt), UpdatedAt: ts(r.UpdatedAt)}
	if r.PartnerID != nil {
		j.Partner = &jsonRef{ID: *r.PartnerID, Name: partners[*r.PartnerID]}
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

// ---- requests ----

func cmdRequestsList(e *env) error {
	fs := flag.NewFlagSet("requests list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	state := fs.String("state", "", "only requests in this state")
	partner := fs.Int64("partner", 0, "only requests of this partner id")
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	q := e.st.Q(e.ctx)
	rs, err := q.ListRequests(store.RequestFilter{State: *state, PartnerID: *partner})
	if err != nil {
		return err
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	fds, err := q.FindingsFor(ids)
	if err != nil {
		return err
	}
	toJSON := func(r store.Request) jsonRequest { return requestJSON(r, names, fds[r.ID]) }
	return printList(e, *asJSON, rs, toJSON, "REFERENCE\tSTATE\tPARTNER\tCUSTOMER\tORGANIZATION\tFINDINGS\tRECEIVED", func(r store.Request) string {
		var codes []string
		for _, f := range fds[r.ID] {
			codes = append(codes, f.Code)
		}
		partner := "-"
		if r.PartnerID != nil {
			partner = names[*r.PartnerID]
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Reference(), r.State, partner, orDash(r.CustomerName),
			orDash(deref(r.OrganizationID)), orDash(strings.Join(codes, ",")), r.ReceivedAt.Format(time.DateTime))
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdRequestsShow(e *env) error {
	fs := flag.NewFlagSet("requests show", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := requestArg(pos)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	q := e.st.Q(e.ctx)
	r, err := q.Request(id)
	if err != nil {
		return explain(err, "showing "+store.Reference(id))
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	fds, err := q.Findings(r.ID)
	if err != nil {
		return err
	}
	mails, err := q.ListOutbox(store.OutboxFilter{RequestID: r.ID})
	if err != nil {
		return err
	}
	audit, err := q.Audit(r.ID)
	if err != nil {
		return err
	}
	j := requestJSON(r, names, fds)
	j.Mails = []jsonOutbox{}
	for _, m := range mails {
		j.Mails = append(j.Mails, outboxJSON(m))
	}
	j.Audit = []jsonAudit{}
	for _, a := range audit {
		j.Audit = append(j.Audit, jsonAudit{At: ts(a.At), Actor: a.Actor, From: nullable(a.FromState), To: nullable(a.ToState), Reason: a.Reason})
	}
	rc, err := e.wf.InviteRecipient(e.ctx, r.ID)
	if err != nil {
		return explain(err, "showing "+store.Reference(id))
	}
	show := jsonRequestShow{jsonRequest: j, SuggestedContact: nullable(rc.Suggested), SuggestedRefused: nullable(rc.SuggestedRefused)}
	if rc.Email != "" {
		show.InviteRecipient = &jsonRecipient{Email: rc.Email, Name: nullable(rc.Name), Source: rc.Source}
	}
	if *asJSON {
		return writeJSON(e.stdout, show)
	}
	w := e.stdout
	fmt.Fprintf(w, "%s  %s\n", j.Reference, j.State)
	partner := "-"
	if j.Partner != nil {
		partner = fmt.Sprintf("%s (%d)", j.Partner.Name, j.Partner.ID)
	}
	fmt.Fprintf(w, "  partner:       %s\n  sender:        %s\n  customer:      %s\n  organization:  %s\n  received:      %s\n",
		partner, j.Sender, orDash(j.CustomerName), orDash(deref(j.OrganizationID)), j.ReceivedAt)
	fmt.Fprintf(w, "  invitation to: %s\n", recipientLine(rc))
	if rc.Suggested != "" {
		fmt.Fprintf(w, "  contact suggested by the partner: %s (%s)\n", rc.Suggested,
			orText(rc.SuggestedRefused, "not invited unless you approve with --invite-contact "+rc.Suggested))
	}
	fmt.Fprintln(w, "findings:")
	for _, f := range j.Findings {
		fmt.Fprintf(w, "  %s: %s\n", f.Code, f.Detail)
	}
	fmt.Fprintln(w, "mails:")
	for _, m := range j.Mails {
		fmt.Fprintf(w, "  #%d %s to %s: %s (attempts %d)\n", m.ID, m.Kind, strings.Join(m.To, ", "), m.Status, m.Attempts)
	}
	fmt.Fprintln(w, "audit:")
	for _, a := range j.Audit {
		fmt.Fprintf(w, "  %s %s %s -> %s: %s\n", a.At, a.Actor, orDash(deref(a.From)), orDash(deref(a.To)), a.Reason)
	}
	return nil
}

// recipientLine names an invitation's recipient and where the address
// came from.
func recipientLine(rc workflow.Recipient) string {
	switch {
	case rc.Email == "":
		return "nobody yet: the directory has no administrator address"
	case rc.Source == store.RecipientSuggested:
		return rc.Email + " (the contact the partner suggested, picked by ops)"
	case rc.Name != "":
		return fmt.Sprintf("%s <%s> (the directory's administrator)", rc.Name, rc.Email)
	}
	return rc.Email + " (the directory's administrator)"
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func cmdRequestsApprove(e *env) error {
	fs := flag.NewFlagSet("requests approve", flag.ContinueOnError)
	by := fs.String("by", "", "who approves (recorded in the audit trail)")
	note := fs.String("note", "", "a note for the partner and the audit trail")
	contact := fs.String("invite-contact", "", "invite this address, the contact the partner suggested, when the directory has no administrator address (audited; never an address of the partner's)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := requestArg(pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required: say who approves")
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.ApproveWith(e.ctx, id, workflow.Approval{By: *by, Note: *note, InviteContact: *contact}); err != nil {
		return explain(err, "approving "+store.Reference(id))
	}
	rc, err := e.wf.InviteRecipient(e.ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s approved: invitation queued for %s\n", store.Reference(id), recipientLine(rc))
	return nil
}

func cmdRequestsReject(e *env) error {
	fs := flag.NewFlagSet("requests reject", flag.ContinueOnError)
	by := fs.String("by", "", "who rejects (recorded in the audit trail)")
	reason := fs.String("reason", "", "why (sent to the partner)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := requestArg(pos)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*by) == "" || strings.TrimSpace(*reason) == "" {
		return usagef("--by and --reason are required")
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.Reject(e.ctx, id, *by, *reason); err != nil {
		return explain(err, "rejecting "+store.Reference(id))
	}
	fmt.Fprintf(e.stdout, "%s rejected: the partner will be told\n", store.Reference(id))
	return nil
}

// ---- messages ----

func cmdMessagesList(e *env) error {
	fs := flag.NewFlagSet("messages list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	disp := fs.String("disposition", "", "only mails with this disposition")
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ms, err := e.st.Q(e.ctx).ListMessages(store.MessageFilter{Disposition: *disp})
	if err != nil {
		return err
	}
	return printList(e, *asJSON, ms, messageJSON, "ID\tDISPOSITION\tREQUEST\tFROM\tSUBJECT\tRECEIVED", func(m store.Message) string {
		req := "-"
		if m.RequestID != nil {
			req = store.Reference(*m.RequestID)
		}
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", m.ID, m.Disposition, req, orDash(m.FromAddr),
			clip(m.Subject, 60), m.ReceivedAt.Format(time.DateTime))
	})
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func messageArg(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("expected one message ID")
	}
	var id int64
	if _, err := fmt.Sscan(pos[0], &id); err != nil || id <= 0 {
		return 0, usagef("%q is not a message ID: use the number from 'messages list'", pos[0])
	}
	return id, nil
}

func cmdMessagesShow(e *env) error {
	fs := flag.NewFlagSet("messages show", flag.ContinueOnError)
	raw := fs.Bool("raw", false, "print the raw source")
	asJSON := jsonFlag(fs)
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := messageArg(pos)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	m, err := e.st.Q(e.ctx).Message(id)
	if err != nil {
		return explain(err, "showing message")
	}
	if *raw {
		_, err := e.stdout.Write(m.Raw)
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, messageJSON(m))
	}
	j := messageJSON(m)
	fmt.Fprintf(e.stdout, "message %d: %s\n  from:        %s\n  subject:     %s\n  message-id:  %s\n  received:    %s\n  size:        %d bytes\n  detail:      %s\n",
		m.ID, m.Disposition, m.FromAddr, m.Subject, orDash(m.MessageID), j.ReceivedAt, m.Size, orDash(m.Detail))
	if m.LastError != "" {
		fmt.Fprintf(e.stdout, "  attempts:    %d, last error: %s\n", m.Attempts, oneLine(m.LastError))
	}
	if len(m.Raw) > 0 {
		p := parser.Parse(m.Raw, parser.Options{TrustedAuthServID: e.cfg.TrustedAuthServID})
		fmt.Fprintf(e.stdout, "\n%s\n", p.Text)
	}
	return nil
}

func cmdMessagesReprocess(e *env) error {
	pos, err := e.flags(flag.NewFlagSet("messages reprocess", flag.ContinueOnError))
	if err != nil {
		return err
	}
	id, err := messageArg(pos)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	res, err := e.wf.Reprocess(e.ctx, id)
	if err != nil {
		return explain(err, fmt.Sprintf("reprocessing message %d", id))
	}
	fmt.Fprintf(e.stdout, "message %d: %s%s\n", id, res.Disposition, refSuffix(res.RequestID))
	return nil
}

func refSuffix(id int64) string {
	if id == 0 {
		return ""
	}
	return " (" + store.Reference(id) + ")"
}

// ---- outbox ----

func cmdOutboxList(e *env) error {
	fs := flag.NewFlagSet("outbox list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	status := fs.String("status", "", "only mails with this status")
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ms, err := e.st.Q(e.ctx).ListOutbox(store.OutboxFilter{Status: *status})
	if err != nil {
		return err
	}
	return printList(e, *asJSON, ms, outboxJSON, "ID\tKIND\tSTATUS\tATTEMPTS\tTO\tSUBJECT\tLAST ERROR", func(m store.OutboxMail) string {
		return fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s\t%s", m.ID, m.Kind, m.Status, m.Attempts, strings.Join(m.To(), ", "),
			clip(m.Subject, 60), orDash(clip(oneLine(m.LastError), 60)))
	})
}

func cmdOutboxRetry(e *env) error {
	pos, err := e.flags(flag.NewFlagSet("outbox retry", flag.ContinueOnError))
	if err != nil {
		return err
	}
	id, err := messageArg(pos)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.st.Q(e.ctx).RetryOutbox(id); err != nil {
		return explain(err, fmt.Sprintf("retrying outbox mail %d", id))
	}
	fmt.Fprintf(e.stdout, "outbox mail %d queued again\n", id)
	return nil
}

// ---- partners ----

func cmdPartnersAdd(e *env) error {
	fs := flag.NewFlagSet("partners add", flag.ContinueOnError)
	name := fs.String("name", "", "the partner's name")
	ref := fs.String("ref", "", "external reference, e.g. an MPN ID")
	locale := fs.String("locale", "en", "en or de")
	trusted := fs.Bool("trusted", false, "requests may be approved automatically (with ONBOARDER_AUTO_APPROVE_TRUSTED)")
	var emails, domains multiFlag
	fs.Var(&emails, "email", "a sender address allowed to ask for this partner (repeatable)")
	fs.Var(&domains, "domain", "a whole sender domain allowed to ask for this partner (repeatable)")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if strings.TrimSpace(*name) == "" {
		return usagef("--name is required")
	}
	if len(emails)+len(domains) == 0 {
		return usagef("give at least one --email or --domain: without sender rules no mail can speak for the partner")
	}
	if *locale != "en" && *locale != "de" {
		return usagef("--locale must be en or de")
	}
	for _, a := range emails {
		if !strings.Contains(a, "@") || strings.ContainsAny(a, " \r\n,<>") {
			return usagef("--email %q is not an address", a)
		}
	}
	for _, d := range domains {
		if strings.ContainsAny(d, " \r\n,<>") || !strings.Contains(strings.TrimPrefix(d, "@"), ".") {
			return usagef("--domain %q is not a domain", d)
		}
	}
	if err := e.open(); err != nil {
		return err
	}
	p := &store.Partner{Name: strings.TrimSpace(*name), Ref: *ref, Locale: *locale, Trusted: *trusted}
	if err := e.st.Q(e.ctx).CreatePartner(p, emails, domains); err != nil {
		return explain(err, "adding partner")
	}
	fmt.Fprintln(e.stdout, p.ID)
	return nil
}

func cmdPartnersList(e *env) error {
	fs := flag.NewFlagSet("partners list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ps, err := e.st.Q(e.ctx).Partners()
	if err != nil {
		return err
	}
	toJSON := func(p store.Partner) jsonPartner {
		return jsonPartner{ID: p.ID, Name: p.Name, Ref: nullable(p.Ref), Status: p.Status, Locale: p.Locale,
			Trusted: p.Trusted, Emails: p.Emails(), Domains: p.Domains()}
	}
	return printList(e, *asJSON, ps, toJSON, "ID\tNAME\tREF\tSTATUS\tLOCALE\tTRUSTED\tSENDERS", func(p store.Partner) string {
		senders := append(p.Emails(), prefixed("@", p.Domains())...)
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%v\t%s", p.ID, p.Name, orDash(p.Ref), p.Status, p.Locale, p.Trusted, strings.Join(senders, ", "))
	})
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

// ---- organizations ----

func cmdOrgsImport(e *env) error {
	pos, err := e.flags(flag.NewFlagSet("orgs import", flag.ContinueOnError))
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("expected one CSV file")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("reading %s: %w", pos[0], err)
	}
	defer f.Close()
	orgs, err := readOrgsCSV(f, pos[0])
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	err = e.st.Transact(e.ctx, func(q *store.Q) error {
		for i := range orgs {
			if err := q.UpsertOrganization(&orgs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("importing %s: %w (nothing was imported)", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "imported %d organizations\n", len(orgs))
	return nil
}

var orgColumns = []string{"id", "name", "status", "admin_name", "admin_email", "country", "locale"}

// readOrgsCSV reads and checks the whole file before anything is written.
func readOrgsCSV(r io.Reader, name string) ([]store.Organization, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w: the first line must be %s", name, err, strings.Join(orgColumns, ","))
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, c := range orgColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s: column %q missing: the first line must be %s", name, c, strings.Join(orgColumns, ","))
		}
	}
	var out []store.Organization
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		id, ok := parser.CanonicalUUID(get("id"))
		if !ok {
			return nil, fmt.Errorf("%s line %d: id %q is not a UUID: fix the line, nothing was imported", name, line, get("id"))
		}
		status := strings.ToLower(get("status"))
		if status == "" {
			status = store.OrgActive
		}
		if status != store.OrgActive && status != store.OrgSuspended && status != store.OrgDeleted {
			return nil, fmt.Errorf("%s line %d: status %q: use active, suspended or deleted", name, line, status)
		}
		locale := strings.ToLower(get("locale"))
		if locale == "" {
			locale = "en"
		}
		admin := get("admin_email")
		if admin != "" && (!strings.Contains(admin, "@") || strings.ContainsAny(admin, " \r\n,<>")) {
			return nil, fmt.Errorf("%s line %d: admin_email %q is not an address", name, line, admin)
		}
		out = append(out, store.Organization{ID: id, Name: parser.SanitizeText(get("name"), 300), Status: status,
			AdminName: parser.SanitizeText(get("admin_name"), 200), AdminEmail: strings.ToLower(admin),
			Country: strings.ToUpper(get("country")), Locale: locale})
	}
	return out, nil
}

func cmdOrgsList(e *env) error {
	fs := flag.NewFlagSet("orgs list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	orgs, err := e.st.Q(e.ctx).Organizations()
	if err != nil {
		return err
	}
	toJSON := func(o store.Organization) jsonOrg {
		return jsonOrg{ID: o.ID, Name: o.Name, Status: o.Status, AdminName: nullable(o.AdminName),
			AdminEmail: nullable(o.AdminEmail), Country: nullable(o.Country), Locale: o.Locale}
	}
	return printList(e, *asJSON, orgs, toJSON, "ID\tNAME\tSTATUS\tADMIN\tCOUNTRY\tLOCALE", func(o store.Organization) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", o.ID, o.Name, o.Status, orDash(o.AdminEmail), orDash(o.Country), o.Locale)
	})
}

// ---- links and invitations ----

func cmdLinksList(e *env) error {
	fs := flag.NewFlagSet("links list", flag.ContinueOnError)
	asJSON := jsonFlag(fs)
	if _, err := e.flagsAndOpen(fs); err != nil {
		return err
	}
	ls, err := e.st.Q(e.ctx).ListLinks()
	if err != nil {
		return err
	}
	names, err := e.partnerNames()
	if err != nil {
		return err
	}
	toJSON := func(l store.Link) jsonLink {
		return jsonLink{ID: l.ID, Partner: jsonRef{ID: l.PartnerID, Name: names[l.PartnerID]},
			OrganizationID: l.OrganizationID, Type: l.Type, Status: l.Status, RequestID: l.RequestID,
			StartedAt: ts(l.StartedAt), EndedAt: tsp(l.EndedAt), UpdatedAt: ts(l.UpdatedAt)}
	}
	return printList(e, *asJSON, ls, toJSON, "ID\tPARTNER\tORGANIZATION\tSTATUS\tREQUEST\tSTARTED", func(l store.Link) string {
		req := "-"
		if l.RequestID != nil {
			req = store.Reference(*l.RequestID)
		}
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", l.ID, names[l.PartnerID], l.OrganizationID, l.Status, req, l.StartedAt.Format(time.DateOnly))
	})
}

func cmdLinksRevoke(e *env) error {
	fs := flag.NewFlagSet("links revoke", flag.ContinueOnError)
	by := fs.String("by", "", "who revokes")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := messageArg(pos)
	if err != nil {
		return usagef("expected one link ID")
	}
	if strings.TrimSpace(*by) == "" {
		return usagef("--by is required")
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.RevokeLink(e.ctx, id, *by); err != nil {
		return explain(err, fmt.Sprintf("revoking link %d", id))
	}
	fmt.Fprintf(e.stdout, "link %d revoked\n", id)
	return nil
}

func cmdInvitesResend(e *env) error {
	fs := flag.NewFlagSet("invites resend", flag.ContinueOnError)
	by := fs.String("by", "cli", "who resends")
	pos, err := e.flags(fs)
	if err != nil {
		return err
	}
	id, err := requestArg(pos)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.wf.ResendInvitation(e.ctx, id, *by); err != nil {
		return explain(err, "resending the invitation of "+store.Reference(id))
	}
	fmt.Fprintf(e.stdout, "%s: new invitation queued; the previous link no longer works\n", store.Reference(id))
	return nil
}

// ---- ops users ----

func cmdOpsUsersAdd(e *env) error {
	fs := flag.NewFlagSet("ops-users add", flag.ContinueOnError)
	email := fs.String("email", "", "the user's e-mail address (login name)")
	if _, err := e.flags(fs); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usagef("--email is required")
	}
	pw, err := readPassword(e)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	u, err := e.wf.AddOpsUser(e.ctx, *email, pw, 12)
	if err != nil {
		return explain(err, "adding ops user")
	}
	fmt.Fprintf(e.stdout, "ops user %s created (id %d)\n", u.Email, u.ID)
	return nil
}
