package web_test

// Browser tests of the console's actions, each at a desktop width and at a
// phone width: the registry (partners, organizations), the team, the
// actions on a request with four eyes and roles, and the language switch.
// They assert what a person sees, and the state behind it.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// forEachViewport runs a browser test at a desktop width and at a phone
// width, each with a fixture and a browser of its own.
func forEachViewport(t *testing.T, f func(t *testing.T, b *browserFixture)) {
	for _, vp := range []viewport{desktop, phone} {
		t.Run(vp.Name, func(t *testing.T) { f(t, newBrowserFixtureAt(t, vp)) })
	}
}

// login logs in through the login page and waits for the console.
func (b *browserFixture) login(email, password string) {
	b.t.Helper()
	b.navigate(b.srv.URL + "/ops/login")
	b.do("filling the login form", chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SetValue(chromedp.ID("email"), email), chromedp.SetValue(chromedp.ID("password"), password))
	if st := b.submit(`#login button[type=submit]`); st != http.StatusOK {
		b.t.Fatalf("logging in as %s: %d", email, st)
	}
	b.do("waiting for the console", chromedp.WaitVisible(chromedp.ID("logout")))
}

func (b *browserFixture) logout() {
	b.t.Helper()
	b.submit("#logout")
	b.do("waiting for the login page", chromedp.WaitVisible(chromedp.ID("login")))
}

// set types values into form fields (by CSS selector), replacing theirs.
func (b *browserFixture) set(pairs ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		sel, _ := json.Marshal(pairs[i])
		val, _ := json.Marshal(pairs[i+1])
		// A script, since chromedp.SetValue refuses the empty string.
		ok, err := chromedp.Run(b.tab, chromedp.Evaluate[bool](
			`(() => { const e = document.querySelector(`+string(sel)+`); if (!e) return false; e.value = `+string(val)+`; return true })()`))
		if err != nil || !ok {
			b.t.Fatalf("filling in %s: found %v, %v", pairs[i], ok, err)
		}
	}
}

// act clicks a form's button, wants the landing page's status, and returns
// the page's main text.
func (b *browserFixture) act(sel string, status int64) string {
	b.t.Helper()
	if st := b.submit(sel); st != status {
		b.t.Fatalf("%s: landed on %d, want %d: %s", sel, st, status, b.text("main"))
	}
	return b.text("main")
}

// has says whether the page has an element.
func (b *browserFixture) has(sel string) bool {
	b.t.Helper()
	n, err := chromedp.Run(b.tab, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
	if err != nil {
		b.t.Fatalf("looking for %s: %v", sel, err)
	}
	return n > 0
}

func (b *browserFixture) wants(what, got string, wants ...string) {
	b.t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			b.t.Errorf("%s: missing %q in:\n%s", what, w, got)
		}
	}
}

func (b *browserFixture) addUser(email, role string) {
	b.t.Helper()
	_, err := b.wf.AddOpsUserAs(context.Background(), email, opsPassword, role, bcrypt.MinCost)
	storetest.Must(b.t, err)
}

