package main_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/store/storetest"
)

// audit list: every entry newest first, narrowed by --request (42 or
// REQ-000042), --actor and --since (RFC 3339 or a date), as a table or
// JSON with the keys of the CLI contract; bad values exit 2 with one line.
func TestAuditListCommand(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			seedAcme(t, h)
			for i := 1; i <= 2; i++ {
				if _, err := h.imap.Append("INBOX", acmeRequest(i)); err != nil {
					t.Fatal(err)
				}
				h.run("poll", "--once")
			}
			mid := time.Now().UTC()
			h.run("requests", "approve", "REQ-000001", "--by", "olga", "--note", "ok")

			var all []clitest.AuditEntry
			h.json(&all, "audit", "list", "--json")
			subjects := map[string]int{}
			for i, e := range all {
				subjects[e.Subject]++
				if i > 0 && e.At > all[i-1].At {
					t.Errorf("not newest first: %s after %s", e.At, all[i-1].At)
				}
			}
			if subjects["request:1"] < 2 || subjects["request:2"] < 1 || subjects["partner:1"] < 1 {
				t.Fatalf("audit list covers %v", subjects)
			}
			if all[0].Subject != "request:1" || all[0].Actor != "ops:olga" || all[0].To == nil || *all[0].To != "invited" {
				t.Errorf("newest entry %+v", all[0])
			}

			// The JSON keys are exactly the contract's.
			var raw []map[string]any
			h.json(&raw, "audit", "list", "--json", "--request", "1")
			var keys []string
			for k := range raw[0] {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if strings.Join(keys, ",") != "actor,at,from,reason,subject,to" {
				t.Errorf("keys %v", keys)
			}
			if _, err := time.Parse(time.RFC3339, raw[0]["at"].(string)); err != nil {
				t.Errorf("at %v", raw[0]["at"])
			}

			for name, c := range map[string]struct {
				args []string
				want func(clitest.AuditEntry) bool
			}{
				"--request REQ": {[]string{"--request", "REQ-000002"}, func(e clitest.AuditEntry) bool { return e.Subject == "request:2" }},
				"--request 1":   {[]string{"--request", "1"}, func(e clitest.AuditEntry) bool { return e.Subject == "request:1" }},
				"--actor":       {[]string{"--actor", "ops:olga"}, func(e clitest.AuditEntry) bool { return e.Actor == "ops:olga" }},
				// Only the approval came after mid.
				"--since RFC3339": {[]string{"--since", mid.Format(time.RFC3339Nano)}, func(e clitest.AuditEntry) bool { return e.Actor == "ops:olga" }},
			} {
				var got []clitest.AuditEntry
				h.json(&got, append([]string{"audit", "list", "--json"}, c.args...)...)
				n := 0
				for _, e := range all {
					if c.want(e) {
						n++
					}
				}
				if len(got) != n || n == 0 {
					t.Errorf("%s: %d entries, want %d: %+v", name, len(got), n, got)
				}
				for _, e := range got {
					if !c.want(e) {
						t.Errorf("%s: %+v", name, e)
					}
				}
			}
			var none []clitest.AuditEntry
			h.json(&none, "audit", "list", "--json", "--since", time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly))
			if none == nil || len(none) != 0 {
				t.Errorf("--since a later date: %+v", none)
			}
			var today []clitest.AuditEntry
			h.json(&today, "audit", "list", "--json", "--since", mid.AddDate(0, 0, -1).Format(time.DateOnly), "--actor", "ops:olga", "--request", "REQ-000001")
			if len(today) == 0 {
				t.Errorf("--since a date with --actor and --request: nothing")
			}

			table := h.run("audit", "list", "--request", "REQ-000001")
			if lines := strings.Split(strings.TrimSpace(table), "\n"); !strings.HasPrefix(lines[0], "AT") ||
				!strings.Contains(table, "ops:olga") || !strings.Contains(table, "request:1") || strings.Contains(table, "request:2") {
				t.Errorf("table:\n%s", table)
			}

			for _, args := range [][]string{
				{"audit", "list", "--request", "REQ-x"},
				{"audit", "list", "--since", "yesterday"},
				{"audit", "list", "--since", "2026-13-01"},
				{"audit", "list", "extra"},
				{"audit", "list", "--bogus"},
			} {
				stdout, stderr, code := h.exec("", args...)
				if code != 2 || stdout != "" {
					t.Errorf("%v: exit %d, stdout %q, want 2", args, code, stdout)
				}
				oneLine(t, stderr)
			}
		})
	}
}
