package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/onboarder/onboarder/config/defaults"
)

// relate applies what one row of the table cannot say alone, after every row was read:
// the defaults that follow another setting, the mail servers with their password overrides
// and sign-in methods, and the rules between settings.
func (l *loader) relate(c *Config) error {
	if !l.isSet(EnvSMTPAuth) {
		c.SMTPAuth = c.IMAPAuth
	}
	if !l.isSet(EnvReplyTo) {
		c.ReplyTo = c.MailFrom
	}
	var err error
	if c.IMAP, err = l.server(EnvIMAPURL, EnvIMAPPassword, "imap", c.IMAPAuth == AuthOAuth2); err != nil {
		return err
	}
	if c.SMTP, err = l.server(EnvSMTPURL, EnvSMTPPassword, "smtp", c.SMTPAuth == AuthOAuth2); err != nil {
		return err
	}
	if c.IMAP != nil && sameMailbox(c.IMAP.Path, c.IMAPProcessedFolder) {
		return l.invalid(EnvIMAPProcessedFolder, "is the polled mailbox itself ("+EnvIMAPURL+")",
			"choose another folder such as "+defaults.IMAPProcessedFolder)
	}
	// A mail in flight must be done before another worker may take its row: unset, the
	// lease grows with a longer SMTP timeout; set, it must leave that room.
	if minLease := 4 * c.SMTPTimeout; !l.isSet(EnvOutboxLease) {
		c.OutboxLease = max(c.OutboxLease, minLease)
	} else if c.OutboxLease < minLease {
		return l.invalid(EnvOutboxLease, fmt.Sprintf("is shorter than 4 × %s (%s): a mail still being sent could be sent again by another worker",
			EnvSMTPTimeout, c.SMTPTimeout), fmt.Sprintf("set it to at least %s, or lower %s", minLease, EnvSMTPTimeout))
	}
	// Port 0 (any free port) is never the same address twice.
	if c.AdminAddr != "" && c.AdminAddr == c.HTTPAddr && !strings.HasSuffix(c.AdminAddr, ":0") {
		return l.invalid(EnvAdminAddr, "is "+EnvHTTPAddr+" too", "give the admin listener an address of its own, such as "+defaults.AdminAddr+", or none")
	}
	if name := oauthUser(c); name != "" {
		switch {
		case c.OAuth.TokenURL == "":
			return l.invalid(name, "asks for oauth2 but "+EnvOAuthTokenURL+" is not set", "set "+EnvOAuthTokenURL+" and "+EnvOAuthClientID)
		case c.OAuth.ClientID == "":
			return l.invalid(name, "asks for oauth2 but "+EnvOAuthClientID+" is not set", "set "+EnvOAuthClientID+" (and usually "+EnvOAuthClientSecret+")")
		}
	}
	if c.OIDC.Issuer != "" {
		switch {
		case c.OIDC.ClientID == "":
			return l.invalid(EnvOIDCIssuer, "is set but "+EnvOIDCClientID+" is not", "set "+EnvOIDCClientID+" to the client registered at the provider")
		case len(c.OIDC.Roles) == 0:
			return l.invalid(EnvOIDCIssuer, "is set but "+EnvOIDCRoles+" is not: nobody could sign in", "set "+EnvOIDCRoles+" such as onboarder-admins=admin")
		}
	}
	if !c.PasswordLogin && c.OIDC.Issuer == "" {
		return l.invalid(EnvPasswordLogin, "is false but "+EnvOIDCIssuer+" is not set: nobody could log in to the console", "set "+EnvOIDCIssuer+" or leave "+EnvPasswordLogin+" true")
	}
	if c.WebhookURL != "" && c.WebhookSecret == "" {
		return l.invalid(EnvWebhookURL, "is set but "+EnvWebhookSecret+" is not", "set "+EnvWebhookSecret+" (or "+EnvWebhookSecret+"_FILE) to the shared signing key")
	}
	return nil
}

// oauthUser names the sign-in setting that asks for oauth2, "" when none does.
func oauthUser(c *Config) string {
	switch {
	case c.IMAPAuth == AuthOAuth2:
		return EnvIMAPAuth
	case c.SMTPAuth == AuthOAuth2:
		return EnvSMTPAuth
	}
	return ""
}

// sameMailbox compares IMAP mailbox names; INBOX is case-insensitive (RFC 3501).
func sameMailbox(a, b string) bool {
	return a == b || (strings.EqualFold(a, "INBOX") && strings.EqualFold(b, "INBOX"))
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

func (l *loader) mailbox(name, raw string) (string, error) {
	const example = "a folder name such as " + defaults.IMAPProcessedFolder
	v, err := text(example)(l, name, raw)
	if err != nil {
		return "", err
	}
	v = strings.Trim(v, "/")
	if v == "" {
		return "", l.invalid(name, "names no folder", "set it to "+example)
	}
	return v, nil
}

func (l *loader) boolean(name, v string) (bool, error) {
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, l.invalid(name, "is not a boolean", "set it to true or false")
	}
	return b, nil
}

