package arch

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/onboarder/onboarder/"

// allowed lists, per package, the packages of ours it may import.
// Packages not listed may import nothing of ours.
var allowed = map[string][]string{
	"cmd/onboarder": {"cli"},
	"cli":           {"*"},
	// bench measures each component's own limit beside the product, so it
	// talks to the libraries directly.
	"bench":    {"*"},
	"web":      {"workflow", "store"},
	"workflow": {"parser", "templates", "store"},
	"outbox":   {"store"},
	// webhook delivers its own outbox table, as outbox does for mail.
	"webhook": {"store"},
}

// leaves are packages of ours that every package may import: constants only,
// importing nothing and reading nothing. config/defaults holds the default of
// every setting, so that config's table and the packages that fall back to a
// setting's default (outbox, workflow) name one constant, not copies of it.
var leaves = []string{"config/defaults"}

// rooms says which of our packages may use a third-party library directly.
var rooms = map[string][]string{
	"gorm.io/":                       {"store"},
	"github.com/glebarez/":           {"store"},
	"github.com/wneessen/go-mail":    {"outbox"},
	"github.com/emersion/go-imap":    {"mailbox", "mailtest"},
	"github.com/emersion/go-smtp":    {"mailtest"},
	"github.com/emersion/go-message": {"parser"},
	"github.com/emersion/go-msgauth": {"parser"},
	"github.com/robfig/cron":         {"cli"},
	// web speaks OpenID Connect for the console's single sign-on; go-oidc
	// builds on x/oauth2 for the code exchange.
	"golang.org/x/oauth2":       {"oauth", "web"},
	"github.com/coreos/go-oidc": {"web"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		name := strings.TrimPrefix(p.ImportPath, module)
		top := strings.SplitN(name, "/", 2)[0]
		if strings.HasPrefix(name, "cmd/") {
			top = name
		}
		for _, imp := range p.Imports {
			if permitted(leaves, name) && strings.Contains(imp, ".") {
				t.Errorf("%s imports %s: a leaf imports only the standard library", name, imp)
			}
			if strings.HasPrefix(imp, module) {
				dep := strings.TrimPrefix(imp, module)
				depTop := strings.SplitN(dep, "/", 2)[0]
				if depTop == top || depTop == "internal" || permitted(leaves, dep) {
					continue
				}
				if !permitted(allowed[top], depTop) {
					t.Errorf("%s imports %s: not allowed by the architecture table", name, dep)
				}
				continue
			}
			if top == "bench" {
				continue
			}
			for lib, owners := range rooms {
				if strings.HasPrefix(imp, lib) && !permitted(owners, top) {
					t.Errorf("%s imports %s, which lives in %v only", name, imp, owners)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found only %d packages", n)
	}
}

func permitted(list []string, name string) bool {
	for _, a := range list {
		if a == "*" || a == name {
			return true
		}
	}
	return false
}
