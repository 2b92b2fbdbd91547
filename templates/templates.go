package templates

import (
	htmltemplate "html/template"
	"text/template"
	"time"
)

// Mail kinds, one per mail the product sends.
const (
	KindRequestReceived       = "request_received"        // to the partner: request registered, pending approval
	KindNeedsInfo             = "needs_info"              // to the partner: Organization ID missing, ambiguous or malformed
	KindRequestRejected       = "request_rejected"        // to the partner: unknown or inactive organization, or rejected by ops
	KindRequestDuplicate      = "request_duplicate"       // to the partner: an open request or a link already exists
	KindRequestApproved       = "request_approved"        // to the partner: approved, invitation sent
	KindInvitation            = "invitation"              // to the organization's administrator
	KindConnectionEstablished = "connection_established"  // to both; Data.Audience says which
	KindInvitationDeclined    = "invitation_declined"     // to the partner
	KindInvitationExpired     = "invitation_expired"      // to the partner
	KindRequestTooLarge       = "request_too_large"       // to the partner: its mail was over the size limit, not read
	KindRequestStatus         = "request_status"          // to the partner: the state, its date and the next step
	KindRequestCancelled      = "request_cancelled"       // to the partner: the request is cancelled as they asked
	KindInvitationReminder    = "invitation_reminder"     // to the organization's administrator: the invitation expires soon
	KindNeedsInfoReminder     = "needs_info_reminder"     // to the partner: the Organization ID is still missing
	KindRequestExpired        = "request_expired"         // to the partner: closed without the Organization ID
	KindOpsDigest             = "ops_digest"              // to ops: what needs attention today
	KindNewOrgNeedsInfo       = "new_org_needs_info"      // to the partner: new-organization fields missing or invalid (Data.Fields)
	KindOrganizationExists    = "organization_exists"     // to the partner: an organization with that VAT ID exists; ask to connect instead
	KindCustomerNeedsInfo     = "customer_needs_info"     // to the administrator: the partner they named is unknown or ambiguous
	KindConsentRequest        = "consent_request"         // to a partner's contacts: an administrator asks for them (link)
	KindResellerConfirmation  = "reseller_confirmation"   // to a reseller's contacts: their distributor names them (link)
	KindConsentAccepted       = "consent_accepted"        // to the administrator or distributor: the partner agreed
	KindConsentDeclined       = "consent_declined"        // to the administrator or distributor: the partner declined, its message relayed
	KindConsentExpired        = "consent_expired"         // to the administrator or distributor: the partner's consent links expired unanswered
	KindCustomerRequestClosed = "customer_request_closed" // to the administrator: ops rejected their own request (ReasonCode "ops") or it is a duplicate ("duplicate")
	KindLinkEnded             = "link_ended"              // to the side that did not end the link; Data.Audience says which
	KindLinkEndAnswer         = "link_end_answer"         // to the partner that mailed to end a link: ReasonCode "ended" or "no_link"
	KindLinkReminder          = "link_reminder"           // to both: the link ends in Data.DaysLeft days
	KindLinkExpired           = "link_expired"            // to both: the link's end date is reached
)

// Audiences.
const (
	AudiencePartner = "partner"
	AudienceAdmin   = "admin"
	AudienceOps     = "ops"
	// AudienceContact: a partner's registered contact asked for its
	// consent (consent_request, reseller_confirmation).
	AudienceContact = "contact"
)

// Kinds lists every mail kind.
var Kinds = []string{
	KindRequestReceived,
	KindNeedsInfo,
	KindRequestRejected,
	KindRequestDuplicate,
	KindRequestApproved,
	KindInvitation,
	KindConnectionEstablished,
	KindInvitationDeclined,
	KindInvitationExpired,
	KindRequestTooLarge,
	KindRequestStatus,
	KindRequestCancelled,
	KindInvitationReminder,
	KindNeedsInfoReminder,
	KindRequestExpired,
	KindOpsDigest,
	KindNewOrgNeedsInfo,
	KindOrganizationExists,
	KindCustomerNeedsInfo,
	KindConsentRequest,
	KindResellerConfirmation,
	KindConsentAccepted,
	KindConsentDeclined,
	KindConsentExpired,
	KindCustomerRequestClosed,
	KindLinkEnded,
	KindLinkEndAnswer,
	KindLinkReminder,
	KindLinkExpired,
}

// Locales lists the supported locales; the first one is the fallback.
var Locales = []string{"en", "de"}