func (l *loader) duration(name, v, example string) (time.Duration, error) {
	d, perr := time.ParseDuration(v)
	if perr != nil {
		return 0, l.invalid(name, "is not a Go duration (like "+example+")", "set it to a value such as "+example)
	}
	if d <= 0 {
		return 0, l.invalid(name, "is not greater than zero", "set it to a value such as "+example)
	}
	return d, nil
}

func (l *loader) positive(name, v string, max int64, example string) (int64, error) {
	n, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil && !errors.Is(perr, strconv.ErrRange) {
		return 0, l.invalid(name, "is not a whole number", "set it to a number such as "+example)
	}
	if perr != nil || n > max {
		return 0, l.invalid(name, fmt.Sprintf("is larger than %d", max), "set it to a number such as "+example)
	}
	if n <= 0 {
		return 0, l.invalid(name, "is not greater than zero", "set it to a number such as "+example)
	}
	return n, nil
}

func (l *loader) oneOf(name, v, def string, allowed ...string) (string, error) {
	lv := strings.ToLower(v)
	for _, a := range allowed {
		if lv == a {
			return a, nil
		}
	}
	fix := "set it to one of them"
	if def != "" {
		fix += " (default " + def + ")"
	}
	return "", l.invalid(name, "is not one of "+strings.Join(allowed, ", "), fix)
}

func (l *loader) address(name, v string) (mail.Address, error) {
	const fix = `set it to an address such as "Partner Onboarding <partners@example.com>" or partners@example.com`
	if hasControl(v) {
		return mail.Address{}, l.invalid(name, "contains control characters", fix)
	}
	a, perr := mail.ParseAddress(v)
	if perr != nil {
		return mail.Address{}, l.invalid(name, "is not one mail address ("+perr.Error()+")", fix)
	}
	return *a, nil
}

// addressList reads one or more mail addresses, comma-separated.
func (l *loader) addressList(name, v string) ([]mail.Address, error) {
	const fix = `set it to one or more addresses, comma-separated, such as "ops@example.com, Ops Team <team@example.com>"`
	if hasControl(v) {
		return nil, l.invalid(name, "contains control characters", fix)
	}
	as, perr := mail.ParseAddressList(v)
	if perr != nil {
		return nil, l.invalid(name, "is not a list of mail addresses ("+perr.Error()+")", fix)
	}
	out := make([]mail.Address, len(as))
	for i, a := range as {
		out[i] = *a
	}
	return out, nil
}

func (l *loader) publicURL(name, v string) (string, error) {
	const fix = "set it to the absolute http(s) URL the invitation links start with, such as https://onboarding.example.com"
	u, perr := url.Parse(v)
	if perr != nil || hasControl(v) {
		return "", l.invalid(name, "is not a URL", fix)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", l.invalid(name, "is not an http or https URL", fix)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", l.invalid(name, "has no host", fix)
	case u.User != nil:
		return "", l.invalid(name, "contains a user name or password", "remove them: "+fix)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(v, "#"):
		return "", l.invalid(name, "has a query or fragment", "remove it: "+fix)
	}
	return strings.TrimRight(v, "/"), nil
}

// listenAddr reads a host:port; for ONBOARDER_ADMIN_ADDR, none means ""
// (no listener).
func (l *loader) listenAddr(name, v string) (string, error) {
	fix := "set it to host:port such as 127.0.0.1:8080 or :8080"
	if name == EnvAdminAddr {
		if strings.EqualFold(v, "none") {
			return "", nil
		}
		fix = "set it to host:port such as 127.0.0.1:9090, or none"
	}
	_, port, serr := net.SplitHostPort(v)
	if serr != nil || hasControl(v) {
		return "", l.invalid(name, "is not host:port", fix)
	}
	if p, perr := strconv.Atoi(port); perr != nil || p < 0 || p > 65535 {
		return "", l.invalid(name, "has an invalid port", fix)
	}
	return v, nil
}

// prefixes reads comma-separated IP addresses and CIDRs; an address is a
// prefix of its full length.
func (l *loader) prefixes(name, v string) ([]netip.Prefix, error) {
	const fix = "set it to IP addresses or CIDRs separated by commas, such as 10.0.0.5,192.168.0.0/16,fd00::/8"
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, aerr := netip.ParseAddr(f); aerr == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, perr := netip.ParsePrefix(f)
		if perr != nil {
			return nil, l.invalid(name, "has "+strconv.Quote(truncate(f, 60))+", which is no IP address or CIDR", fix)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (l *loader) authservID(name, v string) (string, error) {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == ';' }) {
		return "", l.invalid(name, "is not an authserv-id (it has spaces, control characters or ';')",
			"set it to the first word of your MX's Authentication-Results header, such as mx.example.com")
	}
	return v, nil
}

