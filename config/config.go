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
// # One table
//
// Each setting is one row of the table in settings.go: its name, its typed default, a
// one-line meaning, how it parses (duration, whole number in a range, boolean, URL, address
// list, …), whether it is secret, and the Config field it goes to. The flags, NAME_FILE,
// Usage (`onboarder help` of every command), Redacted (`onboarder config check` and the
// start-up log), DefaultConfig and the error messages all come from that row. What one
// setting cannot say alone is written once after the table is read (relate in parse.go):
// the mail server URLs with their password overrides and sign-in methods, the outbox lease
// against the SMTP timeout, the admin address against the web address, what oauth2 and a
// webhook URL require, and the defaults that follow another setting (Reply-To, SMTP sign-in).
// A test holds the README's configuration table and ../shared/spec/cli.md to the table.
//
// # Where the defaults live, and why there
//
// The value of every default is one constant in the leaf package config/defaults, which the
// table names. The composition root (package cli) passes every value of Config to the
// packages (outbox.Config, workflow.Options, mailbox.Config, …), so in the product a
// package's own fallback is never used. Tests build those option structs directly, though,
// and rely on fallbacks; outbox and workflow therefore fall back to the same constants of
// config/defaults, not to copies. The other directions break the import rules: config
// imports nothing of ours (so it cannot name outbox.DefaultLease), and outbox and workflow
// may not import config (a package that parses the environment). config/defaults is
// constants only, imports nothing and reads nothing; internal/arch lets every package
// import it. Defaults of options that are no setting (outbox's retry backoff, workflow's
// attempt limit) stay in their packages: they exist once already.
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
	"strconv"
	"strings"
	"time"
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
	EnvFourEyesFindings    = "ONBOARDER_FOUR_EYES_FINDINGS"
	EnvQueueTarget         = "ONBOARDER_QUEUE_TARGET"
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
	EnvOIDCIssuer          = "ONBOARDER_OIDC_ISSUER"
	EnvOIDCClientID        = "ONBOARDER_OIDC_CLIENT_ID"
	EnvOIDCClientSecret    = "ONBOARDER_OIDC_CLIENT_SECRET"
	EnvOIDCRoleClaim       = "ONBOARDER_OIDC_ROLE_CLAIM"
	EnvOIDCRoles           = "ONBOARDER_OIDC_ROLES"
	EnvPasswordLogin       = "ONBOARDER_PASSWORD_LOGIN"
)

// The timers' variables (workflow.RunTimers).
const (
	EnvInviteReminderBefore = "ONBOARDER_INVITE_REMINDER_BEFORE"
	EnvNeedsInfoChaseAfter  = "ONBOARDER_NEEDS_INFO_CHASE_AFTER"
	EnvNeedsInfoExpireAfter = "ONBOARDER_NEEDS_INFO_EXPIRE_AFTER"
	EnvConsentTTL           = "ONBOARDER_CONSENT_TTL"
	EnvOpsDigestTo          = "ONBOARDER_OPS_DIGEST_TO"
	EnvOpsDigestSchedule    = "ONBOARDER_OPS_DIGEST_SCHEDULE"
)

// Mailbox sign-in methods (ONBOARDER_IMAP_AUTH, ONBOARDER_SMTP_AUTH).
const (
	AuthPassword = "password"
	AuthOAuth2   = "oauth2"
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

// Config is the validated configuration of one onboarder process. Each field is named by
// its variable; its meaning, default and parsing are that variable's row in the settings
// table (settings.go), which `onboarder COMMAND --help` prints.
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
	FourEyesFindings    []string      // ONBOARDER_FOUR_EYES_FINDINGS: findings that need two approvers; empty: none
	QueueTarget         time.Duration // ONBOARDER_QUEUE_TARGET: business time (Monday to Friday) an open request may wait
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

	OIDC          OIDC // ONBOARDER_OIDC_*: console single sign-on; Issuer "" switches it off
	PasswordLogin bool // ONBOARDER_PASSWORD_LOGIN: false hides and refuses the console's password login

	// The timers (workflow.RunTimers).
	InviteReminderBefore time.Duration  // ONBOARDER_INVITE_REMINDER_BEFORE: remind the administrator this long before an invitation expires
	NeedsInfoChaseAfter  time.Duration  // ONBOARDER_NEEDS_INFO_CHASE_AFTER: chase a needs_info request's partner once after this
	NeedsInfoExpireAfter time.Duration  // ONBOARDER_NEEDS_INFO_EXPIRE_AFTER: close a needs_info request as expired after this
	ConsentTTL           time.Duration  // ONBOARDER_CONSENT_TTL: how long consent links work; then a request waiting for them expires
	OpsDigestTo          []mail.Address // ONBOARDER_OPS_DIGEST_TO: recipients of the daily ops digest; empty: none
	OpsDigestSchedule    string         // ONBOARDER_OPS_DIGEST_SCHEDULE: robfig/cron spec (UTC), checked by the cli
}

