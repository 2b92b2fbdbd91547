package outbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store"
)

// fakeClock is the dispatcher's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func startSMTP(t *testing.T) *mailtest.SMTPServer {
	t.Helper()
	srv, err := mailtest.StartSMTP(mailtest.SMTPOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func testConfig(t *testing.T, addr string, clk *fakeClock) Config {
	return Config{
		Addr:        addr,
		TLS:         TLSNone,
		Timeout:     5 * time.Second,
		Holder:      "test-" + t.Name(),
		MinBackoff:  30 * time.Second,
		MaxBackoff:  time.Hour,
		MaxAttempts: 12,
		LoopHeader:  "partners@onboarder.example",
		Logger:      testLogger(t),
		Now:         clk.Now,
	}
}

var rowSeq struct {
	sync.Mutex
	n int
}

// newRow is a typical answer to a partner.
func newRow(to string) store.OutboxMail {
	rowSeq.Lock()
	rowSeq.n++
	n := rowSeq.n
	rowSeq.Unlock()
	return store.OutboxMail{
		Kind:          "ack",
		FromAddr:      "Partner Onboarding <partners@onboarder.example>",
		ReplyTo:       "partners@onboarder.example",
		ToAddrs:       to,
		Subject:       fmt.Sprintf("Re: Please establish reseller connection [REQ-%06d]", n),
		TextBody:      "Hello,\n\nwe received your request.\n",
		HTMLBody:      "<p>Hello,</p><p>we received your request.</p>",
		MessageID:     fmt.Sprintf("ack-%d-%d@onboarder.example", time.Now().UnixNano(), n),
		AutoSubmitted: "auto-replied",
	}
}

func insert(t *testing.T, st *store.Store, clk *fakeClock, rows ...*store.OutboxMail) {
	t.Helper()
	for _, r := range rows {
		if clk != nil && r.NextAttemptAt.IsZero() {
			r.NextAttemptAt = clk.Now()
		}
		if err := st.Q(context.Background()).InsertOutbox(r); err != nil {
			t.Fatal(err)
		}
	}
}

func getRow(t *testing.T, st *store.Store, id int64) store.OutboxMail {
	t.Helper()
	r, err := st.Q(context.Background()).Outbox(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func flush(t *testing.T, d *Dispatcher) Result {
	t.Helper()
	res, err := d.FlushOnce(context.Background())
	if err != nil {
		t.Fatalf("FlushOnce: %v", err)
	}
	return res
}

// parsed is a received mail taken apart.
type parsed struct {
	header   netmail.Header
	rawHead  string
	text     string
	html     string
	ctype    string
	subject  string
	envFrom  string
	envTo    []string
	rawBytes []byte
}

func parseReceived(t *testing.T, r mailtest.Received) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parsing received mail: %v\n%s", err, r.Data)
	}
	p := parsed{header: m.Header, envFrom: r.From, envTo: r.To, rawBytes: r.Data}
	if i := bytes.Index(r.Data, []byte("\r\n\r\n")); i >= 0 {
		p.rawHead = string(r.Data[:i+2])
	}
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("decoding subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	p.ctype = mt
	readPart := func(ct string, cte string, body io.Reader) {
		if strings.EqualFold(cte, "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("reading %s part: %v", ct, err)
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		pt, pp, _ := mime.ParseMediaType(ct)
		if !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("part %s charset = %q, want utf-8", pt, pp["charset"])
		}
		switch pt {
		case "text/plain":
			p.text = s
		case "text/html":
			p.html = s
		default:
			t.Errorf("unexpected part %s", pt)
		}
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(m.Body, params["boundary"])
		for {
			// NextRawPart: decode quoted-printable ourselves to check it was used.
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading parts: %v", err)
			}
			if cte := part.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
				t.Errorf("part %s transfer encoding = %q, want quoted-printable", part.Header.Get("Content-Type"), cte)
			}
			readPart(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
		}
	} else {
		readPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	}
	return p
}

// headerNames lists the header field names of a raw header block, in order,
// unfolding continuation lines.
func headerNames(raw string) []string {
	var out []string
	for _, line := range strings.Split(raw, "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if i := strings.IndexByte(line, ':'); i > 0 {
			out = append(out, line[:i])
		} else {
			out = append(out, "!malformed:"+line)
		}
	}
	return out
}

type mailtestServer = mailtest.SMTPServer

// countingMetrics records what the dispatcher reports.
type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

type countingCounter struct {
	m   *countingMetrics
	key string
}

func (c countingCounter) Inc() {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	if c.m.n == nil {
		c.m.n = map[string]int{}
	}
	c.m.n[c.key]++
}

type countingObserver struct{ m *countingMetrics }

func (o countingObserver) Observe(float64) { countingCounter{o.m, "send_seconds_count"}.Inc() }

func (m *countingMetrics) metrics() *Metrics {
	return &Metrics{
		Sent:        countingCounter{m, "sent"},
		Deferred:    countingCounter{m, "deferred"},
		Failed:      func(reason string) Counter { return countingCounter{m, "failed/" + reason} },
		SendSeconds: countingObserver{m},
	}
}

func (m *countingMetrics) snapshot() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.n {
		out[k] = v
	}
	return out
}
