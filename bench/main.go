// Command bench measures how fast onboarder drains a mail backlog against
// real servers on loopback, next to each server's own limit measured in
// the same run, and adds the table to the log of runs in bench/results.md.
//
// It starts what it needs: an IMAP server (Dovecot through the end-to-end
// suite's script when given with -imap-url, else go-imap's in-process
// server), an SMTP sink (go-smtp, accepts and discards), and its own
// databases on the PostgreSQL cluster at -pg (created and dropped) and in
// SQLite files. The worker under test is the onboarder binary (-bin), run
// as the CLI contract says: `poll --once` + `outbox flush`, and `run`.
//
//	go build -o bin/onboarder ./cmd/onboarder && go run ./bench -bin bin/onboarder
//	go run ./bench -bin bin/onboarder -quick            # CI: N = 200, no 50,000 run
//	go run ./bench -cpuprofile cpu.out -profile run     # worker in-process, CPU profile of a 10,000 drain
//	go run ./bench -bin bin/onboarder -baseline 9cec0bd # against another commit, taking turns (compare.go)
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onboarder/onboarder/cli"
	"github.com/onboarder/onboarder/mailtest"
)

func main() {
	os.Exit(mainErr())
}

type options struct {
	bin          string
	pgURL        string
	imapURL      string
	out          string
	sizes        []int
	rssN         int
	sqliteN      int
	idleN        int
	quick        bool
	inProcIMAP   bool
	strict       bool
	cpuProfile   string
	memProfile   string
	baseline     string // the baseline binary (-baseline names one or a git revision to build)
	rounds       int
	baselineName string // how the log names the baseline
	profile      string
	profileDB    string
}

func parseFlags() (options, error) {
	var o options
	var sizes string
	flag.StringVar(&o.bin, "bin", "", "the onboarder binary (default: built into a temporary directory)")
	flag.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL maintenance database; the benchmark creates and drops its own databases beside it")
	flag.StringVar(&o.imapURL, "imap-url", "", "imap://user:pass@host:port of a running IMAP server; default: Dovecot started with scripts/e2e-servers.sh when dovecot is installed, else go-imap's in-process server")
	flag.BoolVar(&o.inProcIMAP, "inprocess-imap", false, "use go-imap's in-process IMAP server even when Dovecot is installed")
	flag.StringVar(&o.out, "out", "bench/results.md", "the log of runs the table is added to (empty: not written)")
	flag.StringVar(&sizes, "n", "1000,10000", "backlog sizes for the PostgreSQL drains")
	flag.IntVar(&o.rssN, "rss-n", 50000, "backlog size of the memory run (0: none)")
	flag.IntVar(&o.sqliteN, "sqlite-n", 10000, "backlog size of the SQLite drains (0: none)")
	flag.IntVar(&o.idleN, "idle-n", 200, "mails of the IDLE latency run (0: none)")
	flag.BoolVar(&o.strict, "strict", false, "exit 1 when a target is missed")
	flag.BoolVar(&o.quick, "quick", false, "CI size: -n 200 -rss-n 0 -sqlite-n 200 -idle-n 20, results not written")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "run the worker in this process for one drain and write its CPU profile here")
	flag.StringVar(&o.memProfile, "memprofile", "", "with -cpuprofile: also write the process's allocation profile here (the set-up commands' allocations included)")
	flag.StringVar(&o.profile, "profile", "run", "with -cpuprofile: which drain (run or poll) of the largest -n")
	flag.StringVar(&o.profileDB, "profile-db", "postgres", "with -cpuprofile: the store of the profiled drain (postgres or sqlite)")
	flag.StringVar(&o.baseline, "baseline", "", "compare with this git revision (or onboarder binary): the PostgreSQL and SQLite drains of the largest -n, taking turns with it -rounds times")
	flag.IntVar(&o.rounds, "rounds", 3, "with -baseline: drains of each shape with each binary")
	flag.Parse()
	if o.quick {
		sizes, o.rssN, o.sqliteN, o.idleN, o.out = "200", 0, 200, 20, ""
	}
	if o.baseline != "" && o.rounds < 1 {
		return o, fmt.Errorf("-rounds %d: want 1 or more drains of each shape with each binary", o.rounds)
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-n %q: want sizes like 1000,10000", sizes)
		}
		o.sizes = append(o.sizes, n)
	}
	return o, nil
}

