package parser

import (
	"regexp"
	"strings"
)

// CanonicalUUID returns the lower-case 8-4-4-4-12 form of a UUID written in
// any case, with or without braces, with or without a "urn:uuid:" prefix, or
// as 32 hex digits. Version and variant bits are not checked.
func CanonicalUUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 9 && strings.EqualFold(s[:9], "urn:uuid:") {
		s = strings.TrimSpace(s[9:])
	}
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	s = strings.TrimSpace(s)
	switch len(s) {
	case 36:
		for i := 0; i < 36; i++ {
			c := s[i]
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return "", false
				}
				continue
			}
			if !isHex(c) {
				return "", false
			}
		}
		return strings.ToLower(s), true
	case 32:
		for i := 0; i < 32; i++ {
			if !isHex(s[i]) {
				return "", false
			}
		}
		l := strings.ToLower(s)
		return l[:8] + "-" + l[8:12] + "-" + l[12:16] + "-" + l[16:20] + "-" + l[20:], true
	}
	return "", false
}

var uuidRe = regexp.MustCompile(`(?i)(?:urn:uuid:)?\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?`)

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
}

// findUUIDs returns the canonical UUIDs in s, in order, with their positions.
// A hex run that merely contains a UUID (longer token) is not one.
func findUUIDs(s string) (ids []string, locs [][2]int) {
	if len(s) < 36 || strings.Count(s, "-") < 4 {
		return nil, nil
	}
	for _, loc := range uuidRe.FindAllStringIndex(s, 1000) {
		a, b := loc[0], loc[1]
		if a > 0 && isWordByte(s[a-1]) {
			continue
		}
		if b < len(s) && isWordByte(s[b]) {
			continue
		}
		if id, ok := CanonicalUUID(s[a:b]); ok {
			ids = append(ids, id)
			locs = append(locs, [2]int{a, b})
		}
	}
	return ids, locs
}

// Labels: Organization ID, Organisation ID, Org ID, Org-ID, OrgID,
// Organisations-ID, Organization-ID, Organizational ID (any case).
var labelRe = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])((?:organi[sz]ations?|organi[sz]ational|org)[ \t]*[-_ ]?[ \t]*id)(?:[^a-z0-9]|$)`)

var idTokenRe = regexp.MustCompile(`^[0-9A-Za-z{}:_\-]{4,80}$`)

// orgScan is what one text says about Organization IDs.
type orgScan struct {
	labelled  []string // distinct canonical UUIDs that follow a label
	malformed []string // labelled values that look like ids but are not UUIDs
	all       []string // distinct canonical UUIDs anywhere
}

func (o orgScan) empty() bool { return len(o.all) == 0 && len(o.malformed) == 0 }

func appendDistinct(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// idLike reports whether a token after a label is meant as an identifier:
// identifier characters only and at least one digit.
func idLike(tok string) bool {
	if !idTokenRe.MatchString(tok) {
		return false
	}
	return strings.ContainsAny(tok, "0123456789")
}

func firstToken(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimRight(f[0], ".,;:!?)")
}

var labelSepRe = regexp.MustCompile(`(?i)^[\s:：=#\-–—>]*(?:(?:is|ist|lautet|=)\s*[:：]?\s*)?`)

// addLabelled records tok, the value a label names: a UUID, or a malformed
// value when it only looks like an ID.
func (o *orgScan) addLabelled(tok string) {
	if id, ok := CanonicalUUID(tok); ok {
		o.labelled = appendDistinct(o.labelled, id)
		o.all = appendDistinct(o.all, id)
	} else if idLike(tok) {
		o.malformed = appendDistinct(o.malformed, tok)
	}
}

// scanOrgIDs reads lines of new (or quoted) text.
func scanOrgIDs(lines []string) orgScan {
	var o orgScan
	for i, line := range lines {
		ids, _ := findUUIDs(line)
		for _, id := range ids {
			o.all = appendDistinct(o.all, id)
		}
		if lower := strings.ToLower(line); !strings.Contains(lower, "org") || !strings.Contains(lower, "id") {
			continue // every label has "org" and "id"
		}
		for _, lm := range labelRe.FindAllStringSubmatchIndex(line, 10) {
			rest := line[lm[3]:]
			rest = rest[len(labelSepRe.FindString(rest)):]
			if rids, locs := findUUIDs(rest); len(rids) > 0 {
				// The value is the first UUID after the label, if it comes
				// before any further label on the line.
				if next := labelRe.FindStringIndex(rest); next == nil || next[0] > locs[0][0] {
					o.labelled = appendDistinct(o.labelled, rids[0])
				}
				continue
			}
			if tok := firstToken(rest); tok != "" {
				o.addLabelled(tok)
				continue
			}
			// Label alone on its line: the value is on the next non-empty line.
			for j := i + 1; j < len(lines) && j <= i+3; j++ {
				nl := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(lines[j]), ">"))
				if nl == "" {
					continue
				}
				if nids, locs := findUUIDs(nl); len(nids) > 0 && locs[0][0] == 0 {
					o.labelled = appendDistinct(o.labelled, nids[0])
				} else if len(strings.Fields(nl)) == 1 {
					o.addLabelled(firstToken(nl))
				}
				break
			}
		}
	}
	return o
}

