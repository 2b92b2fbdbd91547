package arch

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureDoc: the table "Who imports whom" in docs/architecture.md
// says what allowed says.
func TestArchitectureDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "## Who imports whom")
	if i < 0 {
		t.Fatal("docs/architecture.md has no section \"Who imports whom\"")
	}
	doc = doc[i:]
	if j := strings.Index(doc[3:], "\n## "); j >= 0 {
		doc = doc[:j+3]
	}
	names := regexp.MustCompile("`([a-z/]+)`")
	seen := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 4 || !strings.Contains(cells[1], "`") {
			continue
		}
		var may []string
		switch rule := strings.TrimSpace(cells[2]); {
		case strings.HasPrefix(rule, "everything"):
			may = []string{"*"}
		case rule == "nothing of ours":
		default: // the packages named before any remark in parentheses
			for _, m := range names.FindAllStringSubmatch(strings.SplitN(rule, "(", 2)[0], -1) {
				may = append(may, m[1])
			}
		}
		for _, m := range names.FindAllStringSubmatch(cells[1], -1) {
			pkg := m[1]
			seen[pkg] = true
			want := allowed[pkg]
			if !slices.Equal(may, want) {
				t.Errorf("docs/architecture.md: %s may import %v; internal/arch allows %v", pkg, may, want)
			}
		}
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("docs/architecture.md does not name %s, which internal/arch's table lists", pkg)
		}
	}
}
