package config

import (
	"fmt"
	"net/mail"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/onboarder/onboarder/config/defaults"
)

// setting is one row of the settings table: everything about one ONBOARDER_ variable.
// Flags, NAME_FILE, Usage, Redacted (config check, the start-up log), the defaults and the
// README test all come from the table; only the rules between settings are written
// elsewhere (relate).
type setting struct {
	name    string // the environment variable; the flag is FlagName(name)
	meaning string // one line, for Usage
	// Exactly one of def, none and follows says what an unset variable means.
	def     string // the default as a user writes it ("336h"); the typed default is in read
	none    string // no default: unset switches something off; says what ("mail stays queued")
	follows string // the default is another setting's value: "the From address"
	boolean bool   // the flag may stand alone (= true)
	secret  bool   // its value is never shown (Redacted, error messages)
	// read reads the variable (flag > NAME > NAME_FILE) and stores its parsed value, or its
	// default when unset, where it goes in the Config the table was made for.
	read func(l *loader) error
	// show renders the stored value for Redacted; nil: not listed on its own (the password
	// overrides, shown as part of their URL).
	show func() string
}

// unsetText is what Usage says an unset variable means.
func (s setting) unsetText() string {
	switch {
	case s.def != "":
		return s.def
	case s.follows != "":
		return s.follows
	case s.none != "":
		return "none (" + s.none + ")"
	}
	return "none"
}

