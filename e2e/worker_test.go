package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// syncBuffer collects a process's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is one `onboarder run` process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *syncBuffer
	http string
	// admin serves /metrics (ONBOARDER_ADMIN_ADDR); every worker has its own.
	admin string
	done  chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startWorker starts `onboarder run` with h's environment plus env.
func startWorker(t *testing.T, h *clitest.Harness, env ...string) *proc {
	t.Helper()
	p := &proc{t: t, log: &syncBuffer{}, http: freeAddr(t), admin: freeAddr(t), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "run")
	p.cmd.Env = append(append(append([]string{}, h.Env...), "ONBOARDER_HTTP_ADDR="+p.http, "ONBOARDER_ADMIN_ADDR="+p.admin,
		"ONBOARDER_LOG_LEVEL=info"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("log of worker %d:\n%s", p.cmd.Process.Pid, tail(p.log.String(), 60))
		}
	})
	// Ready when the web server answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + p.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("onboarder run exited at start:\n%s", p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("onboarder run did not come up:\n%s", p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits (at most 30s).
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Errorf("worker did not stop within 30s of SIGTERM")
		p.kill()
	}
}

// metric returns the sum of every series of the named metric whose labels
// contain all of labels (e.g. `result="error"`); 0 when there is none.
func (p *proc) metric(name string, labels ...string) float64 {
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0.0
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// readyz returns /readyz's status code.
func (p *proc) readyz() int {
	resp, err := http.Get("http://" + p.http + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually waits (at most d) until f returns true, checking every 100ms.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !f() {
		if time.Since(start) > d {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// dbOf opens the harness's database directly (for what the CLI does not
// show, and to let time pass for leases).
func dbOf(t *testing.T, h *clitest.Harness) *store.Store {
	t.Helper()
	for _, kv := range h.Env {
		if u, ok := strings.CutPrefix(kv, "ONBOARDER_DATABASE_URL="); ok {
			return storetest.Open(t, u)
		}
	}
	t.Fatal("no database URL")
	return nil
}

// expireOutboxLeases lets the outbox leases of a killed worker (holder;
// "" when it was the only one) run out, as they would after the lease
// period (ONBOARDER_OUTBOX_LEASE). Live workers' leases stay: taking a
// row from a worker that is sending it would send it twice.
func expireOutboxLeases(t *testing.T, st *store.Store, holder string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := "UPDATE outbox_mails SET locked_until = now() - interval '1 second' WHERE locked_until IS NOT NULL AND status = 'pending'"
	var err error
	if holder == "" {
		err = st.Exec(ctx, q)
	} else {
		err = st.Exec(ctx, q+" AND locked_by = ?", holder)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// acmeWorld is the one partner of the fault tests: any sender of acme.example.
var acmeWorld = clitest.World{Mailbox: "partners@onboarding.example", TrustedAuthservID: "mx.onboarding.example"}

const orgsHeader = "id,name,status,admin_name,admin_email,country,locale\n"

// seedAcme registers partner Acme (the whole domain acme.example) and n
// active organizations, and returns their IDs.
func seedAcme(t *testing.T, h *clitest.Harness, n int) []string {
	t.Helper()
	h.Run("migrate")
	h.Run("partners", "add", "--name", "Acme", "--domain", "acme.example", "--locale", "en")
	var b strings.Builder
	b.WriteString(orgsHeader)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("9b2e4d6f-1a3c-4e5b-8d7f-%012d", i)
		fmt.Fprintf(&b, "%s,Globex %d,active,Hank %d,admin%d@globex.example,US,en\n", ids[i], i, i, i)
	}
	path := t.TempDir() + "/orgs.csv"
	writeFile(t, path, b.String())
	h.Run("orgs", "import", path)
	return ids
}

// request is a request mail from sender for organization org.
func request(msgID, sender, org string, i int) []byte {
	return fmt.Appendf(nil, "From: %s\r\nTo: partners@onboarding.example\r\nMessage-ID: <%s>\r\n"+
		"Date: Mon, 01 Dec 2025 10:00:00 +0000\r\nSubject: Please establish reseller connection to customer Globex %d\r\n\r\n"+
		"Hello,\r\n\r\nOrganization ID: %s\r\n\r\nThanks\r\n", sender, msgID, i, org)
}
