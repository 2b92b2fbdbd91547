package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Targets (issue 6).
const (
	targetRatio   = 0.50      // end-to-end / slowest component, N = 10,000
	targetRSS     = 150 << 20 // peak RSS at N = 50,000
	targetIdleP50 = 500 * time.Millisecond
	targetIdleP99 = 2 * time.Second
)

type report struct {
	began                 time.Time
	took                  time.Duration
	machine, pgVersion    string
	commit, imapName      string
	quick                 bool
	cores                 int
	limitN                int // mails of the IMAP fetch and move probes
	appendRate, fetchRate float64
	moveRate, parseRate   float64
	pg1, pg4, sqlite1     float64
	smtpRate              float64
	drains                []drainResult
	idle                  *idleResult
}

// slowest is the lowest limit of the real components the drain goes
// through with this store: IMAP fetch, the database's commit rate (its
// best of 1 and 4 connections), SMTP.
func (r *report) slowest(dialect string) (float64, string) {
	db, name := max(r.pg1, r.pg4), "PostgreSQL commit"
	if dialect == "sqlite" {
		db, name = r.sqlite1, "SQLite commit"
	}
	lim, what := r.fetchRate, "IMAP fetch"
	if db < lim {
		lim, what = db, name
	}
	if r.smtpRate < lim {
		lim, what = r.smtpRate, "SMTP send"
	}
	return lim, what
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s, commit %s\n\n", r.began.UTC().Format("2006-01-02 15:04 MST"), strings.Fields(r.commit + " ?")[0])
	fmt.Fprintf(&b, "- date: %s (took %s)\n", r.began.UTC().Format("2006-01-02 15:04 MST"), r.took.Round(time.Second))
	fmt.Fprintf(&b, "- commit: %s\n", r.commit)
	fmt.Fprintf(&b, "- machine: %s\n", r.machine)
	fmt.Fprintf(&b, "- servers on loopback: IMAP %s; PostgreSQL %s (synchronous_commit on); SMTP go-smtp sink (accepts, discards)\n", r.imapName, r.pgVersion)
	fmt.Fprintf(&b, "- mails: ~4 KB multipart/alternative; %d partners; per 20 mails 17 requests (1 a duplicate), 1 needs_info, 1 auto-reply\n\n", partnerCount)

	b.WriteString("| measure | N | mails/s | of slowest limit | peak RSS | CPU s: worker / PostgreSQL / IMAP | target |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	row := func(what string, n int, rate float64, ratio, rss, cpu, target string) {
		ns := ""
		if n > 0 {
			ns = fmt.Sprintf("%d", n)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %s |\n", what, ns, rate, ratio, rss, cpu, target)
	}
	limN := r.limitN
	row("limit: IMAP APPEND, one at a time (the backlog is delivered as files)", 200, r.appendRate, "", "", "", "")
	row("limit: IMAP UID FETCH BODY.PEEK[], batches of 500", limN, r.fetchRate, "", "", "", "")
	row("limit: IMAP UID MOVE, batches of 500", limN, r.moveRate, "", "", "", "")
	row("limit: parse (go-message), one goroutine", 0, r.parseRate, "", "", "", "")
	row("limit: PostgreSQL commit, 1 insert/tx, 1 connection", 0, r.pg1, "", "", "", "")
	row("limit: PostgreSQL commit, 1 insert/tx, 4 connections", 0, r.pg4, "", "", "", "")
	row("limit: SQLite commit, 1 insert/tx (WAL, synchronous=NORMAL)", 0, r.sqlite1, "", "", "", "")
	row("limit: SMTP, go-mail over one connection", 0, r.smtpRate, "", "", "", "")
	for _, d := range r.drains {
		lim, what := r.slowest(d.dialect)
		store := "PostgreSQL"
		if d.dialect == "sqlite" {
			store = "SQLite"
		}
		mode := "`poll --once` + `outbox flush`"
		if d.mode == "run" {
			mode = "`run`"
		}
		extra := ""
		if d.mode == "poll" {
			extra = fmt.Sprintf(" (intake %.1fs, flush %.1fs)", d.intake.Seconds(), d.flush.Seconds())
		}
		target := ""
		switch {
		case d.n >= 50000:
			target = "RSS < 150 MB"
		case d.n >= 10000:
			target = "≥ 50% of slowest"
		}
		cpu := fmt.Sprintf("%.1f / %.1f / %.1f", d.cpuWorker.Seconds(), d.cpuPG.Seconds(), d.cpuIMAP.Seconds())
		row(fmt.Sprintf("drain, %s, %s%s", store, mode, extra), d.n, d.rate(),
			fmt.Sprintf("%.0f%% of %s", 100*d.rate()/lim, what), mb(d.maxRSS), cpu, target)
	}
	if r.idle != nil {
		i := r.idle
		fmt.Fprintf(&b, "| IDLE latency, APPEND → answer accepted (PostgreSQL, `run`) | %d | p50 %s, p95 %s, p99 %s (max %s) | | | | p50 < 500 ms, p99 < 2 s |\n",
			i.n, ms(i.p50), ms(i.p95), ms(i.p99), ms(i.max))
	}
	// The servers and the worker share the machine's cores, while each
	// limit above had them to itself: the CPU a drain spent per mail bounds
	// what any pipelining could reach here.
	var ceil []string
	for _, d := range r.drains {
		cpu := d.cpuWorker + d.cpuPG + d.cpuIMAP
		if d.cpuWorker == 0 || d.n < 10000 || d.n >= 50000 {
			continue
		}
		perMail := cpu.Seconds() / float64(d.n)
		ceil = append(ceil, fmt.Sprintf("- %s %s, N = %d: %.2f ms of CPU per mail (worker %.2f, database %.2f, IMAP %.2f; "+
			"the SMTP sink not counted): %d cores allow at most %.0f mails/s at that cost; the drain reached %.0f/s (%.0f%% of that)\n",
			d.dialect, d.mode, d.n, 1000*perMail, 1000*d.cpuWorker.Seconds()/float64(d.n), 1000*d.cpuPG.Seconds()/float64(d.n),
			1000*d.cpuIMAP.Seconds()/float64(d.n), r.cores, float64(r.cores)/perMail, d.rate(), 100*d.rate()*perMail/float64(r.cores)))
	}
	if len(ceil) > 0 {
		b.WriteString("\nThe worker, the database and the IMAP server share the machine; each limit above was measured alone.\n" +
			"CPU time per mail bounds the drain (SQLite runs inside the worker):\n\n" + strings.Join(ceil, ""))
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// check reports the targets that were missed (an error: make bench fails).
func (r *report) check() error {
	if r.quick {
		return nil // CI keeps the benchmark working; the figures are for this machine kind
	}
	var missed []string
	for _, d := range r.drains {
		lim, what := r.slowest(d.dialect)
		ratio := d.rate() / lim
		if d.n == 10000 && ratio < targetRatio {
			missed = append(missed, fmt.Sprintf("%s %s N=%d: %.0f%% of %s (target %.0f%%)", d.dialect, d.mode, d.n, 100*ratio, what, 100*targetRatio))
		}
		if d.n >= 50000 && d.maxRSS >= targetRSS {
			missed = append(missed, fmt.Sprintf("%s %s N=%d: peak RSS %s (target < 150 MB)", d.dialect, d.mode, d.n, mb(d.maxRSS)))
		}
	}
	if i := r.idle; i != nil && (i.p50 >= targetIdleP50 || i.p99 >= targetIdleP99) {
		missed = append(missed, fmt.Sprintf("IDLE p50 %s p99 %s (targets 500 ms, 2 s)", ms(i.p50), ms(i.p99)))
	}
	if len(missed) > 0 {
		return errors.New("targets missed:\n  " + strings.Join(missed, "\n  "))
	}
	return nil
}

// runsMarker ends the introduction of the log of runs; each run goes
// right below it, so the newest comes first.
const runsMarker = "<!-- runs, newest first: bench adds each run below this line -->\n"

// logRun adds run (a report's markdown) at the top of the log of runs in
// path, keeping the introduction and the earlier runs.
func logRun(path, run string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	doc := string(old)
	i := strings.Index(doc, runsMarker)
	if i < 0 {
		if doc != "" {
			doc = "\n" + doc
		}
		doc = "# onboarder benchmark: the log of runs\n\n" + runsMarker + doc
		i = strings.Index(doc, runsMarker)
	}
	i += len(runsMarker)
	doc = doc[:i] + "\n" + strings.TrimRight(run, "\n") + "\n" + doc[i:]
	return os.WriteFile(path, []byte(doc), 0o644)
}
