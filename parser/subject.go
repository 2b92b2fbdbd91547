package parser

import (
	"regexp"
	"strings"
)

// Reply and forward prefixes of the common mail clients and languages,
// optionally with a counter ("Re[2]:", "Re(3):", "Re^2:").
const replyWords = `re|aw|sv|vs|antw|antwort|odp|rif|res|ynt|atb|vá|ref`
const forwardWords = `fwd|fw|wg|tr|enc|vl|doorst|rv|i|fwdr|wtr|pd|rv|trs`

var prefixRe = regexp.MustCompile(`(?i)^\s*(?:` +
	`(?:` + replyWords + `|` + forwardWords + `)\s*(?:\[\d{1,4}\]|\(\d{1,4}\)|\^\d{1,4})?\s*[:：]` +
	`|\[[^\[\]]{0,80}\]` + // [EXTERNAL], [REQ-000123], [SPAM], [list-name]
	`|\((?:external|extern|ext|externe?|external sender)\)` +
	`|\*{1,3}\s*(?:external|extern|ext|caution|warning|spam)\s*\*{1,3}` +
	`|(?:external|extern|ext|caution)\s*[:：]` +
	`)\s*`)

var forwardPrefixRe = regexp.MustCompile(`(?i)^\s*(?:` + forwardWords + `)\s*(?:\[\d{1,4}\]|\(\d{1,4}\))?\s*[:：]`)

// StripSubjectPrefixes removes any number of reply/forward prefixes (Re:,
// RE:, Fwd:, FW:, AW:, WG:, SV:, VS:, Antw:, TR:, "Re[2]:", ...), [EXTERNAL]
// style tags and [REQ-…] tags from the start of s.
func StripSubjectPrefixes(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < 100; i++ {
		loc := prefixRe.FindStringIndex(s)
		if loc == nil || loc[1] == 0 {
			break
		}
		s = s[loc[1]:]
	}
	return strings.TrimSpace(s)
}

// hasForwardPrefix reports whether a forward prefix (Fwd:, FW:, WG:, TR:, ...)
// appears among the leading prefixes of the subject.
func hasForwardPrefix(s string) bool {
	s = strings.TrimSpace(s)
	for i := 0; i < 100; i++ {
		if forwardPrefixRe.MatchString(s) {
			return true
		}
		loc := prefixRe.FindStringIndex(s)
		if loc == nil || loc[1] == 0 {
			return false
		}
		s = s[loc[1]:]
	}
	return false
}

var requestPhraseRe = regexp.MustCompile(`(?i)^please\s+establish\s+(?:a\s+|the\s+)?reseller\s+connection\s+to\s+(?:the\s+|our\s+)?customer(?:\s*[:\-–—]\s*|\s+|$)`)

var endPhraseRe = regexp.MustCompile(`(?i)^please\s+end\s+(?:the\s+)?reseller\s+connection\s+to\s+(?:the\s+|our\s+)?customer(?:\s*[:\-–—]\s*|\s+|$)`)

var tagRe = regexp.MustCompile(`(?i)\[\s*(REQ-\d{1,12})\s*\]`)
var bareTagRe = regexp.MustCompile(`(?i)\bREQ-\d{1,12}\b`)
var trailingTagRe = regexp.MustCompile(`(?i)\s*[\[(]\s*REQ-\d{1,12}\s*[\])]\s*$`)

// findRequestTag returns the first [REQ-…] tag of the subject in upper case,
// or a bare REQ-… when no bracketed one is there.
func findRequestTag(subject string) string {
	if mm := tagRe.FindStringSubmatch(subject); mm != nil {
		return strings.ToUpper(mm[1])
	}
	if t := bareTagRe.FindString(subject); t != "" {
		return strings.ToUpper(t)
	}
	return ""
}

var namePairs = [][2]string{
	{"[", "]"}, {`"`, `"`}, {"«", "»"}, {"»", "«"}, {"“", "”"}, {"„", "“"}, {"„", "”"},
	{"”", "”"}, {"‹", "›"}, {"›", "‹"}, {"'", "'"}, {"‘", "’"}, {"‚", "‘"}, {"'", "'"},
	{"「", "」"}, {"『", "』"}, {"(", ")"}, {"<", ">"},
}

// stripEnclosing removes one enclosing pair of brackets or quotes when the
// whole name is inside it.
func stripEnclosing(s string) string {
	for _, pair := range namePairs {
		if len(s) >= len(pair[0])+len(pair[1]) && strings.HasPrefix(s, pair[0]) && strings.HasSuffix(s, pair[1]) {
			inner := s[len(pair[0]) : len(s)-len(pair[1])]
			if strings.Contains(inner, pair[1]) || (pair[0] != pair[1] && strings.Contains(inner, pair[0])) {
				continue
			}
			return strings.TrimSpace(inner)
		}
	}
	return s
}

// parseRequestSubject recognises "Please establish reseller connection to
// customer <Name>" after any prefixes and tags, and returns the sanitised name.
func parseRequestSubject(subject string, maxRunes int) (string, bool) {
	return subjectName(subject, requestPhraseRe, maxRunes)
}

var customerFirstPhraseRe = regexp.MustCompile(`(?i)^please\s+connect\s+(?:our|my|the)\s+organi[sz]ation\s+to\s+(?:the\s+|our\s+)?reseller(?:\s*[:\-–—]\s*|\s+|$)`)

// parseCustomerFirstSubject recognises "Please connect our organization to
// reseller <Partner>" (the administrator's own request) like
// parseRequestSubject, and returns the sanitised partner reference or name.
func parseCustomerFirstSubject(subject string, maxRunes int) (string, bool) {
	return subjectName(subject, customerFirstPhraseRe, maxRunes)
}

// parseEndSubject recognises "Please end reseller connection to customer
// <Name>" as parseRequestSubject does the request subject.
func parseEndSubject(subject string, maxRunes int) (string, bool) {
	return subjectName(subject, endPhraseRe, maxRunes)
}

// subjectName returns the name after the phrase of a subject form, after
// any prefixes and tags, sanitised.
func subjectName(subject string, phrase *regexp.Regexp, maxRunes int) (string, bool) {
	s := SanitizeText(subject, 0)
	s = StripSubjectPrefixes(s)
	loc := phrase.FindStringIndex(s)
	if loc == nil {
		return "", false
	}
	name := strings.TrimSpace(s[loc[1]:])
	for i := 0; i < 10; i++ {
		cut := trailingTagRe.ReplaceAllString(name, "")
		if cut == name {
			break
		}
		name = strings.TrimSpace(cut)
	}
	name = stripEnclosing(name)
	return SanitizeText(name, maxRunes), true
}

var newOrgPhraseRe = regexp.MustCompile(`(?i)^please\s+create\s+(?:a\s+)?new\s+organi[sz]ation\s+for\s+(?:the\s+|our\s+)?customer(?:\s*[:\-–—]\s*|\s+|$)`)

// parseNewOrgSubject recognises "Please create a new organization for
// customer <Name>" like parseRequestSubject the connection subject.
func parseNewOrgSubject(subject string, maxRunes int) (string, bool) {
	return subjectName(subject, newOrgPhraseRe, maxRunes)
}

// CustomerNameFromSubject returns the customer name of a request subject and
// whether the subject has the request form. It is what Parse uses.
func CustomerNameFromSubject(subject string, maxRunes int) (string, bool) {
	if maxRunes <= 0 {
		maxRunes = 200
	}
	return parseRequestSubject(subject, maxRunes)
}
