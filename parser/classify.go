package parser

import (
	"regexp"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// --- authentication results ---------------------------------------------

var commentRe = regexp.MustCompile(`\([^()]*\)`)

// readAuthResults reads the topmost Authentication-Results header whose
// authserv-id is the trusted one. Headers added by anyone else are ignored,
// and so are results about another domain than that of fromAddr (the one
// From address, "" when there is none): only they say who wrote the mail.
func readAuthResults(h header, trusted, fromAddr string) AuthResult {
	var ar AuthResult
	trusted = strings.ToLower(strings.TrimSpace(trusted))
	if trusted == "" {
		return ar
	}
	for _, v := range h.Values("Authentication-Results") {
		// Decide whose header this is before anything else: a header of
		// ours that is too long to read must not let a lower one (which
		// anybody could have written) count instead.
		if !strings.EqualFold(authservID(v), trusted) {
			continue
		}
		ar.Checked = true
		if len(v) > 16<<10 {
			v = v[:16<<10]
		}
		v = commentRe.ReplaceAllString(commentRe.ReplaceAllString(v, " "), " ")
		_, results := parseAuthResults(v)
		fromDomain := authDomain(fromAddr)
		dkimPass := false
		var ignored []string
		for _, r := range results {
			if !r.aboutFrom(fromDomain) {
				if r.value != "none" && len(ignored) < 5 {
					ignored = append(ignored, r.String())
				}
				continue
			}
			switch r.method {
			case "dmarc":
				if ar.DMARC == "" {
					ar.DMARC = r.value
				}
			case "spf":
				if ar.SPF == "" {
					ar.SPF = r.value
				}
			case "dkim":
				if r.value == "pass" {
					dkimPass = true
				}
				if ar.DKIM == "" || ar.DKIM == "none" {
					ar.DKIM = r.value
				}
			}
		}
		if dkimPass {
			ar.DKIM = "pass"
		}
		ar.Failed = ar.DMARC == "fail" || (ar.DKIM == "fail" && (ar.SPF == "fail" || ar.SPF == "hardfail"))
		if len(ignored) > 0 {
			ar.Detail = "results not about the From domain " + SanitizeText(fromDomain, 100) + " ignored: "
			if fromDomain == "" {
				ar.Detail = "no single From address: results ignored: "
			}
			ar.Detail += strings.Join(ignored, ", ")
		}
		return ar
	}
	return ar
}

// authEntry is one result of an Authentication-Results header; domain is
// the domain it is about (DMARC header.from, DKIM header.d, SPF
// smtp.mailfrom), lower case, "" when the header does not say.
type authEntry struct{ method, value, domain string }

// aboutFrom reports whether the result is about fromDomain: DMARC only for
// exactly that domain, DKIM and SPF for a domain of the same
// organizational domain (DMARC relaxed alignment).
func (e authEntry) aboutFrom(fromDomain string) bool {
	if fromDomain == "" || e.domain == "" {
		return false
	}
	switch e.method {
	case "dmarc":
		return e.domain == fromDomain
	case "dkim", "spf":
		return OrgDomain(e.domain) == OrgDomain(fromDomain)
	}
	return false
}

// String is the result as ops read it in a finding.
func (e authEntry) String() string {
	prop := map[string]string{"dmarc": "header.from", "dkim": "header.d", "spf": "smtp.mailfrom"}[e.method]
	d := SanitizeText(e.domain, 100)
	if d == "" {
		d = "(none)"
	}
	return SanitizeText(e.method+"="+e.value, 40) + " " + prop + "=" + d
}

// authDomain returns the domain of a property value: an address's domain,
// or the value itself, lower case, without quotes or a trailing dot.
func authDomain(v string) string {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"<>`))
	if i := strings.LastIndexByte(v, '@'); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSuffix(v, ".")
}

// authservID returns the authserv-id of an Authentication-Results value:
// the first token, after leading comments and white space, up to white
// space, ";" or "(".
func authservID(v string) string {
	for i := 0; i < 10; i++ { // leading comments, a few at most
		v = strings.TrimLeft(v, " \t\r\n")
		if !strings.HasPrefix(v, "(") {
			break
		}
		depth, j := 0, 0
		for ; j < len(v); j++ {
			if v[j] == '(' {
				depth++
			} else if v[j] == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if j >= len(v) {
			return ""
		}
		v = v[j+1:]
	}
	v = strings.TrimLeft(v, " \t\r\n")
	end := strings.IndexAny(v, " \t\r\n;(")
	if end >= 0 {
		v = v[:end]
	}
	return v
}

// parseAuthResults uses go-msgauth's parser and falls back to a lenient
// "method=value property=value ..." scan when it refuses the header.
func parseAuthResults(v string) (string, []authEntry) {
	var out []authEntry
	id, results, err := authres.Parse(v)
	if err == nil {
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DKIMResult:
				d := r.Domain
				if d == "" {
					d = r.Identifier
				}
				out = append(out, authEntry{"dkim", strings.ToLower(string(r.Value)), authDomain(d)})
			case *authres.SPFResult:
				out = append(out, authEntry{"spf", strings.ToLower(string(r.Value)), authDomain(r.From)})
			case *authres.DMARCResult:
				out = append(out, authEntry{"dmarc", strings.ToLower(string(r.Value)), authDomain(r.From)})
			}
		}
		return strings.TrimSpace(id), out
	}
	parts := strings.Split(v, ";")
	fields := strings.Fields(parts[0])
	if len(fields) == 0 {
		return "", nil
	}
	id = fields[0]
	for _, p := range parts[1:] {
		fs := strings.Fields(p)
		for len(fs) > 0 && !strings.Contains(fs[0], "=") {
			fs = fs[1:] // words before the method are skipped
		}
		if len(fs) == 0 {
			continue
		}
		k, val, ok := strings.Cut(fs[0], "=")
		k = strings.ToLower(k)
		if !ok || (k != "dkim" && k != "spf" && k != "dmarc") {
			continue
		}
		props := map[string]string{}
		for _, f := range fs[1:] {
			if pk, pv, ok := strings.Cut(f, "="); ok {
				props[strings.ToLower(pk)] = pv
			}
		}
		e := authEntry{method: k, value: strings.ToLower(strings.Trim(val, `"`))}
		switch k {
		case "dmarc":
			e.domain = authDomain(props["header.from"])
		case "spf":
			e.domain = authDomain(props["smtp.mailfrom"])
		case "dkim":
			d := props["header.d"]
			if d == "" {
				d = props["header.i"]
			}
			e.domain = authDomain(d)
		}
		out = append(out, e)
	}
	return id, out
}

