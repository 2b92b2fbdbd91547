package outbox

import (
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"

	mail "github.com/wneessen/go-mail"
)

// SendError is a classified send failure: Permanent (5xx, or a mail that
// cannot be built) or temporary (4xx, network, timeout, TLS, and a refused
// sign-in, see Auth).
type SendError struct {
	Permanent bool
	Code      int    // SMTP reply code; 0 when the server gave none
	Enhanced  string // enhanced status code such as "5.1.1", when known
	Msg       string

	// Auth: the server refused us, not the mail: the sign-in (535 bad
	// credentials, 534 mechanism too weak, 454 temporary auth failure, no
	// AUTH offered, no OAuth token) or an unauthenticated or unencrypted
	// session (530 authentication or STARTTLS required, 538 encryption
	// required; RFC 4954, RFC 3207). The operator's settings are wrong;
	// every mail would meet the same refusal. Never Permanent, and never
	// given up after MaxAttempts: the mail waits until the sign-in works.
	Auth bool

	err error
}

// Error says the class, the codes and the message.
func (e *SendError) Error() string {
	class := "temporary"
	if e.Permanent {
		class = "permanent"
	}
	switch {
	case e.Code != 0 && e.Enhanced != "":
		return fmt.Sprintf("%s smtp error %d %s: %s", class, e.Code, e.Enhanced, e.Msg)
	case e.Code != 0:
		return fmt.Sprintf("%s smtp error %d: %s", class, e.Code, e.Msg)
	default:
		return fmt.Sprintf("%s error: %s", class, e.Msg)
	}
}

// Unwrap returns the classified error.
func (e *SendError) Unwrap() error { return e.err }

// Class is "permanent" or "temporary" (the log's error_class).
func (e *SendError) Class() string {
	if e.Permanent {
		return "permanent"
	}
	return "temporary"
}

var (
	replyCodeRE    = regexp.MustCompile(`(?:^|[:,] )([45][0-9][0-9])[ -]`)
	enhancedCodeRE = regexp.MustCompile(`\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b`)
)

// Classify turns a send error into a *SendError; nil stays nil. A 5xx SMTP
// reply is permanent, except a refused sign-in or session (530, 534, 535,
// 538: SendError.Auth); a 4xx reply and every other error (network,
// timeout, TLS handshake, connection closed mid-transaction) are temporary. A mail
// go-mail could not take apart (no sender or recipients, 8-bit content the
// server refuses) is permanent.
func Classify(err error) *SendError {
	if err == nil {
		return nil
	}
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	out := &SendError{Msg: err.Error(), err: err}

	var me *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &te):
		out.Code = te.Code
	case errors.As(err, &me):
		switch me.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			out.Permanent = true
			return out
		}
		out.Code = me.ErrorCode()
		out.Enhanced = me.EnhancedStatusCode()
		if out.Code == 0 {
			// go-mail keeps the server's reply only as text.
			if m := replyCodeRE.FindStringSubmatch(out.Msg); m != nil {
				out.Code, _ = strconv.Atoi(m[1])
			}
		}
	}
	if out.Code < 400 || out.Code > 599 {
		out.Code = 0
	}
	if out.Enhanced == "" && out.Code != 0 {
		if m := enhancedCodeRE.FindStringSubmatch(out.Msg); m != nil && m[1][0] == byte('0'+out.Code/100) {
			out.Enhanced = m[1]
		}
	}
	out.Permanent = out.Code >= 500
	if isAuthRefusal(out) {
		out.Auth, out.Permanent = true, false
	}
	return out
}

// isAuthRefusal says whether se is a refusal of our sign-in or of our
// unauthenticated or unencrypted session (see SendError.Auth). Other 5xx
// replies stay permanent even when their text speaks of authentication
// (a DMARC or SPF rejection is about the mail).
func isAuthRefusal(se *SendError) bool {
	switch se.Code {
	case 530, 534, 535, 538:
		return true
	case 0, 454:
		return ErrorClass(se) == ErrClassAuth
	}
	return false
}

// temporary reclassifies err as temporary whatever its code (connection
// set-up errors).
func temporary(err error) *SendError {
	se := *Classify(err)
	se.Permanent = false
	return &se
}

// permanentf is a permanent failure of our own (a row that cannot be sent).
func permanentf(format string, args ...any) *SendError {
	err := fmt.Errorf(format, args...)
	return &SendError{Permanent: true, Msg: err.Error(), err: err}
}
