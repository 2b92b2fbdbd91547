package templates

// Text helpers: safe one-line and multi-line values, and the tidying and
// wrapping of the text part.

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanSubject makes s a safe one-line subject: every control character, line
// or paragraph separator and other white space becomes a space, runs of spaces
// collapse to one, and the ends are trimmed.
func CleanSubject(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || isBidiControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// isBidiControl reports the explicit directional formatting characters, which
// can make a subject read differently from what it says.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// oneLine replaces control characters and line breaks by spaces.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r) || r == utf8.RuneError
	}) {
		return s
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		case isBidiControl(r):
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

// multiLine keeps line breaks (normalized to \n) and tabs, and drops every
// other control character.
func multiLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085':
			return '\n'
		case unicode.IsControl(r) || isBidiControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// textWidth is the column at which tidyText wraps prose lines.
const textWidth = 76

// tidyText trims trailing blanks on every line, collapses runs of blank lines
// into one, wraps long lines at word boundaries (keeping an indent, a list
// marker's hanging indent and a "> " quote prefix) and ends the text with
// exactly one newline. "-- " (the signature separator) is kept as it is.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := true // drop leading blank lines
	for _, l := range lines {
		if l != "-- " {
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			if blank {
				continue
			}
			blank = true
			out = append(out, l)
			continue
		}
		blank = false
		out = append(out, wrap(l, textWidth)...)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}

// wrap breaks l at ASCII spaces into lines of at most width runes where it
// can; a single word longer than width (a link) stays whole, and a no-break
// space (as in dates) never breaks.
func wrap(l string, width int) []string {
	if utf8.RuneCountInString(l) <= width {
		return []string{l}
	}
	first, cont := hangingPrefix(l)
	words := strings.FieldsFunc(l[len(first):], func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 {
		return []string{l}
	}
	var out []string
	cur := first + words[0]
	curLen := utf8.RuneCountInString(cur)
	for _, w := range words[1:] {
		wl := utf8.RuneCountInString(w)
		if curLen+1+wl > width {
			out = append(out, cur)
			cur, curLen = cont+w, utf8.RuneCountInString(cont)+wl
			continue
		}
		cur += " " + w
		curLen += 1 + wl
	}
	return append(out, cur)
}

// hangingPrefix returns the part of l before its first word (indent, quote
// marks, list marker) and the prefix for continuation lines.
func hangingPrefix(l string) (first, cont string) {
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	indent := l[:i]
	if strings.HasPrefix(l[i:], ">") {
		j := i
		for j < len(l) && (l[j] == '>' || l[j] == ' ') {
			j++
		}
		return l[:j], l[:j]
	}
	rest := l[i:]
	marker := 0
	switch {
	case strings.HasPrefix(rest, "- "), strings.HasPrefix(rest, "* "):
		marker = 2
	default:
		d := 0
		for d < len(rest) && d < 3 && rest[d] >= '0' && rest[d] <= '9' {
			d++
		}
		if d > 0 && strings.HasPrefix(rest[d:], ". ") {
			marker = d + 2
		}
	}
	return l[:i+marker], indent + strings.Repeat(" ", marker)
}
