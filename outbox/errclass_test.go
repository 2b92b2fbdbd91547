package outbox

import "testing"

func TestErrorClass(t *testing.T) {
	tests := []struct {
		se   *SendError
		want string
	}{
		{&SendError{Permanent: true, Code: 550, Msg: "5.1.1 no such user"}, ErrClass5xx},
		{&SendError{Code: 451, Msg: "4.7.1 greylisted"}, ErrClass4xx},
		{&SendError{Code: 535, Permanent: true, Msg: "5.7.8 Username and Password not accepted"}, ErrClassAuth},
		{&SendError{Msg: "connecting to smtp.example.com:587: SMTP AUTH failed: 454 4.7.0 XOAUTH2 refused"}, ErrClassAuth},
		{&SendError{Msg: "signing in to h:587 as \"u\": getting an OAuth access token: 401"}, ErrClassAuth},
		{&SendError{Msg: "tls: failed to verify certificate: x509: unknown authority"}, ErrClassTLS},
		{&SendError{Msg: "dial tcp 10.0.0.1:587: i/o timeout"}, ErrClassTimeout},
		{&SendError{Msg: "connecting to h:587: dial tcp 127.0.0.1:587: connect: connection refused"}, ErrClassConnect},
		{&SendError{Permanent: true, Msg: "no recipients"}, ErrClassInvalid},
		{&SendError{Msg: "EOF"}, ErrClassNetwork},
	}
	for _, tc := range tests {
		if got := ErrorClass(tc.se); got != tc.want {
			t.Errorf("ErrorClass(%q, code %d) = %s, want %s", tc.se.Msg, tc.se.Code, got, tc.want)
		}
	}
}
