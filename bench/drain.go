package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// bench holds what every scenario shares.
type bench struct {
	bin   string // the onboarder binary
	tmp   string
	imap  imapTarget
	sink  *sink
	pg    *pgAdmin
	seq   int
	runID string
	// inProcess runs the worker in this process (for -cpuprofile).
	inProcess func(ctx context.Context, env []string, args ...string) error
	// delivered, when set, runs once the backlog is in the mailbox and
	// before the worker starts (the CPU profile starts there).
	delivered func() error
}

// database is one scenario's store.
type database struct {
	dialect string // "postgres" or "sqlite"
	url     string
	drop    func()
}

func (b *bench) newDatabase(ctx context.Context, dialect string) (database, error) {
	if dialect == "sqlite" {
		b.seq++
		dir := filepath.Join(b.tmp, fmt.Sprintf("sqlite-%d", b.seq))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return database{}, err
		}
		return database{dialect: dialect, url: "sqlite:" + filepath.Join(dir, "onboarder.db"), drop: func() { os.RemoveAll(dir) }}, nil
	}
	name, u, err := b.pg.create(ctx)
	if err != nil {
		return database{}, err
	}
	return database{dialect: dialect, url: u, drop: func() { b.pg.drop(name) }}, nil
}

// workerEnv is the worker's configuration for one scenario.
func (b *bench) workerEnv(db database, mailbox string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + b.tmp,
		"ONBOARDER_DATABASE_URL=" + db.url,
		"ONBOARDER_IMAP_URL=" + b.imap.workerURL(mailbox),
		"ONBOARDER_IMAP_PROCESSED_FOLDER=" + mailbox + "-done",
		"ONBOARDER_SMTP_URL=" + b.sink.url(),
		"ONBOARDER_MAIL_FROM=Partner Onboarding <partners@onboarding.example>",
		"ONBOARDER_PUBLIC_URL=http://127.0.0.1:9",
		"ONBOARDER_HTTP_ADDR=127.0.0.1:0",
		"ONBOARDER_ADMIN_ADDR=none",
		"ONBOARDER_LOG_LEVEL=warn",
		// A backlog day: a partner's bulk campaign is expected, so ops lift
		// the answer limits (security defaults: 20 per address, 100 per
		// partner and hour) that would otherwise hold most answers.
		"ONBOARDER_ANSWER_LIMIT_SENDER=1000000",
		"ONBOARDER_ANSWER_LIMIT_PARTNER=1000000",
	}
	return append(env, extra...)
}

// proc is one finished worker command.
type proc struct {
	out    string
	maxRSS int64         // bytes
	cpu    time.Duration // user + system
}

// run runs the worker binary to its end.
func (b *bench) run(ctx context.Context, env []string, args ...string) (proc, error) {
	if b.inProcess != nil {
		return proc{}, b.inProcess(ctx, env, args...)
	}
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return proc{}, err
	}
	hwm := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	p := proc{out: out.String(), maxRSS: hwm(), cpu: cpuUsed(cmd)}
	if err != nil {
		return p, fmt.Errorf("onboarder %s: %w\n%s", strings.Join(args, " "), err, p.out)
	}
	return p, nil
}

// prepare migrates db and registers the partners and the organizations
// of mails [0, n).
func (b *bench) prepare(ctx context.Context, db database, n int) error {
	env := b.workerEnv(db, "INBOX")
	if _, err := b.run(ctx, env, "migrate"); err != nil {
		return err
	}
	for p := 0; p < partnerCount; p++ {
		if _, err := b.run(ctx, env, "partners", "add", "--name", fmt.Sprintf("Partner %d GmbH", p),
			"--domain", partnerDomain(p), "--ref", fmt.Sprintf("MPN-%04d", 4700+p)); err != nil {
			return err
		}
	}
	csv := filepath.Join(b.tmp, fmt.Sprintf("orgs-%d.csv", n))
	if _, err := os.Stat(csv); err != nil {
		if err := os.WriteFile(csv, []byte(orgsCSV(n)), 0o644); err != nil {
			return err
		}
	}
	_, err := b.run(ctx, env, "orgs", "import", csv)
	return err
}

