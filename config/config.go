// Package config turns the environment, the config flags on the command line and NAME_FILE
// secrets into one typed, validated Config. It is the only package of onboarder that reads
// the environment; every other package takes documented option structs.
//
// Every setting is an environment variable ONBOARDER_X. The flag --x (the name without the
// prefix, lower case, '_' → '-') overrides it, and ONBOARDER_X_FILE names a file whose content
// (trailing newlines trimmed) is used when ONBOARDER_X is unset, for secrets such as URLs with
// passwords. Precedence: flag > ONBOARDER_X > ONBOARDER_X_FILE > default. An empty value counts
// as unset: it falls through to the next source and finally to the default, so
// --imap-url= switches IMAP off whatever the environment says.
//
// Mail server URLs:
//
//	imaps://user:pass@host[:993]/MAILBOX   implicit TLS
//	imap://user:pass@host[:143]/MAILBOX    STARTTLS required
//	smtps://user:pass@host[:465]           implicit TLS
//	smtp://user:pass@host[:587]            STARTTLS required
//
// The query ?tls=none allows plaintext (meant for loopback and tests); ?tls=insecure keeps TLS
// (or STARTTLS) but skips the certificate check (self-signed test servers; never in production).
// User name and password are percent-decoded (write @ as %40, / as %2F, : as %3A, # as %23).
// ONBOARDER_IMAP_PASSWORD and ONBOARDER_SMTP_PASSWORD (and their _FILE forms) override the
// password in the URL, so the URL itself need not be secret.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"unicode/utf8"
)

// Prefix starts every environment variable this package reads.
const Prefix = "ONBOARDER_"

// Environment variable names.
const (
	EnvDatabaseURL         = "ONBOARDER_DATABASE_URL"
	EnvIMAPURL             = "ONBOARDER_IMAP_URL"
	EnvIMAPPassword        = "ONBOARDER_IMAP_PASSWORD"
	EnvIMAPProcessedFolder = "ONBOARDER_IMAP_PROCESSED_FOLDER"
	EnvIMAPIdle            = "ONBOARDER_IMAP_IDLE"
	EnvIMAPTimeout         = "ONBOARDER_IMAP_TIMEOUT"
	EnvPollLease           = "ONBOARDER_POLL_LEASE"
	EnvPollSchedule        = "ONBOARDER_POLL_SCHEDULE"
	EnvSMTPURL             = "ONBOARDER_SMTP_URL"
	EnvSMTPPassword        = "ONBOARDER_SMTP_PASSWORD"
	EnvSMTPTimeout         = "ONBOARDER_SMTP_TIMEOUT"
	EnvSMTPConnections     = "ONBOARDER_SMTP_CONNECTIONS"
	EnvOutboxLease         = "ONBOARDER_OUTBOX_LEASE"
	EnvMailFrom            = "ONBOARDER_MAIL_FROM"
	EnvReplyTo             = "ONBOARDER_REPLY_TO"
	EnvPublicURL           = "ONBOARDER_PUBLIC_URL"
	EnvHTTPAddr            = "ONBOARDER_HTTP_ADDR"
	EnvAdminAddr           = "ONBOARDER_ADMIN_ADDR"
	EnvTrustedProxies      = "ONBOARDER_TRUSTED_PROXIES"
	EnvSessionMaxAge       = "ONBOARDER_SESSION_MAX_AGE"
	EnvTrustedAuthServID   = "ONBOARDER_TRUSTED_AUTHSERV_ID"
	EnvAutoApproveTrusted  = "ONBOARDER_AUTO_APPROVE_TRUSTED"
	EnvInviteTTL           = "ONBOARDER_INVITE_TTL"
	EnvVerifyDKIM          = "ONBOARDER_VERIFY_DKIM"
	EnvAnswerLimitSender   = "ONBOARDER_ANSWER_LIMIT_SENDER"
	EnvAnswerLimitPartner  = "ONBOARDER_ANSWER_LIMIT_PARTNER"
	EnvRawRetention        = "ONBOARDER_RAW_RETENTION"
	EnvMaxMessageBytes     = "ONBOARDER_MAX_MESSAGE_BYTES"
	EnvPollBatch           = "ONBOARDER_POLL_BATCH"
	EnvTemplatesDir        = "ONBOARDER_TEMPLATES_DIR"
	EnvLogFormat           = "ONBOARDER_LOG_FORMAT"
	EnvLogLevel            = "ONBOARDER_LOG_LEVEL"

	EnvIMAPAuth            = "ONBOARDER_IMAP_AUTH"
	EnvSMTPAuth            = "ONBOARDER_SMTP_AUTH"
	EnvOAuthTokenURL       = "ONBOARDER_OAUTH_TOKEN_URL"
	EnvOAuthClientID       = "ONBOARDER_OAUTH_CLIENT_ID"
	EnvOAuthClientSecret   = "ONBOARDER_OAUTH_CLIENT_SECRET"
	EnvOAuthRefreshToken   = "ONBOARDER_OAUTH_REFRESH_TOKEN"
	EnvOAuthScopes         = "ONBOARDER_OAUTH_SCOPES"
	EnvDirectoryURL        = "ONBOARDER_DIRECTORY_URL"
	EnvDirectoryToken      = "ONBOARDER_DIRECTORY_TOKEN"
	EnvDirectoryTimeout    = "ONBOARDER_DIRECTORY_TIMEOUT"
	EnvDirectoryRetries    = "ONBOARDER_DIRECTORY_RETRIES"
	EnvDirectoryCacheTTL   = "ONBOARDER_DIRECTORY_CACHE_TTL"
	EnvDirectoryAdminLabel = "ONBOARDER_DIRECTORY_ADMIN_LABEL"
	EnvWebhookURL          = "ONBOARDER_WEBHOOK_URL"
	EnvWebhookSecret       = "ONBOARDER_WEBHOOK_SECRET"
)

// Mailbox sign-in methods (ONBOARDER_IMAP_AUTH, ONBOARDER_SMTP_AUTH).
const (
	AuthPassword = "password"
	AuthOAuth2   = "oauth2"
)

