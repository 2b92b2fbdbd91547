package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store/storetest"
)

type cliRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type cliPartner struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Ref     *string  `json:"ref"`
	Status  string   `json:"status"`
	Locale  string   `json:"locale"`
	Trusted bool     `json:"trusted"`
	Emails  []string `json:"emails"`
	Domains []string `json:"domains"`
	Parent  *cliRef  `json:"parent"`
}

// partners update, suspend, activate and show: the contract's exit codes,
// one-line errors and JSON shapes.
func TestPartnersCommands(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	seedAcme(t, h) // partner 1 Acme: ops@acme.example; Globex
	h.run("partners", "add", "--name", "Big Distri", "--domain", "distri.example")

	// A public mail provider's domain and another partner's address are refused.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"partners", "add", "--name", "Free", "--domain", "gmail.com"}, 2, "public mail provider"},
		{[]string{"partners", "update", "1", "--domain", "web.de", "--by", "olga"}, 2, "public mail provider"},
		{[]string{"partners", "update", "1", "--email", "x@distri.example", "--by", "olga"}, 1, "belongs to partner 2 (Big Distri)"},
		{[]string{"partners", "add", "--name", "Copy", "--email", "ops@acme.example"}, 1, "belongs to partner 1 (Acme)"},
		{[]string{"partners", "update", "1", "--name", "X"}, 2, "--by"},
		{[]string{"partners", "update", "abc", "--by", "olga"}, 2, "partner ID"},
		{[]string{"partners", "update", "1", "--parent", "2", "--no-parent", "--by", "olga"}, 2, "not both"},
		{[]string{"partners", "update", "99", "--name", "X", "--by", "olga"}, 1, "partner 99"},
		{[]string{"partners", "suspend", "1", "--by", "olga"}, 2, "--reason"},
		{[]string{"partners", "activate", "1", "--by", "olga"}, 1, "active already"},
	} {
		stdout, stderr, code := h.exec("", tc.args...)
		if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q (want %q)", tc.args, code, tc.code, stdout, stderr, tc.want)
		}
		oneLine(t, stderr)
	}

	h.run("partners", "update", "1", "--name", "Acme Cloud", "--ref", "MPN-1", "--locale", "de", "--trusted=true",
		"--parent", "2", "--email", "ops@acme.example", "--email", "sales@acme.example", "--domain", "acme-cloud.example", "--by", "olga")
	var ps []cliPartner
	h.json(&ps, "partners", "list", "--json")
	if len(ps) != 2 || ps[0].Name != "Acme Cloud" || ps[0].Parent == nil || *ps[0].Parent != (cliRef{2, "Big Distri"}) ||
		!ps[0].Trusted || ps[0].Locale != "de" || strings.Join(ps[0].Emails, ",") != "ops@acme.example,sales@acme.example" ||
		strings.Join(ps[0].Domains, ",") != "acme-cloud.example" || ps[1].Parent != nil {
		t.Errorf("partners list after update: %+v", ps)
	}
	var raw []map[string]json.RawMessage
	h.json(&raw, "partners", "list", "--json")
	if string(raw[1]["parent"]) != "null" {
		t.Errorf("a partner without parent: parent = %s, want null", raw[1]["parent"])
	}
	h.run("partners", "update", "1", "--no-parent", "--domain", "", "--trusted=false", "--by", "olga")

	// Suspended: the partner's mail is unknown_sender.
	out := h.run("partners", "suspend", "1", "--by", "olga", "--reason", "contract ended")
	if !strings.Contains(out, "suspended") {
		t.Errorf("suspend printed %q", out)
	}
	if _, err := h.imap.Append("INBOX", acmeRequest(1)); err != nil {
		t.Fatal(err)
	}
	h.run("poll", "--once")
	h.run("partners", "activate", "1", "--by", "olga")

	var show struct {
		cliPartner
		Links          []json.RawMessage `json:"links"`
		RecentRequests []struct {
			ID       int64 `json:"id"`
			State    string
			Findings []struct{ Code string } `json:"findings"`
		} `json:"recent_requests"`
	}
	h.json(&show, "partners", "show", "1", "--json")
	if show.ID != 1 || show.Status != "active" || show.Parent != nil || show.Trusted || len(show.Domains) != 0 || show.Links == nil ||
		len(show.RecentRequests) != 1 || show.RecentRequests[0].State != "rejected" ||
		len(show.RecentRequests[0].Findings) == 0 || show.RecentRequests[0].Findings[0].Code != "unknown_sender" {
		t.Errorf("partners show --json: %+v", show)
	}
	var shape map[string]json.RawMessage
	h.json(&shape, "partners", "show", "1", "--json")
	for _, k := range []string{"id", "name", "ref", "status", "locale", "trusted", "emails", "domains", "parent", "links", "recent_requests"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("partners show --json lacks %q", k)
		}
	}
	text := h.run("partners", "show", "1")
	for _, want := range []string{"Acme Cloud", "REQ-000001", "suspended: contract ended", "ops:olga"} {
		if !strings.Contains(text, want) {
			t.Errorf("partners show lacks %q:\n%s", want, text)
		}
	}
}