// drainResult is one timed backlog drain.
type drainResult struct {
	dialect, mode string
	n             int
	took          time.Duration
	intake, flush time.Duration // poll mode: the two commands
	maxRSS        int64
	// CPU time spent during the drain by the worker (0 when it ran in
	// this process), PostgreSQL (all its processes) and the IMAP server.
	cpuWorker, cpuPG, cpuIMAP time.Duration
}

func (r drainResult) rate() float64 { return rate(r.n, r.took) }

// drain appends n mails to a fresh mailbox and database, then times the
// worker until every answer was accepted by the SMTP sink: mode "poll" is
// `poll --once` then `outbox flush`; mode "run" is `run` by itself.
func (b *bench) drain(ctx context.Context, dialect, mode string, n int) (res drainResult, rerr error) {
	res = drainResult{dialect: dialect, mode: mode, n: n}
	db, err := b.newDatabase(ctx, dialect)
	if err != nil {
		return res, err
	}
	defer db.drop()
	if err := b.prepare(ctx, db, n); err != nil {
		return res, err
	}
	b.seq++
	mailbox := fmt.Sprintf("bench-%s-%d", b.runID, b.seq)
	seq := fmt.Sprintf("%s-%d", b.runID, b.seq)
	if err := b.imap.deliver(mailbox, n, func(i int) []byte { return requestMail(seq, i) }); err != nil {
		return res, err
	}
	if b.delivered != nil {
		if err := b.delivered(); err != nil {
			return res, err
		}
	}
	want := b.sink.accepted.Load() + int64(answers(n))
	dctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()

	meter := startCPU()
	switch mode {
	case "poll":
		env := b.workerEnv(db, mailbox, fmt.Sprintf("ONBOARDER_POLL_BATCH=%d", n))
		start := time.Now()
		p1, err := b.run(dctx, env, "poll", "--once")
		if err != nil {
			return res, err
		}
		res.intake = time.Since(start)
		p2, err := b.run(dctx, env, "outbox", "flush")
		if err != nil {
			return res, err
		}
		if err := b.sink.waitFor(dctx, want); err != nil {
			return res, err
		}
		res.took = time.Since(start)
		res.flush = res.took - res.intake
		res.maxRSS = max(p1.maxRSS, p2.maxRSS)
		res.cpuWorker = p1.cpu + p2.cpu
		res.cpuPG, res.cpuIMAP = meter.since()
	case "run":
		env := b.workerEnv(db, mailbox, "ONBOARDER_POLL_SCHEDULE=@every 1h")
		start := time.Now()
		stop, wait, err := b.startWorker(dctx, env, "run")
		if err != nil {
			return res, err
		}
		werr := b.sink.waitFor(dctx, want)
		res.took = time.Since(start)
		res.cpuPG, res.cpuIMAP = meter.since()
		defer func() { // after the mailbox check below
			stop()
			p, err := wait()
			res.maxRSS, res.cpuWorker = p.maxRSS, p.cpu
			if werr != nil {
				err = fmt.Errorf("%w\n%s", werr, p.out)
			}
			if err != nil && rerr == nil {
				rerr = err
			}
		}()
		if werr != nil {
			return res, werr
		}
	}
	if got := b.sink.accepted.Load(); got != want {
		return res, fmt.Errorf("the sink accepted %d answers, want %d", got-(want-int64(answers(n))), answers(n))
	}
	// The last answers may be accepted before their chunk is moved.
	for wait := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left, err := b.imap.count(mailbox)
		if err != nil {
			return res, err
		}
		if left == 0 {
			return res, nil
		}
		if time.Now().After(wait) {
			return res, fmt.Errorf("%d of %d mails are still in %s after the drain", left, n, mailbox)
		}
	}
}