// --- classification -------------------------------------------------------

var (
	daemonLocalRe = regexp.MustCompile(`(?i)^(?:mailer-daemon|mailer_daemon|mailerdaemon|mail-daemon|maildaemon|postmaster|poostmaster|mmdf|smtp-gateway|mail\.delivery\.system|bounces?|nobody-bounce|mdaemon)(?:[+.].*)?$`)
	daemonNameRe  = regexp.MustCompile(`(?i)mail delivery (?:subsystem|system|service)|mailer[- ]daemon|postmaster|mail administrator|system administrator|delivery status`)
	bounceSubjRe  = regexp.MustCompile(`(?i)^\s*(?:\[[^\]]*\]\s*)?(?:` +
		`undeliver(?:ed|able)|unzustellbar|non remis|onbestelbaar|no entregado|non recapitabile|` +
		`delivery status notification|delivery notification|delivery failure|delivery failed|delivery has failed|` +
		`mail delivery failed|mail delivery failure|email delivery failure|message delivery failure|` +
		`returned mail|mail returned|failure notice|failed mail|delivery report|` +
		`mail system error|nondeliverable|non-deliverable|non delivery|not delivered|` +
		`warning: could not send|warning: message .*delayed|delayed mail|delayed message|message delayed|` +
		`could not send message|delivery problem|delivery delayed|returned to sender|` +
		`notice: mail delivery status|postmaster notify|mail could not be delivered|` +
		`benachrichtung zum übermittlungsstatus|übermittlungsstatusbenachrichtigung|` +
		`notification d'état de remise|mail failure|error sending message|` +
		`delivery status|undelivered|unable to deliver|message not delivered|` +
		`メールエラー|配信エラー|返送|不達)`)
	bounceBodyRe = regexp.MustCompile(`(?i)(?:could not be delivered|couldn't be delivered|delivery (?:to the following recipients? )?(?:has )?failed|` +
		`undeliver(?:ed|able) (?:mail|message)|permanent(?:ly)? (?:error|fatal|failure)|` +
		`this is a permanent error|the following address(?:es)? had permanent fatal errors|` +
		`message could not be delivered|your message (?:wasn't|was not|could not be) delivered|` +
		`recipient address rejected|user unknown|mailbox unavailable|no such user|` +
		`unable to deliver|delivery to the following recipient|returned to sender|` +
		`I'm sorry to have to inform you|this is the mail system at host|` +
		`hi\. this is the qmail-send program|delivery has failed|not listed in (?:domino|public) directory)`)
	// Looser subject words, only trusted together with a daemon sender.
	daemonSubjRe = regexp.MustCompile(`(?i)undeliver|unzustellbar|deliver(?:y|ed)?\s+(?:fail|status|problem|notification|report|delay)|not\s+(?:been\s+)?delivered|returned|blocked|rejected|failure|failed|delayed|odrzucon|non remis|retour`)
	autoSubjRe   = regexp.MustCompile(`(?i)^\s*(?:\[[^\]]*\]\s*)?(?:` +
		`out of (?:the )?office|ooo\b|automatic reply|auto[- ]?reply|auto[- ]?response|auto[- ]?respons|autosvar|` +
		`abwesenheitsnotiz|abwesenheit|automatische antwort|automatische rückantwort|` +
		`réponse automatique|risposta automatica|respuesta automática|resposta automática|` +
		`automatisch antwoord|automaattinen vastaus|automatyczna odpowied|otomatik yanıt|` +
		`away from (?:the )?office|on vacation|vacation reply|vacation notice|i am away|i'm away|` +
		`away until|currently out|out of the country|abwesend|nicht im büro|` +
		`自動応答|自动回复|自動回覆)`)
)