func mainErr() int {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runBench(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func runBench(ctx context.Context, o options) error {
	began := time.Now()
	tmp, err := os.MkdirTemp("", "onboarder-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Dovecot and Postfix run as their own users and must reach their folders.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	b := &bench{tmp: tmp, runID: strconv.FormatInt(time.Now().Unix()%100000, 10)}

	if o.bin == "" && o.cpuProfile == "" {
		b.bin = filepath.Join(tmp, "onboarder")
		logf("building onboarder")
		if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/onboarder").CombinedOutput(); err != nil {
			return fmt.Errorf("building onboarder: %v\n%s", err, out)
		}
	} else if o.bin != "" {
		if b.bin, err = filepath.Abs(o.bin); err != nil {
			return err
		}
	}

	if o.baseline != "" {
		o.baselineName = o.baseline
		if st, err := os.Stat(o.baseline); err != nil || st.IsDir() {
			logf("building the baseline %s", o.baseline)
			if o.baseline, err = buildBaseline(o.baseline, tmp); err != nil {
				return err
			}
			if out, err := exec.Command("git", "rev-parse", "--short=12", o.baselineName).Output(); err == nil {
				o.baselineName = "commit " + strings.TrimSpace(string(out))
			}
		}
	}

	// Servers.
	if o.imapURL == "" && !o.inProcIMAP {
		t, err := startDovecot(tmp)
		if err != nil {
			logf("no Dovecot (%v): using go-imap's in-process server", err)
		} else {
			b.imap = t
		}
	}
	switch {
	case b.imap.addr != "":
	case o.imapURL != "":
		u, err := url.Parse(o.imapURL)
		if err != nil || u.User == nil {
			return fmt.Errorf("-imap-url %q: want imap://user:pass@host:port", o.imapURL)
		}
		pw, _ := u.User.Password()
		b.imap = imapTarget{name: "IMAP server at " + u.Host, addr: u.Host, user: u.User.Username(), password: pw, close: func() {}}
	default:
		srv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Username: "partners", Password: "bench",
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		b.imap = imapTarget{name: "go-imap in-process server (no Dovecot)", addr: srv.Addr(), user: "partners", password: "bench",
			close: func() { srv.Close() }}
	}
	defer b.imap.close()
	if b.sink, err = startSink(); err != nil {
		return err
	}
	defer b.sink.close()
	pgdb, err := sql.Open("pgx", o.pgURL)
	if err != nil {
		return err
	}
	defer pgdb.Close()
	if err := pgdb.PingContext(ctx); err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", o.pgURL, err)
	}
	b.pg = &pgAdmin{url: o.pgURL, db: pgdb, pid: os.Getpid()}

	if o.cpuProfile != "" {
		return b.profileDrain(ctx, o)
	}
	if o.baseline != "" {
		return b.compare(ctx, o)
	}

	r := &report{began: began, imapName: b.imap.name, quick: o.quick, cores: runtime.NumCPU()}
	r.machine, r.pgVersion = machine(ctx, pgdb)
	r.commit = gitCommit()

	// 1. Component limits.
	limitN := o.sizes[len(o.sizes)-1]
	r.limitN = limitN
	logf("component limits (%d mails)", limitN)
	if r.appendRate, r.fetchRate, r.moveRate, err = b.imapLimits(limitN); err != nil {
		return err
	}
	r.parseRate = parseRate(b.runID, max(2000, limitN))
	db, err := b.newDatabase(ctx, "postgres")
	if err != nil {
		return err
	}
	dsn := db.url
	probe := 3 * time.Second
	if o.quick {
		probe = time.Second
	}
	if r.pg1, err = commitRate(ctx, "pgx", dsn, 1, probe); err == nil {
		r.pg4, err = commitRate(ctx, "pgx", dsn, 4, probe)
	}
	db.drop()
	if err != nil {
		return err
	}
	if r.sqlite1, err = commitRate(ctx, "sqlite", sqliteDSN(filepath.Join(tmp, "probe.db")), 1, probe); err != nil {
		return err
	}
	if r.smtpRate, err = smtpRate(b.sink, min(limitN, 5000)); err != nil {
		return err
	}
	logf("limits: fetch %.0f/s, move %.0f/s, parse %.0f/s, pg %.0f/s (1) %.0f/s (4), sqlite %.0f/s, smtp %.0f/s",
		r.fetchRate, r.moveRate, r.parseRate, r.pg1, r.pg4, r.sqlite1, r.smtpRate)

	// 2. Backlog drains.
	type job struct {
		dialect, mode string
		n             int
	}
	var jobs []job
	for _, n := range o.sizes {
		jobs = append(jobs, job{"postgres", "poll", n}, job{"postgres", "run", n})
	}
	// SQLite (the default, one worker) as it is deployed: `run`. The
	// memory run as one pass over the whole backlog (`poll --once` with
	// ONBOARDER_POLL_BATCH = N), the shape that would grow with it.
	if o.sqliteN > 0 {
		jobs = append(jobs, job{"sqlite", "run", o.sqliteN})
	}
	if o.rssN > 0 {
		jobs = append(jobs, job{"postgres", "poll", o.rssN})
	}
	for _, j := range jobs {
		logf("drain: %s, %s, N = %d", j.dialect, j.mode, j.n)
		d, err := b.drain(ctx, j.dialect, j.mode, j.n)
		if err != nil {
			return fmt.Errorf("drain %s %s %d: %w", j.dialect, j.mode, j.n, err)
		}
		logf("  %.1fs, %.0f mails/s, peak RSS %.0f MB", d.took.Seconds(), d.rate(), float64(d.maxRSS)/(1<<20))
		r.drains = append(r.drains, d)
	}

	// 3. IDLE latency.
	if o.idleN > 0 {
		logf("IDLE latency: %d mails", o.idleN)
		ir, err := b.idle(ctx, "postgres", o.idleN)
		if err != nil {
			return fmt.Errorf("IDLE latency: %w", err)
		}
		r.idle = &ir
	}
	r.took = time.Since(began)

	table := r.markdown()
	fmt.Println(table)
	if o.out != "" {
		if err := logRun(o.out, table); err != nil {
			return err
		}
		logf("added the run to %s", o.out)
	}
	if err := r.check(); err != nil {
		if o.strict {
			return err
		}
		logf("%v", err)
	}
	return nil
}

func (b *bench) imapLimits(n int) (float64, float64, float64, error) {
	b.seq++
	return imapLimits(b.imap, fmt.Sprintf("%s-%d", b.runID, b.seq), n)
}

// profileDrain runs one drain with the worker inside this process under
// the CPU profiler (the in-process IMAP server and the sink show up in the
// profile too, under their own packages).
func (b *bench) profileDrain(ctx context.Context, o options) error {
	var mu sync.Mutex
	b.inProcess = func(ctx context.Context, env []string, args ...string) error {
		mu.Lock()
		defer mu.Unlock()
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "ONBOARDER_") {
				os.Unsetenv(strings.SplitN(kv, "=", 2)[0])
			}
		}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, "ONBOARDER_") {
				os.Setenv(k, v)
			}
		}
		var errOut strings.Builder
		if code := cli.Main(ctx, args, io.Discard, &errOut); code != 0 && ctx.Err() == nil {
			return fmt.Errorf("onboarder %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
		return nil
	}
	// Set-up commands run in-process too (no binary needed).
	b.bin = ""
	f, err := os.Create(o.cpuProfile)
	if err != nil {
		return err
	}
	defer f.Close()
	n := o.sizes[len(o.sizes)-1]
	b.delivered = func() error { return pprof.StartCPUProfile(f) } // the drain, not the delivery
	d, err := b.drain(ctx, o.profileDB, o.profile, n)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if o.memProfile != "" {
		mf, err := os.Create(o.memProfile)
		if err != nil {
			return err
		}
		defer mf.Close()
		if err := pprof.Lookup("allocs").WriteTo(mf, 0); err != nil {
			return err
		}
	}
	logf("profiled drain: %s %d: %.1fs, %.0f mails/s (intake %.1fs, flush %.1fs)", o.profile, n, d.took.Seconds(), d.rate(), d.intake.Seconds(), d.flush.Seconds())
	return nil
}

func machine(ctx context.Context, db *sql.DB) (string, string) {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/(1<<20))
		}
	}
	var v string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		v = "?"
	}
	return fmt.Sprintf("%d × %s%s, %s/%s, %s", runtime.NumCPU(), model, mem, runtime.GOOS, runtime.GOARCH, runtime.Version()), v
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!*.md").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}