// OIDC is the OpenID Connect client of the console's single sign-on.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RoleClaim    string            // the ID token claim holding the roles (a string or a list)
	Roles        map[string]string // claim value -> viewer | approver | admin
}

// OAuth is the OAuth 2.0 client of the mailbox sign-in.
type OAuth struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	RefreshToken string   // set: refresh-token grant; empty: client credentials
	Scopes       []string // e.g. https://outlook.office365.com/.default
}

// DefaultConfig returns the configuration used when nothing is set: every row of the table
// at its default, related as Load relates them.
func DefaultConfig() Config {
	c, err := (&loader{getenv: func(string) string { return "" }}).load()
	if err != nil {
		panic("config: the defaults do not load: " + err.Error())
	}
	return c
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

// Redacted returns every setting in the order of the table, named by its environment
// variable, with passwords replaced by "***" and secrets shown only as set ("***") or not:
// for the start-up log and `onboarder config check`. An unset optional setting has the
// value "". The password overrides are not listed on their own: their URL shows ***.
func (c Config) Redacted() []KV {
	var kv []KV
	for _, s := range c.settings() {
		if s.show != nil {
			kv = append(kv, KV{s.name, s.show()})
		}
	}
	return kv
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

// rows returns the settings table without a Config behind it, for what needs only the
// names, kinds and texts (flags, Usage, secrecy).
func rows() []setting { return (&Config{}).settings() }

func lookup(name string) (setting, bool) {
	for _, s := range rows() {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
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
	for _, s := range rows() {
		fmt.Fprintf(&b, "  %s (%s", s.name, FlagName(s.name))
		if s.boolean {
			b.WriteString("[=false]")
		}
		fmt.Fprintf(&b, ")\n      %s\n      default: %s\n", s.meaning, s.unsetText())
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
	cfg, err := (&loader{flags: flags, getenv: getenv}).load()
	if err != nil {
		return Config{}, rest, err
	}
	return cfg, rest, nil
}

func scanFlags(args []string) (map[string]string, []string, error) {
	byFlag := map[string]setting{}
	for _, s := range rows() {
		byFlag[strings.TrimPrefix(FlagName(s.name), "--")] = s
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
		s, ok := byFlag[name]
		if !ok {
			rest = append(rest, a)
			continue
		}
		switch {
		case hasValue:
		case s.boolean:
			value = "true"
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			flag := "--" + name
			return nil, rest, &FlagError{Flag: flag, msg: fmt.Sprintf("flag %s needs a value: write %s=VALUE or %s VALUE", flag, flag, flag)}
		}
		flags[s.name] = value
	}
	return flags, rest, nil
}

// source says where a value came from, for error messages.
type source struct {
	value string
	from  string // "" (env or default), "--flag", "NAME_FILE path"
}

type loader struct {
	flags  map[string]string
	getenv func(string) string
	meta   map[string]source // what get found, by name
}

// load reads every row of the table into a Config, then relates the settings.
func (l *loader) load() (Config, error) {
	var c Config
	for _, s := range c.settings() {
		if err := s.read(l); err != nil {
			return Config{}, err
		}
	}
	if err := l.relate(&c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// get resolves one variable: flag > NAME > NAME_FILE. "" means unset. A variable is
// resolved once; later calls return what the first found.
func (l *loader) get(name string) (string, error) {
	if src, ok := l.meta[name]; ok {
		return src.value, nil
	}
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

// isSet reports whether the variable had a value (read by its row already).
func (l *loader) isSet(name string) bool { return l.meta[name].value != "" }

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
	if s, _ := lookup(name); s.secret {
		shown = `"***"`
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