// settings returns the table, each row writing into c. It is the one place where a setting
// is described: a new setting is one row here (plus its Env constant, Config field and,
// when it has one, its default in package defaults) and one row in the README, which a test
// holds to the table.
func (c *Config) settings() []setting {
	return []setting{
		val(EnvDatabaseURL, &c.DatabaseURL, defaults.DatabaseURL, defaults.DatabaseURL, (*loader).databaseURL, RedactURL,
			"database: postgres://… (any libpq URL) or sqlite:PATH"),
		server(EnvIMAPURL, &c.IMAP, "poll and run refuse to start",
			"mailbox to poll: imaps://user:pass@host[:993]/MAILBOX, imap://… (STARTTLS required); ?tls=none plaintext (loopback), ?tls=insecure skips the certificate check (tests only)"),
		password(EnvIMAPPassword, "IMAP password, overrides the one in "+EnvIMAPURL),
		val(EnvIMAPProcessedFolder, &c.IMAPProcessedFolder, defaults.IMAPProcessedFolder, defaults.IMAPProcessedFolder, (*loader).mailbox, same,
			"where handled mail is moved; created if missing"),
		flag(EnvIMAPIdle, &c.IMAPIdle, "true: also wait for new mail with IDLE between scheduled polls"),
		duration(EnvIMAPTimeout, &c.IMAPTimeout, defaults.IMAPTimeout, "deadline of each IMAP command (Go duration)"),
		duration(EnvPollLease, &c.PollLease, defaults.PollLease,
			"how long one worker's claim to poll lasts unless renewed: a worker that died is replaced after it (Go duration)"),
		val(EnvPollSchedule, &c.PollSchedule, defaults.PollSchedule, defaults.PollSchedule, text("a cron spec such as @every 1m"), same,
			"robfig/cron spec of the mailbox polls"),
		server(EnvSMTPURL, &c.SMTP, "mail stays queued",
			"mail submission: smtps://user:pass@host[:465], smtp://…[:587] (STARTTLS required); ?tls=none plaintext, ?tls=insecure as above"),
		password(EnvSMTPPassword, "SMTP password, overrides the one in "+EnvSMTPURL),
		duration(EnvSMTPTimeout, &c.SMTPTimeout, defaults.SMTPTimeout, "deadline of one SMTP delivery (Go duration)"),
		count(EnvSMTPConnections, &c.SMTPConnections, defaults.SMTPConnections, defaults.MaxSMTPConnections,
			fmt.Sprintf("most SMTP connections the outbox sends over at once while a backlog lasts (1-%d; a few due mails use one)", defaults.MaxSMTPConnections)),
		duration(EnvOutboxLease, &c.OutboxLease, defaults.OutboxLease,
			"how long an outbox mail a worker claimed is its own: a worker that died leaves its mails to others after it; at least 4 × "+EnvSMTPTimeout+", which a longer timeout raises it to when unset (Go duration)"),
		val(EnvMailFrom, &c.MailFrom, mustAddress(defaults.MailFrom), defaults.MailFrom, (*loader).address, showAddress,
			"From of every mail"),
		val(EnvReplyTo, &c.ReplyTo, mail.Address{}, "", (*loader).address, showAddress,
			"Reply-To of every mail (the polled mailbox)").following("the From address"),
		val(EnvPublicURL, &c.PublicURL, defaults.PublicURL, defaults.PublicURL, (*loader).publicURL, same,
			"base of links in mails (absolute http or https URL)"),
		val(EnvHTTPAddr, &c.HTTPAddr, defaults.HTTPAddr, defaults.HTTPAddr, (*loader).listenAddr, same,
			"listen address of the web console and invitation pages"),
		val(EnvAdminAddr, &c.AdminAddr, defaults.AdminAddr, defaults.AdminAddr, (*loader).listenAddr, orNone,
			"listen address of /metrics and of /readyz with its reason, for operators and monitoring only (the public address answers /healthz and /readyz without detail); none: serve them nowhere"),
		val(EnvTrustedProxies, &c.TrustedProxies, nil, "", (*loader).prefixes, joinPrefixes,
			"reverse proxies (IP addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client; the right-most address there that is not one of them counts (login limiter, log)"),
		duration(EnvSessionMaxAge, &c.SessionMaxAge, defaults.SessionMaxAge,
			"a console session ends this long after its login however active (it ends after 12h without activity sooner) (Go duration)"),
		val(EnvTrustedAuthServID, &c.TrustedAuthServID, "", "", (*loader).authservID, same,
			"authserv-id of our own MX whose Authentication-Results are trusted").unset("sender_auth_unchecked"),
		flag(EnvAutoApproveTrusted, &c.AutoApproveTrusted, "approve clean requests from trusted partners"),
		duration(EnvInviteTTL, &c.InviteTTL, defaults.InviteTTL, "how long an invitation stays valid (Go duration)"),
		duration(EnvInviteReminderBefore, &c.InviteReminderBefore, defaults.InviteReminderBefore,
			"the administrator is reminded of an unanswered invitation this long before it expires, once; so are the contacts asked for a consent before their links expire (Go duration)"),
		duration(EnvNeedsInfoChaseAfter, &c.NeedsInfoChaseAfter, defaults.NeedsInfoChaseAfter,
			"a request waiting for its Organization ID is chased with the partner once this long after it came in (Go duration)"),
		duration(EnvNeedsInfoExpireAfter, &c.NeedsInfoExpireAfter, defaults.NeedsInfoExpireAfter,
			"a request still waiting for its Organization ID this long after it came in is closed as expired, the partner told (Go duration)"),
		duration(EnvConsentTTL, &c.ConsentTTL, defaults.ConsentTTL,
			"how long a partner's consent link (customer first) or a reseller's confirmation link stays valid; a request whose links all expired unanswered is closed as expired and the one who asked is told (Go duration)"),
		val(EnvOpsDigestTo, &c.OpsDigestTo, nil, "", (*loader).addressList, joinAddresses,
			"where the daily ops digest goes (addresses, comma-separated): open requests, held and failed mail, links ending soon, open fraud reports").unset("no digest"),
		val(EnvOpsDigestSchedule, &c.OpsDigestSchedule, defaults.OpsDigestSchedule, defaults.OpsDigestSchedule, text("a cron spec such as 0 8 * * 1-5"), same,
			"robfig/cron spec of the ops digest, in UTC"),
		val(EnvFourEyesFindings, &c.FourEyesFindings, splitCodes(defaults.FourEyesFindings), defaults.FourEyesFindings,
			(*loader).findingCodes, joinCodes,
			"findings (comma-separated codes) that make a request need approvals by two different ops users; none: no request does"),
		val(EnvQueueTarget, &c.QueueTarget, defaults.QueueTarget, "1bd", (*loader).businessTime, showBusinessTime,
			"how long an open request may wait before the queue shows it overdue, counting Monday to Friday only: a Go duration or Nbd (N business days)"),
		flag(EnvVerifyDKIM, &c.VerifyDKIM,
			"true: without trusted Authentication-Results, check a partner's DKIM signatures ourselves (DNS; an aligned valid signature authenticates)"),
		count(EnvAnswerLimitSender, &c.AnswerLimitSender, defaults.AnswerLimitSender, 1<<31-1,
			"most answers per hour that received mail causes to one address; more are held for ops"),
		count(EnvAnswerLimitPartner, &c.AnswerLimitPartner, defaults.AnswerLimitPartner, 1<<31-1,
			"most answers per hour that received mail causes to all of one partner's addresses; more are held for ops"),
		duration(EnvRawRetention, &c.RawRetention, defaults.RawRetention,
			"how long the raw source of a received mail is kept before the schedule deletes it (Go duration; 2160h = 90 days)"),
		count(EnvMaxMessageBytes, &c.MaxMessageBytes, defaults.MaxMessageBytes, 1<<62, "larger mail is not fetched: recorded from its envelope, and a registered partner is told to send it again (bytes)"),
		count(EnvPollBatch, &c.PollBatch, defaults.PollBatch, 1<<31-1, "most mails one intake pass takes"),
		val(EnvTemplatesDir, &c.TemplatesDir, "", "", (*loader).templatesDir, same,
			"templates that override the built-in ones, file by file"),
		choice(EnvLogFormat, &c.LogFormat, defaults.LogFormat, []string{"text", "json"}, "log format: text or json"),
		choice(EnvLogLevel, &c.LogLevel, defaults.LogLevel, []string{"debug", "info", "warn", "error"}, "log level: debug, info, warn or error"),
		choice(EnvIMAPAuth, &c.IMAPAuth, defaults.IMAPAuth, []string{AuthPassword, AuthOAuth2},
			"IMAP sign-in: password (LOGIN) or oauth2 (XOAUTH2/OAUTHBEARER with a token from "+EnvOAuthTokenURL+"; the URL then needs no password)"),
		choice(EnvSMTPAuth, &c.SMTPAuth, "", []string{AuthPassword, AuthOAuth2},
			"SMTP sign-in: password or oauth2 (needs a user name in "+EnvSMTPURL+")").following("as " + EnvIMAPAuth),
		val(EnvOAuthTokenURL, &c.OAuth.TokenURL, "", "", httpURL("https://login.microsoftonline.com/TENANT/oauth2/v2.0/token"), same,
			"OAuth 2.0 token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or https://oauth2.googleapis.com/token"),
		val(EnvOAuthClientID, &c.OAuth.ClientID, "", "", text("the application (client) ID"), same,
			"OAuth 2.0 client (application) ID"),
		secretValue(EnvOAuthClientSecret, &c.OAuth.ClientSecret, "", "OAuth 2.0 client secret"),
		secretValue(EnvOAuthRefreshToken, &c.OAuth.RefreshToken, "client credentials",
			"refresh token of the mailbox user: selects the refresh-token grant instead of client credentials"),
		val(EnvOAuthScopes, &c.OAuth.Scopes, nil, "", (*loader).scopes, joinScopes,
			"scopes, separated by spaces or commas, e.g. https://outlook.office365.com/.default or https://mail.google.com/"),
		val(EnvDirectoryURL, &c.DirectoryURL, "", "", httpURL("https://resource-manager.api.example.com"), RedactURL,
			"organization directory API base: GET {base}/v2/organizations/{id}").unset("organizations from the database"),
		secretValue(EnvDirectoryToken, &c.DirectoryToken, "", "bearer token of the directory API"),
		duration(EnvDirectoryTimeout, &c.DirectoryTimeout, defaults.DirectoryTimeout, "timeout of one directory request (Go duration)"),
		count(EnvDirectoryRetries, &c.DirectoryRetries, defaults.DirectoryRetries, defaults.MaxDirectoryRetries,
			fmt.Sprintf("further attempts after a 5xx, 429 or network error (1-%d)", defaults.MaxDirectoryRetries)),
		duration(EnvDirectoryCacheTTL, &c.DirectoryCacheTTL, defaults.DirectoryCacheTTL, "how long directory answers are kept (Go duration)"),
		val(EnvDirectoryAdminLabel, &c.DirectoryAdminLabel, "", "", (*loader).label, same,
			"directory label holding the administrator's e-mail address").unset("from the database"),
		val(EnvWebhookURL, &c.WebhookURL, "", "", httpURL("https://hooks.example.com/onboarder"), redactQuery,
			"URL that receives a signed JSON event for every request and link transition").unset("no webhooks"),
		secretValue(EnvWebhookSecret, &c.WebhookSecret, "",
			"HMAC-SHA256 key of the X-Onboarder-Signature-256 header (required with "+EnvWebhookURL+")"),
		val(EnvOIDCIssuer, &c.OIDC.Issuer, "", "", httpURL("https://login.example.com/realms/ops"), same,
			"OpenID Connect issuer of the console's single sign-on (discovery at {issuer}/.well-known/openid-configuration)").unset("no single sign-on"),
		val(EnvOIDCClientID, &c.OIDC.ClientID, "", "", text("the client ID registered at the provider"), same,
			"OpenID Connect client ID (required with "+EnvOIDCIssuer+"); the ID token's audience"),
		secretValue(EnvOIDCClientSecret, &c.OIDC.ClientSecret, "public client (PKCE only)", "OpenID Connect client secret"),
		val(EnvOIDCRoleClaim, &c.OIDC.RoleClaim, defaults.OIDCRoleClaim, defaults.OIDCRoleClaim, text("groups"), same,
			"ID token claim (a string or a list of strings) whose values "+EnvOIDCRoles+" maps to console roles"),
		val(EnvOIDCRoles, &c.OIDC.Roles, nil, "", (*loader).roleMap, showRoleMap,
			"claim value=role pairs, comma-separated (roles: viewer, approver, admin), e.g. ops-admins=admin,ops-viewers=viewer; a list claim takes the highest; required with "+EnvOIDCIssuer).unset("nobody may sign in"),
		val(EnvPasswordLogin, &c.PasswordLogin, defaults.PasswordLogin, strconv.FormatBool(defaults.PasswordLogin), (*loader).boolean, strconv.FormatBool,
			"false: the console's login page has no password form and refuses password logins (single sign-on only)"),
	}
}