// Defaults.
const (
	DefaultDatabaseURL         = "sqlite:onboarder.db"
	DefaultIMAPProcessedFolder = "Onboarder/Processed"
	DefaultIMAPTimeout         = 60 * time.Second
	DefaultPollLease           = 2 * time.Minute
	DefaultPollSchedule        = "@every 1m"
	DefaultSMTPTimeout         = 60 * time.Second
	DefaultSMTPConnections     = 2
	MaxSMTPConnections         = 16
	DefaultOutboxLease         = 5 * time.Minute
	DefaultMailFrom            = "Partner Onboarding <partners@localhost>"
	DefaultPublicURL           = "http://127.0.0.1:8080"
	DefaultHTTPAddr            = "127.0.0.1:8080"
	DefaultAdminAddr           = "127.0.0.1:9090"
	DefaultSessionMaxAge       = 24 * time.Hour
	DefaultInviteTTL           = 336 * time.Hour
	DefaultAnswerLimitSender   = 20
	DefaultAnswerLimitPartner  = 100
	DefaultRawRetention        = 2160 * time.Hour // 90 days
	DefaultMaxMessageBytes     = 10485760
	DefaultPollBatch           = 500
	DefaultLogFormat           = "text"
	DefaultLogLevel            = "info"
	DefaultDirectoryTimeout    = 10 * time.Second
	DefaultDirectoryRetries    = 3
	DefaultDirectoryCacheTTL   = time.Minute
)

// maxFileBytes bounds what a NAME_FILE may hold: these are single values, not documents.
const maxFileBytes = 64 << 10

// TLSMode says how a mail server connection is protected.
type TLSMode string

const (
	// TLSImplicit: TLS from the first byte (imaps://, smtps://).
	TLSImplicit TLSMode = "tls"
	// TLSStartTLS: plain connect, then STARTTLS, which must succeed (imap://, smtp://).
	TLSStartTLS TLSMode = "starttls"
	// TLSNone: plaintext, only with ?tls=none (meant for loopback and tests).
	TLSNone TLSMode = "none"
)

// Server is a parsed ONBOARDER_IMAP_URL or ONBOARDER_SMTP_URL.
type Server struct {
	Scheme   string // imaps | imap | smtps | smtp
	Host     string // host:port; default ports 993 (imaps), 143 (imap), 465 (smtps), 587 (smtp)
	Username string // percent-decoded
	Password string // percent-decoded; ONBOARDER_*_PASSWORD overrides the URL's
	// Path is the IMAP mailbox: the URL path without leading and trailing '/', percent-decoded;
	// "INBOX" when the URL has none. Always empty for SMTP.
	Path string
	TLS  TLSMode
	// InsecureSkipVerify is set by ?tls=insecure: TLS (or STARTTLS) without a certificate
	// check, for tests and self-signed servers. Never use it in production.
	InsecureSkipVerify bool
}

// String returns the server as a URL with the password replaced by ***, safe to log.
func (s Server) String() string {
	var b strings.Builder
	b.WriteString(s.Scheme)
	b.WriteString("://")
	if s.Username != "" || s.Password != "" {
		b.WriteString(url.User(s.Username).String())
		if s.Password != "" {
			b.WriteString(":***")
		}
		b.WriteByte('@')
	}
	b.WriteString(s.Host)
	if s.Path != "" {
		b.WriteString((&url.URL{Path: "/" + s.Path}).EscapedPath())
	}
	switch {
	case s.TLS == TLSNone:
		b.WriteString("?tls=none")
	case s.InsecureSkipVerify:
		b.WriteString("?tls=insecure")
	}
	return b.String()
}

// Hostname returns Host without the port, for the TLS server name.
func (s Server) Hostname() string {
	h, _, err := net.SplitHostPort(s.Host)
	if err != nil {
		return s.Host
	}
	return h
}

// Config is the validated configuration of one onboarder process.
type Config struct {
	DatabaseURL         string        // ONBOARDER_DATABASE_URL: postgres://… or sqlite:PATH
	IMAP                *Server       // ONBOARDER_IMAP_URL; nil when unset
	IMAPProcessedFolder string        // ONBOARDER_IMAP_PROCESSED_FOLDER
	IMAPIdle            bool          // ONBOARDER_IMAP_IDLE
	IMAPTimeout         time.Duration // ONBOARDER_IMAP_TIMEOUT: deadline per IMAP command
	PollLease           time.Duration // ONBOARDER_POLL_LEASE: how long a poller's claim lasts unless renewed
	PollSchedule        string        // ONBOARDER_POLL_SCHEDULE: robfig/cron spec, checked by the cli
	SMTP                *Server       // ONBOARDER_SMTP_URL; nil when unset
	SMTPTimeout         time.Duration // ONBOARDER_SMTP_TIMEOUT
	SMTPConnections     int           // ONBOARDER_SMTP_CONNECTIONS: most SMTP connections the outbox sends over at once
	OutboxLease         time.Duration // ONBOARDER_OUTBOX_LEASE: how long a claimed outbox mail is a worker's own
	MailFrom            mail.Address  // ONBOARDER_MAIL_FROM
	ReplyTo             mail.Address  // ONBOARDER_REPLY_TO; MailFrom when unset
	PublicURL           string        // ONBOARDER_PUBLIC_URL: absolute http(s), no trailing slash
	HTTPAddr            string        // ONBOARDER_HTTP_ADDR: host:port
	TrustedAuthServID   string        // ONBOARDER_TRUSTED_AUTHSERV_ID; "" trusts no Authentication-Results
	AutoApproveTrusted  bool          // ONBOARDER_AUTO_APPROVE_TRUSTED
	InviteTTL           time.Duration // ONBOARDER_INVITE_TTL
	VerifyDKIM          bool          // ONBOARDER_VERIFY_DKIM: own DKIM check when no trusted Authentication-Results
	AnswerLimitSender   int           // ONBOARDER_ANSWER_LIMIT_SENDER: answers per hour to one address
	AnswerLimitPartner  int           // ONBOARDER_ANSWER_LIMIT_PARTNER: answers per hour to one partner
	RawRetention        time.Duration // ONBOARDER_RAW_RETENTION: how long raw mail sources are kept
	MaxMessageBytes     int64         // ONBOARDER_MAX_MESSAGE_BYTES
	PollBatch           int           // ONBOARDER_POLL_BATCH
	TemplatesDir        string        // ONBOARDER_TEMPLATES_DIR; "" uses the built-in templates only
	LogFormat           string        // ONBOARDER_LOG_FORMAT: text | json
	LogLevel            string        // ONBOARDER_LOG_LEVEL: debug | info | warn | error

	IMAPAuth string // ONBOARDER_IMAP_AUTH: password | oauth2
	SMTPAuth string // ONBOARDER_SMTP_AUTH: password | oauth2 (default: IMAPAuth)
	OAuth    OAuth  // ONBOARDER_OAUTH_*: used when IMAPAuth or SMTPAuth is oauth2

	DirectoryURL        string        // ONBOARDER_DIRECTORY_URL; "" reads organizations from the database
	DirectoryToken      string        // ONBOARDER_DIRECTORY_TOKEN: bearer token
	DirectoryTimeout    time.Duration // ONBOARDER_DIRECTORY_TIMEOUT: per request
	DirectoryRetries    int           // ONBOARDER_DIRECTORY_RETRIES: further attempts on 5xx/429/network
	DirectoryCacheTTL   time.Duration // ONBOARDER_DIRECTORY_CACHE_TTL
	DirectoryAdminLabel string        // ONBOARDER_DIRECTORY_ADMIN_LABEL: label holding the admin's e-mail; "" uses the database

	WebhookURL    string // ONBOARDER_WEBHOOK_URL; "" sends no webhooks
	WebhookSecret string // ONBOARDER_WEBHOOK_SECRET: HMAC-SHA256 key, required with WebhookURL

	AdminAddr      string         // ONBOARDER_ADMIN_ADDR: host:port of /metrics and the detailed /readyz; "" (none) serves them nowhere
	TrustedProxies []netip.Prefix // ONBOARDER_TRUSTED_PROXIES: peers whose X-Forwarded-For names the client
	SessionMaxAge  time.Duration  // ONBOARDER_SESSION_MAX_AGE: a console session's longest life, however active
}

