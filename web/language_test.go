package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

var germanDate = regexp.MustCompile(`\d\d\.\d\d\.\d{4} \d\d:\d\d UTC`)

// getIn is a GET with the browser's Accept-Language.
func (c *client) getIn(path, acceptLanguage string) resp {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Accept-Language", acceptLanguage)
	return c.do(req)
}

// The console's language: the browser's Accept-Language until the switch
// is used; the choice is kept in a cookie, and on the ops user (at the
// switch, or at login from the cookie), where it counts in every browser.
// Flash and error lines of the actions are in it too.
func TestConsoleLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		ctx := context.Background()
		c := f.client()

		contains(t, "German browser", c.getIn("/ops/login", "de-DE,de;q=0.9,en;q=0.5").Body, `lang="de"`, "Anmelden", "Passwort")
		contains(t, "other browser", c.getIn("/ops/login", "fr-FR, en;q=0.5").Body, `lang="en"`, "Log in", "Password")

		// The switch refuses what it does not know, and stays in the console.
		if r := c.post("/ops/lang", url.Values{"lang": {"fr"}}); r.Status != http.StatusBadRequest {
			t.Errorf("unknown language: %d", r.Status)
		}
		if r := c.post("/ops/lang", url.Values{"lang": {"de"}, "next": {"//evil.example/"}}); r.Header.Get("Location") != "/ops/" {
			t.Errorf("switch to another site: %d %s", r.Status, r.Header.Get("Location"))
		}
		if r := c.post("/ops/lang", url.Values{"lang": {"de"}, "next": {"/ops/login"}}, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("cross-site switch: %d", r.Status)
		}
		r := c.post("/ops/lang", url.Values{"lang": {"de"}, "next": {"/ops/login"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ops/login" {
			t.Fatalf("switch: %d %s", r.Status, r.Header.Get("Location"))
		}
		contains(t, "after the switch", c.getIn("/ops/login", "en").Body, `lang="de"`, "Anmelden")

		// Logging in keeps the browser's choice on the user.
		c.login()
		if u, _ := st.Q(ctx).OpsUserByEmail(opsEmail); u.Locale != "de" {
			t.Errorf("the user's language after login: %q", u.Locale)
		}

		// Another browser, asking for English: the user's choice wins.
		other := f.client()
		other.login()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN)
		path := fmt.Sprintf("/ops/requests/%d", id)
		body := other.getIn(path, "en").Body
		contains(t, "request page", body, `lang="de"`, "Warteschlange", "Genehmigen und einladen", "Prüfprotokoll")
		lacks(t, "request page", body, "Approve and invite", "Audit trail")

		// An action's error and flash lines.
		v := version(t, body)
		r = other.post(path+"/reject", url.Values{"version": {v}, "reason": {" "}})
		// The switch on that page returns to the request, not to the post.
		contains(t, "reject without a reason", r.Body, "Bitte geben Sie einen Grund an", `name="next" value="`+path+`"`)
		r = other.post(path+"/reject", url.Values{"version": {v}, "reason": {"Kein Kunde von Ihnen"}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("reject: %d", r.Status)
		}
		contains(t, "after rejecting", other.getIn(r.Header.Get("Location"), "en").Body, "Abgelehnt: Der Partner erfährt den Grund.")

		// Switching in one browser changes the user's language everywhere.
		if r := other.post("/ops/lang", url.Values{"lang": {"en"}, "next": {path}}); r.Header.Get("Location") != path {
			t.Errorf("switch back: %d %s", r.Status, r.Header.Get("Location"))
		}
		contains(t, "first browser", c.getIn(path, "de").Body, `lang="en"`, "Audit trail")
		if !strings.Contains(c.getIn("/ops/partners/"+fmt.Sprint(f.partner.ID), "de").Body, "Sender rules") {
			t.Error("the partner page is not in English")
		}

		// The invitation page writes its date the administrator's way.
		token := f.approve(f.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein GmbH", orgDE))
		page := f.client().get("/invite/" + token).Body
		contains(t, "German invitation", page, "Gültig bis")
		if !germanDate.MatchString(page) {
			t.Error("the German invitation page has no date written the German way")
		}
	})
}