func (l *loader) templatesDir(name, v string) (string, error) {
	fi, serr := os.Stat(v)
	if serr != nil {
		return "", l.invalid(name, "cannot be used ("+unwrapPathError(serr).Error()+")", "point it at an existing directory of templates, or unset it")
	}
	if !fi.IsDir() {
		return "", l.invalid(name, "is not a directory", "point it at an existing directory of templates, or unset it")
	}
	return v, nil
}

func (l *loader) databaseURL(name, v string) (string, error) {
	const fix = "set it to postgres://user:password@host:5432/dbname or sqlite:PATH (such as sqlite:onboarder.db)"
	if hasControl(v) {
		return "", l.invalid(name, "contains control characters", fix)
	}
	scheme, after, ok := strings.Cut(v, ":")
	if !ok {
		return "", l.invalid(name, "has no scheme", fix)
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "sqlite":
		if strings.TrimPrefix(after, "//") == "" {
			return "", l.invalid(name, "names no file", fix)
		}
		return "sqlite:" + after, nil
	case "postgres", "postgresql":
		v = scheme + ":" + after
		u, perr := url.Parse(v)
		if perr != nil {
			return "", l.invalid(name, "is not a valid URL ("+urlProblem(perr)+")",
				"percent-encode special characters in the user name and password (@ as %40, / as %2F, : as %3A, # as %23)")
		}
		if u.Opaque != "" {
			return "", l.invalid(name, "is not a postgres:// URL", fix)
		}
		return v, nil
	}
	return "", l.invalid(name, "has an unsupported scheme "+strconv.Quote(scheme), fix)
}

// urlProblem describes a url.Parse failure without repeating the URL (which may hold a password).
func urlProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ee url.EscapeError
	if errors.As(err, &ee) {
		return "invalid %-escape"
	}
	if errors.As(err, new(url.InvalidHostError)) {
		return "invalid character in host name"
	}
	msg := err.Error()
	if strings.Contains(msg, "invalid port") {
		return "invalid port"
	}
	return msg
}

type serverKind struct {
	secure, plain         string
	securePort, plainPort string
	example               string
	mailbox, requireLogin bool
}

var serverKinds = map[string]serverKind{
	"imap": {secure: "imaps", plain: "imap", securePort: "993", plainPort: "143",
		example: "imaps://user:password@imap.example.com/INBOX", mailbox: true, requireLogin: true},
	"smtp": {secure: "smtps", plain: "smtp", securePort: "465", plainPort: "587",
		example: "smtps://user:password@smtp.example.com"},
}