// The kinds of rows. Each takes the typed default (when the kind has one) and the place the
// value goes.

// parseFunc parses a set (non-empty) value of the variable name; its error is an *Error.
type parseFunc[T any] func(l *loader, name, raw string) (T, error)

// val is the general row: raw values go through parse into *dst; unset, *dst = def.
// shown is def as a user writes it ("" when there is no default).
func val[T any](name string, dst *T, def T, shown string, parse parseFunc[T], show func(T) string, meaning string) setting {
	return setting{name: name, meaning: meaning, def: shown,
		read: func(l *loader) error {
			raw, err := l.get(name)
			if err != nil {
				return err
			}
			if raw == "" {
				*dst = def
				return nil
			}
			v, err := parse(l, name, raw)
			if err != nil {
				return err
			}
			*dst = v
			return nil
		},
		show: func() string { return show(*dst) },
	}
}

// unset documents what an unset row without a default means.
func (s setting) unset(means string) setting { s.none = means; return s }

// following documents a row whose default is another setting's value (set in relate).
func (s setting) following(what string) setting { s.follows = what; return s }

func duration(name string, dst *time.Duration, def time.Duration, meaning string) setting {
	example := shortDuration(def)
	return val(name, dst, def, example, func(l *loader, name, raw string) (time.Duration, error) {
		return l.duration(name, raw, example)
	}, time.Duration.String, meaning)
}

