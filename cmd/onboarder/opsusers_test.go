package main_test

import (
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store/storetest"
)

// ops-users list, disable, enable and passwd: console users are managed
// without SQL, with the contract's exit codes and JSON shape.
func TestOpsUsersCommands(t *testing.T) {
	h := newHarness(t, storetest.SQLiteURL(t), world{Mailbox: "partners@onboarding.example"})
	const olga = "olga@provider.example"
	if _, stderr, code := h.exec("correct horse battery staple\n", "ops-users", "add", "--email", olga); code != 0 {
		t.Fatalf("ops-users add: %d %s", code, stderr)
	}
	type user struct {
		Email       string  `json:"email"`
		Disabled    bool    `json:"disabled"`
		CreatedAt   string  `json:"created_at"`
		LastLoginAt *string `json:"last_login_at"`
	}
	list := func() []user {
		t.Helper()
		var us []user
		h.json(&us, "ops-users", "list", "--json")
		return us
	}
	us := list()
	if len(us) != 1 || us[0].Email != olga || us[0].Disabled || us[0].CreatedAt == "" || us[0].LastLoginAt != nil {
		t.Fatalf("list: %+v", us)
	}
	var raw []map[string]any
	h.json(&raw, "ops-users", "list", "--json")
	for _, k := range []string{"email", "disabled", "created_at", "last_login_at"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("list --json lacks %q: %v", k, raw[0])
		}
	}

	if out := h.run("ops-users", "disable", olga, "--by", "admin@provider.example"); !strings.Contains(out, "disabled") {
		t.Errorf("disable: %q", out)
	}
	if us := list(); !us[0].Disabled {
		t.Errorf("after disable: %+v", us)
	}
	if out := h.run("ops-users", "list"); !strings.Contains(out, "disabled since") {
		t.Errorf("table after disable:\n%s", out)
	}
	_, stderr, code := h.exec("", "ops-users", "disable", olga)
	if code != 1 || !strings.Contains(stderr, "disabled already") {
		t.Errorf("disable twice: %d %q", code, stderr)
	}
	oneLine(t, stderr)
	h.run("ops-users", "enable", olga)
	if us := list(); us[0].Disabled {
		t.Errorf("after enable: %+v", us)
	}

	// passwd reads the new password from stdin, with add's rule.
	_, stderr, code = h.exec("short\n", "ops-users", "passwd", olga)
	if code != 1 || !strings.Contains(stderr, "12 characters") {
		t.Errorf("passwd with a short password: %d %q", code, stderr)
	}
	oneLine(t, stderr)
	if _, stderr, code := h.exec("another fine password\n", "ops-users", "passwd", olga); code != 0 {
		t.Errorf("passwd: %d %s", code, stderr)
	}

	_, stderr, code = h.exec("", "ops-users", "disable", "nobody@provider.example")
	if code != 1 || !strings.Contains(stderr, "no such user") {
		t.Errorf("unknown user: %d %q", code, stderr)
	}
	for _, args := range [][]string{{"ops-users", "disable"}, {"ops-users", "enable", "not-an-address"}, {"ops-users", "passwd", "a@b", "c@d"}} {
		if _, stderr, code := h.exec("", args...); code != 2 {
			t.Errorf("%v: exit %d %q, want 2", args, code, stderr)
		}
	}
}
