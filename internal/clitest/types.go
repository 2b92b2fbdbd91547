package clitest

// Expectation is one entry of the corpus's expected.json.
type Expectation struct {
	File           string   `json:"file"`
	Step           int      `json:"step"`
	Disposition    string   `json:"disposition"`
	State          string   `json:"state"`
	CustomerName   *string  `json:"customer_name"`
	OrganizationID *string  `json:"organization_id"`
	Partner        string   `json:"partner"`
	Findings       []string `json:"findings"`
	FindingsAbsent []string `json:"findings_absent"`
	Mails          []struct {
		Kind string   `json:"kind"`
		To   []string `json:"to"`
	} `json:"mails"`
	StaysInInbox bool   `json:"stays_in_inbox"`
	Resumes      string `json:"resumes"`
	FollowOf     *struct {
		Case string `json:"case"`
		Kind string `json:"kind"`
	} `json:"follow_of"`
}

// World is the corpus's world.json: the partners and the polled mailbox.
type World struct {
	Partners []struct {
		Name    string   `json:"name"`
		Emails  []string `json:"emails"`
		Domains []string `json:"domains"`
		Ref     string   `json:"ref"`
		Locale  string   `json:"locale"`
		Trusted bool     `json:"trusted"`
	} `json:"partners"`
	TrustedAuthservID string `json:"trusted_authserv_id"`
	Mailbox           string `json:"mailbox"`
}

// Request mirrors `requests list --json`.
type Request struct {
	ID             int64   `json:"id"`
	Reference      string  `json:"reference"`
	State          string  `json:"state"`
	CustomerName   string  `json:"customer_name"`
	OrganizationID *string `json:"organization_id"`
	Partner        *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"partner"`
	Sender    string  `json:"sender"`
	MessageID *string `json:"message_id"`
	Findings  []struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"findings"`
	Kind        string `json:"kind"`
	Distributor *Ref   `json:"distributor"`
	ReceivedAt  string `json:"received_at"`
	UpdatedAt   string `json:"updated_at"`
}

// Ref is a {"id","name"} reference to a partner.
type Ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Link mirrors `links list --json`.
type Link struct {
	ID             int64   `json:"id"`
	Partner        Ref     `json:"partner"`
	Distributor    *Ref    `json:"distributor"`
	OrganizationID string  `json:"organization_id"`
	Type           string  `json:"type"`
	Status         string  `json:"status"`
	RequestID      *int64  `json:"request_id"`
	StartedAt      string  `json:"started_at"`
	EndsAt         *string `json:"ends_at"`
	EndedAt        *string `json:"ended_at"`
	EndedBy        *string `json:"ended_by"`
	EndReason      *string `json:"end_reason"`
	UpdatedAt      string  `json:"updated_at"`
}

// Message mirrors `messages list --json`.
type Message struct {
	ID          int64   `json:"id"`
	MessageID   *string `json:"message_id"`
	From        string  `json:"from"`
	Subject     string  `json:"subject"`
	Disposition string  `json:"disposition"`
	RequestID   *int64  `json:"request_id"`
	ReceivedAt  string  `json:"received_at"`
}

// Outbox mirrors `outbox list --json`.
type Outbox struct {
	ID        int64    `json:"id"`
	Kind      string   `json:"kind"`
	To        []string `json:"to"`
	Subject   string   `json:"subject"`
	Status    string   `json:"status"`
	Attempts  int      `json:"attempts"`
	MessageID string   `json:"message_id"`
	RequestID *int64   `json:"request_id"`
	LastError *string  `json:"last_error"`
}

// AuditEntry mirrors one entry of `audit list --json`.
type AuditEntry struct {
	At      string  `json:"at"`
	Actor   string  `json:"actor"`
	Subject string  `json:"subject"`
	From    *string `json:"from"`
	To      *string `json:"to"`
	Reason  string  `json:"reason"`
}
