package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
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

// listPages are the console's list pages: the id of the table each shows
// and its column heads in German.
var listPages = []struct {
	path, table string
	de          []string
}{
	{"/ops/", "queue", []string{"Anfrage", "Partner", "Kunde", "Organisation", "Befunde", "Alter"}},
	{"/ops/links", "links", []string{"Organisation", "ID", "Partner", "Typ", "Status", "Begonnen", "Endet am", "Beendet", "Anfrage", "Aktionen"}},
	{"/ops/messages", "messages", []string{"Betreff", "ID", "Eingegangen", "Von", "Einordnung", "Anfrage", "Aktionen"}},
	{"/ops/outbox", "outbox", []string{"Betreff", "ID", "Erstellt", "Art", "An", "Status", "Versuche", "Anfrage", "Aktionen"}},
	{"/ops/partners", "partners", []string{"Name", "ID", "Referenz", "Status", "Sprache", "Vertrauenswürdig",
		"Übergeordneter Distributor", "Absender", "Aktionen"}},
	{"/ops/organizations", "organizations", []string{"Name", "Organisations-ID", "Status", "Administrator", "Land",
		"Sprache", "USt-IdNr.", "Aktionen"}},
	{"/ops/audit", "audit", []string{"Wann", "Ausgeführt von", "Objekt", "Von", "Nach", "Grund"}},
}

// listShape is how a list page lays out: its rows' display, how far the
// page and each scroll box run off the side, and the cells of a card that
// lack their label (not the lead, no data-label, not the actions).
type listShape struct {
	Rows      []string `json:"rows"`
	Sideways  int      `json:"sideways"`
	Scrolling int      `json:"scrolling"`
	Unlabeled []string `json:"unlabeled"`
	Labels    []string `json:"labels"`
	Heads     []string `json:"heads"`
}

func (b *browserFixture) listShape(table string) listShape {
	b.t.Helper()
	s, err := chromedp.Run(b.tab, chromedp.Evaluate[listShape](`(() => {
	  const t = document.getElementById(`+"`"+table+"`"+`);
	  if (!t || !t.classList.contains('list')) return {rows: [], sideways: 0, scrolling: 0, unlabeled: ['no table.list'], labels: [], heads: []};
	  const rows = Array.from(t.tBodies[0].rows);
	  const cells = rows.length ? Array.from(rows[0].cells) : [];
	  return {
	    rows: rows.map(r => getComputedStyle(r).display),
	    sideways: document.documentElement.scrollWidth - window.innerWidth,
	    scrolling: Math.max(0, ...Array.from(document.querySelectorAll('.scroll')).map(e => e.scrollWidth - e.clientWidth)),
	    unlabeled: cells.filter((c, i) => i > 0 && !c.dataset.label && !c.classList.contains('actions')).map(c => c.textContent.trim()),
	    labels: cells.filter(c => c.dataset.label).map(c => c.dataset.label),
	    heads: Array.from(t.tHead.rows[0].cells).map(c => c.textContent.trim()),
	  };
	})()`))
	if err != nil {
		b.t.Fatalf("reading the list %s: %v", table, err)
	}
	return s
}

// Every list page is a table on a desktop and one card per row on a phone
// and at 200% zoom, with nothing running off the side; each card has its
// title and every other cell its label. Switched to German, every list
// page has German column heads and card labels, and names states in
// German while keeping their codes.
func TestBrowserListPages(t *testing.T) {
	for _, vp := range []viewport{desktop, phone, zoom200} {
		t.Run(vp.Name, func(t *testing.T) {
			b := newBrowserFixtureAt(t, vp)
			b.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
			b.approve(b.deliver("sam@cloudharbor.example", "Northwind Traders Ltd", orgEN))
			b.login(opsEmail, opsPassword)
			check := func(lang string) {
				t.Helper()
				for _, p := range listPages {
					if st := b.navigate(b.srv.URL + p.path); st != http.StatusOK {
						t.Fatalf("%s: %d", p.path, st)
					}
					s := b.listShape(p.table)
					if len(s.Rows) == 0 {
						t.Errorf("%s (%s): no rows in table.list#%s (%v)", p.path, lang, p.table, s.Unlabeled)
						continue
					}
					want := "block"
					if vp.W >= 1024 {
						want = "table-row"
					}
					for _, d := range s.Rows {
						if d != want {
							t.Errorf("%s at %s: a row is shown as %s, want %s", p.path, vp.Name, d, want)
							break
						}
					}
					if s.Sideways > 0 || (want == "block" && s.Scrolling > 0) {
						t.Errorf("%s at %s runs off the side: page %dpx, list %dpx", p.path, vp.Name, s.Sideways, s.Scrolling)
					}
					if len(s.Unlabeled) > 0 {
						t.Errorf("%s: cells without a label: %q", p.path, s.Unlabeled)
					}
					if lang != "de" {
						continue
					}
					if strings.Join(s.Heads, "|") != strings.Join(p.de, "|") {
						t.Errorf("%s in German: column heads %q, want %q", p.path, s.Heads, p.de)
					}
					for _, l := range s.Labels {
						if !slices.Contains(p.de, l) {
							t.Errorf("%s in German: card label %q is no German column head", p.path, l)
						}
					}
				}
			}
			check("en")
			// The switch on a list page comes back to that page, its filter kept.
			b.navigate(b.srv.URL + "/ops/partners?status=active")
			b.act("#lang-switch", http.StatusOK)
			at, err := chromedp.Run(b.tab, chromedp.Evaluate[string](`location.pathname + location.search`))
			if err != nil || at != "/ops/partners?status=active" {
				t.Errorf("after the switch on the partners page the browser is at %q (%v)", at, err)
			}
			b.wants("partners in German", b.text("h1"), "Partner")
			check("de")
			b.navigate(b.srv.URL + "/ops/partners")
			b.screenshot("partners-de-" + vp.Name)

			// States keep their code for tests and for ops who search by it.
			b.navigate(b.srv.URL + "/ops/?state=all")
			var states [][]string
			states, err = chromedp.Run(b.tab, chromedp.Evaluate[[][]string](
				`Array.from(document.querySelectorAll('#queue [data-state]')).map(e => [e.dataset.state, e.textContent])`))
			storetest.Must(t, err)
			got := map[string]string{}
			for _, s := range states {
				got[s[0]] = s[1]
			}
			if got[store.StatePendingApproval] != "zur Genehmigung" || got[store.StateInvited] != "eingeladen" {
				t.Errorf("German queue states: %v", got)
			}
			b.wants("German queue", b.text("main"), "Befunde", "Absender nicht geprüft", "CSV herunterladen")
		})
	}
}
