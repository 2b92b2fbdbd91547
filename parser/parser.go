package parser

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Kind is the classification of a mail.
type Kind string

// The kinds of mail that Parse tells apart.
const (
	KindRequest   Kind = "request"    // subject has the request form (workflow decides reply vs new)
	KindEndLink   Kind = "end_link"   // subject asks to end a reseller connection
	KindAutoReply Kind = "auto_reply" // RFC 3834 and vendor auto-reply / out-of-office markers
	KindBounce    Kind = "bounce"     // delivery status notification, standard or not
	// KindNewOrganization: the subject asks for a new organization.
	KindNewOrganization Kind = "new_organization"
	KindOther           Kind = "other"
)

// OrgIDStatus says what was found for the Organization ID.
type OrgIDStatus string

// Organization ID outcomes.
const (
	OrgIDFound     OrgIDStatus = "found"
	OrgIDMissing   OrgIDStatus = "missing"
	OrgIDAmbiguous OrgIDStatus = "ambiguous"
	OrgIDMalformed OrgIDStatus = "malformed"
)

// Defect codes written to Mail.Defects.
const (
	DefectHeaderUnreadable    = "header_unreadable"
	DefectHeaderTooLarge      = "header_too_large"
	DefectMIMEDepthExceeded   = "mime_depth_exceeded"
	DefectPartLimitExceeded   = "part_limit_exceeded"
	DefectBadCharset          = "bad_charset"
	DefectBadEncoding         = "bad_encoding"
	DefectTextTruncated       = "text_truncated"
	DefectMultipartBroken     = "multipart_broken"
	DefectMissingBoundary     = "multipart_missing_boundary"
	DefectNULBytes            = "nul_bytes"
	DefectCRLineEndings       = "cr_line_endings"
	DefectEmpty               = "empty_message"
	DefectBadContentType      = "bad_content_type"
	DefectBadAddress          = "bad_address"
	DefectBadDate             = "bad_date"
	DefectBadMessageID        = "bad_message_id"
	DefectBadEncodedWord      = "bad_encoded_word"
	DefectInnerHeader         = "attached_message_header_unreadable"
	DefectMessageLimitReached = "attached_message_limit"
	DefectInternal            = "internal_error"
)

// Options bound the work Parse does and name the trusted authentication
// service. The zero value is usable: limits get their defaults.
type Options struct {
	TrustedAuthServID string // only the topmost Authentication-Results header with this authserv-id counts
	MaxDepth          int    // MIME nesting cap (default 20)
	MaxParts          int    // part count cap (default 500)
	MaxTextBytes      int    // cap on decoded text per part and in total (default 1 MiB)
	MaxNameRunes      int    // customer name cap (default 200)
	MaxHeaderBytes    int    // cap on the top-level header block kept (default 1 MiB)
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 20
	}
	if o.MaxParts <= 0 {
		o.MaxParts = 500
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 1 << 20
	}
	if o.MaxNameRunes <= 0 {
		o.MaxNameRunes = 200
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 1 << 20
	}
	return o
}

// Address is one mailbox; Addr is lower-cased.
type Address struct{ Name, Addr string }

// Mail is what Parse understood of one mail.
type Mail struct {
	Kind          Kind
	MessageID     string // without <>, trimmed; "" if missing/invalid
	From          Address
	FromCount     int    // addresses in the From field(s) that parse
	Sender        string // Sender: address, lower-cased, "" if none or not one address
	SenderProblem string // why the mail names no single sender (From is then empty), for ops; "" if it names one
	ReturnPath    string
	HasReturnPath bool // HasReturnPath && ReturnPath=="" means <> (null sender)
	ReplyTo       string
	To, Cc        []string
	Date          time.Time
	Subject       string // decoded (RFC 2047, any charset), control chars removed
	InReplyTo     []string
	References    []string // message ids without <>
	RequestTag    string   // "REQ-000123" found in the subject (upper case), "" if none
	AutoReason    string   // why KindAutoReply / which header
	BounceReason  string   // why KindBounce
	ReportType    string   // report-type of a multipart/report, lower case
	List          bool     // List-Id / List-Unsubscribe / List-Post present, or Precedence: list
	OwnLoop       bool     // header "X-Onboarder-Loop" present

	CustomerName     string // from the subject, sanitised; "" if not a request subject
	IsRequestSubject bool
	IsNewOrgSubject  bool // "Please create a new organization for customer <Name>" (CustomerName set)
	// NewOrg are the labelled company and contact fields of the new text.
	NewOrg NewOrgFields
	// CustomerFirst: the subject is an administrator's "Please connect our
	// organization to reseller <Partner>"; PartnerNamed is <Partner>.
	CustomerFirst bool
	PartnerNamed  string
	// IsEndSubject: the subject is "Please end reseller connection to
	// customer <Name>" (CustomerName is then the name).
	IsEndSubject bool

	OrgID           string // canonical lower-case UUID, "" unless OrgIDStatus == OrgIDFound
	OrgIDStatus     OrgIDStatus
	OrgIDCandidates []string // distinct UUIDs (canonical) or malformed strings seen, for ops
	OrgIDLabelled   bool
	OrgIDFromQuote  bool // the ID came from quoted text because the new text had none

	ContactEmail string // administrator contact labelled in the body
	Note         string // free text labelled Note:/Notiz:/Hinweis:
	ResellerRef  string // a distributor's reseller of record, labelled Reseller ID:
	PartnerField string // the partner an administrator names, labelled Partner ID: or Partner:
	Text         string // the new text of the mail (quoted parts removed), capped

	Auth    AuthResult
	DSN     *DSN
	Defects []string
}

