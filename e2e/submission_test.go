package e2e_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
)

// Postfix's submission listener (scripts/e2e-servers.sh) is shaped like
// smtp.office365.com:587 and smtp.gmail.com:587: STARTTLS first, AUTH
// PLAIN/LOGIN only after it (checked by Dovecot's auth service), no
// relaying without it. Its certificate is issued by a throw-away CA that
// the worker trusts through SSL_CERT_FILE (Go's crypto/x509 reads it on
// Linux besides the system's folder of roots); certificates are always
// verified.

// submissionURL is ONBOARDER_SMTP_URL for the submission port: user and
// password (omitted when user is ""), then query ("tls=none" or "").
func (s *servers) submissionURL(user, password, query string) string {
	u := url.URL{Scheme: "smtp", Host: s.submissionAddr, RawQuery: query}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

// TestSubmissionRefusesAuthBeforeStartTLS speaks SMTP to the submission
// port itself: before STARTTLS it offers no AUTH and refuses AUTH and MAIL
// with 530; after STARTTLS (certificate verified against the test CA)
// it offers AUTH PLAIN LOGIN. What the worker meets below is the server's
// rule, not only the client's caution.
func TestSubmissionRefusesAuthBeforeStartTLS(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	conn, err := net.DialTimeout("tcp", srv.submissionAddr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := textproto.NewConn(conn)
	cmd := func(want int, format string, args ...any) string {
		t.Helper()
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		_, msg, err := c.ReadResponse(want)
		if err != nil {
			t.Fatalf("%q: %v", strings.SplitN(format, " ", 2)[0], err)
		}
		return msg
	}
	cmd(220, "")
	ehlo := cmd(250, "EHLO client.e2e.test")
	if strings.Contains(ehlo, "AUTH") || !strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO before STARTTLS: %q, want STARTTLS and no AUTH", ehlo)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00someone@onboarding.example\x00" + srv.password))
	t.Logf("AUTH before STARTTLS: %s", cmd(530, "AUTH PLAIN %s", plain))
	t.Logf("MAIL before STARTTLS: %s", cmd(530, "MAIL FROM:<someone@onboarding.example>"))
	cmd(220, "STARTTLS")

	tc := tls.Client(conn, &tls.Config{ServerName: "127.0.0.1", RootCAs: caPool(t, srv.tlsCAFile), MinVersion: tls.VersionTLS12})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake with the test CA: %v", err)
	}
	c = textproto.NewConn(tc)
	ehlo = cmd(250, "EHLO client.e2e.test")
	if !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Errorf("EHLO after STARTTLS: %q, want AUTH PLAIN LOGIN", ehlo)
	}
	cmd(221, "QUIT")
}

func caPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", path)
	}
	return pool
}