func TestBrowserPartnerActions(t *testing.T) {
	forEachViewport(t, func(t *testing.T, b *browserFixture) {
		b.login(opsEmail, opsPassword)

		// Register a partner on the list page.
		b.navigate(b.srv.URL + "/ops/partners")
		b.do("opening the form", chromedp.WaitVisible(chromedp.ID("add-partner")))
		b.set("#name", "Fjord Systems AS", "#emails", "kari@fjord.example")
		main := b.act("#add-partner", http.StatusOK)
		b.wants("after adding", main, "The partner is registered.", "Fjord Systems AS", "kari@fjord.example")
		if got := b.text("#status"); got != store.PartnerActive {
			t.Errorf("new partner shown as %q", got)
		}
		ps, err := b.st.Q(context.Background()).Partners()
		storetest.Must(t, err)
		var p store.Partner
		for _, x := range ps {
			if x.Name == "Fjord Systems AS" {
				p = x
			}
		}
		if p.ID == 0 {
			t.Fatal("the partner was not stored")
		}

		// Refusals: a public mail domain, an address of another partner.
		b.set("#domains", "gmail.com")
		b.act("#save", http.StatusBadRequest)
		b.wants("public domain refused", b.text("#error"), "Nothing was saved", "gmail.com is a public mail provider's domain")
		b.set("#domains", "", "#emails", "kari@fjord.example\njonas@alpenblick.example")
		b.act("#save", http.StatusConflict)
		b.wants("taken address refused", b.text("#error"), "Nothing was saved", "jonas@alpenblick.example belongs to partner", "Alpenblick IT GmbH")
		if got, _ := b.st.Q(context.Background()).Partner(p.ID); len(got.Domains()) != 0 || len(got.Emails()) != 1 {
			t.Errorf("refused edits changed the rules: %v %v", got.Emails(), got.Domains())
		}

		// Edit.
		b.set("#emails", "kari@fjord.example\nole@fjord.example", "#domains", "", "#ref", "MPN-9001")
		b.do("ticking trusted", chromedp.Click(chromedp.ID("trusted")))
		main = b.act("#save", http.StatusOK)
		b.wants("after saving", main, "The partner is saved", "ole@fjord.example")
		if got := b.text("#ref-value"); got != "MPN-9001" {
			t.Errorf("reference shown: %q", got)
		}
		if got := b.text("#trusted-value"); got != "yes" {
			t.Errorf("trusted shown: %q", got)
		}

		// Suspend, with a reason, and activate again.
		b.set("#reason", "Contract ended in November")
		main = b.act("#suspend", http.StatusOK)
		b.wants("after suspending", main, "The partner is suspended", "Contract ended in November", "ops:"+opsEmail)
		if got := b.text("#status"); got != store.PartnerSuspended {
			t.Errorf("suspended partner shown as %q", got)
		}
		main = b.act("#activate", http.StatusOK)
		b.wants("after activating", main, "The partner is active again.")
		if got := b.text("#status"); got != store.PartnerActive {
			t.Errorf("activated partner shown as %q", got)
		}
		b.screenshot("partner-" + b.viewportName())
	})
}

// viewportName names the window's size for a screenshot's file name.
func (b *browserFixture) viewportName() string {
	w, err := chromedp.Run(b.tab, chromedp.Evaluate[int](`window.innerWidth`))
	if err == nil && w < 600 {
		return "phone"
	}
	return "desktop"
}

func TestBrowserOrganizationActions(t *testing.T) {
	const globex = "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	forEachViewport(t, func(t *testing.T, b *browserFixture) {
		b.login(opsEmail, opsPassword)

		b.navigate(b.srv.URL + "/ops/organizations")
		b.do("opening the form", chromedp.WaitVisible(chromedp.ID("add-org")))
		b.set("#id", globex, "#name", "Globex GmbH", "#country", "DE", "#admin_name", "Hank Scorpio",
			"#admin_email", "hank@globex.example", "#locale", "de")
		main := b.act("#add-org", http.StatusOK)
		b.wants("after adding", main, "The organization is added to the directory.", "Globex GmbH", "hank@globex.example")

		// A request for it is open while its administrator changes.
		id := b.deliver("jonas@alpenblick.example", "Globex GmbH", globex)
		b.set("#admin_email", "new.admin@globex.example")
		main = b.act("#save", http.StatusOK)
		b.wants("after saving", main, "The organization is saved")
		b.wants("administrator shown", b.text("#admin"), "new.admin@globex.example")
		b.navigate(b.srv.URL + "/ops/requests/" + itoa(id))
		b.do("opening the request", chromedp.WaitVisible(chromedp.ID("state")))
		b.wants("the open request", b.text("main"), "administrator changed", "new.admin@globex.example")
		if !b.has(`#main [data-code="admin_changed"]`) {
			t.Error("the finding admin_changed is not on the request page")
		}
		b.wants("the invitation's recipient", b.text("#invite-recipient"), "new.admin@globex.example")

		// Suspend.
		b.navigate(b.srv.URL + "/ops/organizations/" + globex)
		b.do("opening the organization", chromedp.WaitVisible(chromedp.ID("suspend")))
		main = b.act("#suspend", http.StatusOK)
		b.wants("after suspending", main, "The organization is suspended")
		if got := b.text("#status"); got != store.OrgSuspended {
			t.Errorf("suspended organization shown as %q", got)
		}
		if b.has("#suspend") {
			t.Error("a suspended organization still offers Suspend")
		}
	})
}

