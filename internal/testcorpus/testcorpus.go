// Package testcorpus finds the shared mail corpus for tests: the folder in
// $ONBOARDER_CORPUS_DIR, or ../shared/corpus beside the repository's root.
// Outside that checkout the tests that need it skip with a clear message;
// in CI (CI set) a missing corpus fails them.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus folder (holding requests/ and realworld/).
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ONBOARDER_CORPUS_DIR"); d != "" {
		return check(t, d)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return check(t, filepath.Join(dir, "..", "shared", "corpus"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return check(t, "")
		}
		dir = parent
	}
}

func check(t testing.TB, dir string) string {
	t.Helper()
	if dir != "" {
		if st, err := os.Stat(filepath.Join(dir, "requests")); err == nil && st.IsDir() {
			return dir
		}
	}
	msg := "mail corpus not found (set ONBOARDER_CORPUS_DIR or check out ../shared/corpus beside the repository)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + ": required in CI")
	}
	t.Skip(msg)
	return ""
}

// Requests returns the folder of example request mails.
func Requests(t testing.TB) string { return filepath.Join(Dir(t), "requests") }

// RealWorld returns the folder of real-world mails.
func RealWorld(t testing.TB) string { return filepath.Join(Dir(t), "realworld") }