// AuthResult is what the trusted Authentication-Results header says about
// the From domain.
type AuthResult struct {
	Checked bool // a trusted Authentication-Results header was found
	// DMARC, DKIM and SPF are result values as written, "" if absent, each
	// only from a result about the From domain: DMARC with header.from that
	// domain, DKIM with header.d and SPF with smtp.mailfrom of its
	// organizational domain (relaxed alignment). A result about another
	// domain says nothing about who wrote the mail.
	DMARC, DKIM, SPF string
	Failed           bool // DMARC fail, or DKIM fail and SPF fail
	// Detail tells ops which results Parse ignored as not about the From
	// domain; callers that reach a result another way (the workflow's own
	// DKIM check) say so here too.
	Detail string
}

// DSN is what a delivery status notification reports.
type DSN struct {
	OriginalMessageID string // Message-ID of the mail the bounce reports on
	Recipients        []DSNRecipient
	Permanent         bool // any Action: failed / 5.x.x status
}

// DSNRecipient is one per-recipient block of a delivery status notification.
type DSNRecipient struct {
	FinalRecipient string // address, lower-cased
	Action         string // lower case
	Status         string
	DiagnosticCode string
}

// HasDefect reports whether Parse recorded the defect code.
func (m *Mail) HasDefect(code string) bool {
	for _, d := range m.Defects {
		if d == code {
			return true
		}
	}
	return false
}

func (m *Mail) addDefect(code string) {
	if !m.HasDefect(code) && len(m.Defects) < 64 {
		m.Defects = append(m.Defects, code)
	}
}

// Parse reads raw mail bytes. It never returns nil and never panics; what it
// could not read is listed in Mail.Defects.
func Parse(raw []byte, opts Options) (m *Mail) {
	opts = opts.withDefaults()
	m = &Mail{Kind: KindOther, OrgIDStatus: OrgIDMissing}
	defer func() {
		if r := recover(); r != nil {
			// A bug must not stop the intake loop; the mail is kept as "other"
			// with a defect that ops and the fuzz tests can see.
			m.Kind = KindOther
			m.addDefect(DefectInternal)
			m.addDefect(fmt.Sprintf("%s: %v", DefectInternal, r))
		}
	}()
	p := &parse{opts: opts, m: m, textBudget: opts.MaxTextBytes, msgBudget: 4 * opts.MaxTextBytes}
	p.run(raw)
	return m
}

// normalize removes what would make the header reader stumble: a byte order
// mark, an mbox "From " line, leading blank lines, NUL bytes and bare CR line
// endings.
func normalize(raw []byte, m *Mail) []byte {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(raw, 0) >= 0 {
		m.addDefect(DefectNULBytes)
		raw = bytes.ReplaceAll(raw, []byte{0}, nil)
	}
	if hasBareCR(raw) {
		m.addDefect(DefectCRLineEndings)
		out := make([]byte, 0, len(raw))
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if c == '\r' {
				if i+1 < len(raw) && raw[i+1] == '\n' {
					out = append(out, '\r')
					continue
				}
				out = append(out, '\n')
				continue
			}
			out = append(out, c)
		}
		raw = out
	}
	// Leading blank lines.
	for len(raw) > 0 && (raw[0] == '\n' || raw[0] == '\r' || raw[0] == ' ' || raw[0] == '\t') {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			if len(bytes.TrimSpace(raw)) == 0 {
				raw = nil
			}
			break
		}
		if len(bytes.TrimSpace(raw[:i])) != 0 {
			break
		}
		raw = raw[i+1:]
	}
	// mbox From_ line, and the ">From " quoting some exporters add.
	if bytes.HasPrefix(raw, []byte("From ")) || bytes.HasPrefix(raw, []byte(">From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		} else {
			raw = nil
		}
	}
	return raw
}