func TestBrowserTeamActions(t *testing.T) {
	forEachViewport(t, func(t *testing.T, b *browserFixture) {
		ctx := context.Background()
		b.login(opsEmail, opsPassword)
		b.do("going to the team page", chromedp.Click(chromedp.CSS(`header nav a[href="/ops/team"]`)),
			chromedp.WaitVisible(chromedp.ID("add-user")))

		// A password that is too short is refused, and nobody is added.
		b.set("#new-email", "vera@onboarding.example", "#new-role", "viewer", "#new-password", "short")
		b.do("switching off the browser's own check", chromedp.RemoveAttribute(chromedp.ID("new-password"), "minlength"))
		b.act("#add-user", http.StatusBadRequest)
		b.wants("short password refused", b.text("#error"), "Nothing was saved", "at least 12 characters")
		if _, err := b.st.Q(ctx).OpsUserByEmail("vera@onboarding.example"); err == nil {
			t.Fatal("a refused user was stored")
		}

		b.set("#new-email", "vera@onboarding.example", "#new-role", "viewer", "#new-password", "a long enough password")
		main := b.act("#add-user", http.StatusOK)
		b.wants("after adding", main, "The ops user is added", "vera@onboarding.example")
		u, err := b.st.Q(ctx).OpsUserByEmail("vera@onboarding.example")
		storetest.Must(t, err)
		row := "#user-" + itoa64(u.ID)
		b.wants("the new row", b.text(row), "viewer", "active", "never")

		// Role.
		b.set("#role-"+itoa64(u.ID), "approver")
		b.act("#set-role-"+itoa64(u.ID), http.StatusOK)
		b.wants("after the role change", b.text("#flash"), "The role is changed")
		b.wants("the row", b.text(row+" td.role"), "approver")

		// Disable, enable.
		b.act("#disable-"+itoa64(u.ID), http.StatusOK)
		b.wants("after disabling", b.text(row+" td.status"), "disabled")
		if u, _ := b.st.Q(ctx).OpsUserByEmail("vera@onboarding.example"); u.DisabledAt == nil {
			t.Error("the user is not disabled")
		}
		b.act("#enable-"+itoa64(u.ID), http.StatusOK)
		b.wants("after enabling", b.text(row+" td.status"), "active")

		// A new password, with which the user logs in.
		b.set("#password-"+itoa64(u.ID), "the new long password")
		b.act("#set-password-"+itoa64(u.ID), http.StatusOK)
		b.wants("after the password", b.text("#flash"), "The password is changed")
		b.screenshot("team-" + b.viewportName())
		audit, err := b.st.Q(ctx).OpsUserAudit("vera@onboarding.example")
		storetest.Must(t, err)
		if len(audit) != 5 || audit[0].Actor != "ops:"+opsEmail {
			t.Errorf("audit of the team changes: %+v", audit)
		}

		b.logout()
		b.login("vera@onboarding.example", "the new long password")
		if b.has(`header nav a[href="/ops/team"]`) {
			t.Error("an approver sees the Team link")
		}
		if st := b.navigate(b.srv.URL + "/ops/team"); st != http.StatusForbidden {
			t.Errorf("team page for an approver: %d", st)
		}
		b.wants("refusal", b.text("main"), "Not allowed", "admin")
	})
}