// classify decides the Kind. Precedence: bounce, auto-reply, request, other.
func (p *parse) classify(h header, segs []segment) {
	m := p.m
	m.ReportType = p.reportType
	if reason := p.bounceReason(h, segs); reason != "" {
		m.Kind, m.BounceReason = KindBounce, reason
		return
	}
	if p.reportType == "feedback-report" {
		// An ARF abuse report is for humans, whatever its headers say.
		m.Kind = KindOther
		return
	}
	if reason := p.autoReason(h); reason != "" {
		m.Kind, m.AutoReason = KindAutoReply, reason
		return
	}
	if m.IsRequestSubject && !m.OwnLoop {
		m.Kind = KindRequest
		return
	}
	if m.IsNewOrgSubject && !m.OwnLoop {
		m.Kind = KindNewOrganization
		return
	}
	if m.IsEndSubject && !m.OwnLoop {
		m.Kind = KindEndLink
		return
	}
	m.Kind = KindOther
}

func (p *parse) fromIsDaemon(h header) bool {
	m := p.m
	local, _, _ := strings.Cut(p.looseFrom.Addr, "@")
	if daemonLocalRe.MatchString(local) {
		return true
	}
	if p.looseFrom.Name != "" && daemonNameRe.MatchString(p.looseFrom.Name) {
		return true
	}
	raw := h.Get("From")
	if len(raw) < 1000 && daemonNameRe.MatchString(raw) {
		return true
	}
	rp := strings.ToLower(m.ReturnPath)
	return strings.HasPrefix(rp, "mailer-daemon")
}

func (p *parse) bounceReason(h header, segs []segment) string {
	m := p.m
	if p.reportType == "delivery-status" {
		return "multipart_report_delivery_status"
	}
	if p.sawDeliveryStatus {
		return "delivery_status_part"
	}
	if h.Has("X-Failed-Recipients") {
		return "x_failed_recipients"
	}
	if h.Has("X-Ms-Exchange-Message-Is-Ndr") {
		return "exchange_ndr"
	}
	if (p.reportType != "" && p.reportType != "unknown") || p.mdn {
		return "" // another kind of report: not a bounce
	}
	daemon := p.fromIsDaemon(h)
	nullSender := m.HasReturnPath && (m.ReturnPath == "" || strings.EqualFold(m.ReturnPath, "mailer-daemon"))
	autoSub := autoSubmitted(h)
	subj := m.Subject
	subjBounce := bounceSubjRe.MatchString(subj)
	if daemon && (subjBounce || daemonSubjRe.MatchString(subj)) {
		return "daemon_sender_bounce_subject"
	}
	if subjBounce && (nullSender || autoSub != "") {
		return "null_sender_bounce_subject"
	}
	// The body is searched only when its verdict could count (the search
	// is the costliest step of classifying an ordinary automatic reply).
	if daemon || subjBounce || (nullSender && autoSub != "") {
		body := bodyHead(segs, 16<<10)
		if bounceBodyRe.MatchString(body) {
			return "bounce_text"
		}
	}
	return ""
}

