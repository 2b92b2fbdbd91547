package web_test

// Browser tests: headless Chromium (Debian's chromium package, installed by
// scripts/install-chromium.sh) driven with chromedp against the real
// handler, the real workflow and the real outbox dispatcher sending to the
// in-process SMTP server. They skip when /usr/bin/chromium is missing,
// except in CI, where they fail. Set ONBOARDER_SCREENSHOTS to a directory to
// keep the phone-sized screenshots they take.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/outbox"
	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

const chromiumPath = "/usr/bin/chromium"

// browserFixture is a fixture whose outbox is sent to an SMTP test server,
// with a headless Chromium tab.
type browserFixture struct {
	*fixture
	smtp  *mailtest.SMTPServer
	disp  *outbox.Dispatcher
	tab   context.Context
	shots string
}

// viewport is the size of a browser test's window in CSS pixels; Mobile
// emulates a phone (touch, twice the pixel density).
type viewport struct {
	Name   string
	W, H   int64
	Mobile bool
}

var (
	phone   = viewport{Name: "phone", W: 390, H: 844, Mobile: true}
	desktop = viewport{Name: "desktop", W: 1280, H: 800}
)

// startChromium starts headless Chromium in a window of w×h for up to two
// minutes and returns its allocator context (stopped when t ends); it
// skips the test where Chromium is missing, outside CI.
func startChromium(t *testing.T, w, h int) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: run scripts/install-chromium.sh", chromiumPath)
		}
		t.Skipf("%s not installed (scripts/install-chromium.sh installs it); skipping the browser test", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	)
	t.Cleanup(acancel)
	return actx
}

func newBrowserFixture(t *testing.T) *browserFixture { return newBrowserFixtureAt(t, phone) }

// newBrowserFixtureAt is newBrowserFixture in a window of the viewport's size.
func newBrowserFixtureAt(t *testing.T, vp viewport) *browserFixture {
	t.Helper()
	actx := startChromium(t, int(vp.W), int(vp.H))
	st := storetest.Open(t, storetest.SQLiteURL(t))
	f := newFixture(t, st, "")
	smtp, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	storetest.Must(t, err)
	t.Cleanup(func() { smtp.Close() })
	bf := &browserFixture{fixture: f, smtp: smtp,
		disp: outbox.New(st, outbox.Config{Addr: smtp.Addr(), TLS: outbox.TLSNone, Timeout: 10 * time.Second, Now: f.clock.Now})}
	bf.shots = os.Getenv("ONBOARDER_SCREENSHOTS")
	if bf.shots == "" {
		bf.shots = t.TempDir()
	}

	tab, tcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(tcancel)
	// A phone is 390 CSS pixels wide, at twice the pixel density.
	emulate := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.Mobile {
		emulate = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(vp.W, vp.H, emulate...)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	bf.tab = tab
	return bf
}

// do runs browser steps, failing the test with what was being done.
func (b *browserFixture) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.tab, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browserFixture) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.tab, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// state returns the request state a request page shows: the code kept in
// #state's data-state, after checking that the badge names it in English
// (the code with spaces).
func (b *browserFixture) state() string {
	b.t.Helper()
	code, err := chromedp.Run(b.tab, chromedp.Evaluate[string](`document.getElementById('state').dataset.state`))
	if err != nil {
		b.t.Fatalf("reading the state: %v", err)
	}
	if shown := b.text("#state"); shown != strings.ReplaceAll(code, "_", " ") {
		b.t.Errorf("state %s shown as %q", code, shown)
	}
	return code
}

// navigate opens a URL and returns the HTTP status of the page.
func (b *browserFixture) navigate(url string) int64 {
	b.t.Helper()
	res, err := chromedp.Run(b.tab, chromedp.NavigateResponse(url))
	if err != nil {
		b.t.Fatalf("opening %s: %v", url, err)
	}
	return res.Status
}

// submit clicks a button that sends a form and returns the status of the
// page the browser lands on.
func (b *browserFixture) submit(sel string) int64 {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.tab, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	return res.Status
}

func (b *browserFixture) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.tab, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("saving %s: %v", path, err)
	}
	b.t.Logf("screenshot %s", path)
}

