package parser

import (
	"strings"

	"golang.org/x/net/html"
)

var htmlBlock = map[string]bool{
	"p": true, "div": true, "table": true, "tr": true, "ul": true, "ol": true, "li": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "pre": true,
	"hr": true, "section": true, "article": true, "header": true, "footer": true,
	"address": true, "dl": true, "dd": true, "dt": true, "center": true, "form": true,
	"tbody": true, "thead": true, "tfoot": true, "caption": true, "main": true, "nav": true,
	"aside": true, "figure": true, "fieldset": true, "body": true, "html": true,
}

var htmlSkip = map[string]bool{
	"head": true, "style": true, "script": true, "title": true, "noscript": true,
	"template": true, "object": true, "applet": true, "xml": true, "svg": true,
}

// htmlText collects the text of an HTML document as lines. Lines inside a
// <blockquote> get a "> " prefix so that quote detection treats them like
// quoted plain text.
type htmlText struct {
	lines     []string
	cur       strings.Builder
	curQuoted bool
	space     bool
}

func (t *htmlText) newline() {
	line := strings.TrimRight(t.cur.String(), " \t")
	if strings.TrimSpace(line) != "" {
		if t.curQuoted {
			line = "> " + line
		}
		t.lines = append(t.lines, line)
	}
	t.cur.Reset()
	t.curQuoted = false
	t.space = false
}

// blank ends the current line and adds one empty line (paragraph end, <br>
// on an empty line).
func (t *htmlText) blank() {
	t.newline()
	if n := len(t.lines); n > 0 && t.lines[n-1] != "" {
		t.lines = append(t.lines, "")
	}
}

func (t *htmlText) text(s string, pre bool, quoted bool) {
	if pre {
		for i, part := range strings.Split(s, "\n") {
			if i > 0 {
				t.newline()
			}
			if part != "" {
				t.cur.WriteString(part)
				t.curQuoted = t.curQuoted || quoted
			}
		}
		return
	}
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0' {
			t.space = true
			continue
		}
		if t.space && t.cur.Len() > 0 {
			t.cur.WriteByte(' ')
		}
		t.space = false
		t.cur.WriteRune(r)
		t.curQuoted = t.curQuoted || quoted
	}
}

// htmlToText turns HTML into plain text lines: head, style and script are
// skipped; block elements and <br> break lines; table cells are separated by a
// tab so that a label cell and its value cell read as one line.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	z.SetMaxBuf(4 << 20)
	var t htmlText
	skip := ""      // raw-text element being skipped
	inHead := false // inside <head> until </head> or <body>
	quote := 0
	pre := 0
	for steps := 0; steps < 4<<20; steps++ {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			t.newline()
			return strings.TrimSpace(strings.Join(t.lines, "\n"))
		case html.TextToken:
			if skip != "" || inHead {
				continue
			}
			t.text(string(z.Text()), pre > 0, quote > 0)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := strings.ToLower(string(name))
			end := tt == html.EndTagToken
			if skip != "" {
				if end && tag == skip {
					skip = ""
				}
				continue
			}
			switch {
			case tag == "head":
				inHead = !end
				continue
			case tag == "body":
				inHead = false
			case htmlSkip[tag] && tt == html.StartTagToken:
				skip = tag
				continue
			}
			if inHead {
				continue
			}
			switch tag {
			case "br":
				if strings.TrimSpace(t.cur.String()) == "" {
					t.blank()
				} else {
					t.newline()
				}
			case "p":
				if end {
					t.blank()
				} else {
					t.newline()
				}
			case "td", "th":
				// A tab between the cells of a row: a label cell and its
				// value cell read as one "label<TAB>value" line.
				t.space = true
				if !end && strings.TrimSpace(t.cur.String()) != "" {
					t.cur.WriteByte('\t')
					t.space = false
				}
			case "blockquote":
				t.newline()
				if end {
					if quote > 0 {
						quote--
					}
				} else if tt == html.StartTagToken {
					quote++
				}
			case "pre":
				t.newline()
				if end {
					if pre > 0 {
						pre--
					}
				} else if tt == html.StartTagToken {
					pre++
				}
			default:
				if htmlBlock[tag] {
					t.newline()
				}
			}
		}
	}
	t.newline()
	return strings.TrimSpace(strings.Join(t.lines, "\n"))
}
