package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/webhook"
)

const (
	itOrgUUID      = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
	itOrgContainer = "globex-prod-organization"
	itMailbox      = "partners@onboarding.example"
	itSecret       = "hook-secret"
)

// syncBuffer is a goroutine-safe bytes.Buffer for the worker's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookSink records verified webhook events by type.
type hookSink struct {
	mu     sync.Mutex
	events []string
	bad    int
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !webhook.Verify(itSecret, body, r.Header.Get(webhook.HeaderSignature)) {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.events = append(h.events, r.Header.Get(webhook.HeaderEvent))
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookSink) has(ev string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e == ev {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRunWithOAuthDirectoryAndWebhooks runs the worker against an OAuth
// mailbox (tokens live 3s, so they are refreshed during the test), a
// directory API that is down at first, and a webhook receiver.
func TestRunWithOAuthDirectoryAndWebhooks(t *testing.T) {
	o := mailtest.StartOAuth(mailtest.OAuthOptions{TTL: 3 * time.Second})
	defer o.Close()
	is, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: itMailbox, CheckToken: o.Check})
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	ss, err := mailtest.StartSMTP(mailtest.SMTPOptions{Username: itMailbox, Password: "not-used", CheckToken: o.Check,
		AuthMechanisms: []string{"XOAUTH2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	var dirDown atomic.Bool
	dirDown.Store(true)
	rm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dirDown.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/v2/organizations/")
		if r.Header.Get("Authorization") != "Bearer dir-token" || (id != itOrgUUID && id != itOrgContainer) {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"organizationId": itOrgUUID, "containerId": itOrgContainer,
			"name": "Globex GmbH", "lifecycleState": "ACTIVE", "labels": map[string]string{"admin-email": "it@globex.example"}})
	}))
	defer rm.Close()
	sink := &hookSink{}
	hooks := httptest.NewServer(sink)
	defer hooks.Close()

	user := url.QueryEscape(itMailbox)
	env := map[string]string{
		"ONBOARDER_DATABASE_URL":          "sqlite:" + filepath.Join(t.TempDir(), "onboarder.db"),
		"ONBOARDER_IMAP_URL":              "imap://" + user + "@" + is.Addr() + "/INBOX?tls=none",
		"ONBOARDER_SMTP_URL":              "smtp://" + user + "@" + ss.Addr() + "?tls=none",
		"ONBOARDER_IMAP_AUTH":             "oauth2",
		"ONBOARDER_OAUTH_TOKEN_URL":       o.TokenURL(),
		"ONBOARDER_OAUTH_CLIENT_ID":       o.ClientID(),
		"ONBOARDER_OAUTH_CLIENT_SECRET":   o.ClientSecret(),
		"ONBOARDER_DIRECTORY_URL":         rm.URL,
		"ONBOARDER_DIRECTORY_TOKEN":       "dir-token",
		"ONBOARDER_DIRECTORY_RETRIES":     "1",
		"ONBOARDER_DIRECTORY_CACHE_TTL":   "1s",
		"ONBOARDER_DIRECTORY_ADMIN_LABEL": "admin-email",
		"ONBOARDER_WEBHOOK_URL":           hooks.URL + "/onboarder",
		"ONBOARDER_WEBHOOK_SECRET":        itSecret,
		"ONBOARDER_POLL_SCHEDULE":         "@every 1s",
		"ONBOARDER_HTTP_ADDR":             "127.0.0.1:0",
		"ONBOARDER_ADMIN_ADDR":            "127.0.0.1:0",
		"ONBOARDER_MAIL_FROM":             itMailbox,
	}
	getenv := func(k string) string { return env[k] }
	cmd := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv); code != 0 {
			t.Fatalf("onboarder %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	cmd("partners", "add", "--name", "Acme", "--email", "ops@acme.example")
	if _, err := is.Append("INBOX", []byte("From: ops@acme.example\r\nTo: "+itMailbox+"\r\nMessage-ID: <it-1@acme.example>\r\n"+
		"Subject: Please establish reseller connection to customer Globex GmbH\r\nContent-Type: text/plain\r\n\r\n"+
		"Organization ID: "+itOrgContainer+"\r\n")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run"}, strings.NewReader(""), io.Discard, logs, getenv) }()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("run exited %d", code)
			}
		case <-time.After(20 * time.Second):
			t.Error("run did not stop")
		}
		if t.Failed() {
			t.Log(logs.String())
		}
	}()

	// The directory is down: the request waits, acknowledged, and other
	// systems hear of it.
	waitFor(t, "request.pending_approval webhook", 20*time.Second, func() bool { return sink.has("request.pending_approval") })
	waitFor(t, "the acknowledgement over SMTP", 10*time.Second, func() bool { return len(ss.Messages()) >= 1 })
	show := func() map[string]any {
		var r map[string]any
		if err := json.Unmarshal([]byte(cmd("requests", "show", "1", "--json")), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := show()
	if r["state"] != "pending_approval" || !strings.Contains(fmt.Sprint(r["findings"]), "directory_unavailable") {
		t.Fatalf("while the directory is down: state %v findings %v", r["state"], r["findings"])
	}

	// The directory answers: the next pass resolves the container ID.
	dirDown.Store(false)
	waitFor(t, "the re-check with the directory", 15*time.Second, func() bool {
		r = show()
		return r["organization_id"] == itOrgUUID && !strings.Contains(fmt.Sprint(r["findings"]), "directory_unavailable")
	})

	// Tokens lived 3s: by now they were refreshed, and every sign-in used them.
	waitFor(t, "a token refresh", 10*time.Second, func() bool { return o.Issued() >= 2 })
	if is.SignIns("OAUTHBEARER") == 0 || is.SignIns("LOGIN") != 0 || ss.SignIns("XOAUTH2") == 0 || ss.SignIns("PLAIN") != 0 {
		t.Errorf("sign-ins: IMAP OAUTHBEARER %d LOGIN %d, SMTP XOAUTH2 %d PLAIN %d",
			is.SignIns("OAUTHBEARER"), is.SignIns("LOGIN"), ss.SignIns("XOAUTH2"), ss.SignIns("PLAIN"))
	}

	// Metrics and the reason /readyz fails are on the admin listener.
	addr := regexp.MustCompile(`admin=(127\.0\.0\.1:\d+)`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no admin listen address in the log")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`onboarder_requests{state="pending_approval"} 1`,
		`onboarder_webhook_deliveries_total{result="sent"}`,
		`onboarder_outbox_mails{status="sent"} 1`,
		`onboarder_webhook_events{status="sent"}`,
		`onboarder_imap_errors_total`,
		`onboarder_smtp_errors_total`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %s", code, body)
	}

	// The client secret is revoked: the next refresh fails, /readyz says so.
	o.Deny(true)
	waitFor(t, "/readyz to report the failed refresh", 15*time.Second, func() bool {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "invalid_client")
	})
	if !strings.Contains(logs.String(), "OAuth token refresh failed") {
		t.Error("the failed refresh is not in the log")
	}
	if sink.bad != 0 {
		t.Errorf("%d webhook deliveries with a bad signature", sink.bad)
	}
}

