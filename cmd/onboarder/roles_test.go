package main_test

import (
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store/storetest"
)

// ops-users add --role (viewer unless given), ops-users role, and the role
// in list --json (the role change's audit entry: workflow TestOpsUserRoles).
func TestOpsUsersRoleCommand(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	const vera, anna = "vera@provider.example", "anna@provider.example"
	if out, stderr, code := h.exec("correct horse battery staple\n", "ops-users", "add", "--email", vera); code != 0 || !strings.Contains(out, "role viewer") {
		t.Fatalf("ops-users add: %d %q %s", code, out, stderr)
	}
	if _, stderr, code := h.exec("correct horse battery staple\n", "ops-users", "add", "--email", anna, "--role", "approver"); code != 0 {
		t.Fatalf("ops-users add --role: %d %s", code, stderr)
	}
	if _, _, code := h.exec("correct horse battery staple\n", "ops-users", "add", "--email", "x@provider.example", "--role", "root"); code != 2 {
		t.Errorf("add with an unknown role: exit %d, want 2", code)
	}
	roles := func() map[string]string {
		t.Helper()
		var us []struct {
			Email string `json:"email"`
			Role  string `json:"role"`
		}
		h.json(&us, "ops-users", "list", "--json")
		out := map[string]string{}
		for _, u := range us {
			out[u.Email] = u.Role
		}
		return out
	}
	if r := roles(); r[vera] != "viewer" || r[anna] != "approver" || len(r) != 2 {
		t.Fatalf("roles %v", r)
	}
	if out := h.run("ops-users", "role", vera, "admin", "--by", "boss@provider.example"); !strings.Contains(out, "now admin") {
		t.Errorf("role: %q", out)
	}
	if r := roles(); r[vera] != "admin" {
		t.Errorf("after role: %v", r)
	}
	if out := h.run("ops-users", "list"); !strings.Contains(out, "ROLE") || !strings.Contains(out, "admin") {
		t.Errorf("table:\n%s", out)
	}
	_, stderr, code := h.exec("", "ops-users", "role", vera, "admin")
	if code != 1 || !strings.Contains(stderr, "admin already") {
		t.Errorf("same role: %d %q", code, stderr)
	}
	oneLine(t, stderr)
	if _, stderr, code := h.exec("", "ops-users", "role", "nobody@provider.example", "viewer"); code != 1 || !strings.Contains(stderr, "no such user") {
		t.Errorf("unknown user: %d %q", code, stderr)
	}
	for _, args := range [][]string{{"ops-users", "role", vera}, {"ops-users", "role", vera, "root"}, {"ops-users", "role", "viewer", vera}} {
		if _, stderr, code := h.exec("", args...); code != 2 {
			t.Errorf("%v: exit %d %q, want 2", args, code, stderr)
		}
	}
}

// requests approve on a request with a four-eyes finding: the first
// approval is 1 of 2, the same user again is refused, another approves.
func TestRequestsApproveFourEyes(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	seedAcme(t, h)
	raw := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <fe-1@acme.example>\r\n" +
		"Subject: Please establish reseller connection to customer Umbrella\r\n\r\nOrganization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n"
	if _, err := h.imap.Append("INBOX", []byte(raw)); err != nil {
		t.Fatal(err)
	}
	h.run("poll", "--once")
	state := func() string {
		t.Helper()
		var shown struct {
			State string `json:"state"`
		}
		h.json(&shown, "requests", "show", "1", "--json")
		return shown.State
	}
	if s := state(); s != "pending_approval" {
		t.Fatalf("setup: %s", s)
	}
	if out := h.run("requests", "approve", "1", "--by", "Olga"); !strings.Contains(out, "approved 1 of 2 by olga") {
		t.Errorf("first approval: %q", out)
	}
	if s := state(); s != "pending_approval" {
		t.Fatalf("after the first approval: %s", s)
	}
	stdout, stderr, code := h.exec("", "requests", "approve", "1", "--by", "olga")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "approved it already") || !strings.Contains(stderr, "second, different ops user") {
		t.Errorf("same user again: %d %q %q", code, stdout, stderr)
	}
	oneLine(t, stderr)
	if out := h.run("requests", "approve", "1", "--by", "piet"); !strings.Contains(out, "invitation queued") {
		t.Errorf("second approval: %q", out)
	}
	if s := state(); s != "invited" {
		t.Errorf("after the second approval: %s", s)
	}
}
