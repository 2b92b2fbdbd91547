package web_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// zoom200 is a 1280×800 window at 200% zoom: the page lays out in half the
// CSS pixels.
var zoom200 = viewport{Name: "zoom200", W: 640, H: 400}

// The console's pages fit their window at every size (nothing runs off to
// the side), lists are tables on a desktop and cards narrower, every form
// field has a label, and the keyboard reaches the content by the skip link
// with a visible focus.
func TestBrowserLayout(t *testing.T) {
	for _, vp := range []viewport{desktop, phone, zoom200} {
		t.Run(vp.Name, func(t *testing.T) {
			b := newBrowserFixtureAt(t, vp)
			id := b.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
			b.login(opsEmail, opsPassword)
			for _, path := range []string{"/ops/", "/ops/requests/" + itoa(id), "/ops/partners/" + itoa64(b.partner.ID),
				"/ops/organizations/" + orgEN, "/ops/team", "/ops/messages/1", "/ops/login"} {
				if st := b.navigate(b.srv.URL + path); st != http.StatusOK {
					t.Fatalf("%s: %d", path, st)
				}
				sideways, err := chromedp.Run(b.tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
				if err != nil {
					t.Fatal(err)
				}
				if sideways > 0 {
					t.Errorf("%s at %s runs %dpx off the side", path, vp.Name, sideways)
				}
				rows, err := chromedp.Run(b.tab, chromedp.Evaluate[[]string](
					`Array.from(document.querySelectorAll('table.list tbody tr')).map(r => getComputedStyle(r).display)`))
				if err != nil {
					t.Fatal(err)
				}
				want := "block"
				if vp.W >= 1024 {
					want = "table-row"
				}
				for _, d := range rows {
					if d != want {
						t.Errorf("%s at %s: a list row is shown as %s, want %s", path, vp.Name, d, want)
						break
					}
				}
				unlabelled, err := chromedp.Run(b.tab, chromedp.Evaluate[[]string](
					`Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
					  .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.id || e.name)`))
				if err != nil {
					t.Fatal(err)
				}
				if len(unlabelled) > 0 {
					t.Errorf("%s: fields without a label: %v", path, unlabelled)
				}
			}

			// The keyboard: the first Tab shows the skip link, Enter goes to
			// the content; focus is visible.
			b.navigate(b.srv.URL + "/ops/requests/" + itoa(id))
			b.do("tabbing", chromedp.KeyEvent(kb.Tab))
			focused, err := chromedp.Run(b.tab, chromedp.Evaluate[[]any](
				`(() => { const e = document.activeElement, r = e.getBoundingClientRect(), s = getComputedStyle(e);
				  return [e.textContent, r.top >= 0 && r.bottom <= window.innerHeight, s.outlineStyle, s.outlineWidth] })()`))
			if err != nil {
				t.Fatal(err)
			}
			if focused[0] != "Skip to content" || focused[1] != true || focused[2] == "none" || focused[3] == "0px" {
				t.Errorf("first Tab focuses %v (text, in view, outline style, width)", focused)
			}
			b.do("following the skip link", chromedp.KeyEvent(kb.Enter))
			at, err := chromedp.Run(b.tab, chromedp.Evaluate[string](`document.activeElement.id`))
			if err != nil || at != "main" {
				t.Errorf("after the skip link the focus is on %q (%v)", at, err)
			}
		})
	}
}
