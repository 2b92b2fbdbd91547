package config

import (
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/config/defaults"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const imapURL = "imaps://u:p@imap.example.com/INBOX"

// varCase describes one variable: how to read it from Config, its default, two valid values
// (val → want, other is a different valid value used to show precedence), and invalid values.
type varCase struct {
	name  string
	base  map[string]string // other variables this one needs
	get   func(Config) any
	def   any
	val   string
	want  any
	other string
	bad   []string
}

func varCases(t *testing.T) []varCase {
	dir := t.TempDir()
	file := writeFile(t, "x")
	server := func(s *Server) any {
		if s == nil {
			return nil
		}
		return *s
	}
	return []varCase{
		{
			name: EnvDatabaseURL, get: func(c Config) any { return c.DatabaseURL }, def: "sqlite:onboarder.db",
			val: "postgres://app:secret@db:5432/onboarder?sslmode=disable", want: "postgres://app:secret@db:5432/onboarder?sslmode=disable",
			other: "sqlite:/tmp/other.db",
			bad:   []string{"mysql://x/y", "onboarder.db", "sqlite:", "sqlite://", "postgres://u:p%zz@h/db", "host=db user=app"},
		},
		{
			name: EnvIMAPURL, get: func(c Config) any { return server(c.IMAP) }, def: nil,
			val:   "imap://bot:pw@mail.example.com/Partners?tls=none",
			want:  Server{Scheme: "imap", Host: "mail.example.com:143", Username: "bot", Password: "pw", Path: "Partners", TLS: TLSNone},
			other: imapURL,
			bad:   []string{"https://u:p@h/INBOX", "imaps://h/INBOX", "imaps://u@h/INBOX", "imaps://u:p@h:99999/", "imaps://u:p@h/?tls=none", "imaps://u:p@h/?tls=maybe", "imap://u:p@h/?foo=1", "imaps://u:p@/INBOX"},
		},
		{
			name: EnvIMAPPassword, base: map[string]string{EnvIMAPURL: imapURL},
			get: func(c Config) any { return c.IMAP.Password }, def: "p",
			val: "s3cr/et@x", want: "s3cr/et@x", other: "env-pw",
		},
		{
			name: EnvIMAPProcessedFolder, get: func(c Config) any { return c.IMAPProcessedFolder }, def: "Onboarder/Processed",
			val: "Archive/Done", want: "Archive/Done", other: "Elsewhere",
			bad: []string{"/", "a\x00b"},
		},
		{
			name: EnvIMAPIdle, get: func(c Config) any { return c.IMAPIdle }, def: false,
			val: "true", want: true, other: "0",
			bad: []string{"yes", "on"},
		},
		{
			name: EnvIMAPTimeout, get: func(c Config) any { return c.IMAPTimeout }, def: 60 * time.Second,
			val: "90s", want: 90 * time.Second, other: "5m",
			bad: []string{"60", "0s", "-1s", "a minute"},
		},
		{
			name: EnvPollLease, get: func(c Config) any { return c.PollLease }, def: 2 * time.Minute,
			val: "30s", want: 30 * time.Second, other: "10m",
			bad: []string{"120", "0s", "-1m"},
		},
		{
			name: EnvPollSchedule, get: func(c Config) any { return c.PollSchedule }, def: "@every 1m",
			val: "*/5 * * * *", want: "*/5 * * * *", other: "@hourly",
			bad: []string{"@every\n1m"},
		},
		{
			name: EnvSMTPURL, get: func(c Config) any { return server(c.SMTP) }, def: nil,
			val:   "smtps://user%40x:p%2Fw@smtp.example.com",
			want:  Server{Scheme: "smtps", Host: "smtp.example.com:465", Username: "user@x", Password: "p/w", TLS: TLSImplicit},
			other: "smtp://relay.example.com",
			bad:   []string{"smtp://u@h", "smtp://h/path", "imaps://u:p@h", "smtps://u:p@h?tls=none", "smtp://h:0"},
		},
		{
			name: EnvSMTPPassword, base: map[string]string{EnvSMTPURL: "smtp://u:p@h"},
			get: func(c Config) any { return c.SMTP.Password }, def: "p",
			val: "new pw", want: "new pw", other: "env-pw",
		},
		{
			name: EnvSMTPTimeout, get: func(c Config) any { return c.SMTPTimeout }, def: 60 * time.Second,
			val: "2m30s", want: 150 * time.Second, other: "1s",
			bad: []string{"2 weeks", "0"},
		},
		{
			name: EnvOutboxLease, get: func(c Config) any { return c.OutboxLease }, def: 5 * time.Minute,
			val: "10m", want: 10 * time.Minute, other: "4m",
			bad: []string{"soon", "0", "3m59s"},
		},
		{
			name: EnvSMTPConnections, get: func(c Config) any { return c.SMTPConnections }, def: 2,
			val: "4", want: 4, other: "1",
			bad: []string{"many", "0", "-1", "17", "2.5"},
		},
		{
			name: EnvMailFrom, get: func(c Config) any { return c.MailFrom },
			def: mail.Address{Name: "Partner Onboarding", Address: "partners@localhost"},
			val: `"Müller Partner Team" <team@example.de>`, want: mail.Address{Name: "Müller Partner Team", Address: "team@example.de"},
			other: "other@example.com",
			bad:   []string{"not an address", "a@b.example, c@d.example", "x@example.com\r\nBcc: evil@example.com"},
		},
		{
			name: EnvReplyTo, get: func(c Config) any { return c.ReplyTo },
			def: mail.Address{Name: "Partner Onboarding", Address: "partners@localhost"},
			val: "partners@example.com", want: mail.Address{Address: "partners@example.com"},
			other: "other@example.com",
			bad:   []string{"@example.com", "<>"},
		},
		{
			name: EnvPublicURL, get: func(c Config) any { return c.PublicURL }, def: "http://127.0.0.1:8080",
			val: "https://onboarding.example.com/base/", want: "https://onboarding.example.com/base", other: "http://localhost:9000",
			bad: []string{"onboarding.example.com", "ftp://x.example.com", "/relative", "https://", "https://x.example.com/?a=b", "https://u:p@x.example.com"},
		},
		{
			name: EnvHTTPAddr, get: func(c Config) any { return c.HTTPAddr }, def: "127.0.0.1:8080",
			val: ":9090", want: ":9090", other: "0.0.0.0:80",
			bad: []string{"8080", "localhost:http-alt", "localhost:70000"},
		},
		{
			name: EnvAdminAddr, get: func(c Config) any { return c.AdminAddr }, def: "127.0.0.1:9090",
			val: ":9091", want: ":9091", other: "none",
			bad: []string{"9090", "localhost:metrics", "localhost:70000", "127.0.0.1:8080"},
		},
		{
			name: EnvTrustedProxies, get: func(c Config) any { return joinPrefixes(c.TrustedProxies) }, def: "",
			val: "10.0.0.5, 192.168.7.1/16,fd00::/8,::ffff:10.1.2.3", want: "10.0.0.5/32,192.168.0.0/16,fd00::/8,10.1.2.3/32", other: "127.0.0.1",
			bad: []string{"proxy.example", "10.0.0.0/33", "1.2.3", "10.0.0.1;10.0.0.2"},
		},
		{
			name: EnvSessionMaxAge, get: func(c Config) any { return c.SessionMaxAge }, def: 24 * time.Hour,
			val: "8h", want: 8 * time.Hour, other: "1h",
			bad: []string{"1d", "0", "-1h"},
		},
		{
			name: EnvTrustedAuthServID, get: func(c Config) any { return c.TrustedAuthServID }, def: "",
			val: "mx.example.com", want: "mx.example.com", other: "mx2.example.com",
			bad: []string{"mx.example.com; spf=pass", "two words"},
		},
		{
			name: EnvAutoApproveTrusted, get: func(c Config) any { return c.AutoApproveTrusted }, def: false,
			val: "TRUE", want: true, other: "false",
			bad: []string{"ja"},
		},
		{
			name: EnvInviteTTL, get: func(c Config) any { return c.InviteTTL }, def: 336 * time.Hour,
			val: "72h", want: 72 * time.Hour, other: "1h",
			bad: []string{"2 weeks", "14d", "-5m", "0"},
		},
		{
			name: EnvInviteReminderBefore, get: func(c Config) any { return c.InviteReminderBefore }, def: 72 * time.Hour,
			val: "48h", want: 48 * time.Hour, other: "1h",
			bad: []string{"3d", "0", "-1h"},
		},
		{
			name: EnvNeedsInfoChaseAfter, get: func(c Config) any { return c.NeedsInfoChaseAfter }, def: 72 * time.Hour,
			val: "24h", want: 24 * time.Hour, other: "96h",
			bad: []string{"3 days", "0"},
		},
		{
			name: EnvNeedsInfoExpireAfter, get: func(c Config) any { return c.NeedsInfoExpireAfter }, def: 336 * time.Hour,
			val: "168h", want: 168 * time.Hour, other: "720h",
			bad: []string{"2w", "-336h"},
		},
		{
			name: EnvConsentTTL, get: func(c Config) any { return c.ConsentTTL }, def: 336 * time.Hour,
			val: "72h", want: 72 * time.Hour, other: "720h",
			bad: []string{"2w", "0", "-1h"},
		},
		{
			name: EnvOpsDigestTo, get: func(c Config) any { return joinAddresses(c.OpsDigestTo) }, def: "",
			val: "ops@example.com, Ops Team <team@example.com>", want: `<ops@example.com>, "Ops Team" <team@example.com>`, other: "a@example.com",
			bad: []string{"ops", "ops@example.com;team@example.com", "a@example.com\r\nBcc: b@example.com"},
		},
		{
			name: EnvOpsDigestSchedule, get: func(c Config) any { return c.OpsDigestSchedule }, def: "0 8 * * 1-5",
			val: "30 7 * * *", want: "30 7 * * *", other: "@daily",
			bad: []string{"0 8\n* * *"},
		},
		{
			name: EnvFourEyesFindings, get: func(c Config) any { return c.FourEyesFindings },
			def: []string{"org_has_other_reseller", "name_mismatch", "fraud_reported", "similar_organization"},
			val: " Name_Mismatch, fraud_reported ,", want: []string{"name_mismatch", "fraud_reported"},
			other: "none",
			bad:   []string{"name mismatch", "fraud-reported", ",", "a;b"},
		},
		{
			name: EnvQueueTarget, get: func(c Config) any { return c.QueueTarget }, def: 24 * time.Hour,
			val: "2bd", want: 48 * time.Hour, other: "8h",
			bad: []string{"1d", "0bd", "-1h", "xbd", "0"},
		},
		{
			name: EnvVerifyDKIM, get: func(c Config) any { return c.VerifyDKIM }, def: false,
			val: "true", want: true, other: "false",
			bad: []string{"maybe"},
		},
		{
			name: EnvAnswerLimitSender, get: func(c Config) any { return c.AnswerLimitSender }, def: 20,
			val: "5", want: 5, other: "50",
			bad: []string{"many", "0", "-1", "9999999999"},
		},
		{
			name: EnvAnswerLimitPartner, get: func(c Config) any { return c.AnswerLimitPartner }, def: 100,
			val: "250", want: 250, other: "10",
			bad: []string{"lots", "0", "-2", "1.5"},
		},
		{
			name: EnvRawRetention, get: func(c Config) any { return c.RawRetention }, def: 2160 * time.Hour,
			val: "720h", want: 720 * time.Hour, other: "24h",
			bad: []string{"90d", "0", "-1h"},
		},
		{
			name: EnvMaxMessageBytes, get: func(c Config) any { return c.MaxMessageBytes }, def: int64(10485760),
			val: "1048576", want: int64(1048576), other: "2048",
			bad: []string{"10MiB", "0", "-1", "1.5", "99999999999999999999"},
		},
		{
			name: EnvPollBatch, get: func(c Config) any { return c.PollBatch }, def: 500,
			val: "50", want: 50, other: "7",
			bad: []string{"many", "0", "-3", "9999999999"},
		},
		{
			name: EnvTemplatesDir, get: func(c Config) any { return c.TemplatesDir }, def: "",
			val: dir, want: dir, other: t.TempDir(),
			bad: []string{filepath.Join(dir, "missing"), file},
		},
		{
			name: EnvLogFormat, get: func(c Config) any { return c.LogFormat }, def: "text",
			val: "JSON", want: "json", other: "text",
			bad: []string{"yaml", "logfmt"},
		},
		{
			name: EnvLogLevel, get: func(c Config) any { return c.LogLevel }, def: "info",
			val: "debug", want: "debug", other: "error",
			bad: []string{"verbose", "trace"},
		},
		{
			name: EnvIMAPAuth, base: map[string]string{EnvOAuthTokenURL: "https://login.example.com/token", EnvOAuthClientID: "app"},
			get: func(c Config) any { return c.IMAPAuth + "/" + c.SMTPAuth }, def: "password/password",
			val: "OAUTH2", want: "oauth2/oauth2", other: "password",
			bad: []string{"xoauth2", "token"},
		},
		{
			name: EnvSMTPAuth, base: map[string]string{EnvOAuthTokenURL: "https://login.example.com/token", EnvOAuthClientID: "app"},
			get: func(c Config) any { return c.SMTPAuth }, def: "password",
			val: "oauth2", want: "oauth2", other: "password",
			bad: []string{"plain"},
		},
		{
			name: EnvOAuthTokenURL, get: func(c Config) any { return c.OAuth.TokenURL }, def: "",
			val: "https://login.microsoftonline.com/t/oauth2/v2.0/token", want: "https://login.microsoftonline.com/t/oauth2/v2.0/token",
			other: "http://127.0.0.1:9/token",
			bad:   []string{"login.example.com/token", "ftp://x/token", "https:///token"},
		},
		{
			name: EnvOAuthClientID, get: func(c Config) any { return c.OAuth.ClientID }, def: "",
			val: "00000000-app", want: "00000000-app", other: "other",
			bad: []string{"a\x01b"},
		},
		{
			name: EnvOAuthClientSecret, get: func(c Config) any { return c.OAuth.ClientSecret }, def: "",
			val: "s3cr=t", want: "s3cr=t", other: "x",
		},
		{
			name: EnvOAuthRefreshToken, get: func(c Config) any { return c.OAuth.RefreshToken }, def: "",
			val: "1//rt", want: "1//rt", other: "x",
		},
		{
			name: EnvOAuthScopes, get: func(c Config) any { return c.OAuth.Scopes }, def: []string(nil),
			val:   "https://outlook.office365.com/IMAP.AccessAsApp, https://outlook.office365.com/SMTP.Send",
			want:  []string{"https://outlook.office365.com/IMAP.AccessAsApp", "https://outlook.office365.com/SMTP.Send"},
			other: "https://mail.google.com/",
			bad:   []string{"a\x00b"},
		},
		{
			name: EnvDirectoryURL, get: func(c Config) any { return c.DirectoryURL }, def: "",
			val: "https://resource-manager.api.example.com", want: "https://resource-manager.api.example.com", other: "http://127.0.0.1:9",
			bad: []string{"resource-manager", "ftp://x", "https://x/#f"},
		},
		{
			name: EnvDirectoryToken, get: func(c Config) any { return c.DirectoryToken }, def: "",
			val: "eyJ.token", want: "eyJ.token", other: "x",
		},
		{
			name: EnvDirectoryTimeout, get: func(c Config) any { return c.DirectoryTimeout }, def: 10 * time.Second,
			val: "3s", want: 3 * time.Second, other: "1m",
			bad: []string{"3", "0s"},
		},
		{
			name: EnvDirectoryRetries, get: func(c Config) any { return c.DirectoryRetries }, def: 3,
			val: "5", want: 5, other: "1",
			bad: []string{"0", "11", "many"},
		},
		{
			name: EnvDirectoryCacheTTL, get: func(c Config) any { return c.DirectoryCacheTTL }, def: time.Minute,
			val: "30s", want: 30 * time.Second, other: "5m",
			bad: []string{"30", "-1s"},
		},
		{
			name: EnvDirectoryAdminLabel, get: func(c Config) any { return c.DirectoryAdminLabel }, def: "",
			val: "admin-email", want: "admin-email", other: "contact",
			bad: []string{"two words", "a=b"},
		},
		{
			name: EnvWebhookURL, base: map[string]string{EnvWebhookSecret: "k"},
			get: func(c Config) any { return c.WebhookURL }, def: "",
			val: "https://hooks.example.com/onboarder?token=abc", want: "https://hooks.example.com/onboarder?token=abc", other: "http://127.0.0.1:9/h",
			bad: []string{"hooks.example.com", "mailto:x@y"},
		},
		{
			name: EnvWebhookSecret, get: func(c Config) any { return c.WebhookSecret }, def: "",
			val: "k3y", want: "k3y", other: "x",
		},
		{
			name: EnvOIDCIssuer, base: map[string]string{EnvOIDCClientID: "onboarder", EnvOIDCRoles: "ops=admin"},
			get: func(c Config) any { return c.OIDC.Issuer }, def: "",
			val: "https://login.example.com/realms/ops", want: "https://login.example.com/realms/ops", other: "http://127.0.0.1:9/",
			bad: []string{"login.example.com", "mailto:x@y"},
		},
		{
			name: EnvOIDCClientID,
			get:  func(c Config) any { return c.OIDC.ClientID }, def: "",
			val: "onboarder", want: "onboarder", other: "x",
		},
		{
			name: EnvOIDCClientSecret, get: func(c Config) any { return c.OIDC.ClientSecret }, def: "",
			val: "s3cret", want: "s3cret", other: "x",
		},
		{
			name: EnvOIDCRoleClaim, get: func(c Config) any { return c.OIDC.RoleClaim }, def: "groups",
			val: "roles", want: "roles", other: "x",
		},
		{
			name: EnvOIDCRoles,
			get:  func(c Config) any { return c.OIDC.Roles }, def: map[string]string(nil),
			val: "ops-admins=admin, ops-viewers=Viewer", want: map[string]string{"ops-admins": "admin", "ops-viewers": "viewer"},
			other: "a=approver",
			bad:   []string{"ops-admins=root", "ops-admins", "=admin", "a=admin,a=viewer"},
		},
		{
			name: EnvPasswordLogin, base: map[string]string{EnvOIDCIssuer: "https://id.example.com", EnvOIDCClientID: "onboarder", EnvOIDCRoles: "ops=admin"},
			get: func(c Config) any { return c.PasswordLogin }, def: true,
			val: "false", want: false, other: "true",
			bad: []string{"maybe"},
		},
	}
}

func TestOAuthRules(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // error; "" for none
	}{
		{"oauth2 without a token URL", map[string]string{EnvIMAPAuth: "oauth2", EnvOAuthClientID: "app"},
			`ONBOARDER_IMAP_AUTH "oauth2" asks for oauth2 but ONBOARDER_OAUTH_TOKEN_URL is not set: set ONBOARDER_OAUTH_TOKEN_URL and ONBOARDER_OAUTH_CLIENT_ID`},
		{"oauth2 without a client", map[string]string{EnvSMTPAuth: "oauth2", EnvOAuthTokenURL: "https://x/token"},
			`ONBOARDER_SMTP_AUTH "oauth2" asks for oauth2 but ONBOARDER_OAUTH_CLIENT_ID is not set: set ONBOARDER_OAUTH_CLIENT_ID (and usually ONBOARDER_OAUTH_CLIENT_SECRET)`},
		{"oauth2 IMAP URL needs no password", map[string]string{EnvIMAPAuth: "oauth2", EnvOAuthTokenURL: "https://x/token", EnvOAuthClientID: "a",
			EnvIMAPURL: "imaps://partners%40example.com@outlook.office365.com/INBOX", EnvSMTPURL: "smtp://partners%40example.com@smtp.office365.com"}, ""},
		{"password IMAP URL still needs one", map[string]string{EnvIMAPURL: "imaps://u@h/INBOX"},
			`ONBOARDER_IMAP_URL "imaps://u@h/INBOX" has no password: put it in the URL (imaps://user:password@imap.example.com/INBOX) or in ONBOARDER_IMAP_PASSWORD or ONBOARDER_IMAP_PASSWORD_FILE`},
		{"OIDC without client", map[string]string{EnvOIDCIssuer: "https://id.example.com", EnvOIDCRoles: "a=admin"},
			`ONBOARDER_OIDC_ISSUER "https://id.example.com" is set but ONBOARDER_OIDC_CLIENT_ID is not: set ONBOARDER_OIDC_CLIENT_ID to the client registered at the provider`},
		{"OIDC without roles", map[string]string{EnvOIDCIssuer: "https://id.example.com", EnvOIDCClientID: "c"},
			`ONBOARDER_OIDC_ISSUER "https://id.example.com" is set but ONBOARDER_OIDC_ROLES is not: nobody could sign in: set ONBOARDER_OIDC_ROLES such as onboarder-admins=admin`},
		{"password login off without OIDC", map[string]string{EnvPasswordLogin: "false"},
			`ONBOARDER_PASSWORD_LOGIN "false" is false but ONBOARDER_OIDC_ISSUER is not set: nobody could log in to the console: set ONBOARDER_OIDC_ISSUER or leave ONBOARDER_PASSWORD_LOGIN true`},
		{"webhook without secret", map[string]string{EnvWebhookURL: "https://h/x"},
			`ONBOARDER_WEBHOOK_URL "https://h/x" is set but ONBOARDER_WEBHOOK_SECRET is not: set ONBOARDER_WEBHOOK_SECRET (or ONBOARDER_WEBHOOK_SECRET_FILE) to the shared signing key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(nil, envOf(tc.env))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEveryVariableIsTested(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range varCases(t) {
		tested[c.name] = true
	}
	for _, v := range rows() {
		if !tested[v.name] {
			t.Errorf("variable %s has no test case", v.name)
		}
	}
	if len(tested) != len(rows()) {
		t.Errorf("tested %d variables, package knows %d", len(tested), len(rows()))
	}
}

func TestVariables(t *testing.T) {
	for _, tc := range varCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			env := func(extra map[string]string) map[string]string {
				m := map[string]string{}
				for k, v := range tc.base {
					m[k] = v
				}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			load := func(t *testing.T, args []string, m map[string]string) Config {
				t.Helper()
				cfg, rest, err := Load(args, envOf(m))
				if err != nil {
					t.Fatalf("Load(%q): %v", args, err)
				}
				if len(rest) != 0 {
					t.Fatalf("Load(%q) left args %q", args, rest)
				}
				return cfg
			}
			check := func(t *testing.T, cfg Config, want any) {
				t.Helper()
				if diff := cmp.Diff(want, tc.get(cfg)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tc.name, diff)
				}
			}
			flag := FlagName(tc.name)

			t.Run("default", func(t *testing.T) {
				check(t, load(t, nil, env(nil)), tc.def)
			})
			t.Run("env", func(t *testing.T) {
				check(t, load(t, nil, env(map[string]string{tc.name: tc.val})), tc.want)
			})
			t.Run("flag_space", func(t *testing.T) {
				args := []string{flag, tc.val}
				if b, ok := tc.want.(bool); ok && b {
					args = []string{flag} // a boolean flag alone means true
				}
				check(t, load(t, args, env(map[string]string{tc.name: tc.other})), tc.want)
			})
			t.Run("flag_equals", func(t *testing.T) {
				check(t, load(t, []string{flag + "=" + tc.val}, env(map[string]string{tc.name: tc.other})), tc.want)
			})
			t.Run("file", func(t *testing.T) {
				p := writeFile(t, tc.val+"\n")
				check(t, load(t, nil, env(map[string]string{tc.name + "_FILE": p})), tc.want)
			})
			t.Run("env_beats_file", func(t *testing.T) {
				p := writeFile(t, tc.other+"\n")
				check(t, load(t, nil, env(map[string]string{tc.name: tc.val, tc.name + "_FILE": p})), tc.want)
			})
			t.Run("flag_beats_file", func(t *testing.T) {
				p := writeFile(t, tc.other)
				check(t, load(t, []string{flag + "=" + tc.val}, env(map[string]string{tc.name + "_FILE": p})), tc.want)
			})
			for _, bad := range tc.bad {
				t.Run("invalid/"+bad, func(t *testing.T) {
					for _, via := range []string{"env", "flag", "file"} {
						var args []string
						m := env(nil)
						switch via {
						case "env":
							m[tc.name] = bad
						case "flag":
							args = []string{flag + "=" + bad}
						case "file":
							m[tc.name+"_FILE"] = writeFile(t, bad)
						}
						_, _, err := Load(args, envOf(m))
						checkError(t, err, tc.name)
					}
				})
			}
		})
	}
}

// checkError asserts a one-line *Error that names the variable and says what to do.
func checkError(t *testing.T, err error, name string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error for %s, got %T %v", name, err, err)
	}
	msg := err.Error()
	if ce.Var != name || !strings.HasPrefix(msg, name+" ") {
		t.Errorf("error does not start with %s (Var %s): %s", name, ce.Var, msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.Contains(msg, ": ") {
		t.Errorf("error says no remedy after ': ': %s", msg)
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{
			name: "example from the brief",
			env:  map[string]string{EnvInviteTTL: "2 weeks"},
			want: `ONBOARDER_INVITE_TTL "2 weeks" is not a Go duration (like 336h): set it to a value such as 336h`,
		},
		{
			name: "flag source is named",
			args: []string{"--invite-ttl", "0s"},
			want: `ONBOARDER_INVITE_TTL (from --invite-ttl) "0s" is not greater than zero: set it to a value such as 336h`,
		},
		{
			name: "bad URL shows no password",
			env:  map[string]string{EnvIMAPURL: "ftp://bot:hunter2@mail.example.com/INBOX"},
			want: `ONBOARDER_IMAP_URL "ftp://bot:***@mail.example.com/INBOX" is not an imaps:// or imap:// URL: write it as imaps://user:password@imap.example.com/INBOX`,
		},
		{
			name: "password override without URL",
			env:  map[string]string{EnvSMTPPassword: "hunter2"},
			want: `ONBOARDER_SMTP_PASSWORD "***" is set but ONBOARDER_SMTP_URL is not: set ONBOARDER_SMTP_URL or unset ONBOARDER_SMTP_PASSWORD`,
		},
		{
			name: "processed folder must differ from the polled mailbox",
			env:  map[string]string{EnvIMAPURL: "imaps://u:p@h/inbox", EnvIMAPProcessedFolder: "INBOX"},
			want: `ONBOARDER_IMAP_PROCESSED_FOLDER "INBOX" is the polled mailbox itself (ONBOARDER_IMAP_URL): choose another folder such as Onboarder/Processed`,
		},
		{
			name: "unreadable file",
			env:  map[string]string{EnvDatabaseURL + "_FILE": "/nonexistent/db-url"},
			want: `ONBOARDER_DATABASE_URL_FILE "/nonexistent/db-url" cannot be read (no such file or directory): point it at a readable file holding the value of ONBOARDER_DATABASE_URL`,
		},
		{
			name: "unencoded # in the password",
			env:  map[string]string{EnvIMAPURL: "imaps://u:pa#ss@h/INBOX"},
			want: `ONBOARDER_IMAP_URL "imaps://u:***@h/INBOX" is not a valid URL (invalid port): percent-encode special characters in the user name and password (@ as %40, / as %2F, : as %3A, # as %23, ? as %3F)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.args, envOf(tc.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsNeverShowPasswords(t *testing.T) {
	for _, raw := range []string{
		"imaps://bot:hunter2@h:bad/INBOX",
		"imaps://bot:hunter2@h/INBOX?tls=maybe",
		"imaps://bot:hunt/er2@h/INBOX",
		"imaps://bot:hunter2%zz@h/INBOX",
		"imaps://bot:hunter2@/INBOX",
		"imaps://bot:hun?ter2@h/INBOX",
	} {
		_, _, err := Load(nil, envOf(map[string]string{EnvIMAPURL: raw}))
		checkError(t, err, EnvIMAPURL)
		if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "er2") || strings.Contains(msg, "%zz") {
			t.Errorf("error shows (part of) the password of %q: %v", raw, err)
		}
	}
	_, _, err := Load(nil, envOf(map[string]string{EnvDatabaseURL: "postgres://app:hunter2@db:x/y"}))
	checkError(t, err, EnvDatabaseURL)
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestServerURLs(t *testing.T) {
	tests := []struct {
		raw  string
		want Server
	}{
		{"imaps://u:p@imap.example.com", Server{Scheme: "imaps", Host: "imap.example.com:993", Username: "u", Password: "p", Path: "INBOX", TLS: TLSImplicit}},
		{"imap://u:p@imap.example.com/", Server{Scheme: "imap", Host: "imap.example.com:143", Username: "u", Password: "p", Path: "INBOX", TLS: TLSStartTLS}},
		{"IMAPS://u:p@imap.example.com:1993/INBOX/Sub", Server{Scheme: "imaps", Host: "imap.example.com:1993", Username: "u", Password: "p", Path: "INBOX/Sub", TLS: TLSImplicit}},
		{"imaps://user%40x:p%2Fw@h/Partner%20Requests", Server{Scheme: "imaps", Host: "h:993", Username: "user@x", Password: "p/w", Path: "Partner Requests", TLS: TLSImplicit}},
		{"imaps://user@example.com:p%3Aw%23@h", Server{Scheme: "imaps", Host: "h:993", Username: "user@example.com", Password: "p:w#", Path: "INBOX", TLS: TLSImplicit}},
		{"imap://u:p@127.0.0.1:1143/INBOX?tls=none", Server{Scheme: "imap", Host: "127.0.0.1:1143", Username: "u", Password: "p", Path: "INBOX", TLS: TLSNone}},
		{"imap://u:p@[::1]/INBOX?tls=insecure", Server{Scheme: "imap", Host: "[::1]:143", Username: "u", Password: "p", Path: "INBOX", TLS: TLSStartTLS, InsecureSkipVerify: true}},
		{"imaps://u:p@h/INBOX?tls=insecure", Server{Scheme: "imaps", Host: "h:993", Username: "u", Password: "p", Path: "INBOX", TLS: TLSImplicit, InsecureSkipVerify: true}},
		{"imap://u:p@h/INBOX?tls=starttls", Server{Scheme: "imap", Host: "h:143", Username: "u", Password: "p", Path: "INBOX", TLS: TLSStartTLS}},
		{"smtp://h", Server{Scheme: "smtp", Host: "h:587", TLS: TLSStartTLS}},
		{"smtp://u:p@h:25?tls=none", Server{Scheme: "smtp", Host: "h:25", Username: "u", Password: "p", TLS: TLSNone}},
		{"smtps://u:p@h/", Server{Scheme: "smtps", Host: "h:465", Username: "u", Password: "p", TLS: TLSImplicit}},
		{"smtps://u:p@h?tls=tls", Server{Scheme: "smtps", Host: "h:465", Username: "u", Password: "p", TLS: TLSImplicit}},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			name := EnvIMAPURL
			if strings.HasPrefix(strings.ToLower(tc.raw), "smtp") {
				name = EnvSMTPURL
			}
			cfg, _, err := Load(nil, envOf(map[string]string{name: tc.raw}))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.IMAP
			if name == EnvSMTPURL {
				got = cfg.SMTP
			}
			if got == nil {
				t.Fatal("server is nil")
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPasswordOverride(t *testing.T) {
	pwFile := writeFile(t, "from file\r\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"url only", nil, map[string]string{EnvIMAPURL: "imaps://u:url@h"}, "url"},
		{"env overrides url", nil, map[string]string{EnvIMAPURL: "imaps://u:url@h", EnvIMAPPassword: "env"}, "env"},
		{"file overrides url", nil, map[string]string{EnvIMAPURL: "imaps://u:url@h", EnvIMAPPassword + "_FILE": pwFile}, "from file"},
		{"url without password", nil, map[string]string{EnvIMAPURL: "imaps://u@h", EnvIMAPPassword: "env"}, "env"},
		{"flag overrides all", []string{"--imap-password", "flag"}, map[string]string{EnvIMAPURL: "imaps://u:url@h", EnvIMAPPassword: "env"}, "flag"},
		{"url from file", nil, map[string]string{EnvIMAPURL + "_FILE": writeFile(t, "imaps://u:secret@h/INBOX\n")}, "secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := Load(tc.args, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.IMAP.Password != tc.want {
				t.Errorf("password %q, want %q", cfg.IMAP.Password, tc.want)
			}
		})
	}
}

func TestReplyToDefaultsToMailFrom(t *testing.T) {
	cfg, _, err := Load([]string{"--mail-from", "Team <team@example.com>"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := mail.Address{Name: "Team", Address: "team@example.com"}
	if cfg.ReplyTo != want || cfg.MailFrom != want {
		t.Errorf("MailFrom %v ReplyTo %v, want both %v", cfg.MailFrom, cfg.ReplyTo, want)
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg, rest, err := Load(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Errorf("rest %q", rest)
	}
	if diff := cmp.Diff(DefaultConfig(), cfg); diff != "" {
		t.Errorf("Load with nothing set differs from DefaultConfig (-want +got):\n%s", diff)
	}
}

func TestRemainingArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantRest []string
		check    func(Config) bool
	}{
		{
			name:     "config flags anywhere, others keep order",
			args:     []string{"approve", "--database-url", "sqlite:x.db", "42", "--by", "ops", "--imap-idle", "--note=ok", "--log-level=debug"},
			wantRest: []string{"approve", "42", "--by", "ops", "--note=ok"},
			check:    func(c Config) bool { return c.DatabaseURL == "sqlite:x.db" && c.IMAPIdle && c.LogLevel == "debug" },
		},
		{
			name:     "single dash works like double",
			args:     []string{"-poll-batch", "3", "-json"},
			wantRest: []string{"-json"},
			check:    func(c Config) bool { return c.PollBatch == 3 },
		},
		{
			name:     "double dash stops the scan and is kept",
			args:     []string{"show", "--", "--poll-batch", "3"},
			wantRest: []string{"show", "--", "--poll-batch", "3"},
			check:    func(c Config) bool { return c.PollBatch == defaults.PollBatch },
		},
		{
			name:     "bool flag takes =false, not the next word",
			args:     []string{"--imap-idle=false", "--auto-approve-trusted", "true"},
			wantRest: []string{"true"},
			check:    func(c Config) bool { return !c.IMAPIdle && c.AutoApproveTrusted },
		},
		{
			name:     "last flag wins",
			args:     []string{"--poll-batch=1", "--poll-batch", "2"},
			wantRest: []string{},
			check:    func(c Config) bool { return c.PollBatch == 2 },
		},
		{
			name:     "empty flag value means default, even over env",
			args:     []string{"--imap-url="},
			wantRest: []string{},
			check:    func(c Config) bool { return c.IMAP == nil },
		},
		{
			name:     "unknown flags, lone dash and similar names pass through",
			args:     []string{"-", "--imap", "--database-url-x=1", "---poll-batch=2"},
			wantRest: []string{"-", "--imap", "--database-url-x=1", "---poll-batch=2"},
			check:    func(c Config) bool { return c.PollBatch == defaults.PollBatch },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, rest, err := Load(tc.args, envOf(map[string]string{EnvIMAPURL: imapURL}))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRest, rest); diff != "" {
				t.Errorf("rest (-want +got):\n%s", diff)
			}
			if !tc.check(cfg) {
				t.Errorf("config not as expected: %+v", cfg)
			}
		})
	}
}

func TestFlagWithoutValue(t *testing.T) {
	_, _, err := Load([]string{"list", "--database-url"}, envOf(nil))
	var fe *FlagError
	if !errors.As(err, &fe) {
		t.Fatalf("want *FlagError, got %T %v", err, err)
	}
	if fe.Flag != "--database-url" || !strings.Contains(err.Error(), "--database-url=VALUE") {
		t.Errorf("unexpected error %v", err)
	}
}

func TestFileValues(t *testing.T) {
	tests := []struct {
		content string
		want    string
	}{
		{"sqlite:a.db\n", "sqlite:a.db"},
		{"sqlite:a.db\r\n\n", "sqlite:a.db"},
		{"sqlite:a.db", "sqlite:a.db"},
		{"sqlite:a b.db \n", "sqlite:a b.db "},
	}
	for _, tc := range tests {
		p := writeFile(t, tc.content)
		cfg, _, err := Load(nil, envOf(map[string]string{EnvDatabaseURL + "_FILE": p}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DatabaseURL != tc.want {
			t.Errorf("file %q: got %q, want %q", tc.content, cfg.DatabaseURL, tc.want)
		}
	}
	big := writeFile(t, strings.Repeat("x", maxFileBytes+1))
	_, _, err := Load(nil, envOf(map[string]string{EnvPollSchedule + "_FILE": big}))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: got %v", err)
	}
	// An empty file counts as unset.
	empty := writeFile(t, "\n")
	cfg, _, err := Load(nil, envOf(map[string]string{EnvPollBatch + "_FILE": empty}))
	if err != nil || cfg.PollBatch != defaults.PollBatch {
		t.Errorf("empty file: %v, batch %d", err, cfg.PollBatch)
	}
}

func TestRedacted(t *testing.T) {
	env := map[string]string{
		EnvDatabaseURL:       "postgres://app:dbsecret@db:5432/onboarder?sslmode=require&password=qsecret",
		EnvIMAPURL:           "imaps://bot%40example.com:urlsecret@imap.example.com/Partners/In",
		EnvIMAPPassword:      "imapsecret",
		EnvSMTPURL:           "smtp://relay.example.com:2525?tls=insecure",
		EnvSMTPPassword + "": "",
		EnvTrustedAuthServID: "mx.example.com",
		EnvMailFrom:          "Team <team@example.com>",
	}
	cfg, _, err := Load(nil, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Redacted()
	for _, kv := range got {
		for _, secret := range []string{"dbsecret", "qsecret", "urlsecret", "imapsecret"} {
			if strings.Contains(kv.Value, secret) {
				t.Errorf("%s shows a secret: %s", kv.Name, kv.Value)
			}
		}
	}
	want := []KV{
		{EnvDatabaseURL, "postgres://app:***@db:5432/onboarder?sslmode=require&password=***"},
		{EnvIMAPURL, "imaps://bot%40example.com:***@imap.example.com:993/Partners/In"},
		{EnvIMAPProcessedFolder, "Onboarder/Processed"},
		{EnvIMAPIdle, "false"},
		{EnvIMAPTimeout, "1m0s"},
		{EnvPollLease, "2m0s"},
		{EnvPollSchedule, "@every 1m"},
		{EnvSMTPURL, "smtp://relay.example.com:2525?tls=insecure"},
		{EnvSMTPTimeout, "1m0s"},
		{EnvSMTPConnections, "2"},
		{EnvOutboxLease, "5m0s"},
		{EnvMailFrom, `"Team" <team@example.com>`},
		{EnvReplyTo, `"Team" <team@example.com>`},
		{EnvPublicURL, "http://127.0.0.1:8080"},
		{EnvHTTPAddr, "127.0.0.1:8080"},
		{EnvAdminAddr, "127.0.0.1:9090"},
		{EnvTrustedProxies, ""},
		{EnvSessionMaxAge, "24h0m0s"},
		{EnvTrustedAuthServID, "mx.example.com"},
		{EnvAutoApproveTrusted, "false"},
		{EnvInviteTTL, "336h0m0s"},
		{EnvInviteReminderBefore, "72h0m0s"},
		{EnvNeedsInfoChaseAfter, "72h0m0s"},
		{EnvNeedsInfoExpireAfter, "336h0m0s"},
		{EnvConsentTTL, "336h0m0s"},
		{EnvOpsDigestTo, ""},
		{EnvOpsDigestSchedule, "0 8 * * 1-5"},
		{EnvFourEyesFindings, "org_has_other_reseller,name_mismatch,fraud_reported,similar_organization"},
		{EnvQueueTarget, "1bd"},
		{EnvVerifyDKIM, "false"},
		{EnvAnswerLimitSender, "20"},
		{EnvAnswerLimitPartner, "100"},
		{EnvRawRetention, "2160h0m0s"},
		{EnvMaxMessageBytes, "10485760"},
		{EnvPollBatch, "500"},
		{EnvTemplatesDir, ""},
		{EnvLogFormat, "text"},
		{EnvLogLevel, "info"},
		{EnvIMAPAuth, "password"},
		{EnvSMTPAuth, "password"},
		{EnvOAuthTokenURL, ""},
		{EnvOAuthClientID, ""},
		{EnvOAuthClientSecret, ""},
		{EnvOAuthRefreshToken, ""},
		{EnvOAuthScopes, ""},
		{EnvDirectoryURL, ""},
		{EnvDirectoryToken, ""},
		{EnvDirectoryTimeout, "10s"},
		{EnvDirectoryRetries, "3"},
		{EnvDirectoryCacheTTL, "1m0s"},
		{EnvDirectoryAdminLabel, ""},
		{EnvWebhookURL, ""},
		{EnvWebhookSecret, ""},
		{EnvOIDCIssuer, ""},
		{EnvOIDCClientID, ""},
		{EnvOIDCClientSecret, ""},
		{EnvOIDCRoleClaim, "groups"},
		{EnvOIDCRoles, ""},
		{EnvPasswordLogin, "true"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redacted (-want +got):\n%s", diff)
	}
	// Every Redacted name is a known variable; every non-secret variable is listed.
	listed := map[string]bool{}
	for _, kv := range got {
		listed[kv.Name] = true
	}
	for _, v := range rows() {
		if !v.secret && !listed[v.name] {
			t.Errorf("Redacted misses %s", v.name)
		}
	}
}

func TestServerStringHidesPassword(t *testing.T) {
	s := Server{Scheme: "imap", Host: "h:143", Username: "a b", Password: "pw", Path: "INBOX/Sub dir", TLS: TLSNone}
	if got, want := s.String(), "imap://a%20b:***@h:143/INBOX/Sub%20dir?tls=none"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := s.Hostname(); got != "h" {
		t.Errorf("Hostname() = %q", got)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite:onboarder.db", "sqlite:onboarder.db"},
		{"postgres://db/x", "postgres://db/x"},
		{"postgres://u@db/x", "postgres://u@db/x"},
		{"postgres://u:p@db/x", "postgres://u:***@db/x"},
		{"postgres://u:p@ss@db/x", "postgres://u:***@db/x"},
		{"postgres://u:p%zz@db/x", "postgres://u:***@db/x"},
		{"postgres://db/x?sslpassword=k&user=u", "postgres://db/x?sslpassword=***&user=u"},
		{"imaps://u:p/w@h/INBOX", "imaps://u:***@h/INBOX"},
		{"imaps://u:p@h/a@b", "imaps://u:***@h/a@b"},
	}
	for _, tc := range tests {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	u := Usage()
	for _, v := range rows() {
		if !strings.Contains(u, v.name) || !strings.Contains(u, FlagName(v.name)) {
			t.Errorf("Usage misses %s", v.name)
		}
	}
	for _, def := range []string{"sqlite:onboarder.db", "Onboarder/Processed", "@every 1m", "Partner Onboarding <partners@localhost>",
		"http://127.0.0.1:8080", "127.0.0.1:8080", "336h", "10485760", "500", "60s"} {
		if !strings.Contains(u, def) {
			t.Errorf("Usage misses default %q", def)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for _, lvl := range []string{"debug", "info", "warn", "error"} {
		cfg, _, err := Load([]string{"--log-level", strings.ToUpper(lvl)}, envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToLower(cfg.SlogLevel().String()); got != lvl {
			t.Errorf("level %s → %s", lvl, got)
		}
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{imapURL, "imap://u:p@[::1]:1/x?tls=none", "postgres://u:p@h/db", "%zz", "imaps://@/", "smtp://:p@h"} {
		f.Add(s, "--poll-batch", "3")
	}
	f.Fuzz(func(t *testing.T, url, flag, value string) {
		const marker = "ZQXJ-pw"
		env := map[string]string{EnvIMAPURL: url, EnvSMTPURL: url, EnvDatabaseURL: url, EnvMailFrom: value, EnvPublicURL: value,
			EnvIMAPPassword: marker, EnvSMTPPassword: marker}
		cfg, _, err := Load([]string{flag, value}, envOf(env))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("multi-line error: %q", err)
			}
			return
		}
		if strings.Contains(url+flag+value, "ZQXJ") {
			return
		}
		for _, kv := range cfg.Redacted() {
			if strings.Contains(kv.Value, marker) {
				t.Errorf("%s shows the password: %s", kv.Name, kv.Value)
			}
		}
	})
}

// The outbox lease, unset, grows with a longer SMTP timeout (a mail in
// flight must finish before another worker may take its row); set, it must
// leave that room.
func TestOutboxLeaseFollowsSMTPTimeout(t *testing.T) {
	cfg, _, err := Load(nil, envOf(map[string]string{EnvSMTPTimeout: "2m30s"}))
	if err != nil || cfg.OutboxLease != 10*time.Minute {
		t.Errorf("SMTP timeout 2m30s, lease unset: lease %s (%v), want 10m0s", cfg.OutboxLease, err)
	}
	_, _, err = Load(nil, envOf(map[string]string{EnvSMTPTimeout: "2m30s", EnvOutboxLease: "6m"}))
	if err == nil || !strings.Contains(err.Error(), "at least 10m0s") || strings.Contains(err.Error(), "\n") {
		t.Errorf("lease 6m with SMTP timeout 2m30s: %v, want a one-line error asking for at least 10m0s", err)
	}
}

func TestWarningsWithoutSenderAuthentication(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		warn bool
	}{
		{env: nil, warn: true},
		{env: map[string]string{EnvVerifyDKIM: "false"}, warn: true},
		{env: map[string]string{EnvTrustedAuthServID: "mx.partners.example"}},
		{env: map[string]string{EnvVerifyDKIM: "true"}},
	} {
		cfg, _, err := Load(nil, envOf(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(cfg.Warnings(), "\n")
		if !tc.warn {
			if got != "" {
				t.Errorf("%v: warnings %q", tc.env, got)
			}
			continue
		}
		// What it means and how to fix it.
		for _, want := range []string{"sender_auth_unchecked", "nothing is approved automatically", "forged From",
			"only be caught by ops", "set ONBOARDER_TRUSTED_AUTHSERV_ID to the authserv-id", "ONBOARDER_VERIFY_DKIM=true"} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: warning %q lacks %q", tc.env, got, want)
			}
		}
		if strings.Contains(got, "\n") {
			t.Errorf("warning is not one line: %q", got)
		}
	}
}

// ONBOARDER_ADMIN_ADDR=none switches the admin listener off (an empty value
// means the default, as for every setting).
func TestAdminAddrNone(t *testing.T) {
	for _, v := range []string{"none", "NONE"} {
		cfg, _, err := Load(nil, envOf(map[string]string{EnvAdminAddr: v}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.AdminAddr != "" {
			t.Errorf("%s=%s: AdminAddr %q, want none", EnvAdminAddr, v, cfg.AdminAddr)
		}
		if got := cfg.Redacted(); !slices.Contains(got, KV{EnvAdminAddr, "none"}) {
			t.Errorf("Redacted does not show none: %v", got)
		}
	}
	_, _, err := Load(nil, envOf(map[string]string{EnvHTTPAddr: "127.0.0.1:7000", EnvAdminAddr: "127.0.0.1:7000"}))
	checkError(t, err, EnvAdminAddr)
	if _, _, err := Load(nil, envOf(map[string]string{EnvHTTPAddr: "127.0.0.1:0", EnvAdminAddr: "127.0.0.1:0"})); err != nil {
		t.Errorf("two free ports: %v", err)
	}
}
