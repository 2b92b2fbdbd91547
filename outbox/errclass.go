package outbox

import "strings"

// SMTP error classes counted by Metrics.Errors (the onboarder_smtp_errors_total
// metric's label): what went wrong, coarse enough to alert on.
const (
	ErrClass5xx     = "5xx"     // the server refused the mail for good
	ErrClass4xx     = "4xx"     // the server asked us to try later
	ErrClassAuth    = "auth"    // sign-in refused, or no OAuth token
	ErrClassTLS     = "tls"     // handshake or certificate
	ErrClassTimeout = "timeout" // no answer in time
	ErrClassConnect = "connect" // refused, unreachable, unknown host
	ErrClassInvalid = "invalid" // the mail itself cannot be sent
	ErrClassNetwork = "network" // anything else on the way
)

// ErrorClass sorts a send failure into one of the ErrClass* values.
func ErrorClass(se *SendError) string {
	if se == nil {
		return ""
	}
	msg := strings.ToLower(se.Msg)
	switch {
	case strings.Contains(msg, "smtp auth") || strings.Contains(msg, "signing in") || strings.Contains(msg, "authentication") ||
		se.Code == 535 || se.Code == 534 || se.Code == 530 || se.Code == 454 && strings.Contains(msg, "auth"):
		return ErrClassAuth
	case se.Code >= 500 && se.Code < 600:
		return ErrClass5xx
	case se.Code >= 400 && se.Code < 500:
		return ErrClass4xx
	case se.Permanent:
		return ErrClassInvalid
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509") || strings.Contains(msg, "certificate"):
		return ErrClassTLS
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return ErrClassTimeout
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") ||
		strings.Contains(msg, "network is unreachable") || strings.Contains(msg, "connecting to"):
		return ErrClassConnect
	}
	return ErrClassNetwork
}

func (m *Metrics) incError(se *SendError) {
	if m != nil && m.Errors != nil {
		if c := m.Errors(ErrorClass(se)); c != nil {
			c.Inc()
		}
	}
}
