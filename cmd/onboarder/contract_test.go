package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store/storetest"
)

// The JSON keys of ../shared/spec/cli.md, shape by shape.
var (
	requestKeys = []string{"id", "reference", "state", "customer_name", "organization_id", "partner", "sender", "message_id",
		"findings", "received_at", "updated_at", "kind", "distributor", "new_organization"}
	requestShowKeys  = append(slices.Clone(requestKeys), "mails", "audit")
	requestAuditKeys = []string{"at", "actor", "from", "to", "reason"}
	messageKeys      = []string{"id", "message_id", "from", "subject", "disposition", "request_id", "received_at"}
	outboxKeys       = []string{"id", "kind", "to", "subject", "status", "attempts", "message_id", "request_id", "last_error"}
	linkKeys         = []string{"id", "partner", "distributor", "organization_id", "type", "status", "request_id", "started_at",
		"ends_at", "ended_at", "ended_by", "end_reason", "updated_at"}
	partnerKeys = []string{"id", "name", "ref", "status", "locale", "trusted", "emails", "domains", "parent"}
	orgKeys     = []string{"id", "name", "status", "admin_name", "admin_email", "country", "locale", "vat_id"}
	auditKeys   = []string{"at", "actor", "subject", "from", "to", "reason"}
	refKeys     = []string{"id", "name"}
	// Dispositions: cli.md's list, and end_link (a partner's mail asking
	// to end a link; README's CLI section names it).
	dispositions = []string{"request", "reply", "auto_reply", "bounce", "ignored", "too_large", "duplicate", "unparseable", "end_link"}
)

const orgContract = "3f2e1d0c-9b8a-4765-8432-10fedcba9876"

// contractDoc runs a --json command and returns its one JSON document,
// failing unless it exits 0 and prints exactly one document on stdout.
func contractDoc(t *testing.T, h *harness, args ...string) any {
	t.Helper()
	stdout, stderr, code := h.exec("", args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v: stdout is not JSON: %v\n%s", args, err, stdout)
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		t.Fatalf("%v: more than one JSON document on stdout:\n%s", args, stdout)
	}
	return v
}

// checkKeys asserts obj is an object with every key of want, and that
// every time in it (a key ending in "at") is RFC 3339 UTC or null.
func checkKeys(t *testing.T, what string, obj any, want []string) map[string]any {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Errorf("%s: not an object: %v", what, obj)
		return nil
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: key %q missing (has %v)", what, k, keysOf(m))
		}
	}
	for k, v := range m {
		if k != "at" && !strings.HasSuffix(k, "_at") || v == nil {
			continue
		}
		s, _ := v.(string)
		if tm, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") || tm.Location() != time.UTC {
			t.Errorf("%s: %s %v is not an RFC 3339 UTC time", what, k, v)
		}
	}
	return m
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkList asserts v is a non-empty list of objects with the keys.
func checkList(t *testing.T, what string, v any, want []string) []map[string]any {
	t.Helper()
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		t.Errorf("%s: want a non-empty list, got %v", what, v)
		return nil
	}
	var out []map[string]any
	for _, x := range l {
		out = append(out, checkKeys(t, what, x, want))
	}
	return out
}

// checkRef asserts v is null (when nullOK) or an {"id","name"} object.
func checkRef(t *testing.T, what string, v any, nullOK bool) {
	t.Helper()
	if v == nil {
		if !nullOK {
			t.Errorf("%s: null, want {\"id\",\"name\"}", what)
		}
		return
	}
	checkKeys(t, what, v, refKeys)
}