// OAuth is the OAuth 2.0 client of the mailbox sign-in.
type OAuth struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	RefreshToken string   // set: refresh-token grant; empty: client credentials
	Scopes       []string // e.g. https://outlook.office365.com/.default
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	from := mail.Address{Name: "Partner Onboarding", Address: "partners@localhost"}
	return Config{
		DatabaseURL:         DefaultDatabaseURL,
		IMAPProcessedFolder: DefaultIMAPProcessedFolder,
		IMAPTimeout:         DefaultIMAPTimeout,
		PollLease:           DefaultPollLease,
		PollSchedule:        DefaultPollSchedule,
		SMTPTimeout:         DefaultSMTPTimeout,
		SMTPConnections:     DefaultSMTPConnections,
		OutboxLease:         DefaultOutboxLease,
		MailFrom:            from,
		ReplyTo:             from,
		PublicURL:           DefaultPublicURL,
		HTTPAddr:            DefaultHTTPAddr,
		AdminAddr:           DefaultAdminAddr,
		SessionMaxAge:       DefaultSessionMaxAge,
		InviteTTL:           DefaultInviteTTL,
		AnswerLimitSender:   DefaultAnswerLimitSender,
		AnswerLimitPartner:  DefaultAnswerLimitPartner,
		RawRetention:        DefaultRawRetention,
		MaxMessageBytes:     DefaultMaxMessageBytes,
		PollBatch:           DefaultPollBatch,
		LogFormat:           DefaultLogFormat,
		LogLevel:            DefaultLogLevel,
		IMAPAuth:            AuthPassword,
		SMTPAuth:            AuthPassword,
		DirectoryTimeout:    DefaultDirectoryTimeout,
		DirectoryRetries:    DefaultDirectoryRetries,
		DirectoryCacheTTL:   DefaultDirectoryCacheTTL,
	}
}

