package main_test

// The acceptance test drives the built binary only through the CLI
// contract (../shared/spec/cli.md): it replays the example mails of
// ../shared/corpus/requests through in-process IMAP and SMTP servers and
// compares what the program did with expected.json, on SQLite and on
// PostgreSQL. The replay itself lives in internal/clitest, shared with the
// end-to-end suite against real servers (e2e/).

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/internal/testcorpus"
	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store/storetest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onboarder-bin-")
	if err != nil {
		panic(err)
	}
	binary, err = clitest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type (
	world      = clitest.World
	cliRequest = clitest.Request
	cliMessage = clitest.Message
	cliOutbox  = clitest.Outbox
)

// harness runs the binary against one database and the in-process servers.
type harness struct {
	t    *testing.T
	env  []string
	imap *mailtest.IMAPServer
	smtp *mailtest.SMTPServer
}

func (h *harness) cli() *clitest.Harness { return &clitest.Harness{T: h.t, Bin: binary, Env: h.env} }

func (h *harness) run(args ...string) string {
	h.t.Helper()
	return h.cli().Run(args...)
}

func (h *harness) exec(stdin string, args ...string) (string, string, int) {
	h.t.Helper()
	return h.cli().Exec(stdin, args...)
}

func (h *harness) json(v any, args ...string) {
	h.t.Helper()
	h.cli().JSON(v, args...)
}

func newHarness(t *testing.T, dbURL string, w world) *harness {
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: w.Mailbox, Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	env := clitest.BaseEnv(t, dbURL, imapSrv.URL("INBOX"), smtpSrv.URL(), w)
	return &harness{t: t, env: env, imap: imapSrv, smtp: smtpSrv}
}

// memMailbox is the in-process IMAP server as clitest.Mailbox.
type memMailbox struct{ s *mailtest.IMAPServer }

func (m memMailbox) Append(folder string, raw []byte) error {
	_, err := m.s.Append(folder, raw)
	return err
}

func (m memMailbox) Messages(folder string) ([]clitest.StoredMail, error) {
	msgs, err := m.s.Messages(folder)
	out := make([]clitest.StoredMail, len(msgs))
	for i, x := range msgs {
		out[i] = clitest.StoredMail{Raw: x.Raw, Flags: x.Flags}
	}
	return out, err
}

func TestAcceptanceCorpus(t *testing.T) {
	dir := testcorpus.Requests(t)
	var w world
	clitest.ReadJSON(t, dir+"/world.json", &w)
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			start := time.Now()
			h := newHarness(t, db.URL, w)
			r := &clitest.Replay{H: h.cli(), Dir: dir, Mailbox: memMailbox{h.imap},
				SentMail: func(o clitest.Outbox) *mail.Message { return h.sentMail(o.MessageID) }}
			r.H.T = t
			all := r.Run()
			// Nothing was sent twice, and the SMTP server got exactly the outbox.
			if got := len(h.smtp.Messages()); got != len(all) {
				t.Errorf("SMTP server received %d mails, outbox has %d rows", got, len(all))
			}
			t.Logf("%s: %d mails out, %s (binary runs included)", db.Name, len(all), time.Since(start).Round(time.Millisecond))
		})
	}
}

// sentMail finds the mail the SMTP server received with this Message-ID.
func (h *harness) sentMail(id string) *mail.Message {
	h.t.Helper()
	for _, r := range h.smtp.Messages() {
		m, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			continue
		}
		if strings.Trim(m.Header.Get("Message-Id"), "<> ") == id {
			return m
		}
	}
	h.t.Fatalf("the SMTP server never received <%s>", id)
	return nil
}
