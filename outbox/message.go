package outbox

import (
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	mail "github.com/wneessen/go-mail"

	"github.com/onboarder/onboarder/store"
)

// Header names this package sets beyond go-mail's own.
const (
	headerAutoSubmitted mail.Header = "Auto-Submitted"
	headerLoop          mail.Header = "X-Onboarder-Loop"
)

// maxHeaderValue bounds one header value taken from a row.
const maxHeaderValue = 998

// buildMsg turns an outbox row into a go-mail message. Every error is about
// the row itself (it will never send) and is permanent.
func buildMsg(row store.OutboxMail, loop string, date time.Time) (*mail.Msg, []string, error) {
	m := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP), mail.WithNoDefaultUserAgent())

	from, err := parseAddr(row.FromAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid From %q: %w", clip(row.FromAddr), err)
	}
	m.FromMailAddress(from)

	var to []*netmail.Address
	for _, r := range row.Recipients() {
		addr, err := recipientAddr(r)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid To %q: %w", clip(r.Addr), err)
		}
		to = append(to, addr)
	}
	if len(to) == 0 {
		return nil, nil, fmt.Errorf("no recipients")
	}
	m.ToMailAddress(to...)

	if strings.TrimSpace(row.ReplyTo) != "" {
		rt, err := parseAddr(row.ReplyTo)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid Reply-To %q: %w", clip(row.ReplyTo), err)
		}
		m.ReplyToMailAddress(rt)
	}

	if !validMsgID(row.MessageID) {
		return nil, nil, fmt.Errorf("invalid Message-ID %q", clip(row.MessageID))
	}
	m.SetMessageIDWithValue(row.MessageID)
	m.SetDateWithValue(date)
	m.Subject(headerText(row.Subject))

	// Threading ids come from other people's mail: a malformed one is left
	// out rather than failing the answer.
	var dropped []string
	if row.InReplyTo != "" {
		if validMsgID(row.InReplyTo) {
			m.SetGenHeader(mail.HeaderInReplyTo, "<"+row.InReplyTo+">")
		} else {
			dropped = append(dropped, row.InReplyTo)
		}
	}
	var refs []string
	for _, r := range row.References() {
		if validMsgID(r) {
			refs = append(refs, "<"+r+">")
		} else {
			dropped = append(dropped, r)
		}
	}
	if len(refs) > 0 {
		m.SetGenHeader(mail.HeaderReferences, strings.Join(refs, " "))
	}

	auto := row.AutoSubmitted
	switch auto {
	case "auto-replied", "auto-generated", "auto-notified":
	case "":
		auto = "auto-generated"
	default:
		return nil, nil, fmt.Errorf("invalid Auto-Submitted %q", clip(auto))
	}
	m.SetGenHeader(headerAutoSubmitted, auto)
	m.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	if loop = headerText(loop); loop != "" {
		m.SetGenHeader(headerLoop, loop)
	}

	m.SetBodyString(mail.TypeTextPlain, row.TextBody)
	if row.HTMLBody != "" {
		m.AddAlternativeString(mail.TypeTextHTML, row.HTMLBody)
	}
	return m, dropped, nil
}

// parseAddr reads one "Name <addr>" or bare address. net/mail refuses CR,
// LF and other controls outside quoted names; the name is encoded by
// net/mail when written, so it cannot break the header.
func parseAddr(s string) (*netmail.Address, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxHeaderValue {
		return nil, fmt.Errorf("longer than %d bytes", maxHeaderValue)
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, fmt.Errorf("contains a line break or NUL")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// recipientAddr checks a recipient's bare address and keeps its display
// name as a value: net/mail quotes it or writes it as RFC 2047 words when
// the header is written, whatever commas, quotes or brackets it holds.
func recipientAddr(r store.Recipient) (*netmail.Address, error) {
	a, err := parseAddr(r.Addr)
	if err != nil {
		return nil, err
	}
	if a.Name != "" || !strings.EqualFold(a.Address, strings.TrimSpace(r.Addr)) {
		return nil, fmt.Errorf("not a bare address")
	}
	return &netmail.Address{Name: headerText(r.Name), Address: a.Address}, nil
}

// validMsgID accepts a message id without angle brackets: printable ASCII,
// no spaces, no brackets, an "@", bounded length.
func validMsgID(id string) bool {
	if id == "" || len(id) > 250 || !strings.Contains(id, "@") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// headerText makes a single-line header value: every control character
// (CR and LF included) becomes a space, runs of spaces fold to one, and the
// length is bounded. go-mail then encodes non-ASCII as RFC 2047 words.
func headerText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		space = false
		b.WriteRune(r)
		if b.Len() > maxHeaderValue {
			break
		}
	}
	return strings.TrimSpace(b.String())
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	n := 80
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
