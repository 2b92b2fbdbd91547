package parser

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset go-message knows, for bodies and encoded words
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

type header = message.Header

// countingReader counts the bytes handed out, so that the header's end can be
// found in the raw input after bufio has read ahead.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// readTopHeader reads the top-level header with go-message and falls back to
// a lenient line-by-line read when go-message gives up or the header is larger
// than the cap.
func (p *parse) readTopHeader(raw []byte) (header, []byte) {
	limit := p.opts.MaxHeaderBytes
	lim := raw
	if len(lim) > limit {
		lim = lim[:limit]
	}
	cr := &countingReader{r: bytes.NewReader(lim)}
	br := bufio.NewReader(cr)
	th, err := textproto.ReadHeader(br)
	consumed := cr.n - br.Buffered()
	if err == nil && len(raw) > limit && consumed >= limit {
		err = io.ErrUnexpectedEOF // ran into the cap: the header is larger
	}
	if err == nil {
		return header{Header: th}, raw[consumed:]
	}
	return p.lenientHeader(raw)
}

func validKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// lenientHeader reads "Key: value" lines up to the first empty line, skipping
// lines it cannot read and keeping at most MaxHeaderBytes of field data.
func (p *parse) lenientHeader(raw []byte) (header, []byte) {
	type field struct {
		k string
		v []byte
	}
	var fields []field
	kept := 0
	bad := false
	tooBig := false
	pos := 0
	body := []byte(nil)
	for pos < len(raw) {
		end := bytes.IndexByte(raw[pos:], '\n')
		var line []byte
		if end < 0 {
			line = raw[pos:]
			pos = len(raw)
		} else {
			line = raw[pos : pos+end]
			pos += end + 1
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			body = raw[pos:]
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				bad = true
				continue
			}
			if kept+len(line) > p.opts.MaxHeaderBytes {
				tooBig = true
				continue
			}
			f := &fields[len(fields)-1]
			f.v = append(f.v, ' ')
			f.v = append(f.v, bytes.TrimSpace(line)...)
			kept += len(line)
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 || !validKey(bytes.TrimRight(line[:i], " \t")) {
			bad = true
			continue
		}
		if kept+len(line) > p.opts.MaxHeaderBytes || len(fields) >= 10000 {
			tooBig = true
			continue
		}
		kept += len(line)
		fields = append(fields, field{k: string(bytes.TrimRight(line[:i], " \t")), v: append([]byte(nil), bytes.TrimSpace(line[i+1:])...)})
	}
	if bad {
		p.m.addDefect(DefectHeaderUnreadable)
	}
	if tooBig {
		p.m.addDefect(DefectHeaderTooLarge)
	}
	var h textproto.Header
	// textproto.Header.Add puts a field on top, so add bottom-up to keep the
	// order of the message (Get returns the topmost field).
	for i := len(fields) - 1; i >= 0; i-- {
		h.Add(fields[i].k, string(fields[i].v))
	}
	return header{Header: h}, body
}

// toUTF8 returns b as a valid UTF-8 string: valid UTF-8 sequences are kept,
// every other byte is read as ISO-8859-1.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			sb.WriteRune(rune(b[0]))
			b = b[1:]
			continue
		}
		sb.Write(b[:size])
		b = b[size:]
	}
	return sb.String()
}

func charsetReader(cs string, input io.Reader) (io.Reader, error) {
	cs = strings.ToLower(strings.TrimSpace(cs))
	switch cs {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return input, nil
	}
	if message.CharsetReader == nil {
		return nil, io.ErrUnexpectedEOF
	}
	return message.CharsetReader(cs, input)
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

var encodedWordRe = regexp.MustCompile(`=\?([^?\s]{1,64})\?([bBqQ])\?([^?\s]*)\?=`)

// decodeHeaderText decodes RFC 2047 encoded words leniently: a word in an
// unknown charset or with bad encoding is decoded as far as possible instead of
// being left alone, and raw 8-bit bytes become valid UTF-8.
func (p *parse) decodeHeaderText(v string) string {
	if v == "" {
		return ""
	}
	v = toUTF8([]byte(v))
	if !strings.Contains(v, "=?") {
		return v
	}
	if len(v) > 64<<10 {
		v = v[:64<<10]
	}
	if s, err := wordDecoder.DecodeHeader(v); err == nil {
		return toUTF8([]byte(s))
	}
	p.m.addDefect(DefectBadEncodedWord)
	var out strings.Builder
	last := 0
	prevWord := false
	for _, loc := range encodedWordRe.FindAllStringSubmatchIndex(v, -1) {
		gap := v[last:loc[0]]
		if !(prevWord && strings.TrimSpace(gap) == "") {
			out.WriteString(gap)
		}
		word := v[loc[0]:loc[1]]
		if s, err := wordDecoder.Decode(word); err == nil {
			out.WriteString(s)
		} else {
			out.WriteString(decodeWordLoosely(v[loc[4]:loc[5]], v[loc[6]:loc[7]], v[loc[2]:loc[3]]))
		}
		last = loc[1]
		prevWord = true
	}
	out.WriteString(v[last:])
	return toUTF8([]byte(out.String()))
}

func decodeWordLoosely(enc, text, cs string) string {
	var raw []byte
	if enc == "b" || enc == "B" {
		t := strings.TrimRight(text, "=")
		b, err := base64.RawStdEncoding.DecodeString(t)
		if err != nil {
			return text
		}
		raw = b
	} else {
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				raw = append(raw, ' ')
			case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
				raw = append(raw, unhex(text[i+1])<<4|unhex(text[i+2]))
				i += 2
			default:
				raw = append(raw, c)
			}
		}
	}
	if r, err := charsetReader(cs, bytes.NewReader(raw)); err == nil && r != nil {
		if b, err := io.ReadAll(io.LimitReader(r, 64<<10)); err == nil {
			return toUTF8(b)
		}
	}
	return toUTF8(raw)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// looseAddrRe picks addresses out of a field that does not parse. It serves