// count is a whole number from 1 to max.
func count[T int | int64](name string, dst *T, def, max T, meaning string) setting {
	example := strconv.FormatInt(int64(def), 10)
	return val(name, dst, def, example, func(l *loader, name, raw string) (T, error) {
		n, err := l.positive(name, raw, int64(max), example)
		return T(n), err
	}, func(n T) string { return strconv.FormatInt(int64(n), 10) }, meaning)
}

// flag is a boolean, false by default; its flag may stand alone.
func flag(name string, dst *bool, meaning string) setting {
	s := val(name, dst, false, "false", (*loader).boolean, strconv.FormatBool, meaning)
	s.boolean = true
	return s
}

// choice is one of allowed (case-insensitive).
func choice(name string, dst *string, def string, allowed []string, meaning string) setting {
	return val(name, dst, def, def, func(l *loader, name, raw string) (string, error) {
		return l.oneOf(name, raw, def, allowed...)
	}, same, meaning)
}

// secretValue is a secret taken as it is; Redacted shows only whether it is set.
func secretValue(name string, dst *string, unset, meaning string) setting {
	s := val(name, dst, "", "", func(_ *loader, _, raw string) (string, error) { return raw, nil }, secret, meaning)
	s.secret, s.none = true, unset
	return s
}

// server is ONBOARDER_IMAP_URL or ONBOARDER_SMTP_URL. Its parsing needs the password
// override and the sign-in method, so relate parses it; the row reads the raw value.
func server(name string, dst **Server, unset, meaning string) setting {
	return setting{name: name, meaning: meaning, none: unset,
		read: func(l *loader) error { _, err := l.get(name); return err },
		show: func() string {
			if *dst == nil {
				return ""
			}
			return (*dst).String()
		},
	}
}

// password is ONBOARDER_IMAP_PASSWORD or ONBOARDER_SMTP_PASSWORD: it lands in the server's
// Password (relate), and is shown only as the *** of its URL.
func password(name, meaning string) setting {
	return setting{name: name, meaning: meaning, follows: "the URL's password", secret: true,
		read: func(l *loader) error { _, err := l.get(name); return err },
	}
}

