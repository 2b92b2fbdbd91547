package parser

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"regexp"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// segment is the text of one body part, in reading order.
type segment struct {
	text       string
	html       bool // HTML; text holds the markup until convert runs
	converted  bool
	attached   bool // from an attached message/rfc822: a forwarded mail
	subjectFwd bool // the mail this text belongs to has a forward subject prefix
}

var paramRe = regexp.MustCompile(`(?i)(?:^|;)\s*([a-z0-9*_\-.]+)\s*=\s*(?:"([^"]*)"?|([^;\s]*))`)

// contentType parses Content-Type leniently. A missing or unusable value is
// text/plain (or defType inside a multipart/digest).
func (p *parse) contentType(h header, defType string) (string, map[string]string) {
	v := strings.TrimSpace(h.Get("Content-Type"))
	if v == "" {
		return defType, map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil && strings.Contains(mt, "/") {
		return strings.ToLower(mt), params
	}
	p.m.addDefect(DefectBadContentType)
	first, rest, _ := strings.Cut(v, ";")
	mt = strings.ToLower(strings.Trim(strings.TrimSpace(first), `"`))
	if !strings.Contains(mt, "/") || strings.ContainsAny(mt, " \t") {
		mt = defType
		rest = v
	}
	params = map[string]string{}
	for _, mm := range paramRe.FindAllStringSubmatch(";"+rest, 50) {
		k := strings.ToLower(mm[1])
		val := mm[2]
		if val == "" {
			val = mm[3]
		}
		if _, dup := params[k]; !dup {
			params[k] = val
		}
	}
	return mt, params
}

func disposition(h header) string {
	v := h.Get("Content-Disposition")
	d, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(d))
}

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	buf []byte
	max int
}

func (c *capBuffer) Write(b []byte) (int, error) {
	if room := c.max - len(c.buf); room > 0 {
		if len(b) < room {
			room = len(b)
		}
		c.buf = append(c.buf, b[:room]...)
	}
	return len(b), nil
}

// readAtMost reads up to max bytes; truncated says there was more.
func readAtMost(r io.Reader, max int) (b []byte, truncated bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, int64(max)+1))
	if len(b) > max {
		return b[:max], true, err
	}
	return b, false, err
}

// walk reads one entity (header h, undecoded body) and returns the text
// segments it holds, recording DSN data and defects on the way.
func (p *parse) walk(h header, body io.Reader, depth int, subjectFwd bool) []segment {
	return p.walkEntity(h, body, depth, subjectFwd, "text/plain")
}

func (p *parse) walkEntity(h header, body io.Reader, depth int, subjectFwd bool, defType string) []segment {
	if p.stop {
		return nil
	}
	p.parts++
	if p.parts > p.opts.MaxParts {
		p.m.addDefect(DefectPartLimitExceeded)
		p.stop = true
		return nil
	}
	if depth > p.opts.MaxDepth {
		p.m.addDefect(DefectMIMEDepthExceeded)
		return nil
	}
	mt, params := p.contentType(h, defType)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		return p.walkMultipart(h, mt, params, body, depth, subjectFwd)
	case mt == "message/rfc822" || mt == "message/global":
		return p.walkAttachedMessage(h, body, depth, subjectFwd)
	case mt == "text/rfc822-headers" || mt == "message/rfc822-headers" || mt == "message/global-headers":
		b := p.readDecoded(h, body, 64<<10)
		hh, _ := p.headerFromBytes(b)
		if p.origHeadersID == "" {
			p.origHeadersID = firstMsgID(hh.Get("Message-Id"))
		}
		return nil
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		p.sawDeliveryStatus = true
		b := p.readDecoded(h, body, 64<<10)
		p.parseDeliveryStatus(toUTF8(b))
		return nil
	case mt == "message/disposition-notification" || mt == "message/global-disposition-notification":
		p.mdn = true
		return nil
	case mt == "text/plain" || mt == "text/enriched" || mt == "text/richtext" || mt == "text",
		mt == "text/html" || mt == "application/xhtml+xml":
		if depth > 0 && disposition(h) == "attachment" {
			return nil
		}
		isHTML := strings.Contains(mt, "html")
		txt, ok := p.readText(h, params, body)
		if !ok {
			return nil
		}
		return []segment{{text: txt, html: isHTML, subjectFwd: subjectFwd}}
	default:
		return nil
	}
}

