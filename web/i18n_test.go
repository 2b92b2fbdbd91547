package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"
	"time"
)

// templateKeys returns the catalog keys the pages use: the string argument
// of every T or F call (.L.T "key", $L.F "key" …), by page.
func templateKeys(t *testing.T) map[string][]string {
	t.Helper()
	names, err := fs.Glob(pagesFS, "pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
		src, err := fs.ReadFile(pagesFS, n)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := template.New(n).Funcs(template.FuncMap(funcs)).Parse(string(src))
		if err != nil {
			t.Fatalf("parsing %s: %v", n, err)
		}
		for _, tt := range tpl.Templates() {
			walk(tt.Tree.Root, func(c *parse.CommandNode) {
				if len(c.Args) < 2 || !isTranslation(c.Args[0]) {
					return
				}
				if s, ok := c.Args[1].(*parse.StringNode); ok {
					out[n] = append(out[n], s.Text)
				}
			})
		}
	}
	return out
}

// isTranslation says whether a node names a method T or F (of a lang).
func isTranslation(n parse.Node) bool {
	var ident []string
	switch n := n.(type) {
	case *parse.FieldNode:
		ident = n.Ident
	case *parse.VariableNode:
		ident = n.Ident
	case *parse.ChainNode:
		ident = n.Field
	}
	if len(ident) < 2 {
		return false
	}
	last := ident[len(ident)-1]
	return last == "T" || last == "F"
}

func walk(n parse.Node, f func(*parse.CommandNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, f)
		}
	case *parse.ActionNode:
		walk(n.Pipe, f)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walk(c, f)
		}
	case *parse.CommandNode:
		f(n)
		for _, a := range n.Args {
			walk(a, f)
		}
	case *parse.IfNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.RangeNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.WithNode:
		walk(n.Pipe, f)
		walk(n.List, f)
		walk(n.ElseList, f)
	case *parse.TemplateNode:
		walk(n.Pipe, f)
	}
}

// Every key a page translates exists in English and in German: a missing
// one would show the key itself (or English on a German page).
func TestCatalogHasEveryTemplateKey(t *testing.T) {
	keys := templateKeys(t)
	total := 0
	for page, ks := range keys {
		for _, k := range ks {
			total++
			for _, code := range []string{"en", "de"} {
				if _, ok := catalog[code][k]; !ok {
					t.Errorf("%s uses %q, which the %s catalog lacks", page, k, code)
				}
			}
		}
	}
	// The console pages are translated: each uses the catalog.
	for _, page := range []string{"layout.html", "request.html", "partner.html", "organization.html", "login.html",
		"message.html", "opserror.html", "team.html", "home.html", "invite.html", "queue.html", "links.html", "messages.html",
		"outbox.html", "partners.html", "organizations.html", "audit.html"} {
		if len(keys["pages/"+page]) == 0 {
			t.Errorf("%s translates nothing", page)
		}
	}
	if total < 200 {
		t.Errorf("only %d translated strings found in the pages; is the parse missing some?", total)
	}
}

// The languages have the same keys, and a format has the same verbs in
// both, so F renders alike.
func TestCatalogLanguagesAgree(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	for k, en := range catalog["en"] {
		de, ok := catalog["de"][k]
		if !ok {
			t.Errorf("German lacks %q", k)
			continue
		}
		if a, b := verbs.FindAllString(en, -1), verbs.FindAllString(de, -1); strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("%q: English has %v, German %v", k, a, b)
		}
	}
	var extra []string
	for k := range catalog["de"] {
		if _, ok := catalog["en"][k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("only in German: %v", extra)
	}
}

// Dates are written the language's way.
func TestDateInLanguage(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 5, 0, 0, time.FixedZone("CET", 3600))
	if got := langOf("en").Date(at); got != "2026-12-06 08:05 UTC" {
		t.Errorf("English date: %q", got)
	}
	if got := langOf("de").Date(at); got != "06.12.2026 08:05 UTC" {
		t.Errorf("German date: %q", got)
	}
	if got := langOf("de").Date(time.Time{}); got != "" {
		t.Errorf("zero date: %q", got)
	}
}

// The handlers' keys (flash, error and login lines) exist in both
// languages too: any string literal in the package's code that looks like
// a console key.
func TestCatalogHasEveryHandlerKey(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`"((?:err|sso|login|team|role|message|ago|req)\.[a-z0-9._-]+)"`)
	// A redirect's ?done= names its flash line; some are made of parts.
	done := regexp.MustCompile(`done=([a-z0-9-]*[a-z0-9])"|"((?:partner|org)-[a-z]+)"`)
	flashes := []string{"approve", "approve1", "reject", "resend", "revoke", "team-disable", "team-enable", "team-password", "team-role"}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "i18n.go" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range done.FindAllStringSubmatch(string(src), -1) {
			flashes = append(flashes, m[1]+m[2])
		}
		for _, m := range key.FindAllStringSubmatch(string(src), -1) {
			if strings.HasSuffix(m[1], ".html") { // a page's name
				continue
			}
			n++
			for _, code := range []string{"en", "de"} {
				if _, ok := catalog[code][m[1]]; !ok {
					t.Errorf("%s uses %q, which the %s catalog lacks", f, m[1], code)
				}
			}
		}
	}
	for _, f := range flashes {
		for _, code := range []string{"en", "de"} {
			if _, ok := catalog[code]["flash."+f]; !ok {
				t.Errorf("the %s catalog has no flash line for ?done=%s", code, f)
			}
		}
	}
	if len(flashes) < 20 {
		t.Errorf("only %d flash lines found", len(flashes))
	}
	if n < 30 {
		t.Errorf("only %d keys found in the handlers", n)
	}
}
