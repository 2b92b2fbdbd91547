package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var readmeCommandRow = regexp.MustCompile("^\\| `onboarder ([^`]+)` \\| .+ \\|$")

// readmeCommands reads the first cells of the command table under README's
// "## Commands" heading, "\|" unescaped.
func readmeCommands(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == "## Commands"
			continue
		}
		if m := readmeCommandRow.FindStringSubmatch(strings.ReplaceAll(line, `\|`, "|")); in && m != nil {
			rows[m[1]] = true
		}
	}
	return rows
}

// TestREADMEListsEveryCommand: README's command table has one row for
// each command of the table in cli.go, with the same arguments as
// `onboarder help`, and none that does not exist.
func TestREADMEListsEveryCommand(t *testing.T) {
	rows := readmeCommands(t)
	if len(rows) == 0 {
		t.Fatal("README.md: no | `onboarder …` | … | rows under ## Commands")
	}
	known := map[string]bool{}
	for _, c := range commands {
		usage := strings.TrimSpace(strings.Join(c.words, " ") + " " + c.args)
		known[usage] = true
		if !rows[usage] {
			t.Errorf("README.md ## Commands lacks the row | `onboarder %s` | … |", usage)
		}
	}
	for r := range rows {
		if !known[r] {
			t.Errorf("README.md ## Commands has `onboarder %s`, which is not in cli.go's command table (or its arguments differ)", r)
		}
	}
}