// Data is everything a mail template may show. Every string may come from a
// mail and is treated as plain text.
type Data struct {
	Audience          string    // "partner", "admin", "contact" or "ops"; read by the footer, connection_established, the consent and the link mails
	Reference         string    // "REQ-000123"
	ThreadSubject     string    // full subject for answers in the partner's thread, e.g. "Re: Please establish … [REQ-000123]"
	PartnerName       string    // the partner's registered name
	PartnerRef        string    // the partner's external reference, may be empty
	RecipientName     string    // name for the greeting, may be empty
	CustomerName      string    // as the partner wrote it in the subject
	OrganizationID    string    // canonical UUID
	OrganizationName  string    // the directory's name
	AdminName         string    // organization administrator
	AdminEmail        string    // organization administrator
	ReasonCode        string    // unknown_organization | organization_inactive | ops | …
	Reason            string    // human text (an ops reason), may be empty
	ExistingReference string    // for request_duplicate
	Problem           string    // for needs_info: "missing" | "ambiguous" | "malformed"; customer_needs_info: "unknown" | "ambiguous"
	Candidates        []string  // for needs_info/ambiguous: the IDs seen
	Message           string    // the administrator's decline message, or a partner's consent message
	Note              string    // ops note on approval
	InviteURL         string    // full link to the invitation page
	ExpiresAt         time.Time // invitation expiry
	Mailbox           string    // our address, for "reply to this mail" hints
	MessageSize       int64     // for request_too_large: the partner's mail, in bytes
	SizeLimit         int64     // for request_too_large: the largest mail read, in bytes
	State             string    // for request_status: the request's state (store.State…)
	StateAt           time.Time // for request_status: when it entered State
	CancelRefused     bool      // for request_status: the partner asked to cancel, too late
	Digest            *Digest   // for ops_digest
	DistributorName   string    // the distributor a reseller sells through, may be empty
	CustomerFirst     bool      // the organization's administrator asked for the partner
	NewOrganization   bool      // the partner asks for a new organization (request_received words it so)
	// Fields are the new-organization fields to correct (new_org_needs_info).
	Fields []FieldProblem
	// ManageURL is the administrator's "manage your partners" page; set on
	// every mail to an administrator (the footer shows it).
	ManageURL string
	EndedBy   string    // link_ended: who ended the link, "partner", "customer" or "ops"
	EndsAt    time.Time // link_reminder, link_expired: the link's end date
	DaysLeft  int       // link_reminder: 30, 7 or 1
	// LinkStatus (request_status): the completed request's link's status
	// once it no longer holds ("ended", "expired", "revoked"), else "".
	LinkStatus string
	// Reminder (consent_request, reseller_confirmation): the mail reminds
	// of the first one; its link replaces the first mail's.
	Reminder bool
}

// Digest is what the ops digest lists; every list is already cut to a
// length a mail can show, More… say how many were left out.
type Digest struct {
	Requests     []DigestRequest // open requests, oldest first
	MoreRequests int
	Mails        []DigestMail // held and failed outbox mail
	MoreMails    int
	Links        []DigestLink // active links ending soon, soonest first
	LinksWithin  int          // days ahead the link list looks
	Fraud        []DigestFraud
	MoreFraud    int
}

// DigestRequest is one open request in the ops digest.
type DigestRequest struct {
	Reference, State, Partner, Customer string
	Since                               time.Time
	AgeDays                             int
	URL                                 string // its page in the console
}

// DigestMail is one held or failed outbox mail in the ops digest.
type DigestMail struct {
	ID                      int64
	Kind, Status, To, Error string
	Reference, URL          string // the request it belongs to, "" for none
}

// DigestLink is one link ending soon in the ops digest.
type DigestLink struct {
	ID                    int64
	Partner, Organization string
	EndsAt                time.Time
}

// DigestFraud is one open fraud report in the ops digest.
type DigestFraud struct {
	ID                    int64
	Organization, Partner string
	Reference, URL        string
	ReportedAt            time.Time
}

// FieldProblem is one field of a new-organization request that the partner
// must give or correct.
type FieldProblem struct {
	Field string // company_name, street, postcode, city, country, vat_id, contact_first_name, contact_last_name, contact_email
	Value string // as the partner wrote it; "" when missing
	// Problem: missing, too_long, invalid_email, partner_email, unknown_country,
	// postcode_format, vat_format, vat_check_digit or vat_other_country.
	Problem string
	Country string // the country's name, for postcode_* and vat_*
}

// Rendered is one rendered mail.
type Rendered struct {
	Subject string // one line, no control characters
	Text    string // text/plain body
	HTML    string // text/html body, a complete document
}

// view is what the templates see: Data plus what Render decides.
type view struct {
	Data
	Kind    string
	Locale  string
	Subject string
}

// Set holds the parsed templates for every kind and locale. It is safe for
// concurrent use.
type Set struct {
	mails map[string]*mail // key: kind + "/" + locale
}

// mail is one kind and locale, parsed: its text and HTML template trees.
type mail struct {
	text     *template.Template     // root: the text layout
	html     *htmltemplate.Template // root: the HTML layout
	textRoot string
	htmlRoot string
	textKind string // name of the kind's text file, for errors
	htmlDiag error  // errors of the HTML snippets executed on their own, to name the culprit file
}