// only fields that name no sender (To, Cc, Reply-To, X-Failed-Recipients)
// and telling a mailer daemon apart: a regular expression would read
// "<bob@partner.example@evil.example>" as bob@partner.example.
var looseAddrRe = regexp.MustCompile(`[A-Za-z0-9._%+\-=~!#$&'*/?^{|}]+@[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?`)

// addressList parses an address header; ok is false when go-message could not
// parse it and the addresses were picked out of the text instead.
func (p *parse) addressList(h header, key string) (list []Address, n int, ok bool) {
	v := h.Get(key)
	if strings.TrimSpace(v) == "" {
		return nil, 0, true
	}
	if len(v) > 64<<10 {
		v = v[:64<<10]
	}
	mh := gomail.Header{Header: h}
	if addrs, err := mh.AddressList(key); err == nil && len(addrs) > 0 {
		for _, a := range addrs {
			list = append(list, Address{
				Name: SanitizeText(a.Name, 200),
				Addr: strings.ToLower(SanitizeText(a.Address, 320)),
			})
		}
		return list, len(list), true
	}
	dec := p.decodeHeaderText(v)
	for _, a := range looseAddrRe.FindAllString(dec, 1000) {
		list = append(list, Address{Addr: strings.ToLower(a)})
	}
	if len(list) > 0 {
		if i := strings.Index(dec, "<"); i > 0 {
			list[0].Name = SanitizeText(strings.Trim(strings.TrimSpace(dec[:i]), `"'`), 200)
		}
	}
	return list, len(list), false
}

// oneAddress reads a field that says who the mail is from (From, Sender)
// strictly: it returns the address when the mail has exactly one such field
// holding exactly one plain address, else a reason for ops (present is false
// when the mail has no such field). There is no fallback: what does not parse
// names nobody.
func (p *parse) oneAddress(h header, key string) (a Address, count int, present bool, problem string) {
	values := h.Values(key)
	if len(values) == 0 {
		return Address{}, 0, false, "no " + key + " field"
	}
	var list []Address
	var shown []string // the fields as written, for ops
	broken := false
	for _, v := range values {
		if len(v) > 64<<10 {
			return Address{}, 0, true, key + " field too long"
		}
		if len(shown) < 3 {
			shown = append(shown, quoteForOps(p.decodeHeaderText(v)))
		}
		addrs, err := gomail.ParseAddressList(v)
		broken = broken || err != nil
		for _, x := range addrs {
			list = append(list, Address{Name: SanitizeText(x.Name, 200), Addr: strings.ToLower(x.Address)})
		}
	}
	switch {
	case len(values) > 1:
		return Address{}, len(list), true, fmt.Sprintf("%d %s fields: %s", len(values), key, strings.Join(shown, ", "))
	case broken:
		return Address{}, len(list), true, key + " does not parse as an address: " + shown[0]
	case len(list) != 1:
		return Address{}, len(list), true, fmt.Sprintf("%d %s addresses: %s", len(list), key, shown[0])
	case !plainAddr(list[0].Addr):
		return Address{}, 1, true, key + " address is not a plain local@domain: " + quoteForOps(list[0].Addr)
	}
	return list[0], 1, true, ""
}

// plainAddr reports whether a is local@domain with one "@" and nothing that
// sanitizing would change (no white space, controls or invisible runes). A
// quoted local part such as "bob@x"@evil.example is legal, but no partner
// writes one, and it would confuse every domain check.
func plainAddr(a string) bool {
	local, domain, ok := strings.Cut(a, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(a) > 320 || !utf8.ValidString(a) {
		return false
	}
	return SanitizeText(a, 0) == a && !strings.ContainsAny(a, " <>\"\\")
}

// quoteForOps quotes header text for a finding: one line, capped.
func quoteForOps(s string) string {
	return strconv.Quote(SanitizeText(s, 200))
}

var msgIDRe = regexp.MustCompile(`<([^<>\s]{1,995})>`)

// firstMsgID returns the first message id of a Message-ID-like field, without
// angle brackets.
func firstMsgID(v string) string {
	ids := msgIDList(v, 1)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// msgIDList returns the message ids of an In-Reply-To or References field.
// Ids without angle brackets are accepted when they contain an "@".
func msgIDList(v string, max int) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if len(v) > 256<<10 {
		v = v[:256<<10]
	}
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || seen[id] || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
			return
		}
		seen[id] = true
		out = append(out, id)
	}
	if ms := msgIDRe.FindAllStringSubmatch(v, max); len(ms) > 0 {
		for _, mm := range ms {
			add(mm[1])
		}
		return out
	}
	for _, f := range strings.Fields(v) {
		if strings.Contains(f, "@") && len(f) <= 995 {
			add(strings.Trim(f, "<>,;"))
		}
		if len(out) >= max {
			break
		}
	}
	return out
}

var dateCommentRe = regexp.MustCompile(`\s*\([^)]*\)\s*$`)

func parseDate(v string) (time.Time, bool) {
	if len(v) > 200 {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	v = dateCommentRe.ReplaceAllString(v, "")
	layouts := []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon Jan 2 15:04:05 2006",
		"Mon, 2 Jan 2006 15:04:05",
		time.RFC3339,
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, strings.Join(strings.Fields(v), " ")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