// SlogLevel returns LogLevel as a slog.Level (info for anything unknown).
func (c Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// KV is one name/value pair of Redacted.
type KV struct{ Name, Value string }

// Redacted returns every setting in a fixed order, named by its environment variable, with
// passwords replaced by "***": for the start-up log and `onboarder config check`. An unset
// optional setting has the value "".
func (c Config) Redacted() []KV {
	server := func(s *Server) string {
		if s == nil {
			return ""
		}
		return s.String()
	}
	return []KV{
		{EnvDatabaseURL, RedactURL(c.DatabaseURL)},
		{EnvIMAPURL, server(c.IMAP)},
		{EnvIMAPProcessedFolder, c.IMAPProcessedFolder},
		{EnvIMAPIdle, strconv.FormatBool(c.IMAPIdle)},
		{EnvIMAPTimeout, c.IMAPTimeout.String()},
		{EnvPollLease, c.PollLease.String()},
		{EnvPollSchedule, c.PollSchedule},
		{EnvSMTPURL, server(c.SMTP)},
		{EnvSMTPTimeout, c.SMTPTimeout.String()},
		{EnvSMTPConnections, strconv.Itoa(c.SMTPConnections)},
		{EnvOutboxLease, c.OutboxLease.String()},
		{EnvMailFrom, c.MailFrom.String()},
		{EnvReplyTo, c.ReplyTo.String()},
		{EnvPublicURL, c.PublicURL},
		{EnvHTTPAddr, c.HTTPAddr},
		{EnvAdminAddr, orNone(c.AdminAddr)},
		{EnvTrustedProxies, joinPrefixes(c.TrustedProxies)},
		{EnvSessionMaxAge, c.SessionMaxAge.String()},
		{EnvTrustedAuthServID, c.TrustedAuthServID},
		{EnvAutoApproveTrusted, strconv.FormatBool(c.AutoApproveTrusted)},
		{EnvInviteTTL, c.InviteTTL.String()},
		{EnvVerifyDKIM, strconv.FormatBool(c.VerifyDKIM)},
		{EnvAnswerLimitSender, strconv.Itoa(c.AnswerLimitSender)},
		{EnvAnswerLimitPartner, strconv.Itoa(c.AnswerLimitPartner)},
		{EnvRawRetention, c.RawRetention.String()},
		{EnvMaxMessageBytes, strconv.FormatInt(c.MaxMessageBytes, 10)},
		{EnvPollBatch, strconv.Itoa(c.PollBatch)},
		{EnvTemplatesDir, c.TemplatesDir},
		{EnvLogFormat, c.LogFormat},
		{EnvLogLevel, c.LogLevel},
		{EnvIMAPAuth, c.IMAPAuth},
		{EnvSMTPAuth, c.SMTPAuth},
		{EnvOAuthTokenURL, c.OAuth.TokenURL},
		{EnvOAuthClientID, c.OAuth.ClientID},
		{EnvOAuthClientSecret, secret(c.OAuth.ClientSecret)},
		{EnvOAuthRefreshToken, secret(c.OAuth.RefreshToken)},
		{EnvOAuthScopes, strings.Join(c.OAuth.Scopes, " ")},
		{EnvDirectoryURL, RedactURL(c.DirectoryURL)},
		{EnvDirectoryToken, secret(c.DirectoryToken)},
		{EnvDirectoryTimeout, c.DirectoryTimeout.String()},
		{EnvDirectoryRetries, strconv.Itoa(c.DirectoryRetries)},
		{EnvDirectoryCacheTTL, c.DirectoryCacheTTL.String()},
		{EnvDirectoryAdminLabel, c.DirectoryAdminLabel},
		{EnvWebhookURL, redactQuery(c.WebhookURL)},
		{EnvWebhookSecret, secret(c.WebhookSecret)},
	}
}

// WarningNoSenderAuth is the warning of Warnings when nothing authenticates senders.
const WarningNoSenderAuth = "no sender authentication is configured (neither " + EnvTrustedAuthServID + " nor " +
	EnvVerifyDKIM + "=true): every request stays sender_auth_unchecked, nothing is approved automatically, " +
	"and a forged From address of a partner can only be caught by ops; set " + EnvTrustedAuthServID +
	" to the authserv-id of your MX's Authentication-Results header, or " + EnvVerifyDKIM + "=true"

// Warnings returns what the configuration leaves unprotected, one line each,
// for the start of `run` and `poll` and for `onboarder config check`.
func (c Config) Warnings() []string {
	var w []string
	if c.TrustedAuthServID == "" && !c.VerifyDKIM {
		w = append(w, WarningNoSenderAuth)
	}
	return w
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

// variable describes one setting: the single table behind flags, loading and Usage.
type variable struct {
	name    string // environment variable
	def     string // default as shown by Usage
	meaning string
	boolean bool // the flag may stand alone (= true)
	secret  bool // the value is never shown
}

var variables = []variable{
	{name: EnvDatabaseURL, def: DefaultDatabaseURL, meaning: "database: postgres://… (any libpq URL) or sqlite:PATH"},
	{name: EnvIMAPURL, def: "none (poll and run refuse to start)", meaning: "mailbox to poll: imaps://user:pass@host[:993]/MAILBOX, imap://… (STARTTLS required); ?tls=none plaintext (loopback), ?tls=insecure skips the certificate check (tests only)"},
	{name: EnvIMAPPassword, def: "the URL's password", meaning: "IMAP password, overrides the one in " + EnvIMAPURL, secret: true},
	{name: EnvIMAPProcessedFolder, def: DefaultIMAPProcessedFolder, meaning: "where handled mail is moved; created if missing"},
	{name: EnvIMAPIdle, def: "false", meaning: "true: also wait for new mail with IDLE between scheduled polls", boolean: true},
	{name: EnvIMAPTimeout, def: "60s", meaning: "deadline of each IMAP command (Go duration)"},
	{name: EnvPollLease, def: "2m", meaning: "how long one worker's claim to poll lasts unless renewed: a worker that died is replaced after it (Go duration)"},
	{name: EnvPollSchedule, def: DefaultPollSchedule, meaning: "robfig/cron spec of the mailbox polls"},
	{name: EnvSMTPURL, def: "none (mail stays queued)", meaning: "mail submission: smtps://user:pass@host[:465], smtp://…[:587] (STARTTLS required); ?tls=none plaintext, ?tls=insecure as above"},
	{name: EnvSMTPPassword, def: "the URL's password", meaning: "SMTP password, overrides the one in " + EnvSMTPURL, secret: true},
	{name: EnvSMTPTimeout, def: "60s", meaning: "deadline of one SMTP delivery (Go duration)"},
	{name: EnvOutboxLease, def: "5m", meaning: "how long an outbox mail a worker claimed is its own: a worker that died leaves its mails to others after it; at least 4 × ONBOARDER_SMTP_TIMEOUT, which a longer timeout raises it to when unset (Go duration)"},
	{name: EnvSMTPConnections, def: strconv.Itoa(DefaultSMTPConnections), meaning: fmt.Sprintf("most SMTP connections the outbox sends over at once while a backlog lasts (1-%d; a few due mails use one)", MaxSMTPConnections)},
	{name: EnvMailFrom, def: DefaultMailFrom, meaning: "From of every mail"},
	{name: EnvReplyTo, def: "the From address", meaning: "Reply-To of every mail (the polled mailbox)"},
	{name: EnvPublicURL, def: DefaultPublicURL, meaning: "base of links in mails (absolute http or https URL)"},
	{name: EnvHTTPAddr, def: DefaultHTTPAddr, meaning: "listen address of the web console and invitation pages"},
	{name: EnvAdminAddr, def: DefaultAdminAddr, meaning: "listen address of /metrics and of /readyz with its reason, for operators and monitoring only (the public address answers /healthz and /readyz without detail); none: serve them nowhere"},
	{name: EnvTrustedProxies, def: "none", meaning: "reverse proxies (IP addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client; the right-most address there that is not one of them counts (login limiter, log)"},
	{name: EnvSessionMaxAge, def: "24h", meaning: "a console session ends this long after its login however active (it ends after 12h without activity sooner) (Go duration)"},
	{name: EnvTrustedAuthServID, def: "none (sender_auth_unchecked)", meaning: "authserv-id of our own MX whose Authentication-Results are trusted"},
	{name: EnvAutoApproveTrusted, def: "false", meaning: "approve clean requests from trusted partners", boolean: true},
	{name: EnvInviteTTL, def: "336h", meaning: "how long an invitation stays valid (Go duration)"},
	{name: EnvVerifyDKIM, def: "false", meaning: "true: without trusted Authentication-Results, check a partner's DKIM signatures ourselves (DNS; an aligned valid signature authenticates)", boolean: true},
	{name: EnvAnswerLimitSender, def: strconv.Itoa(DefaultAnswerLimitSender), meaning: "most answers per hour that received mail causes to one address; more are held for ops"},
	{name: EnvAnswerLimitPartner, def: strconv.Itoa(DefaultAnswerLimitPartner), meaning: "most answers per hour that received mail causes to all of one partner's addresses; more are held for ops"},
	{name: EnvRawRetention, def: "2160h", meaning: "how long the raw source of a received mail is kept before the schedule deletes it (Go duration; 2160h = 90 days)"},
	{name: EnvMaxMessageBytes, def: strconv.Itoa(DefaultMaxMessageBytes), meaning: "larger mail is recorded, not parsed (bytes)"},
	{name: EnvPollBatch, def: strconv.Itoa(DefaultPollBatch), meaning: "most mails one intake pass takes"},
	{name: EnvTemplatesDir, def: "none", meaning: "templates that override the built-in ones, file by file"},
	{name: EnvLogFormat, def: DefaultLogFormat, meaning: "log format: text or json"},
	{name: EnvLogLevel, def: DefaultLogLevel, meaning: "log level: debug, info, warn or error"},
	{name: EnvIMAPAuth, def: AuthPassword, meaning: "IMAP sign-in: password (LOGIN) or oauth2 (XOAUTH2/OAUTHBEARER with a token from " + EnvOAuthTokenURL + "; the URL then needs no password)"},
	{name: EnvSMTPAuth, def: "as " + EnvIMAPAuth, meaning: "SMTP sign-in: password or oauth2 (needs a user name in " + EnvSMTPURL + ")"},
	{name: EnvOAuthTokenURL, def: "none", meaning: "OAuth 2.0 token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or https://oauth2.googleapis.com/token"},
	{name: EnvOAuthClientID, def: "none", meaning: "OAuth 2.0 client (application) ID"},
	{name: EnvOAuthClientSecret, def: "none", meaning: "OAuth 2.0 client secret", secret: true},
	{name: EnvOAuthRefreshToken, def: "none (client credentials)", meaning: "refresh token of the mailbox user: selects the refresh-token grant instead of client credentials", secret: true},
	{name: EnvOAuthScopes, def: "none", meaning: "scopes, separated by spaces or commas, e.g. https://outlook.office365.com/.default or https://mail.google.com/"},
	{name: EnvDirectoryURL, def: "none (organizations from the database)", meaning: "organization directory API base: GET {base}/v2/organizations/{id}"},
	{name: EnvDirectoryToken, def: "none", meaning: "bearer token of the directory API", secret: true},
	{name: EnvDirectoryTimeout, def: "10s", meaning: "timeout of one directory request (Go duration)"},
	{name: EnvDirectoryRetries, def: strconv.Itoa(DefaultDirectoryRetries), meaning: "further attempts after a 5xx, 429 or network error"},
	{name: EnvDirectoryCacheTTL, def: "1m", meaning: "how long directory answers are kept (Go duration)"},
	{name: EnvDirectoryAdminLabel, def: "none (from the database)", meaning: "directory label holding the administrator's e-mail address"},
	{name: EnvWebhookURL, def: "none (no webhooks)", meaning: "URL that receives a signed JSON event for every request and link transition"},
	{name: EnvWebhookSecret, def: "none", meaning: "HMAC-SHA256 key of the X-Onboarder-Signature-256 header (required with " + EnvWebhookURL + ")", secret: true},
}

// FlagName returns the command-line flag of an environment variable:
// ONBOARDER_DATABASE_URL → --database-url.
func FlagName(env string) string {
	return "--" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, Prefix)), "_", "-")
}