// flush sends the outbox to the SMTP server.
func (b *browserFixture) flush() {
	b.t.Helper()
	if _, err := b.disp.FlushOnce(context.Background()); err != nil {
		b.t.Fatalf("flushing the outbox: %v", err)
	}
}

var inviteURLRE = regexp.MustCompile(`https?://[^\s"<>]+/invite/[A-Za-z0-9_-]{20,}`)

// mailTo returns the text of the newest mail the SMTP server received for
// addr whose subject or text contains what.
func (b *browserFixture) mailTo(addr, what string) string {
	b.t.Helper()
	msgs := b.smtp.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if len(m.To) == 1 && m.To[0] == addr {
			p := parser.Parse(m.Data, parser.Options{})
			if strings.Contains(p.Subject, what) || strings.Contains(p.Text, what) {
				return p.Text
			}
		}
	}
	b.t.Fatalf("no mail to %s about %q among %d", addr, what, len(msgs))
	return ""
}

func TestBrowserApproveAndAccept(t *testing.T) {
	b := newBrowserFixture(t)
	start := time.Now()
	id := b.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
	b.deliver("sam@cloudharbor.example", "Bäckerei Sonnenschein", orgDE)
	b.deliver("jonas@alpenblick.example", `<script>alert("x")</script>`, orgX)
	b.flush()
	ref := store.Reference(id)

	// The ops user logs in and finds the request in the queue.
	if st := b.navigate(b.srv.URL + "/ops/"); st != http.StatusOK {
		t.Fatalf("login page: %d", st)
	}
	b.do("logging in",
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("email"), opsEmail),
		chromedp.SendKeys(chromedp.ID("password"), opsPassword),
	)
	b.submit(`#login button[type=submit]`)
	b.do("waiting for the queue", chromedp.WaitVisible(chromedp.ID("queue")))
	queue := b.text("#queue")
	for _, want := range []string{ref, "Alpenblick IT GmbH", "Northwind Traders Ltd", `<script>alert("x")</script>`, "name mismatch"} {
		if !strings.Contains(queue, want) {
			t.Errorf("queue lacks %q:\n%s", want, queue)
		}
	}
	b.screenshot("ops-queue")

	// Search by reference, open it, approve it.
	b.do("searching", chromedp.SendKeys(chromedp.ID("q"), ref))
	b.submit(`form.filters button[type=submit]`)
	b.do("opening the request", chromedp.Click(chromedp.CSS(`#queue a[href="/ops/requests/`+itoa(id)+`"]`)),
		chromedp.WaitVisible(chromedp.ID("approve")))
	if got := b.state(); got != store.StatePendingApproval {
		t.Errorf("state shown: %q", got)
	}
	b.screenshot("ops-request")
	b.do("writing a note", chromedp.SendKeys(chromedp.ID("note"), "Welcome aboard"))
	if st := b.submit("#approve"); st != http.StatusOK {
		t.Fatalf("approve landed on %d", st)
	}
	b.do("waiting for the result", chromedp.WaitVisible(chromedp.ID("flash")))
	if got := b.state(); got != store.StateInvited {
		t.Fatalf("after approve the page shows %q", got)
	}
	b.flush()

	// The administrator gets the invitation mail and opens the link.
	invite := inviteURLRE.FindString(b.mailTo("nancy@northwind.example", "Invitation"))
	if invite == "" {
		t.Fatal("the invitation mail has no link")
	}
	if st := b.navigate(invite); st != http.StatusOK {
		t.Fatalf("invitation page: %d", st)
	}
	b.do("waiting for the invitation", chromedp.WaitVisible(chromedp.ID("accept")))
	if h := b.text("h1"); !strings.Contains(h, "Alpenblick IT GmbH asks to become the reseller of Northwind Traders Ltd") {
		t.Errorf("invitation heading: %q", h)
	}
	b.screenshot("invitation")
	if got := b.request(id).State; got != store.StateInvited {
		t.Fatalf("opening the link changed the request to %s", got)
	}
	if st := b.submit("#accept"); st != http.StatusOK {
		t.Fatalf("accept landed on %d", st)
	}
	b.do("waiting for the confirmation", chromedp.WaitVisible(chromedp.ID("accepted")))
	b.screenshot("invitation-accepted")
	b.flush()

	// The console shows the link active and the partner's confirmation sent.
	b.navigate(b.srv.URL + "/ops/requests/" + itoa(id))
	b.do("reloading the request", chromedp.WaitVisible(chromedp.ID("link-status")))
	if got := b.text("#link-status"); !strings.HasPrefix(got, store.LinkActive) {
		t.Errorf("link shown as %q", got)
	}
	rows, err := chromedp.Run(b.tab, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#thread tbody tr')).map(r => r.textContent.replace(/\s+/g, ' '))`))
	if err != nil {
		t.Fatalf("reading the thread: %v", err)
	}
	confirmed := false
	for _, line := range rows {
		if strings.Contains(line, "jonas@alpenblick.example") && strings.Contains(line, "connection_established") &&
			strings.Contains(line, "sent") {
			confirmed = true
		}
	}
	if !confirmed {
		t.Errorf("no sent connection_established mail to the partner in:\n%s", strings.Join(rows, "\n"))
	}
	b.screenshot("ops-request-completed")

	// The link is used up.
	if st := b.navigate(invite); st != http.StatusGone {
		t.Errorf("reused link: %d, want 410", st)
	}
	if got := b.text("#gone-reason"); !strings.Contains(got, "already been accepted") {
		t.Errorf("gone page says %q", got)
	}
	t.Logf("browser flow took %s", time.Since(start).Round(time.Millisecond))
}

