package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/web"
	"github.com/onboarder/onboarder/workflow"
)

// loopback is trusted as a proxy by the servers of these tests, so that
// X-Forwarded-For can play the client's address.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// server starts another web server (as another worker would) with its own
// workflow service on st and the fixture's clock.
func (f *fixture) server(st *store.Store, opts web.Options) *client {
	f.t.Helper()
	tpl, err := templates.Load("")
	storetest.Must(f.t, err)
	log := slog.New(slog.NewTextHandler(testLogWriter{f.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	wf, err := workflow.New(st, workflow.Options{
		From:      mail.Address{Name: "Partner Onboarding", Address: "partners@onboarding.example"},
		PublicURL: f.srv.URL, Templates: tpl, Logger: log, Now: f.clock.Now,
	})
	storetest.Must(f.t, err)
	opts.Workflow, opts.Logger, opts.Now = wf, log, f.clock.Now
	srv := httptest.NewServer(web.New(opts))
	f.t.Cleanup(srv.Close)
	c := f.client()
	c.base = srv.URL
	return c
}

// try logs in from a client address and returns the status and Retry-After.
func (c *client) try(from, email, password string) (int, int) {
	c.t.Helper()
	r := c.post("/ops/login", url.Values{"email": {email}, "password": {password}}, "X-Forwarded-For", from)
	ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	return r.Status, ra
}

// eachTwice runs fn on every dialect with two handles on one database, as
// two workers have.
func eachTwice(t *testing.T, fn func(t *testing.T, url string, st1, st2 *store.Store)) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			fn(t, db.URL, storetest.Open(t, db.URL), storetest.Open(t, db.URL))
		})
	}
}

// The limiter lives in the database: two workers count the same failures,
// a restarted one remembers them, and they slow an address down with
// growing delays without locking the user out from another address.
func TestLoginLimiterShared(t *testing.T) {
	eachTwice(t, func(t *testing.T, dbURL string, st1, st2 *store.Store) {
		f := newFixture(t, st1, "")
		a := f.server(st1, web.Options{TrustedProxies: loopback})
		b := f.server(st2, web.Options{TrustedProxies: loopback})
		const attacker, office = "203.0.113.9", "198.51.100.20"
		for i := range 5 {
			c := a
			if i%2 == 1 {
				c = b
			}
			if st, _ := c.try(attacker, opsEmail, fmt.Sprint("guess ", i)); st != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d", i, st)
			}
		}
		// Five failures over two workers: both hold the address back, and
		// so does a worker started afterwards.
		restarted := f.server(storetest.Open(t, dbURL), web.Options{TrustedProxies: loopback})
		for name, c := range map[string]*client{"a": a, "b": b, "restarted": restarted} {
			if st, ra := c.try(attacker, opsEmail, opsPassword); st != http.StatusTooManyRequests || ra < 1 {
				t.Errorf("worker %s after 5 failures: %d Retry-After %d, want 429", name, st, ra)
			}
		}
		// The user, from another address, gets in at once.
		if st, _ := b.try(office, opsEmail, opsPassword); st != http.StatusSeeOther {
			t.Fatalf("the user from another address: %d, want a login", st)
		}
		// The waits grow: 1s, 2s, 4s, 8s after the 5th, 6th, 7th, 8th failure.
		for i, wait := range []int{1, 2, 4, 8} {
			if st, ra := a.try(attacker, opsEmail, "guess again"); st != http.StatusTooManyRequests || ra != wait+1 {
				t.Fatalf("step %d before the wait: %d Retry-After %d, want 429 and %d", i, st, ra, wait+1)
			}
			f.clock.Add(time.Duration(wait) * time.Second)
			if st, _ := b.try(attacker, opsEmail, "guess again"); st != http.StatusUnauthorized {
				t.Fatalf("step %d after %ds: %d, want the guess checked", i, wait, st)
			}
		}
		// ... to at most 15 minutes.
		for range 12 {
			f.clock.Add(workflow.LoginMaxDelay)
			a.try(attacker, opsEmail, "guess again")
		}
		if st, ra := a.try(attacker, opsEmail, opsPassword); st != http.StatusTooManyRequests || ra != 901 {
			t.Errorf("after many failures: %d Retry-After %d, want 429 and 901", st, ra)
		}
		// Hammering while refused does not extend the wait.
		f.clock.Add(workflow.LoginMaxDelay)
		if st, _ := a.try(attacker, opsEmail, opsPassword); st != http.StatusSeeOther {
			t.Errorf("after the wait: %d, want a login", st)
		}
	})
}