// Usage lists every variable with its flag, default and meaning, for --help.
func Usage() string {
	var b strings.Builder
	b.WriteString("Configuration: every setting is an environment variable; the flag of the same name overrides it;\n")
	b.WriteString("NAME_FILE names a file holding the value (for secrets). Precedence: flag > NAME > NAME_FILE > default.\n\n")
	for _, v := range variables {
		fmt.Fprintf(&b, "  %s (%s", v.name, FlagName(v.name))
		if v.boolean {
			b.WriteString("[=false]")
		}
		fmt.Fprintf(&b, ")\n      %s\n      default: %s\n", v.meaning, v.def)
	}
	return b.String()
}

// Error is an invalid setting. Its message is one line: what, why, what to do.
type Error struct {
	Var string // the environment variable, e.g. ONBOARDER_INVITE_TTL
	msg string
}

func (e *Error) Error() string { return e.msg }

// FlagError is a malformed config flag on the command line (a usage error: exit 2).
type FlagError struct {
	Flag string
	msg  string
}

func (e *FlagError) Error() string { return e.msg }

// Load reads the configuration from config flags in args, from getenv and from NAME_FILE files,
// applies defaults and validates everything.
//
// args is the command line after the command words. Config flags may appear anywhere before a
// "--": --database-url X, --database-url=X, -database-url X; a boolean flag alone means true
// (--imap-idle), or takes =VALUE (--imap-idle=false). Known config flags are consumed; every
// other argument is returned in order as rest. A "--" stops the scan; it and everything after
// it are returned unchanged. When a flag is repeated, the last one wins.
//
// The error is an *Error for an invalid setting or a *FlagError for a flag without value.
func Load(args []string, getenv func(string) string) (Config, []string, error) {
	flags, rest, err := scanFlags(args)
	if err != nil {
		return Config{}, rest, err
	}
	l := &loader{flags: flags, getenv: getenv, oauth: map[string]bool{}}
	cfg, err := l.load()
	if err != nil {
		return Config{}, rest, err
	}
	return cfg, rest, nil
}