// server parses ONBOARDER_IMAP_URL or ONBOARDER_SMTP_URL (read by their rows) and applies
// the password override; oauth says the server signs in with OAuth 2.0 (no password needed).
func (l *loader) server(name, passwordName, kind string, oauth bool) (*Server, error) {
	v, err := l.get(name)
	if err != nil {
		return nil, err
	}
	password, err := l.get(passwordName)
	if err != nil {
		return nil, err
	}
	if v == "" {
		if password != "" {
			return nil, l.invalid(passwordName, "is set but "+name+" is not", "set "+name+" or unset "+passwordName)
		}
		return nil, nil
	}
	k := serverKinds[kind]
	fix := "write it as " + k.example
	if hasControl(v) {
		return nil, l.invalid(name, "contains control characters", fix)
	}
	u, perr := url.Parse(v)
	if perr != nil {
		return nil, l.invalid(name, "is not a valid URL ("+urlProblem(perr)+")",
			"percent-encode special characters in the user name and password (@ as %40, / as %2F, : as %3A, # as %23, ? as %3F)")
	}
	s := &Server{Scheme: strings.ToLower(u.Scheme)}
	var port string
	switch s.Scheme {
	case k.secure:
		s.TLS, port = TLSImplicit, k.securePort
	case k.plain:
		s.TLS, port = TLSStartTLS, k.plainPort
	default:
		return nil, l.invalid(name, "is not an "+k.secure+":// or "+k.plain+":// URL", fix)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, l.invalid(name, "has no host", fix)
	}
	if p := u.Port(); p != "" {
		n, aerr := strconv.Atoi(p)
		if aerr != nil || n < 1 || n > 65535 {
			return nil, l.invalid(name, "has an invalid port", fix)
		}
		port = strconv.Itoa(n)
	}
	s.Host = net.JoinHostPort(u.Hostname(), port)
	if u.Fragment != "" || strings.Contains(v, "#") {
		return nil, l.invalid(name, "contains #", "percent-encode # in the password as %23")
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if password != "" {
		s.Password = password
	}
	if hasControl(s.Username) || hasControl(s.Password) {
		return nil, l.invalid(name, "has control characters in the user name or password", fix)
	}
	if k.requireLogin {
		if s.Username == "" {
			return nil, l.invalid(name, "has no user name", fix+" (percent-encode @ in the user name as %40)")
		}
		if s.Password == "" && !oauth {
			return nil, l.invalid(name, "has no password", "put it in the URL ("+k.example+") or in "+passwordName+" or "+passwordName+"_FILE")
		}
	} else if s.Username != "" && s.Password == "" && !oauth {
		return nil, l.invalid(name, "has a user name but no password", "put the password in the URL or in "+passwordName+", or drop the user name for a relay without login")
	}
	path := strings.Trim(u.Path, "/")
	if k.mailbox {
		if path == "" {
			path = "INBOX"
		}
		s.Path = path
	} else if path != "" {
		return nil, l.invalid(name, "has a path", fix+" (no path)")
	}
	q, qerr := url.ParseQuery(u.RawQuery)
	if qerr != nil {
		return nil, l.invalid(name, "has an invalid query", "use ?tls=none or ?tls=insecure, or no query")
	}
	for key, vals := range q {
		if key != "tls" {
			return nil, l.invalid(name, "has an unknown query parameter "+strconv.Quote(truncate(key, 40)), "use ?tls=none or ?tls=insecure, or no query")
		}
		if len(vals) != 1 {
			return nil, l.invalid(name, "has tls more than once", "give ?tls= once")
		}
		switch tv := strings.ToLower(vals[0]); {
		case tv == "none" && s.TLS == TLSStartTLS:
			s.TLS = TLSNone
		case tv == "none":
			return nil, l.invalid(name, "asks for ?tls=none on "+s.Scheme+"://, which is always TLS",
				"use "+k.plain+"://…?tls=none for plaintext, or drop ?tls=none")
		case tv == "insecure":
			s.InsecureSkipVerify = true
		case tv == "starttls" && s.TLS == TLSStartTLS, tv == "tls" && s.TLS == TLSImplicit:
			// Redundant but consistent with the scheme.
		default:
			return nil, l.invalid(name, "has an invalid tls="+strconv.Quote(truncate(vals[0], 40)),
				"use ?tls=none (plaintext, "+k.plain+":// only) or ?tls=insecure (no certificate check), or use "+k.secure+":// for implicit TLS")
		}
	}
	return s, nil
}

var passwordParam = regexp.MustCompile(`(?i)([?&][^=&#]*(?:password|passwd|pwd)[^=&#]*=)[^&#]*`)

// RedactURL returns raw with any password (URL userinfo, or a query parameter named like
// password) replaced by ***. It works on strings that do not parse as URLs, redacting more
// than needed rather than less. Strings without "://" (sqlite:PATH) are returned as they are.
func RedactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	head, rest := raw[:i+3], raw[i+3:]
	if u, err := url.Parse(raw); err == nil {
		if _, has := u.User.Password(); has {
			// Precise: the authority ends at the first '/', '?' or '#'; the userinfo at its last '@'.
			auth := rest
			if j := strings.IndexAny(auth, "/?#"); j >= 0 {
				auth = auth[:j]
			}
			if at := strings.LastIndex(auth, "@"); at >= 0 {
				user, _, _ := strings.Cut(auth[:at], ":")
				rest = user + ":***" + rest[at:]
			}
		}
	} else if at := strings.LastIndex(rest, "@"); at >= 0 {
		// Unparseable: hide everything from the first ':' up to the last '@'.
		if user, _, found := strings.Cut(rest[:at], ":"); found {
			rest = user + ":***" + rest[at:]
		}
	}
	return passwordParam.ReplaceAllString(head+rest, "${1}***")
}

// httpURL parses an absolute http(s) URL.
func httpURL(example string) parseFunc[string] {
	return func(l *loader, name, v string) (string, error) {
		return l.httpURL(name, v, example)
	}
}

func (l *loader) httpURL(name, v, example string) (string, error) {
	fix := "set it to an absolute http(s) URL such as " + example
	u, perr := url.Parse(v)
	switch {
	case perr != nil || hasControl(v):
		return "", l.invalid(name, "is not a URL", fix)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", l.invalid(name, "is not an http or https URL", fix)
	case u.Opaque != "" || u.Hostname() == "":
		return "", l.invalid(name, "has no host", fix)
	case u.Fragment != "":
		return "", l.invalid(name, "has a #fragment", fix)
	}
	return v, nil
}

// redactQuery hides a URL's user info and query values (webhook URLs often
// carry a token there).
func redactQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return RedactURL(raw)
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	if u.RawQuery != "" {
		u.RawQuery = "***"
	}
	return u.String()
}
