package store

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Partner statuses.
const (
	PartnerActive    = "active"
	PartnerSuspended = "suspended"
)

// Partner is a registered reseller.
type Partner struct {
	ID      int64
	Name    string
	Ref     string
	Status  string
	Locale  string
	Trusted bool
	// ParentID is the distributor the partner sells through (nil: none).
	ParentID  *int64
	CreatedAt time.Time
	UpdatedAt time.Time
	Rules     []SenderRule `gorm:"foreignKey:PartnerID"`
}

// Emails and Domains list the partner's sender rules by kind.
func (p Partner) Emails() []string  { return p.rulesOf(RuleEmail) }
func (p Partner) Domains() []string { return p.rulesOf(RuleDomain) }

func (p Partner) rulesOf(kind string) []string {
	out := []string{}
	for _, r := range p.Rules {
		if r.Kind == kind {
			out = append(out, r.Value)
		}
	}
	return out
}

// Sender rule kinds.
const (
	RuleEmail  = "email"
	RuleDomain = "domain"
)

// SenderRule allows an exact address or a whole domain to send for a partner.
type SenderRule struct {
	ID        int64
	PartnerID int64
	Kind      string
	Value     string
}

// Organization statuses (workflow's transition table, docs/state_machine.md).
const (
	// OrgInitializing: created in the directory for a new-organization
	// request, until its administrator accepts (product.md, turn 2).
	OrgInitializing = "initializing"
	OrgActive       = "active"
	OrgSuspended    = "suspended"
	OrgDeleted      = "deleted"
)

