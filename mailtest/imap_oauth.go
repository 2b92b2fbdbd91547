package mailtest

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"
)

var _ imapserver.SessionSASL = (*imapSession)(nil)

// SignIns counts the successful sign-ins by mechanism: "LOGIN", "PLAIN",
// "XOAUTH2", "OAUTHBEARER" (tests use it to see which one a client took).
func (s *IMAPServer) SignIns(mech string) int { return s.signIns.get(mech) }

// Login counts password logins (LOGIN command).
func (s *imapSession) Login(username, password string) error {
	if err := s.Session.Login(username, password); err != nil {
		return err
	}
	s.srv.signIns.add("LOGIN")
	return nil
}

// AuthenticateMechanisms offers PLAIN, and the OAuth mechanisms when the
// server checks bearer tokens.
func (s *imapSession) AuthenticateMechanisms() []string {
	if s.srv.checkToken == nil {
		return []string{sasl.Plain}
	}
	return []string{sasl.Plain, MechXOAuth2, MechOAuthBearer}
}

// Authenticate runs one AUTHENTICATE exchange.
func (s *imapSession) Authenticate(mech string) (sasl.Server, error) {
	login := func(user string) error {
		if user != s.srv.username {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "unknown user"}
		}
		return s.Session.Login(s.srv.username, s.srv.password)
	}
	if strings.EqualFold(mech, sasl.Plain) {
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthorizationFailed, Text: "SASL identity not supported"}
			}
			if err := s.Session.Login(username, password); err != nil {
				return err
			}
			s.srv.signIns.add(sasl.Plain)
			return nil
		}), nil
	}
	if s.srv.checkToken != nil {
		if srv := oauthSASL(mech, s.srv.checkToken, login, s.srv.signIns.add); srv != nil {
			return srv, nil
		}
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}
