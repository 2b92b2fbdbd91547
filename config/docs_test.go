package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docRow is one row of a configuration table in Markdown: | `NAME` | meaning | default |.
type docRow struct {
	name, def string
	line      int
}

var docName = regexp.MustCompile("^`(ONBOARDER_[A-Z0-9_]+)`$")

// configRows reads the rows of the table under the "## Configuration" heading of a
// Markdown file.
func configRows(t *testing.T, path string) []docRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []docRow
	in := false
	for i, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## Configuration"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `ONBOARDER_") {
			continue
		}
		cells := splitCells(line)
		m := docName.FindStringSubmatch(cells[0])
		if m == nil || len(cells) != 3 {
			t.Errorf("%s:%d: want | `ONBOARDER_NAME` | meaning | default | (one setting a row), got %q", path, i+1, line)
			continue
		}
		rows = append(rows, docRow{name: m[1], def: cells[2], line: i + 1})
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no configuration table under ## Configuration", path)
	}
	return rows
}

// splitCells splits a Markdown table row at the | that are not escaped.
func splitCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var docValue = regexp.MustCompile("^`([^`]*)`")

// checkDefault says what is wrong with a documented default of s, "" when it is right: a
// value (`336h`, maybe followed by a remark) that loads as the table's default does, "none…"
// for a setting without a default, or the text of the setting it follows.
func checkDefault(s setting, doc string) string {
	switch {
	case s.def != "":
		m := docValue.FindStringSubmatch(doc)
		if m == nil {
			return "documents no value, the table's default is " + s.def
		}
		if got, want := shownAs(s.name, m[1]), shownAs(s.name, s.def); got != want {
			return "documents " + m[1] + " (" + got + "), the table's default is " + s.def + " (" + want + ")"
		}
	case s.follows != "":
		if got := strings.ReplaceAll(doc, "`", ""); !strings.HasPrefix(got, s.follows) {
			return "documents " + doc + ", the table says: " + s.follows
		}
	default:
		if !strings.HasPrefix(doc, "none") {
			return "documents " + doc + ", the table has no default (none)"
		}
	}
	return ""
}

// shownAs loads a value of one variable and returns it as config check shows it.
func shownAs(name, value string) string {
	cfg, _, err := Load(nil, envOf(map[string]string{name: value}))
	if err != nil {
		return "invalid: " + err.Error()
	}
	for _, kv := range cfg.Redacted() {
		if kv.Name == name {
			return kv.Value
		}
	}
	return "not shown"
}

// Each shown default is what an unset variable becomes.
func TestTableDefaultsLoad(t *testing.T) {
	def := map[string]string{}
	for _, kv := range DefaultConfig().Redacted() {
		def[kv.Name] = kv.Value
	}
	for _, s := range rows() {
		if (s.def != "") == (s.follows != "") && s.def != "" {
			t.Errorf("%s: both a default and a setting it follows", s.name)
		}
		if s.def != "" {
			if got := shownAs(s.name, s.def); got != def[s.name] {
				t.Errorf("%s: the shown default %s loads as %q, unset it is %q", s.name, s.def, got, def[s.name])
			}
		}
		if s.show == nil && !s.secret {
			t.Errorf("%s: not listed by Redacted but not secret", s.name)
		}
	}
}

// The README's configuration table lists every setting of the table, once, with the same
// default, and nothing else.
func TestREADMEConfigurationTable(t *testing.T) {
	const path = "../README.md"
	seen := map[string]bool{}
	for _, r := range configRows(t, path) {
		s, ok := lookup(r.name)
		if !ok {
			t.Errorf("%s:%d: %s is no setting of config's table", path, r.line, r.name)
			continue
		}
		if seen[r.name] {
			t.Errorf("%s:%d: %s is listed twice", path, r.line, r.name)
		}
		seen[r.name] = true
		if msg := checkDefault(s, r.def); msg != "" {
			t.Errorf("%s:%d: %s %s", path, r.line, r.name, msg)
		}
	}
	for _, s := range rows() {
		if !seen[s.name] {
			t.Errorf("%s: %s is missing from the configuration table (default: %s)", path, s.name, s.unsetText())
		}
	}
}

// The contract (../shared/spec/cli.md) names settings that must exist with the defaults it
// gives; the table may have more.
func TestSpecConfigurationTable(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "spec", "cli.md")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not found (%v): the contract is checked where ../shared/spec is checked out beside the module", path, err)
		}
		t.Fatal(err)
	}
	for _, r := range configRows(t, path) {
		s, ok := lookup(r.name)
		if !ok {
			t.Errorf("%s:%d: the contract names %s, which config's table lacks", path, r.line, r.name)
			continue
		}
		if msg := checkDefault(s, r.def); msg != "" {
			t.Errorf("%s:%d: %s %s", path, r.line, r.name, msg)
		}
	}
}