// decideOrgID applies the rules: one labelled UUID wins; several labelled are
// ambiguous; a malformed labelled value (and no valid labelled one) is
// malformed; otherwise the only UUID; several are ambiguous; none is missing.
func decideOrgID(m *Mail, o orgScan) {
	m.OrgIDCandidates = nil
	for _, id := range o.all {
		m.OrgIDCandidates = appendDistinct(m.OrgIDCandidates, id)
	}
	for _, id := range o.malformed {
		m.OrgIDCandidates = appendDistinct(m.OrgIDCandidates, SanitizeText(id, 100))
	}
	m.OrgID, m.OrgIDLabelled = "", false
	switch {
	case len(o.labelled) == 1:
		m.OrgIDStatus, m.OrgID, m.OrgIDLabelled = OrgIDFound, o.labelled[0], true
	case len(o.labelled) > 1:
		m.OrgIDStatus, m.OrgIDLabelled = OrgIDAmbiguous, true
	case len(o.malformed) > 0:
		m.OrgIDStatus, m.OrgIDLabelled = OrgIDMalformed, true
	case len(o.all) == 1:
		m.OrgIDStatus, m.OrgID = OrgIDFound, o.all[0]
	case len(o.all) > 1:
		m.OrgIDStatus = OrgIDAmbiguous
	default:
		m.OrgIDStatus = OrgIDMissing
	}
}

var contactRe = regexp.MustCompile(`(?i)^[\s*]*(?:customer[ -]|kunden-?\s?)?(?:contact|kontakt|admin|administrator|ansprechpartner(?:in)?|administrat(?:or|eur))(?:[ -]?(?:e-?mail|mail|address|adresse|contact|kontakt))?[\s*]*[:：]\s*(.*)$`)
var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+`)

// resellerRe reads "Reseller ID: <ref>"; a two-column table's row (HTML or
// plain) reads as the label and the value without a colon.
var resellerRe = regexp.MustCompile(`(?i)^[\s*]*(?:reseller|wiederverkäufer)[ -]?(?:id|ref|reference|referenz|nr\.?)[\s*]*[:：][\s*]*(.*)$|^\s*(?:reseller|wiederverkäufer)[ -]?id\s+(\S+)\s*$`)
var partnerRe = regexp.MustCompile(`(?i)^[\s*]*(?:partner|reseller)[ -]?(?:id|ref|reference|referenz|name)?[\s*]*[:：][\s*]*(.*)$`)
var noteRe = regexp.MustCompile(`(?i)^[\s*]*(?:note|notes|notiz|hinweis|bemerkung|anmerkung|comment)[\s*]*[:：]\s*(.*)$`)

// extractContactAndNote reads the optional labelled administrator contact
// e-mail and note from the new text.
func extractContactAndNote(m *Mail, lines []string) {
	for i, line := range lines {
		// Each label's expression runs only on a line that names its
		// keyword: most lines name none, and the expressions cost a
		// quarter of a mail's parse when run on every line.
		low := strings.ToLower(line)
		if m.ResellerRef == "" && containsAny(low, []string{"reseller", "wiederverk"}) {
			if mm := resellerRe.FindStringSubmatch(line); mm != nil {
				m.ResellerRef = labelledValue(mm[1]+mm[2], lines, i)
			}
		}
		if !strings.ContainsAny(line, ":：") {
			continue
		}
		if m.ContactEmail == "" && containsAny(low, []string{"contact", "kontakt", "admin", "ansprechpartner"}) {
			if mm := contactRe.FindStringSubmatch(line); mm != nil {
				v := mm[1]
				if strings.TrimSpace(v) == "" && i+1 < len(lines) {
					v = lines[i+1]
				}
				if e := emailRe.FindString(v); e != "" && len(e) <= 254 {
					m.ContactEmail = strings.ToLower(e)
				}
			}
		}
		if m.PartnerField == "" && containsAny(low, []string{"partner", "reseller"}) {
			if mm := partnerRe.FindStringSubmatch(line); mm != nil {
				m.PartnerField = labelledValue(mm[1], lines, i)
			}
		}
		if m.Note == "" && containsAny(low, []string{"note", "notiz", "hinweis", "bemerkung", "anmerkung", "comment"}) {
			if mm := noteRe.FindStringSubmatch(line); mm != nil {
				v := mm[1]
				if strings.TrimSpace(v) == "" {
					for j := i + 1; j < len(lines) && j <= i+3; j++ {
						if strings.TrimSpace(lines[j]) != "" {
							v = lines[j]
							break
						}
					}
				}
				m.Note = SanitizeText(v, 1000)
			}
		}
	}
}

// labelledValue is the value of a labelled line, or of the next non-empty
// line when the label stands alone (an HTML table's cell below it).
func labelledValue(v string, lines []string, i int) string {
	for j := i + 1; strings.TrimSpace(v) == "" && j < len(lines) && j <= i+2; j++ {
		v = lines[j]
	}
	return SanitizeText(strings.Trim(strings.TrimSpace(v), `"'<>[]`), 200)
}
