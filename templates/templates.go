package templates

import (
	htmltemplate "html/template"
	"text/template"
	"time"
)

// Mail kinds, one per mail the product sends.
const (
	KindRequestReceived       = "request_received"       // to the partner: request registered, pending approval
	KindNeedsInfo             = "needs_info"             // to the partner: Organization ID missing, ambiguous or malformed
	KindRequestRejected       = "request_rejected"       // to the partner: unknown or inactive organization, or rejected by ops
	KindRequestDuplicate      = "request_duplicate"      // to the partner: an open request or a link already exists
	KindRequestApproved       = "request_approved"       // to the partner: approved, invitation sent
	KindInvitation            = "invitation"             // to the organization's administrator
	KindConnectionEstablished = "connection_established" // to both; Data.Audience says which
	KindInvitationDeclined    = "invitation_declined"    // to the partner
	KindInvitationExpired     = "invitation_expired"     // to the partner
	KindLinkEnded             = "link_ended"             // to the side that did not end the link; Data.Audience says which
	KindLinkEndAnswer         = "link_end_answer"        // to the partner that mailed to end a link: ReasonCode "ended" or "no_link"
	KindLinkReminder          = "link_reminder"          // to both: the link ends in Data.DaysLeft days
	KindLinkExpired           = "link_expired"           // to both: the link's end date is reached
)

// Audiences.
const (
	AudiencePartner = "partner"
	AudienceAdmin   = "admin"
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
	Audience          string    // "partner" or "admin"; read by the footer, connection_established and the link mails
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
	Problem           string    // for needs_info: "missing" | "ambiguous" | "malformed"
	Candidates        []string  // for needs_info/ambiguous: the IDs seen
	Message           string    // the administrator's decline message
	Note              string    // ops note on approval
	InviteURL         string    // full link to the invitation page
	ExpiresAt         time.Time // invitation expiry
	Mailbox           string    // our address, for "reply to this mail" hints
	// ManageURL is the administrator's "manage your partners" page; set on
	// every mail to an administrator (the footer shows it).
	ManageURL string
	EndedBy   string    // link_ended: who ended the link, "partner", "customer" or "ops"
	EndsAt    time.Time // link_reminder, link_expired: the link's end date
	DaysLeft  int       // link_reminder: 30, 7 or 1
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