// TestSubmission sends one answer through the submission port, as the
// worker sends through Microsoft 365 or Google, after it met every
// misconfiguration an operator can make there; each leaves the mail
// queued (deferred, never failed: it is not the recipient's fault) with
// the reason in the log, and the fixed settings deliver it:
//  1. the certificate is not trusted (no SSL_CERT_FILE): x509 error;
//  2. ?tls=none with a user name: the server offers no AUTH in plaintext;
//  3. ?tls=none without one: MAIL FROM gets 530 5.7.0 Must issue a
//     STARTTLS command first;
//  4. a wrong password: 535 5.7.8 after STARTTLS (Dovecot said no);
//  5. ONBOARDER_SMTP_PASSWORD with the right one: STARTTLS, AUTH PLAIN,
//     delivered into the partner's Dovecot mailbox (Received: with ESMTPSA).
func TestSubmission(t *testing.T) {
	need(t)
	t.Parallel()
	srv := main1
	box := "submission@onboarding.example"
	sender := "submission@acme.example"
	login := "submission-robot@onboarding.example" // any user signs in with the right password
	h := newHarness(t, srv, box, acmeWorld)
	orgs := seedAcme(t, h, 1)
	if err := srv.user(box).Append("INBOX", request("submission-1@acme.example", sender, orgs[0], 0)); err != nil {
		t.Fatal(err)
	}
	h.Run("poll", "--once")
	rows := h.Outbox()
	if len(rows) != 1 {
		t.Fatalf("%d outbox rows, want 1", len(rows))
	}
	st := dbOf(t, h)
	flushWith := func(step, smtpURL string, env map[string]string, wantOut string, wantErr ...string) string {
		t.Helper()
		// The mail is due again at once (the retry delay is the dispatcher's business).
		if err := st.Exec(t.Context(), "UPDATE outbox_mails SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'"); err != nil {
			t.Fatal(err)
		}
		hh := &clitest.Harness{T: t, Bin: h.Bin, Env: append([]string{}, h.Env...)}
		hh.Set("ONBOARDER_SMTP_URL", smtpURL)
		for k, v := range env {
			hh.Set(k, v)
		}
		start := time.Now()
		out, errOut, code := hh.Exec("", "outbox", "flush")
		if code != 0 || strings.TrimSpace(out) != wantOut {
			t.Fatalf("%s: outbox flush: exit %d, %q, want %q\nstderr: %s", step, code, strings.TrimSpace(out), wantOut, errOut)
		}
		for _, w := range wantErr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: the log does not say %q:\n%s", step, w, errOut)
			}
		}
		r := h.Outbox()[0]
		t.Logf("%s (%s): %s; row %s after %d attempts; last error: %s", step, time.Since(start).Round(time.Millisecond),
			strings.TrimSpace(out), r.Status, r.Attempts, deref(r.LastError))
		return errOut
	}
	trust := map[string]string{"SSL_CERT_FILE": srv.tlsCAFile}
	deferred := "sent 0, deferred 1, failed 0"

	flushWith("untrusted certificate", srv.submissionURL(login, srv.password, ""), nil, deferred,
		"x509: certificate signed by unknown authority", "outbox mail deferred")
	flushWith("plaintext with a user name", srv.submissionURL(login, srv.password, "tls=none"), trust, deferred,
		"server does not support SMTP AUTH", "use TLS", "refused our sign-in")
	flushWith("plaintext without a user name", srv.submissionURL("", "", "tls=none"), trust, deferred,
		"530", "Must issue a STARTTLS command first", "refused our sign-in")
	flushWith("wrong password", srv.submissionURL(login, "wrong", ""), trust, deferred,
		"535", "5.7.8", "authentication failed", "refused our sign-in", "level=ERROR")
	if r := h.Outbox()[0]; r.Status != "pending" || r.Attempts != 4 {
		t.Fatalf("after the refusals the row is %s after %d attempts, want pending after 4", r.Status, r.Attempts)
	}
	// ONBOARDER_SMTP_PASSWORD overrides the URL's (wrong) password.
	flushWith("right password", srv.submissionURL(login, "wrong", ""),
		map[string]string{"SSL_CERT_FILE": srv.tlsCAFile, "ONBOARDER_SMTP_PASSWORD": srv.password}, "sent 1, deferred 0, failed 0")

	r := h.Outbox()[0]
	if r.Status != "sent" || r.Attempts != 5 {
		t.Errorf("row: %s after %d attempts, want sent after 5", r.Status, r.Attempts)
	}
	got := srv.user(sender).waitMail(t, r.MessageID, deliveryTimeout)
	// Postfix's own Received line: TLS, authenticated (ESMTPSA), as whom.
	var received string
	for _, v := range got.Header["Received"] {
		if strings.Contains(v, "(Postfix)") {
			received = strings.Join(strings.Fields(v), " ")
		}
	}
	for _, w := range []string{"using TLSv1.", "(Authenticated sender: " + login + ")", "with ESMTPSA"} {
		if !strings.Contains(received, w) {
			t.Errorf("Postfix's Received header %q lacks %q", received, w)
		}
	}
	t.Logf("delivered: Received: %s", received)
	if log, err := os.ReadFile(srv.postfixLog); err != nil {
		t.Error(err)
	} else if !strings.Contains(string(log), "sasl_method=PLAIN, sasl_username="+login) {
		t.Errorf("Postfix's log has no AUTH PLAIN sign-in of %s", login)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
