package web_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/onboarder/onboarder/store/storetest"
)

var screenshots = flag.Bool("screenshots", false, "TestScreenshots writes the README's screenshots to docs/")

// TestScreenshots makes the README's screenshots: the queue, a request, a
// partner, the audit page and the invitation page, at desktop and at phone width, as a
// person sees them on opening the page. It runs only when asked:
//
//	go test ./web -run TestScreenshots -screenshots
func TestScreenshots(t *testing.T) {
	if !*screenshots {
		t.Skip("writes docs/*.png only with -screenshots")
	}
	docs, err := filepath.Abs("../docs")
	storetest.Must(t, err)
	for _, vp := range []viewport{desktop, phone} {
		t.Run(vp.Name, func(t *testing.T) {
			b := newBrowserFixtureAt(t, vp)
			b.deliver("jonas@alpenblick.example", "Northwind Traders Ltd", orgEN)
			flagged := b.deliver("jonas@alpenblick.example", "Sonnenschein Bakery", orgDE)
			b.clock.Add(3 * 3600e9)
			invited := b.deliver("sam@cloudharbor.example", "Northwind Traders Ltd", orgEN)
			token := b.approve(invited)

			shoot := func(path, wait, name string) {
				t.Helper()
				if st := b.navigate(b.srv.URL + path); st != http.StatusOK {
					t.Fatalf("%s: %d", path, st)
				}
				b.do("waiting for "+path, chromedp.WaitVisible(chromedp.CSS(wait)))
				png, err := chromedp.Run(b.tab, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatalf("screenshot of %s: %v", path, err)
				}
				file := filepath.Join(docs, name+"-"+vp.Name+".png")
				storetest.Must(t, os.WriteFile(file, png, 0o644))
				t.Logf("wrote %s", file)
			}
			b.login(opsEmail, opsPassword)
			shoot("/ops/", "#queue", "ops-queue")
			shoot("/ops/requests/"+itoa(flagged), "#approve", "ops-request")
			shoot("/ops/partners/"+itoa64(b.partner.ID), "#links", "ops-partner")
			shoot("/ops/audit", "#audit", "ops-audit")
			shoot("/invite/"+token, "#accept", "invitation")
		})
	}
}
