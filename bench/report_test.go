package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestCompareMarkdown: a comparison row gives each binary's median drain
// (not its best or its last), their ratio, and the median drain's CPU.
func TestCompareMarkdown(t *testing.T) {
	d := func(secs float64) drainResult {
		t := time.Duration(secs * float64(time.Second))
		return drainResult{n: 1000, took: t, cpuWorker: t, cpuPG: t / 2}
	}
	rows := []compared{{compareDrain: compareDrain{"postgres", "run", 1000},
		base: []drainResult{d(1), d(4), d(2)},    // 1000, 250, 500 mails/s: median 500
		head: []drainResult{d(2.5), d(2), d(10)}, // 400, 500, 100: median 400
	}}
	md := compareMarkdown(time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC), time.Minute, "test machine", "abc", "commit def", 3, rows)
	if !strings.Contains(md, "| PostgreSQL, `run` | 1000 | 500 | 400 | 80% | 2.00 + 1.00 + 0.00; 2.50 + 1.25 + 0.00 | 1000, 250, 500; 400, 500, 100 |") {
		t.Fatalf("comparison:\n%s", md)
	}
}