// Organization is an end customer's organization in the directory. ID is
// the canonical lower-case UUID.
type Organization struct {
	ID         string
	Name       string
	Status     string
	AdminName  string
	AdminEmail string
	Country    string
	Locale     string
	VatID      string `gorm:"column:vat_id"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Request states. Which may follow which is workflow's transition table
// (workflow/states.go, docs/state_machine.md).
const (
	StateNeedsInfo = "needs_info"
	// StatePendingPartner: a customer's request waits for the partner's
	// consent (product.md, turn 2).
	StatePendingPartner = "pending_partner"
	// StatePendingReseller: a distributor's request waits for the reseller's
	// confirmation (product.md, turn 2).
	StatePendingReseller = "pending_reseller"
	StatePendingApproval = "pending_approval"
	StateInvited         = "invited"
	StateCompleted       = "completed"
	StateDeclined        = "declined"
	StateExpired         = "expired"
	StateRejected        = "rejected"
	// StateCancelled: the partner cancelled the request before the customer
	// answered (product.md, turn 2).
	StateCancelled = "cancelled"
	StateDuplicate = "duplicate"
)

// OpenStates are the states from which a request may still move on.
var OpenStates = []string{StateNeedsInfo, StatePendingPartner, StatePendingReseller, StatePendingApproval, StateInvited}

// Request is one partner's ask to connect one organization.
type Request struct {
	ID             int64
	State          string
	PartnerID      *int64
	CustomerName   string
	OrganizationID *string
	Sender         string
	MessageID      string
	Subject        string
	ContactEmail   string
	Note           string
	// Kind is how the relation begins: KindConnect, KindNewOrganization or
	// KindCustomerFirst.
	Kind string
	// DistributorID is the distributor that asked for one of its resellers
	// (PartnerID, the reseller of record); nil otherwise.
	DistributorID *int64
	// NewOrg is a new organization's parsed company and contact fields
	// (JSON); "" for other kinds.
	NewOrg     string
	ReceivedAt time.Time
	UpdatedAt  time.Time
	// ChasedAt is when a needs_info request was chased (once); nil before.
	ChasedAt *time.Time
}

// Request kinds: the ways a customer relation begins (product.md).
const (
	KindConnect         = "connect"          // a partner asks for an existing organization
	KindNewOrganization = "new_organization" // a partner asks for a new organization (STACKIT Method 1)
	KindCustomerFirst   = "customer_first"   // the organization's administrator asks for a partner
)

// Reference is the request's human reference, e.g. REQ-000042.
func (r Request) Reference() string { return Reference(r.ID) }

// Reference formats a request number as REQ-000042.
func Reference(id int64) string { return fmt.Sprintf("REQ-%06d", id) }

// ParseReference reads "42", "REQ-000042" or "req-42" into a request number.
func ParseReference(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 4 && strings.EqualFold(s[:4], "REQ-") {
		s = s[4:]
	}
	var id int64
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		id = id*10 + int64(c-'0')
	}
	return id, id > 0
}

// Finding is a check result recorded on a request (deciding or a warning).
type Finding struct {
	ID        int64
	RequestID int64
	Code      string
	Detail    string
	CreatedAt time.Time
}

// Message dispositions.
const (
	DispRequest     = "request"
	DispReply       = "reply"
	DispAutoReply   = "auto_reply"
	DispBounce      = "bounce"
	DispIgnored     = "ignored"
	DispTooLarge    = "too_large"
	DispDuplicate   = "duplicate"
	DispUnparseable = "unparseable"
	// DispEndLink: a partner's mail asking to end a link (workflow/links.go).
	DispEndLink = "end_link"
	// DispPending marks a mail whose handling failed and will be tried again.
	DispPending = "pending"
)

// Message is a received mail with its raw source and what became of it.
type Message struct {
	ID          int64
	Mailbox     string
	UIDValidity int64
	UID         int64
	MessageID   string
	FromAddr    string
	Subject     string
	Disposition string
	Detail      string
	RequestID   *int64
	Size        int64
	Raw         []byte
	RawSHA256   string `gorm:"column:raw_sha256"`
	// RawDeletedAt: when the retention schedule deleted Raw (nil: kept).
	RawDeletedAt *time.Time
	Attempts     int
	LastError    string
	ReceivedAt   time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Link statuses (workflow's transition table, docs/state_machine.md).
const (
	LinkInvited  = "invited"
	LinkActive   = "active"
	LinkDeclined = "declined"
	LinkExpired  = "expired"
	LinkRevoked  = "revoked"
	// LinkEnded: either side or ops ended an active link (product.md, turn 2).
	LinkEnded = "ended"
)

// Link is the recorded reseller relation between a partner and an organization.
type Link struct {
	ID             int64
	PartnerID      int64
	OrganizationID string
	Type           string
	Status         string
	RequestID      *int64
	// DistributorID is the distributor through which the partner (the
	// reseller of record) sells to the organization; nil when direct.
	DistributorID *int64
	StartedAt     time.Time
	// EndsAt is the end date ops set; nil when open-ended.
	EndsAt  *time.Time
	EndedAt *time.Time
	// EndedBy and EndReason: who ended the link (an address, or "system")
	// and why; "" while it holds.
	EndedBy   string
	EndReason string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Invitation statuses.
const (
	InvitePending  = "pending"
	InviteAccepted = "accepted"
	InviteDeclined = "declined"
	InviteRevoked  = "revoked"
	InviteExpired  = "expired"
	// InviteReplaced: ops resent the invitation; this token stopped working.
	InviteReplaced = "replaced"
)

// Where an invitation's recipient came from.
const (
	// RecipientDirectory: the organization's administrator in the directory.
	RecipientDirectory = "directory"
	// RecipientSuggested: the contact the partner's mail suggested, picked
	// explicitly by an ops user on approval.
	RecipientSuggested = "partner_suggested"
)

// Invitation is a single-use, expiring token; only its SHA-256 is stored,
// and only from when the mail carrying it is sent (MintInvitationToken).
type Invitation struct {
	ID        int64
	LinkID    int64
	RequestID int64
	TokenHash string
	Status    string
	ExpiresAt time.Time
	UsedAt    *time.Time
	// OutboxID is the outbox row that carries the invitation (nil for
	// invitations written before schema version 6).
	OutboxID *int64
	// Recipient is the address the invitation went to, RecipientSource
	// where that address came from.
	Recipient       string
	RecipientSource string
	// Reminder: this invitation is the reminder of an earlier one (same
	// expiry); an invitation is reminded of once.
	Reminder  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
	OutboxBounced = "bounced"
)

// OutboxMail is one mail exactly as it will be sent. It is written in the
// same transaction as the state change that causes it; its Message-ID is
// fixed then, so a retry sends the same mail.
type OutboxMail struct {
	ID            int64
	Kind          string
	RequestID     *int64
	FromAddr      string
	ReplyTo       string
	ToAddrs       string // the recipients as JSON; use Recipients, SetRecipients, To
	Subject       string
	TextBody      string
	HTMLBody      string
	MessageID     string // without angle brackets
	InReplyTo     string // without angle brackets
	Refs          string // space-separated, without angle brackets
	AutoSubmitted string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastAttemptAt *time.Time
	LockedBy      string
	LockedUntil   *time.Time
	LastError     string
	SentAt        *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Recipient is one addressee of an outbox mail, kept apart (never one
// joined string): directories write names such as "Doe, Jane".
type Recipient struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// SetRecipients stores the recipients in ToAddrs.
func (m *OutboxMail) SetRecipients(rs ...Recipient) {
	b, _ := json.Marshal(rs) // strings only: cannot fail
	m.ToAddrs = string(b)
}

// Recipients lists the recipients. Rows written before recipients were
// stored as JSON hold an RFC 5322 address list, read as such.
func (m OutboxMail) Recipients() []Recipient {
	var rs []Recipient
	if strings.HasPrefix(m.ToAddrs, "[") {
		if json.Unmarshal([]byte(m.ToAddrs), &rs) == nil {
			return rs
		}
	}
	if list, err := mail.ParseAddressList(m.ToAddrs); err == nil {
		for _, a := range list {
			rs = append(rs, Recipient{Name: a.Name, Addr: a.Address})
		}
		return rs
	}
	for _, a := range strings.Split(m.ToAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			rs = append(rs, Recipient{Addr: a})
		}
	}
	return rs
}

// To lists the recipients' bare addresses.
func (m OutboxMail) To() []string {
	out := []string{}
	for _, r := range m.Recipients() {
		out = append(out, r.Addr)
	}
	return out
}

// ToDisplay is the recipients for people to read: "Name <addr>; …".
func (m OutboxMail) ToDisplay() string {
	var parts []string
	for _, r := range m.Recipients() {
		if r.Name != "" {
			parts = append(parts, r.Name+" <"+r.Addr+">")
		} else {
			parts = append(parts, r.Addr)
		}
	}
	return strings.Join(parts, "; ")
}

// References lists the References header's message ids.
func (m OutboxMail) References() []string { return strings.Fields(m.Refs) }

// AuditEntry records one transition: when, who, from, to, why.
type AuditEntry struct {
	ID        int64
	RequestID *int64
	LinkID    *int64
	At        time.Time
	Actor     string
	FromState string
	ToState   string
	Reason    string
	// Subject names what a registry entry is about (partner:3,
	// organization:UUID); "" for a request's or link's entries.
	Subject string
}

// MailboxCursor is the intake position in one mailbox.
type MailboxCursor struct {
	Mailbox     string `gorm:"primaryKey"`
	UIDValidity int64
	LastUID     int64
	UpdatedAt   time.Time
}

// Lease is a named, expiring claim held by one worker (e.g. the poller).
type Lease struct {
	Name      string `gorm:"primaryKey"`
	Holder    string
	ExpiresAt time.Time
}

// OpsUser may log in to the operations console.
type OpsUser struct {
	ID           int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
	// DisabledAt is when the user was disabled (nil: may log in).
	DisabledAt *time.Time
	// LastLoginAt is the user's last successful login (nil: none recorded).
	LastLoginAt *time.Time
	// Role is what the user may do in the console: RoleViewer,
	// RoleApprover or RoleAdmin (workflow holds the rules).
	Role string
	// Locale is the console language the user chose ("en", "de"; "": none
	// yet, the browser's counts), migration 0019.
	Locale string
}

// Console roles, from least to most (migration 0009).
const (
	RoleViewer   = "viewer"   // reads
	RoleApprover = "approver" // also acts on requests
	RoleAdmin    = "admin"    // also the registry, the directory and the users
)

// Approval is one ops user's approval of a request that needs two
// (four eyes); OpsUser is the login or the command line's --by.
type Approval struct {
	ID        int64
	RequestID int64
	OpsUser   string
	At        time.Time
}

// TableName overrides.
func (OutboxMail) TableName() string { return "outbox_mails" }
func (AuditEntry) TableName() string { return "audit_entries" }
