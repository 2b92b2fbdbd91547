package parser

import (
	"strings"
	"unicode"
)

// invisible reports runes that are dropped from names and text: C0 and C1
// controls, DEL, bidirectional embeddings/overrides/isolates, zero-width
// characters and the byte order mark.
func invisible(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r >= 0x200b && r <= 0x200f, r == 0x061c, r == 0xfeff, r == 0x2060:
		return true
	}
	return false
}

// SanitizeText returns s as one line of valid UTF-8: whitespace and line
// breaks (CR, LF, TAB, U+2028, ...) fold to single spaces, other control
// characters and bidi overrides (U+202A–202E, U+2066–2069) are removed, the
// result is trimmed and cut to maxRunes runes (no cap if maxRunes <= 0) on a
// rune boundary. Markup is left as text.
func SanitizeText(s string, maxRunes int) string {
	var b strings.Builder
	b.Grow(min(len(s), 4096))
	pending := false
	n := 0
	for _, r := range s { // invalid UTF-8 bytes arrive as U+FFFD
		if unicode.IsSpace(r) || r == 0x2028 || r == 0x2029 {
			pending = true
			continue
		}
		if invisible(r) {
			continue
		}
		if pending && b.Len() > 0 {
			if maxRunes > 0 && n+1 >= maxRunes {
				break
			}
			b.WriteByte(' ')
			n++
		}
		pending = false
		if maxRunes > 0 && n >= maxRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// cleanText makes multi-line text safe to show: valid UTF-8, LF line ends,
// tabs kept, other controls and bidi overrides removed, trailing spaces cut,
// runs of blank lines folded to one, at most maxBytes bytes.
func cleanText(s string, maxBytes int) string {
	var b strings.Builder
	b.Grow(min(len(s), maxBytes) + 16)
	blank := 0
	for _, line := range strings.Split(s, "\n") {
		var lb strings.Builder
		for _, r := range line {
			if r == '\t' {
				lb.WriteRune(r)
				continue
			}
			if r == 0x2028 || r == 0x2029 {
				lb.WriteByte(' ')
				continue
			}
			if invisible(r) {
				continue
			}
			lb.WriteRune(r)
		}
		l := strings.TrimRight(lb.String(), " \t\u00a0")
		if l == "" {
			blank++
			if blank > 1 || b.Len() == 0 {
				continue
			}
		} else {
			blank = 0
		}
		if b.Len()+len(l)+1 > maxBytes {
			rest := maxBytes - b.Len() - 1
			if rest > 0 {
				if b.Len() > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(truncateUTF8(l, rest))
			}
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return strings.TrimSpace(b.String())
}