func same(s string) string { return s }

// businessTime reads a Go duration or Nbd, N business days of 24 hours of
// Monday-to-Friday time each.
func (l *loader) businessTime(name, raw string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(strings.ToLower(strings.TrimSpace(raw)), "bd"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 1000 {
			return 0, l.invalid(name, "is not a number of business days (like 1bd)", "set it to a value such as 1bd or 8h")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return l.duration(name, raw, "1bd or 8h")
}

// showBusinessTime writes whole days of business time as Nbd.
func showBusinessTime(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dbd", d/(24*time.Hour))
	}
	return d.String()
}

func showAddress(a mail.Address) string { return a.String() }

// joinAddresses shows an address list as it is written.
func joinAddresses(as []mail.Address) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return strings.Join(out, ", ")
}

// shortDuration writes a default as a user would: 60s, 2m, 336h.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0 && d >= 2*time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0 && d < 2*time.Minute:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

func mustAddress(s string) mail.Address {
	a, err := mail.ParseAddress(s)
	if err != nil {
		panic("config: default address " + strconv.Quote(s) + ": " + err.Error())
	}
	return *a
}

// text is free text without control characters.
func text(example string) parseFunc[string] {
	return func(l *loader, name, raw string) (string, error) {
		if hasControl(raw) {
			return "", l.invalid(name, "contains control characters", "set it to "+example)
		}
		return raw, nil
	}
}

func (l *loader) scopes(name, raw string) ([]string, error) {
	v, err := text("https://outlook.office365.com/.default")(l, name, raw)
	if err != nil {
		return nil, err
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), nil
}

func joinScopes(s []string) string { return strings.Join(s, " ") }

// splitCodes splits a comma-separated list of finding codes.
func splitCodes(v string) []string {
	out := []string{}
	for _, c := range strings.Split(v, ",") {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// findingCodes reads finding codes (lower-case letters, digits and _), or none.
func (l *loader) findingCodes(name, raw string) ([]string, error) {
	if strings.EqualFold(strings.TrimSpace(raw), "none") {
		return []string{}, nil
	}
	codes := splitCodes(raw)
	for _, c := range codes {
		for _, r := range c {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
				return nil, l.invalid(name, "is not a list of finding codes", "set it to codes such as name_mismatch,fraud_reported, or none")
			}
		}
	}
	if len(codes) == 0 {
		return nil, l.invalid(name, "names no finding", "set it to codes such as name_mismatch,fraud_reported, or none")
	}
	return codes, nil
}

// joinCodes shows finding codes as they are written; none for no codes.
func joinCodes(c []string) string {
	if len(c) == 0 {
		return "none"
	}
	return strings.Join(c, ",")
}

func (l *loader) label(name, raw string) (string, error) {
	v, err := text("a label key such as admin-email")(l, name, raw)
	if err == nil && strings.ContainsAny(v, " \t=") {
		return "", l.invalid(name, "is not a label key", "set it to a label key such as admin-email")
	}
	return v, err
}

// orNone shows a switched-off address as the value that switches it off.
func orNone(addr string) string {
	if addr == "" {
		return "none"
	}
	return addr
}

func joinPrefixes(ps []netip.Prefix) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}

// secret shows whether a secret is set, never its value.
func secret(v string) string {
	if v == "" {
		return ""
	}
	return "***"
}

// OIDCRoles are the console roles a claim value may map to, lowest first.
var OIDCRoles = []string{"viewer", "approver", "admin"}

// roleMap parses ONBOARDER_OIDC_ROLES: value=role pairs, comma-separated.
func (l *loader) roleMap(name, raw string) (map[string]string, error) {
	fix := "set it to claim value=role pairs such as onboarder-admins=admin,onboarder-viewers=viewer (roles: " + strings.Join(OIDCRoles, ", ") + ")"
	m := map[string]string{}
	for _, pair := range strings.Split(raw, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.ToLower(strings.TrimSpace(v))
		known := false
		for _, r := range OIDCRoles {
			known = known || r == v
		}
		switch {
		case !ok || k == "" || hasControl(k):
			return nil, l.invalid(name, "has a pair without a claim value", fix)
		case !known:
			return nil, l.invalid(name, "maps "+k+" to an unknown role", fix)
		case m[k] != "" && m[k] != v:
			return nil, l.invalid(name, "maps "+k+" twice", fix)
		}
		m[k] = v
	}
	if len(m) == 0 {
		return nil, l.invalid(name, "maps nothing", fix)
	}
	return m, nil
}

func showRoleMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}