func TestBrowserDeclineWithMessage(t *testing.T) {
	b := newBrowserFixture(t)
	start := time.Now()
	id := b.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein", orgDE)
	if err := b.wf.Approve(context.Background(), id, "ops@onboarding.example", ""); err != nil {
		t.Fatal(err)
	}
	b.flush()
	invite := inviteURLRE.FindString(b.mailTo("lena@sonnenschein.example", "Einladung"))
	if invite == "" {
		t.Fatal("the invitation mail has no link")
	}
	// The administrator's locale is German.
	if st := b.navigate(invite); st != http.StatusOK {
		t.Fatalf("invitation page: %d", st)
	}
	b.do("waiting for the invitation", chromedp.WaitVisible(chromedp.ID("decline")))
	if h := b.text("h1"); !strings.Contains(h, "möchte Reseller von Bäckerei Sonnenschein GmbH werden") {
		t.Errorf("German heading: %q", h)
	}
	b.screenshot("invitation-de")
	msg := "Wir bleiben vorerst beim bisherigen Partner."
	b.do("writing the message", chromedp.SendKeys(chromedp.ID("message"), msg))
	if st := b.submit("#decline"); st != http.StatusOK {
		t.Fatalf("decline landed on %d", st)
	}
	b.do("waiting for the result", chromedp.WaitVisible(chromedp.ID("declined")))
	b.screenshot("invitation-declined-de")
	if got := b.request(id).State; got != store.StateDeclined {
		t.Errorf("request is %s, want declined", got)
	}
	b.flush()
	b.mailTo("jonas@alpenblick.example", "declined the invitation")
	// The message is quoted in the mail (which the parser's Text leaves out):
	// look at the row that was sent.
	rows := b.outbox(id)
	last := rows[len(rows)-1]
	if last.Kind != "invitation_declined" || last.Status != store.OutboxSent || !strings.Contains(last.TextBody, msg) {
		t.Errorf("the partner's mail: %s %s, message in it: %v", last.Kind, last.Status, strings.Contains(last.TextBody, msg))
	}
	if st := b.navigate(invite); st != http.StatusGone {
		t.Errorf("reused link: %d, want 410", st)
	}
	if got := b.text("#gone-reason"); !strings.Contains(got, "bereits abgelehnt") {
		t.Errorf("gone page says %q", got)
	}
	b.screenshot("invitation-gone-de")
	t.Logf("browser flow took %s", time.Since(start).Round(time.Millisecond))
}

func itoa(id int64) string { return strings.TrimLeft(store.Reference(id)[4:], "0") }