// startWorker starts a long-running worker; stop asks it to end (SIGTERM),
// wait waits for it.
func (b *bench) startWorker(ctx context.Context, env []string, args ...string) (stop func(), wait func() (proc, error), err error) {
	if b.inProcess != nil {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- b.inProcess(wctx, env, args...) }()
		return cancel, func() (proc, error) { return proc{}, <-done }, nil
	}
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	hwm := watchRSS(cmd.Process.Pid)
	stop = func() { cmd.Process.Signal(syscall.SIGTERM) } //nolint:errcheck
	wait = func() (proc, error) {
		err := cmd.Wait()
		p := proc{out: out.String(), maxRSS: hwm(), cpu: cpuUsed(cmd)}
		if err != nil {
			return p, fmt.Errorf("onboarder %s: %w\n%s", strings.Join(args, " "), err, p.out)
		}
		return p, nil
	}
	return stop, wait, nil
}

// idleResult is the APPEND-to-answer latency of mails delivered one at a
// time to a worker waiting in IDLE.
type idleResult struct {
	dialect       string
	n             int
	p50, p95, p99 time.Duration
	max           time.Duration
}

// idle starts `run` with IDLE on an empty mailbox, appends n requests one at
// a time at random intervals, and measures from the end of each APPEND to
// the SMTP sink accepting the answer.
func (b *bench) idle(ctx context.Context, dialect string, n int) (idleResult, error) {
	res := idleResult{dialect: dialect, n: n}
	db, err := b.newDatabase(ctx, dialect)
	if err != nil {
		return res, err
	}
	defer db.drop()
	// Requests only (every one is answered), each its own organization.
	var idx []int
	for i := 0; len(idx) < n; i++ {
		if kindOf(i) == kindRequest {
			idx = append(idx, i)
		}
	}
	if err := b.prepare(ctx, db, idx[len(idx)-1]+1); err != nil {
		return res, err
	}
	b.seq++
	mailbox := fmt.Sprintf("bench-%s-%d", b.runID, b.seq)
	seq := fmt.Sprintf("%s-%d", b.runID, b.seq)
	if err := b.imap.appendAll(mailbox, 0, nil); err != nil {
		return res, err
	}
	env := b.workerEnv(db, mailbox, "ONBOARDER_POLL_SCHEDULE=@every 1h", "ONBOARDER_IMAP_IDLE=true")
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	stop, wait, err := b.startWorker(ictx, env, "run")
	if err != nil {
		return res, err
	}
	defer func() {
		stop()
		wait() //nolint:errcheck // the result is the latencies
	}()
	time.Sleep(2 * time.Second) // connected and in IDLE

	c, err := b.imap.dial()
	if err != nil {
		return res, err
	}
	defer c.Close()
	b.sink.setTracking(true)
	defer b.sink.setTracking(false)
	appended := make(map[string]time.Time, n)
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	for _, i := range idx {
		raw := requestMail(seq, i)
		cmd := c.Append(mailbox, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			return res, err
		}
		if err := cmd.Close(); err != nil {
			return res, err
		}
		if _, err := cmd.Wait(); err != nil {
			return res, fmt.Errorf("appending: %w", err)
		}
		appended[fmt.Sprintf("bench-%s-%d@%s", seq, i, partnerDomain(i%partnerCount))] = time.Now()
		time.Sleep(time.Duration(10+rng.IntN(140)) * time.Millisecond)
	}
	var lat []time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for id, at := range appended {
		for {
			if t, ok := b.sink.answerTime("<" + id + ">"); ok {
				lat = append(lat, t.Sub(at))
				break
			}
			if t, ok := b.sink.answerTime(id); ok {
				lat = append(lat, t.Sub(at))
				break
			}
			if time.Now().After(deadline) {
				return res, fmt.Errorf("no answer to %s within 30s of the last APPEND (%d of %d answered)", id, len(lat), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res.p50, res.p95, res.p99, res.max = pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1]
	return res, nil
}

// watchRSS samples the process's peak resident set (VmHWM) every 50 ms
// until the returned function is called (after Wait), which gives the last
// value seen. rusage's Maxrss cannot be used: on Linux a child's includes
// the RSS of this process at the moment of exec.
func watchRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb*1024 > peak.Load() {
						peak.Store(kb * 1024)
					}
				}
			}
		}
	}
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// cpuUsed is the CPU time a finished command took.
func cpuUsed(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}