// TestCLIContractTurnTwo runs every turn-2 command of cli.md through the
// binary: exit codes (0, 1 with one line on stderr, 2 on usage errors),
// --json printing one document with the spec's keys, null for unknown
// values and RFC 3339 UTC times.
func TestCLIContractTurnTwo(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			linkID := activeLinkThroughBinary(t, h, db.URL) // partner 1 Acme, REQ-000001, link 1
			link := strconv.FormatInt(linkID, 10)
			h.run("partners", "add", "--name", "Distri AG", "--ref", "DIS-1", "--email", "sales@distri.example")
			h.run("orgs", "add", "--id", orgContract, "--name", "Kite GmbH", "--country", "DE", "--admin-name", "Kim",
				"--admin-email", "kim@kite.example", "--locale", "de", "--vat-id", "DE136695976", "--by", "olga@ops.example")

			// Commands and their exit codes; code 1 and 2 print one line on stderr.
			for _, c := range []struct {
				stdin string
				args  []string
				code  int
			}{
				{"", []string{"partners", "update", "1", "--ref", "ACM-1", "--email", "ops@acme.example", "--parent", "2", "--by", "olga@ops.example"}, 0},
				{"", []string{"partners", "update", "1", "--name", "Acme"}, 2},                               // --by missing
				{"", []string{"partners", "update", "1", "--parent", "2", "--no-parent", "--by", "olga"}, 2}, // both
				{"", []string{"partners", "update", "99", "--name", "X", "--by", "olga"}, 1},
				{"", []string{"partners", "suspend", "2", "--by", "olga@ops.example"}, 2}, // --reason missing
				{"", []string{"partners", "suspend", "2", "--by", "olga@ops.example", "--reason", "audit"}, 0},
				{"", []string{"partners", "activate", "2", "--by", "olga@ops.example"}, 0},
				{"", []string{"partners", "activate", "99", "--by", "olga@ops.example"}, 1},
				{"", []string{"partners", "show", "99", "--json"}, 1},
				{"", []string{"partners", "show", "--json"}, 2},
				{"", []string{"orgs", "add", "--id", orgContract, "--name", "Kite GmbH", "--country", "DE", "--admin-name", "Kim",
					"--admin-email", "kim@kite.example", "--by", "olga@ops.example"}, 1}, // exists
				{"", []string{"orgs", "add", "--name", "No Id", "--by", "olga@ops.example"}, 2},
				{"", []string{"orgs", "update", orgContract, "--vat-id", "DE136695976", "--admin-name", "Kim Kite", "--by", "olga@ops.example"}, 0},
				{"", []string{"orgs", "update", orgContract, "--name", "Kite"}, 2},
				{"", []string{"links", "set-end", link, "--at", "2099-01-01", "--by", "olga@ops.example"}, 0},
				{"", []string{"links", "set-end", link, "--by", "olga@ops.example"}, 2},
				{"", []string{"links", "set-end", link, "--at", "2001-01-01", "--by", "olga@ops.example"}, 1}, // past
				{"", []string{"links", "set-end", "99", "--none", "--by", "olga@ops.example"}, 1},
				{"", []string{"links", "end", link, "--by", "olga@ops.example"}, 2},
				{"", []string{"links", "end", "99", "--by", "olga@ops.example", "--reason", "x"}, 1},
				{"correct horse battery staple\n", []string{"ops-users", "add", "--email", "olga@ops.example", "--role", "admin"}, 0},
				{"", []string{"ops-users", "disable", "olga@ops.example"}, 0},
				{"", []string{"ops-users", "enable", "olga@ops.example"}, 0},
				{"", []string{"ops-users", "disable", "nobody@ops.example"}, 1},
				{"another horse battery staple\n", []string{"ops-users", "passwd", "olga@ops.example"}, 0},
				{"short\n", []string{"ops-users", "passwd", "olga@ops.example"}, 1},
				{"", []string{"ops-users", "role", "olga@ops.example", "approver"}, 0},
				{"", []string{"ops-users", "role", "olga@ops.example", "emperor"}, 2},
				{"", []string{"audit", "list", "--since", "last week"}, 2},
				{"", []string{"audit", "list", "--request", "REQ-x"}, 2},
				{"", []string{"requests", "list", "--state", "pending-reseller"}, 2}, // mistyped
				{"", []string{"requests", "list", "--state", "pending_reseller"}, 0},
			} {
				stdout, stderr, code := h.exec(c.stdin, c.args...)
				if code != c.code {
					t.Errorf("%v: exit %d, want %d (%s%s)", c.args, code, c.code, stdout, stderr)
					continue
				}
				if code != 0 {
					oneLine(t, stderr)
					if stdout != "" {
						t.Errorf("%v failed but printed %q", c.args, stdout)
					}
				}
			}

			// A distributor names its reseller; a partner asks for a new
			// organization; a stranger asks (rejected, never answered).
			for _, raw := range []string{
				"From: eve@evil.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <contract-e@evil.example>\r\n" +
					"Subject: Please establish reseller connection to customer Globex\r\n\r\n" +
					"Organization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n",
				"From: sales@distri.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <contract-d@distri.example>\r\n" +
					"Subject: Please establish reseller connection to customer Kite GmbH\r\n\r\n" +
					"Organization ID: " + orgContract + "\r\nReseller ID: ACM-1\r\n",
				"From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <contract-n@acme.example>\r\n" +
					"Subject: Please create a new organization for customer Brueckner\r\n\r\n" +
					"Company name: Brueckner GmbH\r\nStreet: Hauptstrasse 1\r\nPostcode: 83313\r\nCity: Siegsdorf\r\n" +
					"Country: DE\r\nVAT ID: DE136695976\r\nFirst name: Anna\r\nLast name: Brueckner\r\nEmail: anna@brueckner.example\r\n",
			} {
				if _, err := h.imap.Append("INBOX", []byte(raw)); err != nil {
					t.Fatal(err)
				}
			}
			h.run("poll", "--once")
			h.run("links", "end", link, "--by", "olga@ops.example", "--reason", "contract over")
			if _, stderr, code := h.exec("", "links", "end", link, "--by", "olga@ops.example", "--reason", "again"); code != 1 {
				t.Errorf("ending an ended link: exit %d", code)
			} else {
				oneLine(t, stderr)
			}
			h.run("orgs", "suspend", orgContract, "--by", "olga@ops.example")
			if out := h.run("outbox", "flush"); !regexp.MustCompile(`^sent \d+, deferred \d+, failed \d+\n$`).MatchString(out) {
				t.Errorf("outbox flush printed %q", out)
			}

			// Requests: kind, distributor, new_organization.
			kinds := map[string]map[string]any{}
			all := checkList(t, "requests list", contractDoc(t, h, "requests", "list", "--json"), requestKeys)
			for _, r := range all {
				checkRef(t, "request partner", r["partner"], true)
				checkRef(t, "request distributor", r["distributor"], true)
				kind, _ := r["kind"].(string)
				if !slices.Contains([]string{"connect", "new_organization", "customer_first"}, kind) {
					t.Errorf("request kind %q", kind)
				}
				if r["distributor"] != nil {
					kind = "distributor"
				}
				kinds[kind] = r
			}
			if d := kinds["distributor"]; d == nil || d["distributor"].(map[string]any)["name"] != "Distri AG" || d["partner"].(map[string]any)["name"] != "Acme" {
				t.Errorf("the distributor's request: %v", d)
			}
			if n := kinds["new_organization"]; n == nil {
				t.Error("no new_organization request")
			} else if no, ok := n["new_organization"].(map[string]any); !ok || no["company_name"] != "Brueckner GmbH" {
				t.Errorf("new_organization: %v", n["new_organization"])
			}
			if c := kinds["connect"]; c == nil || c["new_organization"] != nil || c["distributor"] != nil {
				t.Errorf("the connect request: %v", c)
			}
			shown := checkKeys(t, "requests show", contractDoc(t, h, "requests", "show", "REQ-000001", "--json"), requestShowKeys)
			checkList(t, "requests show mails", shown["mails"], outboxKeys)
			checkList(t, "requests show audit", shown["audit"], requestAuditKeys)
			// Every request's show has the keys, the stranger's without mails too.
			for _, r := range all {
				shown := checkKeys(t, "requests show", contractDoc(t, h, "requests", "show", strconv.FormatInt(int64(r["id"].(float64)), 10), "--json"), requestShowKeys)
				if mails, ok := shown["mails"].([]any); r["sender"] == "eve@evil.example" && (!ok || len(mails) != 0) {
					t.Errorf("the stranger's request: mails %v, want []", shown["mails"])
				}
			}

			// Partners: parent, show with links and recent requests.
			for _, p := range checkList(t, "partners list", contractDoc(t, h, "partners", "list", "--json"), partnerKeys) {
				checkRef(t, "partner parent", p["parent"], true)
			}
			p := checkKeys(t, "partners show", contractDoc(t, h, "partners", "show", "1", "--json"), partnerKeys)
			checkRef(t, "partners show parent", p["parent"], false)
			checkList(t, "partners show links", p["links"], linkKeys)
			checkList(t, "partners show recent_requests", p["recent_requests"], requestKeys)
			if p["ref"] != "ACM-1" || p["status"] != "active" {
				t.Errorf("partners show after update: %v", p)
			}

			// Organizations: vat_id; null for what is unknown.
			var kite map[string]any
			for _, o := range checkList(t, "orgs list", contractDoc(t, h, "orgs", "list", "--json"), orgKeys) {
				if o["id"] == orgContract {
					kite = o
				} else if o["vat_id"] != nil {
					t.Errorf("an organization without a VAT ID: vat_id %v, want null", o["vat_id"])
				}
			}
			if kite == nil || kite["vat_id"] != "DE136695976" || kite["admin_name"] != "Kim Kite" || kite["status"] != "suspended" {
				t.Errorf("orgs list: %v", kite)
			}

			// Links: distributor, end date, who ended it and why.
			ls := checkList(t, "links list", contractDoc(t, h, "links", "list", "--json"), linkKeys)
			for _, l := range ls {
				checkRef(t, "link partner", l["partner"], false)
				checkRef(t, "link distributor", l["distributor"], true)
				if l["id"] == float64(linkID) {
					if l["status"] != "ended" || l["ended_at"] == nil || l["ended_by"] != "ops:olga@ops.example" ||
						l["end_reason"] != "contract over" || l["ends_at"] != "2099-01-01T00:00:00Z" {
						t.Errorf("the ended link: %v", l)
					}
				}
			}

			// Messages and their dispositions; outbox with bare addresses.
			for _, m := range checkList(t, "messages list", contractDoc(t, h, "messages", "list", "--json"), messageKeys) {
				if !slices.Contains(dispositions, m["disposition"].(string)) {
					t.Errorf("disposition %q is not documented", m["disposition"])
				}
				checkKeys(t, "messages show", contractDoc(t, h, "messages", "show", strconv.FormatInt(int64(m["id"].(float64)), 10), "--json"), messageKeys)
			}
			for _, o := range checkList(t, "outbox list", contractDoc(t, h, "outbox", "list", "--json"), outboxKeys) {
				for _, a := range o["to"].([]any) {
					if s := a.(string); strings.ContainsAny(s, "<> \"") || !strings.Contains(s, "@") {
						t.Errorf("outbox to %q is not a bare address", s)
					}
				}
			}

			// Ops users.
			us, _ := contractDoc(t, h, "ops-users", "list", "--json").([]any)
			if len(us) != 1 || us[0].(map[string]any)["email"] != "olga@ops.example" || us[0].(map[string]any)["role"] != "approver" {
				t.Errorf("ops-users list: %v", us)
			}

			// Audit: every subject kind, newest first, and the filters.
			entries := checkList(t, "audit list", contractDoc(t, h, "audit", "list", "--json"), auditKeys)
			var subjects []string
			for i, a := range entries {
				s, _ := a["subject"].(string)
				subjects = append(subjects, strings.SplitN(s, ":", 2)[0])
				if i > 0 && a["at"].(string) > entries[i-1]["at"].(string) {
					t.Errorf("audit list is not newest first: %v after %v", a["at"], entries[i-1]["at"])
				}
			}
			for _, want := range []string{"request", "partner", "link", "organization", "ops_user"} {
				if !slices.Contains(subjects, want) {
					t.Errorf("audit list has no %s entry: %v", want, subjects)
				}
			}
			for _, a := range checkList(t, "audit list --request", contractDoc(t, h, "audit", "list", "--request", "REQ-000001", "--json"), auditKeys) {
				if a["subject"] != "request:1" && a["subject"] != "link:"+link { // the link the request made
					t.Errorf("audit list --request REQ-000001: %v", a)
				}
			}
			for _, a := range checkList(t, "audit list --actor", contractDoc(t, h, "audit", "list", "--actor", "olga@ops.example", "--json"), auditKeys) {
				if a["actor"] != "ops:olga@ops.example" { // --by olga@… is recorded as ops:olga@…
					t.Errorf("audit list --actor: %v", a)
				}
			}
			if l, _ := contractDoc(t, h, "audit", "list", "--since", "2999-01-01", "--json").([]any); l == nil || len(l) != 0 {
				t.Errorf("audit list --since the future: %v, want []", l)
			}
			if out := h.run("audit", "list"); !bytes.Contains([]byte(out), []byte("link:"+link)) {
				t.Errorf("audit list text lacks link:%s:\n%s", link, out)
			}
		})
	}
}