// Someone guessing a user's password from many addresses slows the user's
// tally down but cannot keep the user out: a fresh address logs in at once,
// and an address that failed for the user waits at most LoginMaxDelay.
func TestLoginLimiterNoLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.server(st, web.Options{TrustedProxies: loopback})
		for i := range 40 {
			c.try(fmt.Sprintf("203.0.113.%d", i), opsEmail, "botnet guess")
		}
		// Each address got one guess: the user's tally blocks the address
		// once it failed, though the address itself is below its limit.
		if st, _ := c.try("203.0.113.7", opsEmail, "second guess"); st != http.StatusTooManyRequests {
			t.Errorf("a second guess from a botnet address: %d, want 429", st)
		}
		if st, _ := c.try("192.0.2.44", opsEmail, opsPassword); st != http.StatusSeeOther {
			t.Fatalf("the user from a fresh address: %d, want a login", st)
		}
		// The user makes a typo from a fresh address while the botnet goes on.
		for i := range 40 {
			c.try(fmt.Sprintf("203.0.114.%d", i), opsEmail, "botnet guess")
		}
		if st, _ := c.try("192.0.2.45", opsEmail, "typo"); st != http.StatusUnauthorized {
			t.Fatalf("typo: %d", st)
		}
		st1, ra := c.try("192.0.2.45", opsEmail, opsPassword)
		if st1 != http.StatusTooManyRequests || ra > int(workflow.LoginMaxDelay/time.Second)+1 {
			t.Fatalf("after a typo: %d Retry-After %d, want 429 within %s", st1, ra, workflow.LoginMaxDelay)
		}
		f.clock.Add(time.Duration(ra) * time.Second)
		if st, _ := c.try("192.0.2.45", opsEmail, opsPassword); st != http.StatusSeeOther {
			t.Errorf("after the wait: %d, want a login", st)
		}
	})
}

// The table of tallies has no capacity: many keys in it do not stop new
// ones from being counted, and tallies go a day after their last failure.
func TestLoginLimiterFlood(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.server(st, web.Options{TrustedProxies: loopback})
		ctx := context.Background()
		for batch := range 12 {
			keys := make([]string, 0, 1000)
			for i := range 1000 {
				keys = append(keys, fmt.Sprintf("user:flood-%d-%d@example.com", batch, i))
			}
			storetest.Must(t, st.Transact(ctx, func(q *store.Q) error {
				_, err := q.LockLoginLimits(keys, f.clock.Now())
				return err
			}))
		}
		for i := range 5 {
			if st, _ := c.try("203.0.113.50", opsEmail, fmt.Sprint("guess ", i)); st != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d", i, st)
			}
		}
		if st, _ := c.try("203.0.113.50", opsEmail, opsPassword); st != http.StatusTooManyRequests {
			t.Errorf("after 12000 keys and 5 failures: %d, want 429", st)
		}
		// A day later the flood is pruned, and the address forgiven.
		f.clock.Add(workflow.LoginForget + time.Minute)
		if st, _ := c.try("203.0.113.50", opsEmail, opsPassword); st != http.StatusSeeOther {
			t.Errorf("a day later: %d, want a login", st)
		}
		n, err := st.Q(ctx).CountLoginLimits()
		storetest.Must(t, err)
		if n > 3 {
			t.Errorf("%d tallies left a day later, want the flood pruned", n)
		}
	})
}

// A client address from X-Forwarded-For counts only when the peer is a
// trusted proxy: otherwise a client could name a fresh address every time.
func TestLoginLimiterIgnoresUntrustedForwardedFor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.server(st, web.Options{})
		for i := range 5 {
			c.try(fmt.Sprintf("203.0.113.%d", i), opsEmail, "guess")
		}
		if st, _ := c.try("203.0.113.99", opsEmail, opsPassword); st != http.StatusTooManyRequests {
			t.Errorf("spoofed X-Forwarded-For: %d, want 429 for the peer's address", st)
		}
	})
}

// A session ends at its maximum age however active it is.
func TestSessionMaxAge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		for _, step := range []time.Duration{8 * time.Hour, 8 * time.Hour, 7*time.Hour + 58*time.Minute} {
			f.clock.Add(step)
			if r := c.get("/ops/"); r.Status != http.StatusOK {
				t.Fatalf("active session: %d", r.Status)
			}
		}
		f.clock.Add(3 * time.Minute) // 24h01m after the login, 3 minutes after the last page
		if r := c.get("/ops/"); r.Status != http.StatusSeeOther {
			t.Errorf("after 24h: %d, want a redirect to the login", r.Status)
		}
	})
}

