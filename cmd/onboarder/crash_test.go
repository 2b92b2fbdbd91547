package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store/storetest"
)

// TestCrashAfterCommitBeforeMove kills the worker (SIGKILL) when its records
// are committed and it asks the server to move the mails; after a restart
// the mails are moved and nothing is handled twice.
func TestCrashAfterCommitBeforeMove(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example", TrustedAuthservID: "mx.example"})
			proxy, err := mailtest.StartProxy(h.imap.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			for i, kv := range h.env {
				if strings.HasPrefix(kv, "ONBOARDER_IMAP_URL=") {
					h.env[i] = strings.Replace(kv, h.imap.Addr(), proxy.Addr(), 1)
				}
			}
			// The killed worker's lease runs out after 2s; the restart waits for it.
			h.env = append(h.env, "ONBOARDER_IMAP_TIMEOUT=60s", "ONBOARDER_POLL_LEASE=2s")
			h.run("partners", "add", "--name", "Acme", "--email", "ops@acme.example")
			csv := filepath.Join(t.TempDir(), "orgs.csv")
			os.WriteFile(csv, []byte("id,name,status,admin_name,admin_email,country,locale\n"+
				"9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f,Globex,active,Hank,hank@globex.example,US,en\n"), 0o600)
			h.run("orgs", "import", csv)
			const n = 3
			for i := range n {
				raw := fmt.Sprintf("From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <crash-%d@acme.example>\r\n"+
					"Subject: Please establish reseller connection to customer Globex %d\r\n\r\nOrganization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n", i, i)
				if _, err := h.imap.Append("INBOX", []byte(raw)); err != nil {
					t.Fatal(err)
				}
			}

			hit := proxy.StallOn("MOVE")
			cmd := exec.Command(binary, "poll", "--once")
			cmd.Env = h.env
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-hit:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the worker never asked to move the mails")
			}
			cmd.Process.Kill() // SIGKILL: no clean-up of any kind
			cmd.Wait()
			proxy.CutAll() // the held-back MOVE must never reach the server
			proxy.Resume()

			var msgs []cliMessage
			h.json(&msgs, "messages", "list")
			if len(msgs) != n {
				t.Fatalf("after the crash %d mails recorded, want %d (recorded before the move)", len(msgs), n)
			}
			if inbox, _ := h.imap.Messages("INBOX"); len(inbox) != n {
				t.Fatalf("after the crash %d mails in INBOX, want %d", len(inbox), n)
			}

			h.run("poll", "--once")
			h.json(&msgs, "messages", "list")
			var reqs []cliRequest
			h.json(&reqs, "requests", "list")
			var out []cliOutbox
			h.json(&out, "outbox", "list")
			if len(msgs) != n || len(out) != n {
				t.Fatalf("after restart: %d messages, %d outbox rows; want %d each (handled once)", len(msgs), len(out), n)
			}
			// The first request is pending; the later ones for the same
			// organization are duplicates, each answered once.
			states := map[string]int{}
			for _, r := range reqs {
				states[r.State]++
			}
			if len(reqs) != n || states["pending_approval"] != 1 || states["duplicate"] != n-1 {
				t.Fatalf("requests after restart: %v", states)
			}
			inbox, _ := h.imap.Messages("INBOX")
			processed, _ := h.imap.Messages("Onboarder/Processed")
			if len(inbox) != 0 || len(processed) != n {
				t.Fatalf("INBOX %d, processed %d: want 0 and %d", len(inbox), len(processed), n)
			}
			if got := strings.TrimSpace(h.run("outbox", "flush")); got != fmt.Sprintf("sent %d, deferred 0, failed 0", n) {
				t.Fatalf("flush: %s", got)
			}
		})
	}
}
