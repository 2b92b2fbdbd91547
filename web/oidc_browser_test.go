package web_test

// Single sign-on in headless Chromium: the browser is sent to the
// in-process OpenID provider (mockoidc) and back, as a person's would be,
// with the real cookies, redirects and SameSite rules.

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// ssoBrowser is Chromium for an SSO fixture; each person gets a browser
// context of their own (cookies not shared).
type ssoBrowser struct {
	f       *ssoFixture
	browser context.Context
}

func newSSOBrowser(t *testing.T, f *ssoFixture) *ssoBrowser {
	t.Helper()
	actx := startChromium(t, 1280, 900)
	browser, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &ssoBrowser{f: f, browser: browser}
}

// person opens a tab in a fresh browser context: a browser of its own.
func (b *ssoBrowser) person(t *testing.T) *browserFixture {
	t.Helper()
	tab, cancel := chromedp.NewContext(b.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("opening a browser context: %v", err)
	}
	shots := os.Getenv("ONBOARDER_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	return &browserFixture{fixture: b.f.fixture, tab: tab, shots: shots}
}

// ssoCount returns how many elements match the CSS selector.
func ssoCount(t *testing.T, p *browserFixture, sel string) int {
	t.Helper()
	n, err := chromedp.Run(p.tab, chromedp.Evaluate[int](`document.querySelectorAll(`+ssoJSQuote(sel)+`).length`))
	if err != nil {
		t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

func ssoJSQuote(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// ssoPath returns the path and query of the page the tab shows.
func ssoPath(t *testing.T, p *browserFixture) string {
	t.Helper()
	loc, err := chromedp.Run(p.tab, chromedp.Location())
	if err != nil {
		t.Fatalf("reading the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// ssoSignIn opens target signed out, is sent to the login page, clicks the
// single sign-on button as u and returns the status of the page it lands on.
func ssoSignIn(t *testing.T, p *browserFixture, f *ssoFixture, u *ssoUser, target string) int64 {
	t.Helper()
	if st := p.navigate(f.srv.URL + target); st != http.StatusOK {
		t.Fatalf("opening %s signed out: %d", target, st)
	}
	p.do("waiting for the login page", chromedp.WaitVisible(chromedp.ID("sso")))
	if got := ssoPath(t, p); !strings.HasPrefix(got, "/ops/login") {
		t.Fatalf("signed out, %s showed %s, want the login page", target, got)
	}
	f.op.QueueUser(u)
	return p.submit("#sso")
}

// TestBrowserSingleSignOn signs people in through the provider in
// Chromium: each comes back to the page they asked for with the role their
// groups map to, and what the page offers follows that role; someone whose
// groups map to no role gets the refusal page and no session. Password
// login is off: the login page has only the single sign-on button.
func TestBrowserSingleSignOn(t *testing.T) {
	f := newSSOFixture(t, true)
	ctx := context.Background()
	q := f.st.Q(ctx)
	storetest.Must(t, q.CreatePartner(&store.Partner{Name: "Alpenblick IT GmbH", Locale: "en"}, []string{"jonas@alpenblick.example"}, nil))
	storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: orgEN, Name: "Northwind Traders Ltd", Status: store.OrgActive,
		AdminName: "Nancy Davolio", AdminEmail: "nancy@northwind.example", Locale: "en"}))
	id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
	if st := f.request(id).State; st != store.StatePendingApproval {
		t.Fatalf("setup: request is %s", st)
	}
	requestPage := "/ops/requests/" + itoa(id)
	b := newSSOBrowser(t, f)

	t.Run("viewer", func(t *testing.T) {
		p := b.person(t)
		if st := p.navigate(f.srv.URL + "/ops/login"); st != http.StatusOK {
			t.Fatalf("login page: %d", st)
		}
		p.do("waiting for the login page", chromedp.WaitVisible(chromedp.ID("sso")))
		if n := ssoCount(t, p, "#login, #password"); n != 0 {
			t.Errorf("password login is off, yet the login page has %d password form elements", n)
		}
		if got := p.text("main"); !strings.Contains(got, "Sign in with 127.0.0.1:") || !strings.Contains(got, "Password login is switched off") {
			t.Errorf("login page says %q", got)
		}
		p.screenshot("sso-login")

		viewer := &ssoUser{sub: "v-1", email: "Vera@Ops.Example", verified: true, groups: []string{"onboarder-viewers"}}
		if st := ssoSignIn(t, p, f, viewer, requestPage); st != http.StatusOK {
			t.Fatalf("after single sign-on: status %d", st)
		}
		p.do("waiting for the request", chromedp.WaitVisible(chromedp.ID("state")))
		if got := ssoPath(t, p); got != requestPage {
			t.Errorf("signed in, the browser is at %s, want the page it asked for, %s", got, requestPage)
		}
		if got := p.text(".who"); !strings.Contains(got, "vera@ops.example") || !strings.Contains(got, "(viewer)") {
			t.Errorf("signed in as %q, want vera@ops.example (viewer)", got)
		}
		if got := p.state(); got != store.StatePendingApproval {
			t.Errorf("state shown: %q", got)
		}
		if n := ssoCount(t, p, "#approve"); n != 0 {
			t.Errorf("a viewer is offered %d approve buttons", n)
		}
		p.screenshot("sso-viewer-request")
	})

	t.Run("approver", func(t *testing.T) {
		p := b.person(t)
		approver := &ssoUser{sub: "a-1", email: "ari@ops.example", verified: true, groups: []string{"other", "onboarder-approvers"}}
		if st := ssoSignIn(t, p, f, approver, requestPage); st != http.StatusOK {
			t.Fatalf("after single sign-on: status %d", st)
		}
		p.do("waiting for the approve button", chromedp.WaitVisible(chromedp.ID("approve")))
		if got := p.text(".who"); !strings.Contains(got, "ari@ops.example") || !strings.Contains(got, "(approver)") {
			t.Errorf("signed in as %q, want ari@ops.example (approver)", got)
		}
		p.screenshot("sso-approver-request")
	})

	t.Run("no mapped role", func(t *testing.T) {
		p := b.person(t)
		nobody := &ssoUser{sub: "n-1", email: "nick@ops.example", verified: true, groups: []string{"engineering"}}
		if st := ssoSignIn(t, p, f, nobody, "/ops/"); st != http.StatusForbidden {
			t.Errorf("a user without a mapped role landed on status %d, want 403", st)
		}
		if got := p.text("h1"); got != "Not signed in" {
			t.Errorf("refusal page heading %q", got)
		}
		if got := p.text("main"); !strings.Contains(got, "nick@ops.example") || !strings.Contains(got, "none of your groups there gives access") {
			t.Errorf("refusal page says %q", got)
		}
		if n := ssoCount(t, p, ".who"); n != 0 {
			t.Errorf("the refusal page shows a signed-in user")
		}
		p.screenshot("sso-refused")
		// No session was started: the console still asks to log in.
		p.navigate(f.srv.URL + "/ops/")
		p.do("waiting for the login page", chromedp.WaitVisible(chromedp.ID("sso")))
		if got := ssoPath(t, p); !strings.HasPrefix(got, "/ops/login") {
			t.Errorf("after the refusal /ops/ showed %s, want the login page", got)
		}
	})
}