// A disabled user's session ends at once and the user cannot log in; the
// login page says no more than for a wrong password.
func TestDisabledOpsUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		storetest.Must(t, f.wf.DisableOpsUser(context.Background(), opsEmail, "admin@onboarding.example"))
		if r := c.get("/ops/"); r.Status != http.StatusSeeOther {
			t.Errorf("disabled user's session: %d, want a redirect to the login", r.Status)
		}
		r := c.post("/ops/login", url.Values{"email": {opsEmail}, "password": {opsPassword}})
		if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong e-mail address or password") {
			t.Errorf("disabled user's login: %d", r.Status)
		}
		storetest.Must(t, f.wf.EnableOpsUser(context.Background(), opsEmail, "admin@onboarding.example"))
		c.login()
	})
}

// countingBody counts what the handler reads of a request body.
type countingBody struct {
	r io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b countingBody) Close() error { return b.r.Close() }

// A body sent with a GET is never read, even one that claims to be a form:
// 40 MiB to GET / or an invitation page cost nothing.
func TestGETBodyNeverRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		h := web.New(web.Options{Workflow: f.wf})
		var read atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = countingBody{r.Body, &read}
			h.ServeHTTP(w, r)
		}))
		defer srv.Close()
		for _, path := range []string{"/", "/invite/x", "/?lang=de"} {
			read.Store(0)
			const size = 40 << 20
			var sent atomic.Int64
			body := io.MultiReader(strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"lang\"\r\n\r\n"),
				&countingReader{r: io.LimitReader(zeros{}, size), n: &sent}, strings.NewReader("\r\n--b--\r\n"))
			req, _ := http.NewRequest("GET", srv.URL+path, body)
			req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			if err != nil {
				cancel()
				t.Fatalf("GET %s with a body: %v", path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cancel()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d", path, resp.StatusCode)
			}
			if n := read.Load(); n != 0 {
				t.Errorf("GET %s: the handler read %d bytes of the body", path, n)
			}
			if n := sent.Load(); n > size/2 {
				t.Errorf("GET %s: the server took %d bytes of the body", path, n)
			}
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Every handler sees at most 64 KiB of a body, however it reads it.
func TestPOSTBodyCapped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		h := web.New(web.Options{Workflow: f.wf})
		var read atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = countingBody{r.Body, &read}
			h.ServeHTTP(w, r)
		}))
		defer srv.Close()
		for _, path := range []string{"/ops/login", "/invite/x/decline", "/ops/logout"} {
			read.Store(0)
			req, _ := http.NewRequest("POST", srv.URL+path, io.LimitReader(zeros{}, 8<<20))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if n := read.Load(); n > 64<<10+4096 {
				t.Errorf("POST %s: the handler read %d bytes", path, n)
			}
		}
	})
}

// The public listener answers the probes without detail; metrics and the
// reason a probe fails are on the admin handler only.
func TestProbesPublicAndAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		reg := prometheus.NewRegistry()
		reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "onboarder_test_total"}))
		var ready atomic.Bool
		h := web.New(web.Options{Workflow: f.wf, Gatherer: reg, Ready: func(context.Context) error {
			if ready.Load() {
				return nil
			}
			return fmt.Errorf("database unreachable: dial tcp 10.1.2.3:5432: connection refused")
		}})
		pub := httptest.NewServer(h)
		defer pub.Close()
		adm := httptest.NewServer(h.Admin())
		defer adm.Close()
		get := func(base, path string) (int, string) {
			t.Helper()
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get(pub.URL, "/readyz"); code != http.StatusServiceUnavailable || body != "not ready\n" {
			t.Errorf("public /readyz: %d %q, want 503 without detail", code, body)
		}
		if code, body := get(adm.URL, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database unreachable") {
			t.Errorf("admin /readyz: %d %q, want 503 with the reason", code, body)
		}
		if code, _ := get(pub.URL, "/metrics"); code != http.StatusNotFound {
			t.Errorf("public /metrics: %d, want 404", code)
		}
		if code, body := get(adm.URL, "/metrics"); code != http.StatusOK || !strings.Contains(body, "onboarder_test_total") {
			t.Errorf("admin /metrics: %d", code)
		}
		ready.Store(true)
		for _, base := range []string{pub.URL, adm.URL} {
			if code, body := get(base, "/readyz"); code != http.StatusOK || body != "ready\n" {
				t.Errorf("%s/readyz when ready: %d %q", base, code, body)
			}
			if code, _ := get(base, "/healthz"); code != http.StatusOK {
				t.Errorf("%s/healthz: %d", base, code)
			}
		}
		if code, _ := get(adm.URL, "/ops/"); code != http.StatusNotFound {
			t.Errorf("admin /ops/: %d, want 404 (the console is public only)", code)
		}
	})
}