func TestConfigCheckTriesDirectoryAndToken(t *testing.T) {
	o := mailtest.StartOAuth(mailtest.OAuthOptions{})
	defer o.Close()
	rm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	}))
	defer rm.Close()
	for _, tc := range []struct {
		token, want string
		code        int
	}{
		{"good", "ok    directory API " + rm.URL, 0},
		{"bad", "FAIL  directory API " + rm.URL + ": organization directory unavailable", 1},
	} {
		env := map[string]string{
			"ONBOARDER_DATABASE_URL":        "sqlite:" + filepath.Join(t.TempDir(), "db"),
			"ONBOARDER_DIRECTORY_URL":       rm.URL,
			"ONBOARDER_DIRECTORY_TOKEN":     tc.token,
			"ONBOARDER_DIRECTORY_RETRIES":   "1",
			"ONBOARDER_IMAP_AUTH":           "oauth2",
			"ONBOARDER_OAUTH_TOKEN_URL":     o.TokenURL(),
			"ONBOARDER_OAUTH_CLIENT_ID":     o.ClientID(),
			"ONBOARDER_OAUTH_CLIENT_SECRET": o.ClientSecret(),
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"config", "check"}, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		if code != tc.code || !strings.Contains(out.String(), tc.want) ||
			!strings.Contains(out.String(), "ok    OAuth token (client_credentials) from "+o.TokenURL()) {
			t.Errorf("token %s: exit %d, output:\n%s%s", tc.token, code, out.String(), errb.String())
		}
		if strings.Contains(out.String(), o.ClientSecret()) && o.ClientSecret() != "" && strings.Contains(out.String(), "="+o.ClientSecret()) {
			t.Errorf("config check shows the client secret")
		}
	}
}