// orgs add, update and suspend: checked, audited; a new administrator is
// flagged on the organization's open requests.
func TestOrgsCommands(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	seedAcme(t, h)
	const id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	add := []string{"orgs", "add", "--id", id, "--name", "Umbrella GmbH", "--country", "DE", "--admin-name", "Ute",
		"--admin-email", "ute@umbrella.example", "--locale", "de", "--vat-id", "DE123456789", "--by", "olga"}
	if out := h.run(add...); strings.TrimSpace(out) != id {
		t.Errorf("orgs add printed %q", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{add, 1, "exists already"},
		{[]string{"orgs", "add", "--id", "nope", "--name", "N", "--country", "DE", "--admin-name", "A", "--admin-email", "a@b.example", "--by", "olga"}, 2, "not a UUID"},
		{[]string{"orgs", "add", "--id", id, "--name", "N", "--country", "Deutschland", "--admin-name", "A", "--admin-email", "a@b.example", "--by", "olga"}, 2, "ISO 3166-1"},
		{[]string{"orgs", "add", "--id", id, "--name", "N", "--country", "DE", "--admin-name", "A", "--admin-email", "a@b.example"}, 2, "--by"},
		{[]string{"orgs", "update", id, "--admin-email", "A <a@b.example>", "--by", "olga"}, 2, "not an e-mail address"},
		{[]string{"orgs", "update", id, "--by", "olga"}, 2, "nothing to change"},
		{[]string{"orgs", "suspend", "0a1b2c3d-4e5f-4a6b-8c7d-000000000000", "--by", "olga"}, 1, "not found"},
	} {
		stdout, stderr, code := h.exec("", tc.args...)
		if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q (want %q)", tc.args, code, tc.code, stdout, stderr, tc.want)
		}
		oneLine(t, stderr)
	}

	// A request for Globex is open; its administrator changes.
	if _, err := h.imap.Append("INBOX", acmeRequest(1)); err != nil {
		t.Fatal(err)
	}
	h.run("poll", "--once")
	h.run("orgs", "update", "9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f", "--admin-email", "new@globex.example", "--vat-id", "US999", "--by", "olga")
	var req struct {
		Findings []struct{ Code, Detail string }  `json:"findings"`
		Audit    []struct{ Actor, Reason string } `json:"audit"`
	}
	h.json(&req, "requests", "show", "1", "--json")
	found := false
	for _, f := range req.Findings {
		found = found || (f.Code == "admin_changed" && strings.Contains(f.Detail, "hank@globex.example -> new@globex.example"))
	}
	if !found {
		t.Errorf("open request's findings: %+v", req.Findings)
	}
	if last := req.Audit[len(req.Audit)-1]; last.Actor != "ops:olga" || !strings.Contains(last.Reason, "new@globex.example") {
		t.Errorf("open request's audit: %+v", req.Audit)
	}

	h.run("orgs", "suspend", id, "--by", "olga")
	_, stderr, code := h.exec("", "orgs", "suspend", id, "--by", "olga")
	if code != 1 || !strings.Contains(stderr, "suspended already") {
		t.Errorf("suspend twice: %d %q", code, stderr)
	}
	var orgs []map[string]any
	h.json(&orgs, "orgs", "list", "--json")
	byID := map[string]map[string]any{}
	for _, o := range orgs {
		byID[o["id"].(string)] = o
	}
	if o := byID[id]; o["status"] != "suspended" || o["vat_id"] != "DE123456789" || o["country"] != "DE" || o["locale"] != "de" {
		t.Errorf("orgs list: %v", o)
	}
	if o := byID["9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f"]; o["admin_email"] != "new@globex.example" || o["vat_id"] != "US999" {
		t.Errorf("orgs list: %v", o)
	}
}
