package e2e_test

import (
	"net/mail"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/internal/testcorpus"
	"github.com/onboarder/onboarder/store/storetest"
)

// deliveryTimeout bounds how long Postfix may take to put a mail into a
// Dovecot mailbox.
const deliveryTimeout = 20 * time.Second

// newHarness runs the binary against srv's Dovecot (as the IMAP user
// mailboxUser) and Postfix, on a fresh PostgreSQL database.
func newHarness(t *testing.T, srv *servers, mailboxUser string, w clitest.World) *clitest.Harness {
	t.Helper()
	db, ok := storetest.PostgresURL(t)
	if !ok {
		t.Fatal("the e2e PostgreSQL cluster does not answer")
	}
	h := &clitest.Harness{T: t, Bin: bin, Env: clitest.BaseEnv(t, db, srv.imapURL(mailboxUser, ""), srv.smtpURL(""), w)}
	// The load and fault tests answer one partner many times: no answer is
	// held back by the rate limits here (their own tests are elsewhere).
	h.Set("ONBOARDER_ANSWER_LIMIT_SENDER", "1000000")
	h.Set("ONBOARDER_ANSWER_LIMIT_PARTNER", "1000000")
	return h
}

// TestCorpusDovecotPostfix replays the request corpus through Dovecot and
// Postfix: the worker polls Dovecot, sends through Postfix, Postfix
// delivers into Dovecot, and every answer and invitation is read from its
// recipient's mailbox over IMAP. Once with MOVE and UIDPLUS, once without;
// then with the polled mailbox on Cyrus and on Courier (folders under
// INBOX., "." between levels: the processed folder is
// INBOX.Onboarder.Processed there), whose answers go out through the
// Dovecot instance's Postfix.
func TestCorpusDovecotPostfix(t *testing.T) {
	need(t)
	dir := testcorpus.Requests(t)
	var w clitest.World
	clitest.ReadJSON(t, filepath.Join(dir, "world.json"), &w)
	for _, tc := range []struct {
		name string
		srv  func() *servers
	}{
		{"move_uidplus", func() *servers { return main1 }},
		{"no_move_no_uidplus", func() *servers { return nomove }},
		{"cyrus", func() *servers { return cyrus }},
		{"courier_no_move", func() *servers { return courier }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv()
			start := time.Now()
			box := "corpus-" + tc.name + "@onboarding.example"
			h := newHarness(t, srv, box, w)
			r := &clitest.Replay{H: h, Dir: dir, Mailbox: srv.user(box), Processed: srv.processed,
				SentMail: func(o clitest.Outbox) *mail.Message {
					return srv.recipient(clitest.LowerAddrs(o.To)[0]).waitMail(t, o.MessageID, deliveryTimeout)
				}}
			all := r.Run()
			// Which way the mail was moved: UID MOVE leaves nothing behind;
			// without MOVE and UIDPLUS the originals stay flagged \Deleted.
			inbox, err := srv.user(box).Messages("INBOX")
			if err != nil {
				t.Fatal(err)
			}
			flagged := len(inbox) - srv.user(box).count(t, "INBOX")
			if wantFlagged := srv == nomove; (flagged > 0) != wantFlagged {
				t.Errorf("%d originals left flagged \\Deleted in INBOX; want some: %v", flagged, wantFlagged)
			}
			// Every outbox mail reached each of its recipients exactly once.
			for _, o := range all {
				for _, to := range clitest.LowerAddrs(o.To) {
					srv.recipient(to).waitMail(t, o.MessageID, deliveryTimeout)
				}
			}
			// Approve one request: the customer's administrator reads the
			// invitation in their own mailbox.
			var pending *clitest.Request
			for _, rq := range h.Requests() {
				if rq.State == "pending_approval" {
					pending = &rq
					break
				}
			}
			if pending == nil {
				t.Fatal("no pending request to approve")
			}
			h.Run("requests", "approve", strconv.FormatInt(pending.ID, 10), "--by", "e2e", "--note", "checked")
			h.Run("outbox", "flush")
			var invitation *clitest.Outbox
			for _, o := range h.Outbox() {
				if o.Kind == "invitation" {
					invitation = &o
				}
			}
			if invitation == nil {
				t.Fatal("approving made no invitation")
			}
			m := srv.recipient(clitest.LowerAddrs(invitation.To)[0]).waitMail(t, invitation.MessageID, deliveryTimeout)
			if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
				t.Errorf("invitation Auto-Submitted = %q, want auto-generated", got)
			}
			t.Logf("%s: %d mails out, %s", tc.name, len(all), time.Since(start).Round(time.Millisecond))
		})
	}
}