func scanFlags(args []string) (map[string]string, []string, error) {
	byFlag := make(map[string]variable, len(variables))
	for _, v := range variables {
		byFlag[strings.TrimPrefix(FlagName(v.name), "--")] = v
	}
	flags := map[string]string{}
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		name := strings.TrimPrefix(a[1:], "-")
		value, hasValue := "", false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value, hasValue = name[:eq], name[eq+1:], true
		}
		v, ok := byFlag[name]
		if !ok {
			rest = append(rest, a)
			continue
		}
		switch {
		case hasValue:
		case v.boolean:
			value = "true"
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			flag := "--" + name
			return nil, rest, &FlagError{Flag: flag, msg: fmt.Sprintf("flag %s needs a value: write %s=VALUE or %s VALUE", flag, flag, flag)}
		}
		flags[v.name] = value
	}
	return flags, rest, nil
}

// source says where a value came from, for error messages.
type source struct {
	value string
	from  string // "" (env or default), "--flag", "NAME_FILE path"
}

type loader struct {
	oauth  map[string]bool // "imap", "smtp": signs in with OAuth (no password needed)
	flags  map[string]string
	getenv func(string) string
	meta   map[string]source
}

// get resolves one variable: flag > NAME > NAME_FILE. "" means unset.
func (l *loader) get(name string) (string, error) {
	if l.meta == nil {
		l.meta = map[string]source{}
	}
	if v, ok := l.flags[name]; ok {
		l.meta[name] = source{v, FlagName(name)}
		return v, nil
	}
	if v := l.getenv(name); v != "" {
		l.meta[name] = source{v, ""}
		return v, nil
	}
	path := l.getenv(name + "_FILE")
	if path == "" {
		l.meta[name] = source{}
		return "", nil
	}
	v, err := readValueFile(path)
	if err != nil {
		return "", &Error{Var: name, msg: fmt.Sprintf("%s_FILE %q cannot be read (%v): point it at a readable file holding the value of %s", name, path, err, name)}
	}
	l.meta[name] = source{v, name + "_FILE " + strconv.Quote(path)}
	return v, nil
}

func readValueFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", unwrapPathError(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return "", unwrapPathError(err)
	}
	if len(b) > maxFileBytes {
		return "", fmt.Errorf("larger than %d bytes", maxFileBytes)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// invalid builds the one-line error: NAME [(from SOURCE)] "VALUE" PROBLEM: FIX.
// Secret values are never shown; URLs are shown with their passwords redacted.
func (l *loader) invalid(name, problem, fix string) error {
	src := l.meta[name]
	shown := strconv.Quote(truncate(RedactURL(src.value), 200))
	for _, v := range variables {
		if v.name == name && v.secret {
			shown = `"***"`
		}
	}
	where := name
	if src.from != "" {
		where += " (from " + src.from + ")"
	}
	return &Error{Var: name, msg: fmt.Sprintf("%s %s %s: %s", where, shown, problem, fix)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (l *loader) load() (Config, error) {
	c := DefaultConfig()
	var err error
	steps := []func() error{
		func() error { c.DatabaseURL, err = l.databaseURL(); return err },
		func() error {
			c.IMAPAuth, err = l.oneOf(EnvIMAPAuth, AuthPassword, AuthPassword, AuthOAuth2)
			l.oauth["imap"] = c.IMAPAuth == AuthOAuth2
			return err
		},
		func() error {
			c.SMTPAuth, err = l.oneOf(EnvSMTPAuth, c.IMAPAuth, AuthPassword, AuthOAuth2)
			l.oauth["smtp"] = c.SMTPAuth == AuthOAuth2
			return err
		},
		func() error { c.IMAP, err = l.server(EnvIMAPURL, EnvIMAPPassword, "imap"); return err },
		func() error {
			c.IMAPProcessedFolder, err = l.mailbox(EnvIMAPProcessedFolder, DefaultIMAPProcessedFolder)
			return err
		},
		func() error { c.IMAPIdle, err = l.boolean(EnvIMAPIdle); return err },
		func() error { c.IMAPTimeout, err = l.duration(EnvIMAPTimeout, DefaultIMAPTimeout, "60s"); return err },
		func() error { c.PollLease, err = l.duration(EnvPollLease, DefaultPollLease, "2m"); return err },
		func() error {
			c.PollSchedule, err = l.text(EnvPollSchedule, DefaultPollSchedule, "a cron spec such as @every 1m")
			return err
		},
		func() error { c.SMTP, err = l.server(EnvSMTPURL, EnvSMTPPassword, "smtp"); return err },
		func() error { c.SMTPTimeout, err = l.duration(EnvSMTPTimeout, DefaultSMTPTimeout, "60s"); return err },
		func() error {
			n, err := l.positive(EnvSMTPConnections, DefaultSMTPConnections, MaxSMTPConnections, "2")
			c.SMTPConnections = int(n)
			return err
		},
		func() error {
			// Unset, it grows with a longer SMTP timeout.
			c.OutboxLease, err = l.duration(EnvOutboxLease, max(DefaultOutboxLease, 4*c.SMTPTimeout), "5m")
			if err == nil && c.OutboxLease < 4*c.SMTPTimeout {
				return l.invalid(EnvOutboxLease, fmt.Sprintf("is shorter than 4 × %s (%s): a mail still being sent could be sent again by another worker",
					EnvSMTPTimeout, c.SMTPTimeout), fmt.Sprintf("set it to at least %s, or lower %s", 4*c.SMTPTimeout, EnvSMTPTimeout))
			}
			return err
		},
		func() error { c.MailFrom, err = l.address(EnvMailFrom, c.MailFrom); return err },
		func() error { c.ReplyTo, err = l.address(EnvReplyTo, c.MailFrom); return err },
		func() error { c.PublicURL, err = l.publicURL(); return err },
		func() error { c.HTTPAddr, err = l.listenAddr(EnvHTTPAddr, DefaultHTTPAddr); return err },
		func() error {
			c.AdminAddr, err = l.listenAddr(EnvAdminAddr, DefaultAdminAddr)
			// Port 0 (any free port) is never the same address twice.
			if err == nil && c.AdminAddr != "" && c.AdminAddr == c.HTTPAddr && !strings.HasSuffix(c.AdminAddr, ":0") {
				return l.invalid(EnvAdminAddr, "is "+EnvHTTPAddr+" too", "give the admin listener an address of its own, such as "+DefaultAdminAddr+", or none")
			}
			return err
		},
		func() error { c.TrustedProxies, err = l.prefixes(EnvTrustedProxies); return err },
		func() error {
			c.SessionMaxAge, err = l.duration(EnvSessionMaxAge, DefaultSessionMaxAge, "24h")
			return err
		},
		func() error { c.TrustedAuthServID, err = l.authservID(); return err },
		func() error { c.AutoApproveTrusted, err = l.boolean(EnvAutoApproveTrusted); return err },
		func() error { c.InviteTTL, err = l.duration(EnvInviteTTL, DefaultInviteTTL, "336h"); return err },
		func() error { c.VerifyDKIM, err = l.boolean(EnvVerifyDKIM); return err },
		func() error {
			n, err := l.positive(EnvAnswerLimitSender, DefaultAnswerLimitSender, 1<<31-1, "20")
			c.AnswerLimitSender = int(n)
			return err
		},
		func() error {
			n, err := l.positive(EnvAnswerLimitPartner, DefaultAnswerLimitPartner, 1<<31-1, "100")
			c.AnswerLimitPartner = int(n)
			return err
		},
		func() error {
			c.RawRetention, err = l.duration(EnvRawRetention, DefaultRawRetention, "2160h")
			return err
		},
		func() error {
			n, err := l.positive(EnvMaxMessageBytes, DefaultMaxMessageBytes, 1<<62, "10485760")
			c.MaxMessageBytes = n
			return err
		},
		func() error {
			n, err := l.positive(EnvPollBatch, DefaultPollBatch, 1<<31-1, "500")
			c.PollBatch = int(n)
			return err
		},
		func() error { c.TemplatesDir, err = l.templatesDir(); return err },
		func() error {
			c.LogFormat, err = l.oneOf(EnvLogFormat, DefaultLogFormat, "text", "json")
			return err
		},
		func() error {
			c.LogLevel, err = l.oneOf(EnvLogLevel, DefaultLogLevel, "debug", "info", "warn", "error")
			return err
		},
		func() error {
			c.OAuth.TokenURL, err = l.httpURL(EnvOAuthTokenURL, "https://login.microsoftonline.com/TENANT/oauth2/v2.0/token")
			return err
		},
		func() error {
			c.OAuth.ClientID, err = l.text(EnvOAuthClientID, "", "the application (client) ID")
			return err
		},
		func() error { c.OAuth.ClientSecret, err = l.get(EnvOAuthClientSecret); return err },
		func() error { c.OAuth.RefreshToken, err = l.get(EnvOAuthRefreshToken); return err },
		func() error {
			var v string
			v, err = l.text(EnvOAuthScopes, "", "https://outlook.office365.com/.default")
			if v != "" {
				c.OAuth.Scopes = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
			}
			return err
		},
		func() error {
			if !l.oauth["imap"] && !l.oauth["smtp"] {
				return nil
			}
			name := EnvIMAPAuth
			if !l.oauth["imap"] {
				name = EnvSMTPAuth
			}
			switch {
			case c.OAuth.TokenURL == "":
				return l.invalid(name, "asks for oauth2 but "+EnvOAuthTokenURL+" is not set", "set "+EnvOAuthTokenURL+" and "+EnvOAuthClientID)
			case c.OAuth.ClientID == "":
				return l.invalid(name, "asks for oauth2 but "+EnvOAuthClientID+" is not set", "set "+EnvOAuthClientID+" (and usually "+EnvOAuthClientSecret+")")
			}
			return nil
		},
		func() error {
			c.DirectoryURL, err = l.httpURL(EnvDirectoryURL, "https://resource-manager.api.example.com")
			return err
		},
		func() error { c.DirectoryToken, err = l.get(EnvDirectoryToken); return err },
		func() error {
			c.DirectoryTimeout, err = l.duration(EnvDirectoryTimeout, DefaultDirectoryTimeout, "10s")
			return err
		},
		func() error {
			n, err := l.positive(EnvDirectoryRetries, DefaultDirectoryRetries, 10, "3")
			c.DirectoryRetries = int(n)
			return err
		},
		func() error {
			c.DirectoryCacheTTL, err = l.duration(EnvDirectoryCacheTTL, DefaultDirectoryCacheTTL, "1m")
			return err
		},
		func() error {
			c.DirectoryAdminLabel, err = l.text(EnvDirectoryAdminLabel, "", "a label key such as admin-email")
			if err == nil && strings.ContainsAny(c.DirectoryAdminLabel, " \t=") {
				return l.invalid(EnvDirectoryAdminLabel, "is not a label key", "set it to a label key such as admin-email")
			}
			return err
		},
		func() error {
			c.WebhookURL, err = l.httpURL(EnvWebhookURL, "https://hooks.example.com/onboarder")
			return err
		},
		func() error {
			c.WebhookSecret, err = l.get(EnvWebhookSecret)
			if err == nil && c.WebhookURL != "" && c.WebhookSecret == "" {
				return l.invalid(EnvWebhookURL, "is set but "+EnvWebhookSecret+" is not", "set "+EnvWebhookSecret+" (or "+EnvWebhookSecret+"_FILE) to the shared signing key")
			}
			return err
		},
		func() error {
			if c.IMAP != nil && sameMailbox(c.IMAP.Path, c.IMAPProcessedFolder) {
				return l.invalid(EnvIMAPProcessedFolder, "is the polled mailbox itself ("+EnvIMAPURL+")",
					"choose another folder such as "+DefaultIMAPProcessedFolder)
			}
			return nil
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return Config{}, err
		}
	}
	return c, nil
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

func (l *loader) text(name, def, example string) (string, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return def, err
	}
	if hasControl(v) {
		return "", l.invalid(name, "contains control characters", "set it to "+example)
	}
	return v, nil
}

func (l *loader) mailbox(name, def string) (string, error) {
	v, err := l.text(name, def, "a folder name such as "+def)
	if err != nil {
		return "", err
	}
	v = strings.Trim(v, "/")
	if v == "" {
		return "", l.invalid(name, "names no folder", "set it to a folder name such as "+def)
	}
	return v, nil
}

func (l *loader) boolean(name string) (bool, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return false, err
	}
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return false, l.invalid(name, "is not a boolean", "set it to true or false")
	}
	return b, nil
}

func (l *loader) duration(name string, def time.Duration, example string) (time.Duration, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return def, err
	}
	d, perr := time.ParseDuration(v)
	if perr != nil {
		return 0, l.invalid(name, "is not a Go duration (like "+example+")", "set it to a value such as "+example)
	}
	if d <= 0 {
		return 0, l.invalid(name, "is not greater than zero", "set it to a value such as "+example)
	}
	return d, nil
}

