package parser

import (
	"regexp"
	"strings"
)

var (
	// "On Mon, 16 Nov 2026, X wrote:", "Am 16.11.2026 um 10:00 schrieb X:", and
	// the French, Spanish, Italian, Dutch, Swedish forms.
	attributionRe      = regexp.MustCompile(`(?i)^(?:on\s.{1,250}\swrote\s*:|am\s.{1,250}\sschrieb\s?.{0,250}:|le\s.{1,250}\sa\s+écrit\s*:|el\s.{1,250}\sescribió\s*:|il\s.{1,250}\sha\s+scritto\s*:|op\s.{1,250}\sschreef\s?.{0,250}:|den\s.{1,250}\sskrev\s?.{0,250}:|.{1,250}\s(?:wrote|schrieb|a écrit)\s*:)$`)
	attributionStartRe = regexp.MustCompile(`(?i)^(?:on|am|le|el|il|op|den)\s`)
	originalMsgRe      = regexp.MustCompile(`(?i)^[-_=*\s]*(?:-{2,}\s*)?(?:original message|ursprüngliche nachricht|original-nachricht|originalnachricht|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht|opprinnelig melding|ursprungligt meddelande)\s*(?:-{2,}.*)?$`)
	forwardMarkerRe    = regexp.MustCompile(`(?i)^[-_=*\s]*(?:-{2,}\s*)?(?:forwarded message|forwarded message from.*|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|videresendt melding|vidarebefordrat meddelande)\s*(?:-{2,}.*)?$|^(?:begin forwarded message\s*:|anfang der weitergeleiteten nachricht\s*:|début du message réexpédié\s*:|comienzo del mensaje reenviado\s*:)`)
	hdrFromRe          = regexp.MustCompile(`(?i)^[*\s]*(?:from|von|de|da|van|fra|från|od|от|lähettäjä)\s*[*]*\s*[:：]\s*\S`)
	hdrSentRe          = regexp.MustCompile(`(?i)^[*\s]*(?:sent|gesendet|envoyé|enviado|enviada|inviato|verzonden|sendt|skickat|date|datum|fecha|data|отправлено|lähetetty)\s*[*]*\s*[:：]`)
	hdrAnyRe           = regexp.MustCompile(`(?i)^[*\s]*(?:from|von|to|an|cc|bcc|subject|betreff|sent|gesendet|date|datum|reply-to|antwort an|objet|envoyé|à|de|oggetto|asunto|para|enviado|onderwerp|aan|verzonden)\s*[*]*\s*[:：]`)
)

var (
	attributionWords = []string{"wrote", "schrieb", "écrit", "escribió", "scritto", "schreef", "skrev"}
	forwardWords2    = []string{"forward", "weitergeleitet", "transféré", "reenviado", "inoltrato", "doorgestuurd", "videresendt", "vidarebefordrat", "réexpédié"}
	originalWords    = []string{"original", "ursprüngliche", "origine", "oorspronkelijk", "opprinnelig", "ursprungligt"}
)

// containsAny reports whether the lower-cased line holds one of the words; a
// cheap test before the regular expressions.
func containsAny(lower string, words []string) bool {
	for _, w := range words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

func isQuoted(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), ">")
}

