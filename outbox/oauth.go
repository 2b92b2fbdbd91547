package outbox

import (
	"slices"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// oauthAuth is SMTP AUTH with an OAuth 2.0 bearer token: OAUTHBEARER
// (RFC 7628) when the server advertises it, otherwise XOAUTH2. A failed
// sign-in's JSON challenge is answered as both mechanisms require (empty
// line, or ^A for OAUTHBEARER) so the server ends with its 535.
type oauthAuth struct {
	user, token, host string
	port              int
	mech              string
}

func (a *oauthAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	a.mech = "XOAUTH2"
	if info != nil && slices.ContainsFunc(info.Auth, func(m string) bool { return strings.EqualFold(m, "OAUTHBEARER") }) {
		a.mech = "OAUTHBEARER"
		return a.mech, []byte("n,a=" + a.user + ",\x01host=" + a.host + "\x01port=" + strconv.Itoa(a.port) +
			"\x01auth=Bearer " + a.token + "\x01\x01"), nil
	}
	return a.mech, []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a *oauthAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if a.mech == "OAUTHBEARER" {
		return []byte{1}, nil
	}
	return []byte{}, nil
}
