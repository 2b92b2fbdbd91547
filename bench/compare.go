package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A comparison (-baseline) answers "is this commit slower than that one"
// on a machine whose speed drifts: two runs of the same binary a few
// minutes apart differ by 10% or more on a shared 2-core machine, more
// than the difference being looked for. So the two binaries take turns,
// drain after drain on the same servers, and the medians are compared.

// compareDrain is one drain shape of a comparison.
type compareDrain struct {
	dialect, mode string
	n             int
}

// compareRuns are the drains bench/results.md's targets are set on.
func compareRuns(o options) []compareDrain {
	n := o.sizes[len(o.sizes)-1]
	runs := []compareDrain{{"postgres", "poll", n}, {"postgres", "run", n}}
	if o.sqliteN > 0 {
		runs = append(runs, compareDrain{"sqlite", "run", o.sqliteN})
	}
	return runs
}

// compared is one drain shape's results for both binaries.
type compared struct {
	compareDrain
	base, head []drainResult
}

func (b *bench) compare(ctx context.Context, o options) error {
	began := time.Now()
	base, err := filepath.Abs(o.baseline)
	if err != nil {
		return err
	}
	head := b.bin
	var rows []compared
	for _, c := range compareRuns(o) {
		row := compared{compareDrain: c}
		for round := 1; round <= o.rounds; round++ {
			// Alternate which binary goes first, so that neither always
			// drains right after the other's vacuum and checkpoints.
			order := []string{base, head}
			if round%2 == 0 {
				order = []string{head, base}
			}
			for _, bin := range order {
				b.bin = bin
				d, err := b.drain(ctx, c.dialect, c.mode, c.n)
				if err != nil {
					return fmt.Errorf("drain %s %s %d with %s: %w", c.dialect, c.mode, c.n, bin, err)
				}
				which := "this commit"
				if bin == base {
					which, row.base = "baseline", append(row.base, d)
				} else {
					row.head = append(row.head, d)
				}
				logf("  %s %s N=%d round %d, %s: %.0f mails/s", c.dialect, c.mode, c.n, round, which, d.rate())
			}
		}
		rows = append(rows, row)
	}
	b.bin = head
	machine, _ := machine(ctx, b.pg.db)
	table := compareMarkdown(began, time.Since(began), machine, gitCommit(), o.baselineName, o.rounds, rows)
	fmt.Println(table)
	if o.out != "" {
		if err := logRun(o.out, table); err != nil {
			return err
		}
		logf("added the comparison to %s", o.out)
	}
	return nil
}

// median is the drain with the median rate.
func median(ds []drainResult) drainResult {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b drainResult) int {
		switch {
		case a.rate() < b.rate():
			return -1
		case a.rate() > b.rate():
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// cpuPerMail is a drain's CPU per mail in ms: worker, database, IMAP server.
func cpuPerMail(d drainResult) string {
	ms := func(t time.Duration) float64 { return 1000 * t.Seconds() / float64(d.n) }
	return fmt.Sprintf("%.2f + %.2f + %.2f", ms(d.cpuWorker), ms(d.cpuPG), ms(d.cpuIMAP))
}

func compareMarkdown(began time.Time, took time.Duration, machine, commit, baseline string, rounds int, rows []compared) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s, commit %s against %s (interleaved)\n\n", began.UTC().Format("2006-01-02 15:04 MST"), strings.Fields(commit + " ?")[0], baseline)
	fmt.Fprintf(&b, "- date: %s (took %s)\n- commit: %s\n- baseline: %s\n- machine: %s\n", began.UTC().Format("2006-01-02 15:04 MST"),
		took.Round(time.Second), commit, baseline, machine)
	fmt.Fprintf(&b, "- method: `make bench-compare`: each drain %d times with each binary, taking turns on the same servers; "+
		"medians (CPU per mail at the median drain: worker + database + IMAP server)\n\n", rounds)
	b.WriteString("| drain | N | baseline mails/s | this commit mails/s | this / baseline | CPU ms/mail: baseline; this | all runs, baseline; this |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rows {
		bm, hm := median(r.base), median(r.head)
		runs := func(ds []drainResult) string {
			var s []string
			for _, d := range ds {
				s = append(s, fmt.Sprintf("%.0f", d.rate()))
			}
			return strings.Join(s, ", ")
		}
		store := map[string]string{"postgres": "PostgreSQL", "sqlite": "SQLite"}[r.dialect]
		mode := map[string]string{"poll": "`poll --once` + `outbox flush`", "run": "`run`"}[r.mode]
		fmt.Fprintf(&b, "| %s, %s | %d | %.0f | %.0f | %.0f%% | %s; %s | %s; %s |\n", store, mode, r.n, bm.rate(), hm.rate(),
			100*hm.rate()/bm.rate(), cpuPerMail(bm), cpuPerMail(hm), runs(r.base), runs(r.head))
	}
	return b.String()
}

// buildBaseline builds cmd/onboarder at a git revision into dir, from a
// temporary worktree, and returns the binary's path.
func buildBaseline(rev, dir string) (string, error) {
	wt := filepath.Join(dir, "baseline-src")
	if out, err := exec.Command("git", "worktree", "add", "--detach", wt, rev).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git worktree add %s: %v\n%s", rev, err, out)
	}
	defer exec.Command("git", "worktree", "remove", "--force", wt).Run()
	bin := filepath.Join(dir, "onboarder-baseline")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/onboarder")
	cmd.Dir = wt
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", rev, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", err
	}
	return bin, nil
}