func (l *loader) positive(name string, def, max int64, example string) (int64, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return def, err
	}
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

func (l *loader) oneOf(name, def string, allowed ...string) (string, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return def, err
	}
	lv := strings.ToLower(v)
	for _, a := range allowed {
		if lv == a {
			return a, nil
		}
	}
	return "", l.invalid(name, "is not one of "+strings.Join(allowed, ", "), "set it to one of them (default "+def+")")
}

func (l *loader) address(name string, def mail.Address) (mail.Address, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return def, err
	}
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

func (l *loader) publicURL() (string, error) {
	v, err := l.get(EnvPublicURL)
	if err != nil || v == "" {
		return DefaultPublicURL, err
	}
	const fix = "set it to the absolute http(s) URL the invitation links start with, such as https://onboarding.example.com"
	u, perr := url.Parse(v)
	if perr != nil || hasControl(v) {
		return "", l.invalid(EnvPublicURL, "is not a URL", fix)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", l.invalid(EnvPublicURL, "is not an http or https URL", fix)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", l.invalid(EnvPublicURL, "has no host", fix)
	case u.User != nil:
		return "", l.invalid(EnvPublicURL, "contains a user name or password", "remove them: "+fix)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(v, "#"):
		return "", l.invalid(EnvPublicURL, "has a query or fragment", "remove it: "+fix)
	}
	return strings.TrimRight(v, "/"), nil
}

// listenAddr reads a host:port; for ONBOARDER_ADMIN_ADDR, none means ""
// (no listener).
func (l *loader) listenAddr(name, def string) (string, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return def, err
	}
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
func (l *loader) prefixes(name string) ([]netip.Prefix, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return nil, err
	}
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

func (l *loader) authservID() (string, error) {
	v, err := l.get(EnvTrustedAuthServID)
	if err != nil || v == "" {
		return "", err
	}
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == ';' }) {
		return "", l.invalid(EnvTrustedAuthServID, "is not an authserv-id (it has spaces, control characters or ';')",
			"set it to the first word of your MX's Authentication-Results header, such as mx.example.com")
	}
	return v, nil
}

func (l *loader) templatesDir() (string, error) {
	v, err := l.get(EnvTemplatesDir)
	if err != nil || v == "" {
		return "", err
	}
	fi, serr := os.Stat(v)
	if serr != nil {
		return "", l.invalid(EnvTemplatesDir, "cannot be used ("+unwrapPathError(serr).Error()+")", "point it at an existing directory of templates, or unset it")
	}
	if !fi.IsDir() {
		return "", l.invalid(EnvTemplatesDir, "is not a directory", "point it at an existing directory of templates, or unset it")
	}
	return v, nil
}

func (l *loader) databaseURL() (string, error) {
	v, err := l.get(EnvDatabaseURL)
	if err != nil || v == "" {
		return DefaultDatabaseURL, err
	}
	const fix = "set it to postgres://user:password@host:5432/dbname or sqlite:PATH (such as sqlite:onboarder.db)"
	if hasControl(v) {
		return "", l.invalid(EnvDatabaseURL, "contains control characters", fix)
	}
	scheme, after, ok := strings.Cut(v, ":")
	if !ok {
		return "", l.invalid(EnvDatabaseURL, "has no scheme", fix)
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "sqlite":
		if strings.TrimPrefix(after, "//") == "" {
			return "", l.invalid(EnvDatabaseURL, "names no file", fix)
		}
		return "sqlite:" + after, nil
	case "postgres", "postgresql":
		v = scheme + ":" + after
		u, perr := url.Parse(v)
		if perr != nil {
			return "", l.invalid(EnvDatabaseURL, "is not a valid URL ("+urlProblem(perr)+")",
				"percent-encode special characters in the user name and password (@ as %40, / as %2F, : as %3A, # as %23)")
		}
		if u.Opaque != "" {
			return "", l.invalid(EnvDatabaseURL, "is not a postgres:// URL", fix)
		}
		return v, nil
	}
	return "", l.invalid(EnvDatabaseURL, "has an unsupported scheme "+strconv.Quote(scheme), fix)
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

// server parses ONBOARDER_IMAP_URL or ONBOARDER_SMTP_URL and applies the password override.
func (l *loader) server(name, passwordName, kind string) (*Server, error) {
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
		if s.Password == "" && !l.oauth[kind] {
			return nil, l.invalid(name, "has no password", "put it in the URL ("+k.example+") or in "+passwordName+" or "+passwordName+"_FILE")
		}
	} else if s.Username != "" && s.Password == "" && !l.oauth[kind] {
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

// httpURL reads an absolute http(s) URL; "" when unset.
func (l *loader) httpURL(name, example string) (string, error) {
	v, err := l.get(name)
	if err != nil || v == "" {
		return "", err
	}
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
