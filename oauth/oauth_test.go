package oauth_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/mailbox"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/oauth"
	"github.com/onboarder/onboarder/outbox"
	"github.com/onboarder/onboarder/store"
)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func startOAuth(t *testing.T, opts mailtest.OAuthOptions) *mailtest.OAuthServer {
	t.Helper()
	o := mailtest.StartOAuth(opts)
	t.Cleanup(o.Close)
	return o
}

func newSource(t *testing.T, o *mailtest.OAuthServer, refresh string) *oauth.Source {
	return oauth.New(oauth.Config{TokenURL: o.TokenURL(), ClientID: o.ClientID(), ClientSecret: o.ClientSecret(),
		Scopes: []string{"https://outlook.office365.com/.default"}, RefreshToken: refresh,
		EarlyRefresh: time.Second, Timeout: 5 * time.Second, Logger: testLogger(t)})
}

func TestTokenReusedThenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	for _, grant := range []string{"client_credentials", "refresh_token"} {
		t.Run(grant, func(t *testing.T) {
			o := startOAuth(t, mailtest.OAuthOptions{TTL: 3 * time.Second, RefreshToken: "rt-1"})
			refresh := ""
			if grant == "refresh_token" {
				refresh = "rt-1"
			}
			src := newSource(t, o, refresh)
			if src.Grant() != grant {
				t.Fatalf("Grant() = %s, want %s", src.Grant(), grant)
			}
			ctx := context.Background()
			first, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := src.Token(ctx)
			if again != first || o.Issued() != 1 {
				t.Fatalf("a fresh token was not reused: issued %d", o.Issued())
			}
			// Refresh is due 1s before the 3s expiry: at 2s the token still
			// works, but the source must already have replaced it.
			time.Sleep(2100 * time.Millisecond)
			if err := o.Check("u", first); err != nil {
				t.Fatalf("old token expired too early for this test: %v", err)
			}
			second, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if second == first || o.Issued() != 2 {
				t.Fatalf("token not refreshed before expiry (issued %d)", o.Issued())
			}
			if err := o.Check("u", second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFailedRefreshIsReportedAndRecovers(t *testing.T) {
	t.Parallel()
	o := startOAuth(t, mailtest.OAuthOptions{TTL: 2 * time.Second})
	src := newSource(t, o, "")
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o.Deny(true)
	time.Sleep(1100 * time.Millisecond) // due for refresh, not expired
	got, err := src.Token(ctx)
	if err != nil || got != tok {
		t.Fatalf("while the old token lives it must be used: %q, %v", got, err)
	}
	if e := src.Err(); e == nil || !strings.Contains(e.Error(), "invalid_client") || !strings.Contains(e.Error(), o.TokenURL()) {
		t.Fatalf("Err() = %v, want the server's invalid_client and the token URL", e)
	}
	time.Sleep(1100 * time.Millisecond) // now expired
	if _, err := src.Token(ctx); err == nil {
		t.Fatal("an expired token was handed out after a failed refresh")
	}
	o.Deny(false)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if src.Err() != nil {
		t.Fatalf("Err() after recovery = %v", src.Err())
	}
}

// A fetch our own caller cancelled (a shutdown mid-refresh) is not the
// token endpoint's failure: Err stays clear.
func TestCancelledFetchIsNoFailure(t *testing.T) {
	t.Parallel()
	o := startOAuth(t, mailtest.OAuthOptions{TTL: time.Minute})
	src := newSource(t, o, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Token(ctx); err == nil {
		t.Fatal("a token with a cancelled context")
	}
	if src.Err() != nil {
		t.Fatalf("Err() = %v after our own cancellation", src.Err())
	}
}

func TestRunRefreshesInBackground(t *testing.T) {
	t.Parallel()
	o := startOAuth(t, mailtest.OAuthOptions{TTL: 2 * time.Second})
	o.FailNext(1) // the first request fails: Run retries
	src := newSource(t, o, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for o.Issued() < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if o.Issued() < 3 {
		t.Fatalf("Run fetched %d tokens in 10s with a 2s lifetime", o.Issued())
	}
	if src.Err() != nil {
		t.Fatalf("Err() = %v", src.Err())
	}
}

// TestMailboxSignIn signs in to the in-process IMAP and SMTP servers with
// short-lived tokens, across a refresh, with both SASL mechanisms.
func TestMailboxSignIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		imapHide []imap.Cap
		smtpMech []string
		wantMech string
	}{
		{name: "oauthbearer", wantMech: "OAUTHBEARER"},
		{name: "xoauth2 (Microsoft 365)", imapHide: []imap.Cap{"AUTH=OAUTHBEARER"}, smtpMech: []string{"XOAUTH2"}, wantMech: "XOAUTH2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			o := startOAuth(t, mailtest.OAuthOptions{TTL: 2 * time.Second})
			src := newSource(t, o, "")
			is, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: "partners@example.com", CheckToken: o.Check,
				DisableCaps: tc.imapHide, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer is.Close()
			ss, err := mailtest.StartSMTP(mailtest.SMTPOptions{Username: "partners@example.com", Password: "unused-password",
				CheckToken: o.Check, AuthMechanisms: tc.smtpMech, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer ss.Close()

			mc := mailbox.Config{Addr: is.Addr(), TLS: mailbox.TLSNone, Username: "partners@example.com", Token: src.Token,
				CommandTimeout: 5 * time.Second, Logger: testLogger(t)}
			st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			d := outbox.New(st, outbox.Config{Addr: ss.Addr(), TLS: outbox.TLSNone, Username: "partners@example.com",
				Token: src.Token, Timeout: 5 * time.Second, Logger: testLogger(t)})

			signIn := func(round int) {
				t.Helper()
				if err := mailbox.NewPoller(mc, nil, nil).Check(ctx); err != nil {
					t.Fatalf("round %d: IMAP: %v", round, err)
				}
				if err := st.Q(ctx).InsertOutbox(&store.OutboxMail{Kind: "request_received", FromAddr: "partners@example.com",
					ToAddrs: "p@partner.example", Subject: "hello", TextBody: "hello",
					MessageID: "round-" + string(rune('0'+round)) + "@example.com"}); err != nil {
					t.Fatal(err)
				}
				res, err := d.FlushOnce(ctx)
				if err != nil || res.Sent != 1 {
					t.Fatalf("round %d: SMTP flush = %+v, %v", round, res, err)
				}
			}
			signIn(1)
			time.Sleep(2200 * time.Millisecond) // the first token has expired
			signIn(2)
			if o.Issued() != 2 {
				t.Errorf("issued %d tokens, want 2 (one per lifetime)", o.Issued())
			}
			got := map[string]int{"imap": is.SignIns(tc.wantMech), "smtp": ss.SignIns(tc.wantMech),
				"imap_login": is.SignIns("LOGIN"), "smtp_plain": ss.SignIns("PLAIN")}
			want := map[string]int{"imap": 2, "smtp": 2, "imap_login": 0, "smtp_plain": 0}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sign-ins (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSignInRefused: a token the servers do not accept is a clear error.
func TestSignInRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := startOAuth(t, mailtest.OAuthOptions{})
	bad := func(context.Context) (string, error) { return "forged", nil }
	for _, hide := range [][]imap.Cap{nil, {"AUTH=OAUTHBEARER"}} {
		is, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: "u", CheckToken: o.Check, DisableCaps: hide, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		mc := mailbox.Config{Addr: is.Addr(), TLS: mailbox.TLSNone, Username: "u", Token: bad, CommandTimeout: 5 * time.Second}
		err = mailbox.NewPoller(mc, nil, nil).Check(ctx)
		if err == nil || !strings.Contains(err.Error(), "signing in") {
			t.Errorf("IMAP (hiding %v) with a forged token: %v", hide, err)
		}
		is.Close()
	}
	for _, mechs := range [][]string{nil, {"XOAUTH2"}} {
		ss, err := mailtest.StartSMTP(mailtest.SMTPOptions{Username: "u", Password: "p", CheckToken: o.Check, AuthMechanisms: mechs})
		if err != nil {
			t.Fatal(err)
		}
		d := outbox.New(nil, outbox.Config{Addr: ss.Addr(), TLS: outbox.TLSNone, Username: "u", Token: bad, Timeout: 5 * time.Second})
		if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), "SMTP AUTH failed") {
			t.Errorf("SMTP %v with a forged token: %v", mechs, err)
		}
		ss.Close()
	}
}