// isHeaderBlock reports whether lines[i] starts an Outlook-style header block:
// a From:/Von: line followed within a few lines by Sent:/Gesendet:/Date:.
func isHeaderBlock(lines []string, i int) bool {
	if !strings.ContainsAny(lines[i], ":：") || !hdrFromRe.MatchString(lines[i]) {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+6; j++ {
		if hdrSentRe.MatchString(lines[j]) {
			return true
		}
	}
	return false
}

// splitQuoted separates the new text of a mail from what it quotes.
//
// Quoted: lines starting with ">", the attribution line ("On … wrote:",
// "Am … schrieb …:"), and everything from an "-----Original Message-----"
// line or an Outlook "From: … Sent: …" block to the end. A forward marker
// ("---------- Forwarded message ---------", "Begin forwarded message:", ...)
// starts forwarded text, which counts as new; so does an Outlook header block
// or an "Original Message" line when the subject has a forward prefix. Inside
// forwarded text the forward's own header block is new text; a later header
// block starts the forwarded mail's quoted history.
func splitQuoted(text string, subjectFwd bool) (fresh, quoted []string) {
	lines := strings.Split(text, "\n")
	const (
		modeNew = iota
		modeFwd
		modeQuoted
	)
	mode := modeNew
	fwdHeaderPending := false
	sawContentSinceMarker := false
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r \t")
		t := strings.TrimSpace(line)
		if mode == modeQuoted {
			quoted = append(quoted, line)
			continue
		}
		if t == "" {
			if fwdHeaderPending && sawContentSinceMarker {
				fwdHeaderPending = false
			}
			fresh = append(fresh, line)
			continue
		}
		if isQuoted(t) {
			quoted = append(quoted, line)
			continue
		}
		lower := strings.ToLower(t)
		if len(t) < 300 && containsAny(lower, forwardWords2) && forwardMarkerRe.MatchString(t) {
			mode = modeFwd
			fwdHeaderPending = true
			sawContentSinceMarker = false
			fresh = append(fresh, line)
			continue
		}
		if len(t) < 300 && containsAny(lower, originalWords) && originalMsgRe.MatchString(t) {
			if mode == modeNew && subjectFwd {
				mode = modeFwd
				fwdHeaderPending = true
				sawContentSinceMarker = false
				fresh = append(fresh, line)
				continue
			}
			mode = modeQuoted
			quoted = append(quoted, line)
			continue
		}
		if isHeaderBlock(lines, i) {
			switch {
			case fwdHeaderPending:
				fwdHeaderPending = false
			case mode == modeNew && subjectFwd:
				mode = modeFwd
			default:
				mode = modeQuoted
				// An Outlook separator line just before the block is quoted too.
				if n := len(fresh); n > 0 && strings.Trim(strings.TrimSpace(fresh[n-1]), "_-") == "" && strings.TrimSpace(fresh[n-1]) != "" {
					quoted = append(quoted, fresh[n-1])
					fresh = fresh[:n-1]
				}
				quoted = append(quoted, line)
				continue
			}
			// The block belongs to the forward: skip past it as new text.
			for i < len(lines) && strings.TrimSpace(lines[i]) != "" && (hdrAnyRe.MatchString(lines[i]) || startsWithSpace(lines[i])) {
				fresh = append(fresh, strings.TrimRight(lines[i], "\r \t"))
				i++
			}
			i--
			sawContentSinceMarker = true
			continue
		}
		if len(t) < 600 && containsAny(lower, attributionWords) && attributionRe.MatchString(t) {
			quoted = append(quoted, line)
			continue
		}
		// Attribution wrapped over two lines (Gmail) and followed by quotes.
		if i+1 < len(lines) && len(t) < 300 && attributionStartRe.MatchString(t) && containsAny(strings.ToLower(lines[i+1]), attributionWords) {
			joined := t + " " + strings.TrimSpace(lines[i+1])
			if len(joined) < 600 && attributionRe.MatchString(joined) && (i+2 >= len(lines) || isQuoted(strings.TrimSpace(lines[i+2])) || strings.TrimSpace(lines[i+2]) == "") {
				quoted = append(quoted, line, strings.TrimRight(lines[i+1], "\r \t"))
				i++
				continue
			}
		}
		if mode == modeFwd && fwdHeaderPending && (!strings.ContainsAny(t, ":：") || !hdrAnyRe.MatchString(t)) {
			sawContentSinceMarker = true
		}
		fresh = append(fresh, line)
	}
	return fresh, quoted
}

func startsWithSpace(s string) bool {
	return strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\t")
}