func hasBareCR(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			return false
		}
		if i+1 >= len(b) || b[i+1] != '\n' {
			return true
		}
		b = b[i+2:]
	}
}

// parse holds the state of one Parse call.
type parse struct {
	opts       Options
	m          *Mail
	parts      int
	textBudget int // decoded text left for all parts together
	msgBudget  int // bytes of attached messages that may still be buffered
	stop       bool

	reportType        string // of the first multipart/report
	sawDeliveryStatus bool
	dsnRecipients     []DSNRecipient
	dsnMessageID      string // from message/delivery-status per-message fields (X-Original-Message-ID)
	origHeadersID     string // Message-ID from text/rfc822-headers
	attachedID        string // Message-ID of the first attached message/rfc822
	attachedSubject   string
	attachedFrom      string
	mdn               bool
	looseFrom         Address // the top From field read leniently: for classification only
}

func (p *parse) run(raw []byte) {
	m := p.m
	raw = normalize(raw, m)
	if len(bytes.TrimSpace(raw)) == 0 {
		m.addDefect(DefectEmpty)
		return
	}
	h, body := p.readTopHeader(raw)
	p.readEnvelope(h)

	subjectFwd := hasForwardPrefix(m.Subject)
	segs := p.walk(h, bytes.NewReader(body), 0, subjectFwd)
	convertHTML(segs)

	p.classify(h, segs)
	p.extractBody(segs, subjectFwd)
	if m.Kind == KindBounce {
		p.buildDSN(h, segs)
	}
}

// readEnvelope fills the header-derived fields of Mail.
func (p *parse) readEnvelope(h header) {
	m := p.m
	m.MessageID = firstMsgID(h.Get("Message-Id"))
	if h.Get("Message-Id") != "" && m.MessageID == "" {
		m.addDefect(DefectBadMessageID)
	}
	m.InReplyTo = msgIDList(h.Get("In-Reply-To"), 100)
	m.References = msgIDList(h.Get("References"), 100)

	// Who the mail is from is read strictly; the loose reading of the top
	// From field only helps to tell a mailer daemon apart.
	m.From, m.FromCount, _, m.SenderProblem = p.oneAddress(h, "From")
	loose, _, ok := p.addressList(h, "From")
	if len(loose) > 0 {
		p.looseFrom = loose[0]
	}
	if !ok {
		m.addDefect(DefectBadAddress)
	}
	if s, _, present, problem := p.oneAddress(h, "Sender"); present && problem == "" {
		m.Sender = s.Addr
	} else if present && m.SenderProblem == "" {
		m.SenderProblem = problem
	}
	if s, _, _ := p.addressList(h, "Reply-To"); len(s) > 0 {
		m.ReplyTo = s[0].Addr
	}
	for _, key := range []string{"To", "Cc"} {
		list, _, _ := p.addressList(h, key)
		var out []string
		for _, a := range list {
			out = append(out, a.Addr)
		}
		if key == "To" {
			m.To = out
		} else {
			m.Cc = out
		}
	}
	if h.Has("Return-Path") {
		m.HasReturnPath = true
		rp := strings.TrimSpace(h.Get("Return-Path"))
		rp = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(rp, "<"), ">"))
		m.ReturnPath = strings.ToLower(SanitizeText(rp, 320))
	}
	if d := strings.TrimSpace(h.Get("Date")); d != "" {
		if t, ok := parseDate(d); ok {
			m.Date = t
		} else {
			m.addDefect(DefectBadDate)
		}
	}
	subj := p.decodeHeaderText(h.Get("Subject"))
	m.Subject = SanitizeText(subj, 4096)

	m.OwnLoop = h.Has("X-Onboarder-Loop")
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	m.List = h.Has("List-Id") || h.Has("List-Unsubscribe") || h.Has("List-Post") || prec == "list"

	m.RequestTag = findRequestTag(m.Subject)
	if name, ok := parseRequestSubject(m.Subject, p.opts.MaxNameRunes); ok {
		m.IsRequestSubject = true
		m.CustomerName = name
	} else if name, ok := parseNewOrgSubject(m.Subject, p.opts.MaxNameRunes); ok {
		m.IsNewOrgSubject = true
		m.CustomerName = name
	} else if name, ok := parseCustomerFirstSubject(m.Subject, p.opts.MaxNameRunes); ok {
		m.IsRequestSubject, m.CustomerFirst, m.PartnerNamed = true, true, name
	} else if name, ok := parseEndSubject(m.Subject, p.opts.MaxNameRunes); ok {
		m.IsEndSubject = true
		m.CustomerName = name
	}
	m.Auth = readAuthResults(h, p.opts.TrustedAuthServID, m.From.Addr)
}
