package e2e_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/mailtest"
)

// killAt runs `onboarder ARGS` with env, waits until hit fires (the proxy
// saw the chosen command) and kills the process with SIGKILL.
func killAt(t *testing.T, h *clitest.Harness, env []string, hit <-chan struct{}, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, h.Env...), env...)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hit:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("onboarder %v never reached the chosen point:\n%s", args, log.String())
	}
	cmd.Process.Kill() // SIGKILL: no clean-up of any kind
	cmd.Wait()
}

func startProxy(t *testing.T, target string) *mailtest.Proxy {
	t.Helper()
	p, err := mailtest.StartProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestKillDuringIntake kills the worker at chosen points of an intake pass
// against Dovecot, Cyrus and Courier; after a restart every mail is handled once, every
// request present once, each answered once, and each mail in the processed
// folder once.
func TestKillDuringIntake(t *testing.T) {
	need(t)
	for _, tc := range []struct {
		name  string
		srv   func() *servers
		stall string // the client's command the proxy holds back, then SIGKILL
		// maxCopies: without MOVE and UIDPLUS a crash between UID COPY and
		// UID STORE leaves the copy, and the next pass copies again (a known
		// limit: nothing is lost, the processed folder may hold a mail twice).
		maxCopies int
	}{
		{"during_fetch", func() *servers { return main1 }, "BODY.PEEK[]", 1},
		{"after_commit_before_move", func() *servers { return main1 }, "UID MOVE", 1},
		{"no_move_after_commit_before_copy", func() *servers { return nomove }, "UID COPY", 1},
		{"no_move_after_copy_before_flag", func() *servers { return nomove }, "UID STORE", 2},
		{"cyrus_after_commit_before_move", func() *servers { return cyrus }, "UID MOVE", 1},
		// Courier has UIDPLUS but no MOVE: UID COPY, UID STORE, UID EXPUNGE.
		{"courier_after_copy_before_flag", func() *servers { return courier }, "UID STORE", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.srv()
			box := "kill-" + tc.name + "@onboarding.example"
			h := newHarness(t, srv, box, acmeWorld)
			orgs := seedAcme(t, h, 1)
			const n = 3
			for i := range n {
				raw := request(fmt.Sprintf("kill-%s-%d@acme.example", tc.name, i), "ops@acme.example", orgs[0], i)
				if err := srv.user(box).Append("INBOX", raw); err != nil {
					t.Fatal(err)
				}
			}
			proxy := startProxy(t, srv.imapAddr)
			hit := proxy.StallOn(tc.stall)
			env := []string{"ONBOARDER_IMAP_URL=" + srv.imapURL(box, proxy.Addr()), "ONBOARDER_POLL_LEASE=2s"}
			killAt(t, h, env, hit, "poll", "--once")
			// Drop what the proxy held back: the dead worker's last command
			// never reaches the server.
			proxy.CutAll()
			proxy.Resume()

			// Restart (directly, no proxy); it waits out the dead worker's lease.
			h.Set("ONBOARDER_POLL_LEASE", "2s")
			h.Run("poll", "--once")
			msgs, reqs, out := h.Messages(), h.Requests(), h.Outbox()
			if len(msgs) != n || len(reqs) != n || len(out) != n {
				t.Fatalf("after restart: %d messages, %d requests, %d outbox rows; want %d each (handled once)", len(msgs), len(reqs), len(out), n)
			}
			states := map[string]int{}
			for _, r := range reqs {
				states[r.State]++
			}
			if states["pending_approval"] != 1 || states["duplicate"] != n-1 {
				t.Fatalf("request states after restart: %v", states)
			}
			if got := srv.user(box).count(t, "INBOX"); got != 0 {
				t.Errorf("%d mails still visible in INBOX, want 0", got)
			}
			processed, err := srv.user(box).Messages(srv.processed)
			if err != nil {
				t.Fatal(err)
			}
			copies := map[string]int{}
			for _, m := range processed {
				copies[clitest.MessageIDOf(t, m.Raw)]++
			}
			for id, c := range copies {
				if c < 1 || c > tc.maxCopies {
					t.Errorf("<%s> is %d times in the processed folder, want 1 to %d", id, c, tc.maxCopies)
				}
			}
			if len(copies) != n {
				t.Errorf("%d distinct mails in the processed folder, want %d", len(copies), n)
			}
			if got := strings.TrimSpace(h.Run("outbox", "flush")); got != fmt.Sprintf("sent %d, deferred 0, failed 0", n) {
				t.Fatalf("flush: %s", got)
			}
			for _, o := range h.Outbox() {
				srv.recipient("ops@acme.example").waitMail(t, o.MessageID, deliveryTimeout)
			}
		})
	}
}
