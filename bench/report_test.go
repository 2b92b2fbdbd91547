package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogRun: a run goes on top of the log; the introduction and the
// earlier runs stay.
func TestLogRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.md")
	intro := "# log\n\nabout the runs\n\n" + runsMarker
	if err := os.WriteFile(path, []byte(intro+"\n## old run\n\nold table\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := logRun(path, "## new run\n\nnew table\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := intro + "\n## new run\n\nnew table\n\n## old run\n\nold table\n"
	if string(b) != want {
		t.Fatalf("log:\n%s\nwant:\n%s", b, want)
	}
	// A missing log starts one.
	path = filepath.Join(t.TempDir(), "new.md")
	if err := logRun(path, "## first\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.HasSuffix(string(b), runsMarker+"\n## first\n") {
		t.Fatalf("new log:\n%s", b)
	}
}