func TestBrowserRequestActions(t *testing.T) {
	forEachViewport(t, func(t *testing.T, b *browserFixture) {
		const second, viewer = "anna@onboarding.example", "victor@onboarding.example"
		b.addUser(second, workflow.RoleApprover)
		b.addUser(viewer, workflow.RoleViewer)
		clean := b.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN)
		rejected := b.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein GmbH", orgDE)
		mismatch := b.deliver("jonas@alpenblick.example", "Evil Industries", orgX)

		b.login(opsEmail, opsPassword)
		open := func(id int64) {
			t.Helper()
			b.navigate(b.srv.URL + "/ops/requests/" + itoa(id))
			b.do("opening "+store.Reference(id), chromedp.WaitVisible(chromedp.ID("state")))
		}

		// Approve.
		open(clean)
		b.set("#note", "Welcome aboard")
		main := b.act("#approve", http.StatusOK)
		b.wants("after approving", main, "Approved: the link is recorded as invited")
		if got := b.state(); got != store.StateInvited {
			t.Errorf("approved request shown as %q", got)
		}

		// Reject, with a reason.
		open(rejected)
		b.set("#reason", "Not a customer of yours")
		main = b.act("#reject", http.StatusOK)
		b.wants("after rejecting", main, "Rejected: the partner is told the reason.", "Not a customer of yours")
		if got := b.state(); got != store.StateRejected {
			t.Errorf("rejected request shown as %q", got)
		}

		// Four eyes: the first approval is one of two, and says by whom.
		open(mismatch)
		b.wants("four eyes", b.text("#four-eyes"), "name mismatch", "two different ops users")
		main = b.act("#approve", http.StatusOK)
		b.wants("after the first approval", main, "Approved 1 of 2")
		b.wants("four eyes status", b.text("#four-eyes-status"), "approved 1 of 2 by "+opsEmail)
		if got := b.state(); got != store.StatePendingApproval {
			t.Errorf("after one approval the request is %q", got)
		}
		b.logout()

		// A second ops user sees who approved, and approves.
		b.login(second, opsPassword)
		open(mismatch)
		b.wants("the second user's view", b.text("#four-eyes-status"), "approved 1 of 2 by "+opsEmail)
		main = b.act("#approve", http.StatusOK)
		b.wants("after the second approval", main, "Approved: the link is recorded as invited")
		if got := b.state(); got != store.StateInvited {
			t.Errorf("after two approvals the request is %q", got)
		}
		b.logout()

		// A viewer sees the requests and the registry, and no button that writes.
		b.login(viewer, opsPassword)
		writes := `main form[method=post] button`
		for _, path := range []string{"/ops/requests/" + itoa(clean), "/ops/requests/" + itoa(mismatch),
			"/ops/partners/" + itoa64(b.partner.ID), "/ops/organizations/" + orgEN, "/ops/messages/1"} {
			if st := b.navigate(b.srv.URL + path); st != http.StatusOK {
				t.Fatalf("%s for a viewer: %d", path, st)
			}
			if b.has(writes) {
				t.Errorf("%s shows a viewer a write button: %s", path, b.text("main"))
			}
		}
		if b.has(`header nav a[href="/ops/team"]`) {
			t.Error("a viewer sees the Team link")
		}
	})
}

func TestBrowserLanguageSwitch(t *testing.T) {
	forEachViewport(t, func(t *testing.T, b *browserFixture) {
		ctx := context.Background()
		id := b.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN)

		// The browser asks for English; the switch on the login page
		// changes to German, and a reload keeps it.
		b.navigate(b.srv.URL + "/ops/login")
		b.wants("login page", b.text("h1"), "Log in")
		b.act("#lang-switch", http.StatusOK)
		b.wants("after switching", b.text("h1"), "Anmelden")
		b.do("reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("login")))
		b.wants("after reloading", b.text("h1"), "Anmelden")

		// Logging in keeps the choice on the user.
		b.login(opsEmail, opsPassword)
		b.wants("navigation", b.text("header"), "Warteschlange", "Abmelden")
		if u, _ := b.st.Q(ctx).OpsUserByEmail(opsEmail); u.Locale != "de" {
			t.Errorf("the user's language is %q, want de", u.Locale)
		}
		b.navigate(b.srv.URL + "/ops/requests/" + itoa(id))
		b.do("opening the request", chromedp.WaitVisible(chromedp.ID("approve")))
		b.wants("request page", b.text("main"), "Genehmigen und einladen", "Prüfprotokoll", "Eingegangen")
		received := b.request(id).ReceivedAt.UTC().Format("02.01.2006")
		b.wants("German date", b.text("main"), received)
		b.screenshot("request-de-" + b.viewportName())

		// Switching back lands on the same page, in English.
		b.act("#lang-switch", http.StatusOK)
		b.wants("in English", b.text("main"), "Approve and invite", store.Reference(id))
		if u, _ := b.st.Q(ctx).OpsUserByEmail(opsEmail); u.Locale != "en" {
			t.Errorf("the user's language is %q, want en", u.Locale)
		}
		b.act("#lang-switch", http.StatusOK)
		b.do("reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("approve")))
		b.wants("after reloading", b.text("#approve"), "Genehmigen und einladen")

		// After logout the login page still speaks German …
		b.logout()
		b.wants("login after logout", b.text("h1"), "Anmelden")

		// … and in a browser that never chose (no cookies), the login page
		// follows the browser, and logging in brings the user's choice.
		if _, err := chromedp.Call(b.tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatalf("clearing cookies: %v", err)
		}
		b.navigate(b.srv.URL + "/ops/login")
		b.wants("login in a fresh browser", b.text("h1"), "Log in")
		b.login(opsEmail, opsPassword)
		b.wants("navigation after re-login", b.text("header"), "Warteschlange")
	})
}

func itoa64(id int64) string { return strconv.FormatInt(id, 10) }