// bodyHead returns the first max bytes of the body text.
func bodyHead(segs []segment, max int) string {
	var b strings.Builder
	for _, s := range segs {
		if b.Len() >= max {
			break
		}
		t := s.text
		if len(t) > max-b.Len() {
			t = truncateUTF8(t, max-b.Len())
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return b.String()
}

func autoSubmitted(h header) string {
	v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	v, _, _ = strings.Cut(v, ";")
	v, _, _ = strings.Cut(v, "(")
	v = strings.TrimSpace(v)
	if v == "" || v == "no" {
		return ""
	}
	return v
}

func (p *parse) autoReason(h header) string {
	m := p.m
	if v := autoSubmitted(h); v != "" {
		return "auto-submitted: " + SanitizeText(v, 40)
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autoreply-From", "X-Mail-Autoreply", "X-Autogenerated", "X-Auto-Reply"} {
		if h.Has(k) {
			v := strings.ToLower(strings.TrimSpace(h.Get(k)))
			if v == "no" || v == "false" || v == "0" {
				continue
			}
			return strings.ToLower(k)
		}
	}
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	switch prec {
	case "bulk", "junk", "list", "auto_reply", "auto-reply", "autoreply":
		return "precedence: " + prec
	}
	if p.mdn || p.reportType == "disposition-notification" {
		return "mdn"
	}
	if m.HasReturnPath && m.ReturnPath == "" {
		return "null_return_path"
	}
	if h.Has("X-Ms-Exchange-Inbox-Rules-Loop") && autoSubjRe.MatchString(m.Subject) {
		return "exchange_out_of_office"
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Auto-Response-Suppress")), "all") && autoSubjRe.MatchString(m.Subject) {
		return "exchange_out_of_office"
	}
	if autoSubjRe.MatchString(m.Subject) {
		return "out_of_office_subject"
	}
	if strings.Contains(strings.ToLower(h.Get("Content-Type")), "x-auto-response") {
		return "exchange_out_of_office"
	}
	return ""
}

// --- delivery status notifications ---------------------------------------

// parseDeliveryStatus reads the field blocks of a message/delivery-status
// body: the per-message block, then one block per recipient.
func (p *parse) parseDeliveryStatus(s string) {
	blocks := dsnBlocks(s)
	for i, b := range blocks {
		if i == 0 && b["final-recipient"] == "" && b["original-recipient"] == "" {
			if id := firstMsgID(b["x-original-message-id"]); id != "" && p.dsnMessageID == "" {
				p.dsnMessageID = id
			}
			continue
		}
		rcpt := b["final-recipient"]
		if rcpt == "" {
			rcpt = b["original-recipient"]
		}
		if rcpt == "" && b["action"] == "" && b["status"] == "" {
			continue
		}
		if _, addr, ok := strings.Cut(rcpt, ";"); ok {
			rcpt = addr
		}
		rcpt = strings.Trim(strings.TrimSpace(rcpt), "<>")
		if len(p.dsnRecipients) < 100 {
			p.dsnRecipients = append(p.dsnRecipients, DSNRecipient{
				FinalRecipient: strings.ToLower(SanitizeText(rcpt, 320)),
				Action:         strings.ToLower(SanitizeText(b["action"], 40)),
				Status:         SanitizeText(b["status"], 40),
				DiagnosticCode: SanitizeText(b["diagnostic-code"], 1000),
			})
		}
	}
}

// dsnBlocks splits "Key: value" lines into blank-line separated blocks with
// lower-case keys; continuation lines are joined.
func dsnBlocks(s string) []map[string]string {
	var blocks []map[string]string
	cur := map[string]string{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
		}
		cur = map[string]string{}
		last = ""
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			cur[last] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := cur[k]; !dup {
			cur[k] = strings.TrimSpace(v)
		}
		last = k
		if len(blocks) > 200 {
			break
		}
	}
	flush()
	return blocks
}

var (
	inlineMsgIDRe = regexp.MustCompile(`(?im)^\s*>?\s*message-id\s*:\s*(<[^<>\s]{1,995}>)`)
	statusCodeRe  = regexp.MustCompile(`\b([245])\.\d{1,3}\.\d{1,3}\b`)
	smtpCodeRe    = regexp.MustCompile(`\b(5[05][0-9]|4[25][0-9])[ -]`)
)

// buildDSN fills Mail.DSN for a bounce from whatever could be read.
func (p *parse) buildDSN(h header, segs []segment) {
	d := &DSN{Recipients: p.dsnRecipients}
	switch {
	case p.origHeadersID != "":
		d.OriginalMessageID = p.origHeadersID
	case p.attachedID != "":
		d.OriginalMessageID = p.attachedID
	case p.dsnMessageID != "":
		d.OriginalMessageID = p.dsnMessageID
	case firstMsgID(h.Get("X-Original-Message-Id")) != "":
		d.OriginalMessageID = firstMsgID(h.Get("X-Original-Message-Id"))
	case len(p.m.InReplyTo) > 0:
		d.OriginalMessageID = p.m.InReplyTo[0]
	case len(p.m.References) > 0:
		d.OriginalMessageID = p.m.References[len(p.m.References)-1]
	default:
		// Returned headers quoted in the text of a non-standard bounce.
		body := bodyHead(segs, 256<<10)
		for _, mm := range inlineMsgIDRe.FindAllStringSubmatch(body, 10) {
			if id := firstMsgID(mm[1]); id != "" && id != p.m.MessageID {
				d.OriginalMessageID = id
				break
			}
		}
	}
	for _, r := range d.Recipients {
		if r.Action == "failed" || strings.HasPrefix(r.Status, "5") {
			d.Permanent = true
		}
	}
	if len(d.Recipients) == 0 {
		body := bodyHead(segs, 64<<10)
		if mm := statusCodeRe.FindStringSubmatch(body); mm != nil {
			d.Permanent = mm[1] == "5"
		} else if mm := smtpCodeRe.FindStringSubmatch(body); mm != nil {
			d.Permanent = mm[1][0] == '5'
		} else if v := h.Get("X-Failed-Recipients"); v != "" {
			d.Permanent = true
		}
		for _, a := range looseAddrRe.FindAllString(p.decodeHeaderText(h.Get("X-Failed-Recipients")), 100) {
			d.Recipients = append(d.Recipients, DSNRecipient{FinalRecipient: strings.ToLower(a), Action: "failed"})
		}
	}
	if d.OriginalMessageID == "" && len(d.Recipients) == 0 && !d.Permanent {
		return
	}
	p.m.DSN = d
}

// --- body ------------------------------------------------------------------

// extractBody separates new from quoted text and reads the Organization ID,
// contact and note.
func (p *parse) extractBody(segs []segment, subjectFwd bool) {
	m := p.m
	var fresh, quoted []string
	for _, s := range segs {
		f, q := splitQuoted(s.text, s.subjectFwd || (subjectFwd && !s.attached))
		if len(fresh) > 0 && len(f) > 0 {
			fresh = append(fresh, "")
		}
		fresh = append(fresh, f...)
		if len(quoted) > 0 && len(q) > 0 {
			quoted = append(quoted, "")
		}
		quoted = append(quoted, q...)
	}
	newScan := scanOrgIDs(fresh)
	if newScan.empty() {
		if qs := scanOrgIDs(stripQuoteMarks(quoted)); !qs.empty() {
			decideOrgID(m, qs)
			m.OrgIDFromQuote = true
		} else {
			decideOrgID(m, newScan)
		}
	} else {
		decideOrgID(m, newScan)
	}
	extractContactAndNote(m, fresh)
	m.NewOrg = extractFields(fresh)
	m.Text = cleanText(strings.Join(fresh, "\n"), p.opts.MaxTextBytes)
}

// stripQuoteMarks removes leading ">" marks so labels and values on quoted
// lines read like plain lines.
func stripQuoteMarks(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t")
		for strings.HasPrefix(t, ">") {
			t = strings.TrimLeft(t[1:], " \t")
		}
		out[i] = t
	}
	return out
}
