package web_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/onboarder/onboarder/store"
)

// rows returns the references the queue shows, in order.
func (b *browserFixture) queueRows() []string {
	b.t.Helper()
	refs, err := chromedp.Run(b.tab, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('#queue tbody tr')).map(r => r.dataset.ref)`))
	if err != nil {
		b.t.Fatalf("reading the queue: %v", err)
	}
	return refs
}

// An ops user pages through a queue of 60 requests (50, then 10, then back
// to the same 50) and downloads the CSV of the whole queue.
func TestBrowserQueuePagesAndCSV(t *testing.T) {
	b := newBrowserFixture(t)
	ids := b.seedRequests(60)
	newest, oldest := store.Reference(ids[59]), store.Reference(ids[0])

	b.navigate(b.srv.URL + "/ops/")
	b.do("logging in",
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("email"), opsEmail),
		chromedp.SendKeys(chromedp.ID("password"), opsPassword),
	)
	b.submit(`#login button[type=submit]`)
	b.do("waiting for the queue", chromedp.WaitVisible(chromedp.ID("queue")))
	first := b.queueRows()
	if len(first) != 50 || first[0] != newest {
		t.Fatalf("first page: %d rows, first %v", len(first), first[:min(1, len(first))])
	}
	b.screenshot("ops-queue-paged")

	b.submit("#next-page")
	b.do("waiting for page 2", chromedp.WaitVisible(chromedp.ID("prev-page")))
	second := b.queueRows()
	if len(second) != 10 || second[9] != oldest || second[0] == first[49] {
		t.Fatalf("second page: %v", second)
	}
	b.submit("#prev-page")
	b.do("waiting for page 1", chromedp.WaitVisible(chromedp.ID("next-page")))
	if again := b.queueRows(); strings.Join(again, " ") != strings.Join(first, " ") {
		t.Errorf("back to page 1: %v", again)
	}

	dir := t.TempDir()
	progress := chromedp.Events(b.tab, browser.DownloadProgress)
	events := true
	b.do("downloading the CSV",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events})
			return err
		}),
		chromedp.Click(chromedp.ID("export-csv")),
	)
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("the download was cancelled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatalf("the download is not CSV: %v", err)
	}
	if len(rows) != 61 || rows[0][0] != "reference" || rows[1][0] != newest || rows[60][0] != oldest {
		t.Errorf("downloaded CSV: %d rows, first %v", len(rows), rows[min(1, len(rows)-1)])
	}
}