func (p *parse) walkMultipart(h header, mt string, params map[string]string, body io.Reader, depth int, subjectFwd bool) []segment {
	if mt == "multipart/report" && p.reportType == "" {
		p.reportType = strings.ToLower(strings.TrimSpace(params["report-type"]))
		if p.reportType == "" {
			p.reportType = "unknown"
		}
	}
	boundary := params["boundary"]
	if boundary == "" {
		p.m.addDefect(DefectMissingBoundary)
		txt, ok := p.readText(h, params, body)
		if !ok {
			return nil
		}
		return []segment{{text: txt, subjectFwd: subjectFwd}}
	}
	childType := "text/plain"
	if mt == "multipart/digest" {
		childType = "message/rfc822"
	}
	capture := &capBuffer{max: 64 << 10}
	mr := textproto.NewMultipartReader(io.TeeReader(body, capture), boundary)
	var children [][]segment
	n := 0
	for !p.stop {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.m.addDefect(DefectMultipartBroken)
			break
		}
		n++
		children = append(children, p.walkEntity(header{Header: part.Header}, part, depth+1, subjectFwd, childType))
	}
	if n == 0 && !p.stop {
		// No part could be found (wrong boundary, truncated mail): read what
		// was seen as plain text so that nothing is lost.
		p.m.addDefect(DefectMultipartBroken)
		_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
		if p.textBudget > 0 && len(capture.buf) > 0 {
			txt := toUTF8(capture.buf)
			p.textBudget -= len(txt)
			return []segment{{text: txt, subjectFwd: subjectFwd}}
		}
		return nil
	}
	if mt == "multipart/alternative" {
		return chooseAlternative(children)
	}
	var out []segment
	for _, c := range children {
		out = append(out, c...)
	}
	return out
}

// convertHTML turns the HTML segments that survived the choice of
// alternatives into text; HTML alternatives of a plain text part are never
// converted.
func convertHTML(segs []segment) {
	for i := range segs {
		if segs[i].html && !segs[i].converted {
			segs[i].text = htmlToText(segs[i].text)
			segs[i].converted = true
		}
	}
}

// chooseAlternative prefers the first alternative with non-blank plain text,
// then the last one with any text (HTML usually comes last).
func chooseAlternative(children [][]segment) []segment {
	for _, c := range children {
		for _, s := range c {
			if !s.html && strings.TrimSpace(s.text) != "" {
				return c
			}
		}
	}
	for i := len(children) - 1; i >= 0; i-- {
		convertHTML(children[i])
		for _, s := range children[i] {
			if strings.TrimSpace(s.text) != "" {
				return children[i]
			}
		}
	}
	return nil
}

// walkAttachedMessage reads an attached message/rfc822: a forwarded mail, or
// the returned original inside a bounce.
func (p *parse) walkAttachedMessage(h header, body io.Reader, depth int, subjectFwd bool) []segment {
	if depth+1 > p.opts.MaxDepth {
		p.m.addDefect(DefectMIMEDepthExceeded)
		return nil
	}
	limit := p.msgBudget
	if limit <= 0 {
		p.m.addDefect(DefectMessageLimitReached)
		return nil
	}
	raw, truncated, _ := readAtMost(body, limit)
	p.msgBudget -= len(raw)
	if truncated {
		p.m.addDefect(DefectMessageLimitReached)
	}
	raw, _ = p.decodeTransfer(raw, h.Get("Content-Transfer-Encoding"))
	raw = bytes.TrimLeft(raw, "\r\n\t ")
	ih, ibody := p.headerFromBytes(raw)
	if p.attachedID == "" {
		p.attachedID = firstMsgID(ih.Get("Message-Id"))
		p.attachedSubject = p.decodeHeaderText(ih.Get("Subject"))
		p.attachedFrom = strings.ToLower(ih.Get("From"))
	}
	innerFwd := hasForwardPrefix(SanitizeText(p.decodeHeaderText(ih.Get("Subject")), 1000))
	segs := p.walkEntity(ih, bytes.NewReader(ibody), depth+1, innerFwd, "text/plain")
	for i := range segs {
		segs[i].attached = true
	}
	return segs
}

// headerFromBytes reads a header block at the start of b (go-message first,
// lenient fallback) and returns it with the rest of b.
func (p *parse) headerFromBytes(b []byte) (header, []byte) {
	if len(b) == 0 {
		return header{}, nil
	}
	return p.readTopHeader(b)
}

// readDecoded reads up to max bytes of a part and undoes its transfer encoding.
func (p *parse) readDecoded(h header, body io.Reader, max int) []byte {
	raw, _, _ := readAtMost(body, max)
	out, _ := p.decodeTransfer(raw, h.Get("Content-Transfer-Encoding"))
	return out
}

