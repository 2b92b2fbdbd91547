package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/web"
	"github.com/onboarder/onboarder/workflow"
)

// Organizations of the test directory.
const (
	orgDE = "6a0f3c2e-41b7-4d2a-9c55-0e8f7a1b2c3d" // Bäckerei Sonnenschein GmbH, German administrator
	orgEN = "2b7e9d41-5c3a-4f60-8e12-9a4b3c2d1e0f" // Northwind Traders Ltd, English administrator
	orgX  = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a" // Evil Corp, for the markup tests
)

const (
	opsEmail    = "ops@onboarding.example"
	opsPassword = "correct horse battery"
)

// clock is a settable clock shared by workflow and web.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t       *testing.T
	st      *store.Store
	wf      *workflow.Service
	srv     *httptest.Server
	clock   *clock
	partner store.Partner
	uid     uint32
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newFixture seeds a partner, three organizations and an ops user, and
// serves the web handler on an httptest server.
func newFixture(t *testing.T, st *store.Store, publicURL string) *fixture {
	t.Helper()
	ctx := context.Background()
	tpl, err := templates.Load("")
	storetest.Must(t, err)
	clk := &clock{t: time.Now().UTC()}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f := &fixture{t: t, st: st, clock: clk}
	f.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + f.srv.Listener.Addr().String()
	if publicURL == "" {
		publicURL = base
	}
	f.wf, err = workflow.New(st, workflow.Options{
		From:      mail.Address{Name: "Partner Onboarding", Address: "partners@onboarding.example"},
		PublicURL: base,
		Templates: tpl,
		Logger:    log,
		Now:       clk.Now,
	})
	storetest.Must(t, err)
	q := st.Q(ctx)
	f.partner = store.Partner{Name: "Alpenblick IT GmbH", Ref: "MPN-7001", Locale: "en"}
	storetest.Must(t, q.CreatePartner(&f.partner, []string{"jonas@alpenblick.example"}, nil))
	other := store.Partner{Name: "Cloud Harbor Ltd", Locale: "en"}
	storetest.Must(t, q.CreatePartner(&other, nil, []string{"cloudharbor.example"}))
	for _, o := range []store.Organization{
		{ID: orgDE, Name: "Bäckerei Sonnenschein GmbH", Status: store.OrgActive, AdminName: "Lena Sonnenschein",
			AdminEmail: "lena@sonnenschein.example", Country: "DE", Locale: "de"},
		{ID: orgEN, Name: "Northwind Traders Ltd", Status: store.OrgActive, AdminName: "Nancy Davolio",
			AdminEmail: "nancy@northwind.example", Country: "GB", Locale: "en"},
		{ID: orgX, Name: "Evil Corp", Status: store.OrgActive, AdminName: "<b>Eve</b>",
			AdminEmail: "eve@evil.example", Country: "US", Locale: "en"},
	} {
		storetest.Must(t, q.UpsertOrganization(&o))
	}
	_, err = f.wf.AddOpsUser(ctx, opsEmail, opsPassword, bcrypt.MinCost)
	storetest.Must(t, err)
	f.srv.Config.Handler = web.New(web.Options{Workflow: f.wf, Logger: log, PublicURL: publicURL, Now: clk.Now,
		PasswordCost: bcrypt.MinCost})
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// deliver hands one request mail to the workflow, as the poller would, and
// returns the request's id.
func (f *fixture) deliver(from, customer, orgID string) int64 {
	f.t.Helper()
	f.uid++
	raw := fmt.Sprintf("From: Jonas Berger <%s>\r\nTo: partners@onboarding.example\r\n"+
		"Subject: Please establish reseller connection to customer [%s]\r\n"+
		"Message-ID: <test-%d@alpenblick.example>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0100\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+
		"Hello partner team,\r\n\r\nplease connect us with our customer.\r\n\r\nOrganization ID: %s\r\n\r\nJonas\r\n",
		from, customer, f.uid, orgID)
	res, err := f.wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: f.uid,
		Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: f.clock.Now()})
	storetest.Must(f.t, err)
	if res.RequestID == 0 {
		f.t.Fatalf("mail %d made no request: %+v", f.uid, res)
	}
	return res.RequestID
}

// approve approves a request through the workflow and returns the token
// from the invitation mail in the outbox.
func (f *fixture) approve(id int64) string {
	f.t.Helper()
	storetest.Must(f.t, f.wf.Approve(context.Background(), id, "tester", ""))
	if f.request(id).State == store.StatePendingApproval {
		// Four eyes (ONBOARDER_FOUR_EYES_FINDINGS): a second ops user.
		storetest.Must(f.t, f.wf.Approve(context.Background(), id, "second-tester", ""))
	}
	return f.lastToken(id)
}

func (f *fixture) lastToken(id int64) string {
	f.t.Helper()
	rows, err := f.st.Q(context.Background()).ListOutbox(store.OutboxFilter{RequestID: id})
	storetest.Must(f.t, err)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind == templates.KindInvitation {
			return storetest.InvitationToken(f.t, f.st, rows[i])
		}
	}
	f.t.Fatalf("no invitation mail for %s", store.Reference(id))
	return ""
}

func (f *fixture) request(id int64) store.Request {
	f.t.Helper()
	r, err := f.st.Q(context.Background()).Request(id)
	storetest.Must(f.t, err)
	return r
}

func (f *fixture) outbox(id int64) []store.OutboxMail {
	f.t.Helper()
	rows, err := f.st.Q(context.Background()).ListOutbox(store.OutboxFilter{RequestID: id})
	storetest.Must(f.t, err)
	return rows
}

func (f *fixture) kinds(id int64) []string {
	var out []string
	for _, m := range f.outbox(id) {
		out = append(out, m.Kind)
	}
	return out
}

// client is a browser-like HTTP client: it keeps cookies, does not follow
// redirects, and sends Sec-Fetch-Site: same-origin on posts, as browsers do
// for a form on our own page.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: f.t, base: f.srv.URL, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	Status int
	Header http.Header
	Body   string
}

func (c *client) do(req *http.Request) resp {
	c.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func (c *client) get(path string) resp {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values, hdr ...string) resp {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

// login logs the client in as the test ops user.
func (c *client) login() {
	c.t.Helper()
	r := c.post("/ops/login", url.Values{"email": {opsEmail}, "password": {opsPassword}, "next": {"/ops/"}})
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("login: status %d: %s", r.Status, r.Body)
	}
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s: should not contain %q", what, w)
		}
	}
}

func workflowIncoming(raw string, uid uint32) workflow.Incoming {
	return workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: uid, Raw: []byte(raw), Size: int64(len(raw)),
		ReceivedAt: time.Now().UTC()}
}