// readText reads a text part: transfer decoding, then charset conversion, both
// lenient, capped at MaxTextBytes and at what is left of the total budget.
func (p *parse) readText(h header, params map[string]string, body io.Reader) (string, bool) {
	if p.textBudget <= 0 {
		p.m.addDefect(DefectTextTruncated)
		return "", false
	}
	limit := p.opts.MaxTextBytes
	if p.textBudget < limit {
		limit = p.textBudget
	}
	raw, truncated, _ := readAtMost(body, 2*limit+4096)
	dec, _ := p.decodeTransfer(raw, h.Get("Content-Transfer-Encoding"))
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(params["charset"]), `"'`))
	var txt string
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "8bit", "default":
		txt = toUTF8(dec)
	default:
		r, err := charsetReader(cs, bytes.NewReader(dec))
		if err != nil || r == nil {
			p.m.addDefect(DefectBadCharset)
			txt = toUTF8(dec)
			break
		}
		conv, tr, rerr := readAtMost(r, 4*limit)
		if rerr != nil && len(conv) == 0 {
			p.m.addDefect(DefectBadCharset)
			txt = toUTF8(dec)
			break
		}
		if tr {
			truncated = true
		}
		txt = toUTF8(conv)
	}
	if len(txt) > limit {
		txt = truncateUTF8(txt, limit)
		truncated = true
	}
	if truncated {
		p.m.addDefect(DefectTextTruncated)
	}
	p.textBudget -= len(txt)
	return txt, true
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// decodeTransfer undoes a Content-Transfer-Encoding without ever failing: bad
// input is decoded as far as possible, an unknown encoding returns raw.
func (p *parse) decodeTransfer(raw []byte, cte string) ([]byte, bool) {
	cte = strings.ToLower(strings.Trim(strings.TrimSpace(cte), `"`))
	if i := strings.IndexAny(cte, "; \t"); i >= 0 {
		cte = cte[:i]
	}
	switch cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit", "none", "text", "plain":
		return raw, true
	case "base64":
		out, ok := decodeBase64Lenient(raw)
		if !ok {
			p.m.addDefect(DefectBadEncoding)
		}
		return out, ok
	case "quoted-printable", "quoted_printable", "qp":
		return decodeQPLenient(raw), true
	default:
		p.m.addDefect(DefectBadEncoding)
		return raw, false
	}
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// decodeBase64Lenient skips characters outside the alphabet and decodes each
// run between padding separately (concatenated base64 blocks). ok is false
// when garbage had to be skipped or nothing could be decoded. Content that is
// clearly not base64 (e.g. plain text mislabelled) is returned as is.
func decodeBase64Lenient(raw []byte) ([]byte, bool) {
	// Base64 lines never have inner spaces; prose does.
	lines, spaced := 0, 0
	for _, l := range bytes.Split(raw, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		lines++
		if bytes.ContainsAny(l, " \t") {
			spaced++
		}
		if lines > 200 {
			break
		}
	}
	if spaced*2 > lines {
		return raw, false
	}
	clean := make([]byte, 0, len(raw))
	garbage := 0
	for _, c := range raw {
		switch {
		case isB64(c):
			if c == '-' {
				c = '+'
			} else if c == '_' {
				c = '/'
			}
			clean = append(clean, c)
		case c == '=':
			clean = append(clean, c)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			garbage++
		}
	}
	// Plain text labelled base64: many spaces between words and punctuation.
	if garbage > len(raw)/20+8 {
		return raw, false
	}
	out := make([]byte, 0, len(clean)*3/4+3)
	for _, chunk := range bytes.FieldsFunc(clean, func(r rune) bool { return r == '=' }) {
		n := len(chunk) / 4 * 4
		rem := len(chunk) - n
		if rem == 1 {
			chunk = chunk[:n]
		}
		buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(chunk)))
		k, err := base64.RawStdEncoding.Decode(buf, chunk)
		out = append(out, buf[:k]...)
		if err != nil {
			garbage++
		}
	}
	return out, garbage == 0
}

// decodeQPLenient decodes quoted-printable, keeping any "=" that does not
// start a valid escape or soft line break.
func decodeQPLenient(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		// soft line break: "=" [spaces] CRLF|LF
		j := i + 1
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
			j++
		}
		if j < len(raw) && raw[j] == '\n' {
			i = j
			continue
		}
		if j+1 < len(raw) && raw[j] == '\r' && raw[j+1] == '\n' {
			i = j + 1
			continue
		}
		if j == len(raw) {
			i = j
			continue
		}
		if i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			out = append(out, unhex(raw[i+1])<<4|unhex(raw[i+2]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}
