package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// setClock sets the fixture's clock (before logging in: sessions use it).
func (f *fixture) setClock(t time.Time) {
	f.clock.mu.Lock()
	defer f.clock.mu.Unlock()
	f.clock.t = t
}

// seedRequests records n open requests of the fixture's partner, one a
// minute up to the clock's time, customer "Customer NNN".
func (f *fixture) seedRequests(n int) []int64 {
	f.t.Helper()
	q := f.st.Q(context.Background())
	var ids []int64
	for i := 0; i < n; i++ {
		r := &store.Request{State: store.StatePendingApproval, PartnerID: &f.partner.ID, Sender: "jonas@alpenblick.example",
			CustomerName: fmt.Sprintf("Customer %03d", i), ReceivedAt: f.clock.Now().Add(time.Duration(i-n) * time.Minute)}
		storetest.Must(f.t, q.InsertRequest(r))
		ids = append(ids, r.ID)
	}
	return ids
}

var refRE = regexp.MustCompile(`data-ref="(REQ-\d{6})"`)

func queueRefs(body string) []string {
	var out []string
	for _, m := range refRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// link returns the href of the element with this id ("" when absent).
func link(body, id string) string {
	m := regexp.MustCompile(`<a href="([^"]*)"[^>]*id="` + id + `"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// The queue shows 50 requests a page, newest first, with a link to the
// next page that keeps the filter; requests arriving between page loads
// neither repeat nor hide one; the previous-page link goes back; a forged
// cursor is refused.
func TestConsoleQueuePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		ids := f.seedRequests(120)
		other := store.Request{State: store.StatePendingApproval, Sender: "x@cloudharbor.example", CustomerName: "Not this partner"}
		storetest.Must(t, st.Q(context.Background()).InsertRequest(&other))

		path := fmt.Sprintf("/ops/?state=open&partner=%d", f.partner.ID)
		var seen []string
		var pages []string
		for path != "" {
			r := c.get(path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d", path, r.Status)
			}
			refs := queueRefs(r.Body)
			if len(refs) > 50 {
				t.Fatalf("%s: %d rows", path, len(refs))
			}
			seen = append(seen, refs...)
			pages = append(pages, path)
			// New requests arrive while the user reads the page.
			f.clock.Add(time.Minute)
			f.seedRequests(1)
			path = link(r.Body, "next-page")
			if path != "" && (!strings.Contains(path, "partner=") || !strings.Contains(path, "state=open")) {
				t.Errorf("next-page link lost the filter: %s", path)
			}
		}
		if len(pages) != 3 {
			t.Errorf("%d pages for 120 requests", len(pages))
		}
		var want []string
		for i := len(ids) - 1; i >= 0; i-- {
			want = append(want, store.Reference(ids[i]))
		}
		if strings.Join(seen, " ") != strings.Join(want, " ") {
			t.Errorf("pages showed\n%v\nwant\n%v", seen, want)
		}
		r := c.get(pages[2])
		back := link(r.Body, "prev-page")
		if back == "" {
			t.Fatalf("the last page has no previous-page link")
		}
		r = c.get(back)
		if got := queueRefs(r.Body); strings.Join(got, " ") != strings.Join(want[50:100], " ") {
			t.Errorf("previous page: %v, want %v", got, want[50:100])
		}
		if r := c.get("/ops/?after=forged"); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "page link is not valid") {
			t.Errorf("forged cursor: %d", r.Status)
		}
	})
}

// The queue filters by kind, finding and text, and marks open requests
// older than one business day overdue: one received Friday 17:00 is due
// Monday 17:00.
func TestConsoleQueueFiltersAndTarget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		monday := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
		f.setClock(monday)
		c := f.client()
		c.login()
		q := st.Q(context.Background())
		add := func(r store.Request) int64 {
			r.PartnerID, r.Sender = &f.partner.ID, "jonas@alpenblick.example"
			if r.State == "" {
				r.State = store.StatePendingApproval
			}
			storetest.Must(t, q.InsertRequest(&r))
			return r.ID
		}
		friLate := add(store.Request{CustomerName: "Late Friday", ReceivedAt: time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)})
		friEarly := add(store.Request{CustomerName: "Early Friday", ReceivedAt: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC),
			Kind: store.KindNewOrganization})
		closed := add(store.Request{CustomerName: "Long closed", State: store.StateRejected, ReceivedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)})
		storetest.Must(t, q.AddFinding(friLate, workflow.FindNameMismatch, ""))

		r := c.get("/ops/?state=all")
		rows := map[string]string{}
		for _, m := range regexp.MustCompile(`(?s)<tr class="([^"]*)" data-ref="(REQ-\d+)"`).FindAllStringSubmatch(r.Body, -1) {
			rows[m[2]] = m[1]
		}
		if strings.Contains(rows[store.Reference(friLate)], "overdue") || !strings.Contains(rows[store.Reference(friEarly)], "overdue") ||
			strings.Contains(rows[store.Reference(closed)], "overdue") {
			t.Errorf("overdue marks at Monday 16:00: %v", rows)
		}
		f.clock.Add(61 * time.Minute) // Monday 17:01
		r = c.get("/ops/")
		if !regexp.MustCompile(`overdue" data-ref="` + store.Reference(friLate)).MatchString(r.Body) {
			t.Errorf("Friday 17:00 not overdue on Monday 17:01")
		}

		for query, want := range map[string][]int64{
			"?kind=new_organization":                   {friEarly},
			"?finding=name_mismatch":                   {friLate},
			"?state=all&q=long+closed":                 {closed},
			"?state=rejected":                          {closed},
			"?state=all&q=" + store.Reference(friLate): {friLate},
			"?kind=customer_first":                     nil,
			"?finding=x%27%3B+DROP":                    {friLate, friEarly}, // not a code: no filter
		} {
			r := c.get("/ops/" + query)
			var w []string
			for _, id := range want {
				w = append(w, store.Reference(id))
			}
			if got := queueRefs(r.Body); strings.Join(got, " ") != strings.Join(w, " ") {
				t.Errorf("queue %s: %v, want %v", query, got, w)
			}
		}
		r = c.get("/ops/?kind=new_organization")
		contains(t, "filtered queue", r.Body, `<option value="new_organization" selected>`, `<option value="name_mismatch">`)
	})
}

// readCSV checks a CSV attachment's headers and returns its rows.
func readCSV(t *testing.T, r resp, name string) [][]string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("%s export: %d %s", name, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("%s export: Content-Type %q", name, ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename="` + name + `-\d{8}-\d{4}\.csv"$`).MatchString(cd) {
		t.Errorf("%s export: Content-Disposition %q", name, cd)
	}
	if !strings.Contains(r.Body, "\r\n") {
		t.Errorf("%s export: lines do not end in CRLF", name)
	}
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatalf("%s export is not CSV: %v", name, err)
	}
	return rows
}

// The queue's CSV export has every request of the filter (not one page),
// quotes as RFC 4180 says, and defuses cells a spreadsheet would run as a
// formula; a viewer may export.
func TestConsoleQueueCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		viewer := f.loginAs("vera@onboarding.example", workflow.RoleViewer)
		ids := f.seedRequests(70)
		q := st.Q(context.Background())
		hostile := []string{`=HYPERLINK("http://evil.example","x")`, "+49 30 1234", "-2+3", "@SUM(A1)", "\tTab", "\rCR",
			"Müller, \"Bäcker\"\nzweite Zeile"}
		var hostileIDs []int64
		for _, name := range hostile {
			r := &store.Request{State: store.StateNeedsInfo, Sender: "x@cloudharbor.example", CustomerName: name}
			storetest.Must(t, q.InsertRequest(r))
			hostileIDs = append(hostileIDs, r.ID)
		}
		org := orgEN
		r := &store.Request{State: store.StateRejected, PartnerID: &f.partner.ID, Sender: "jonas@alpenblick.example",
			CustomerName: "Closed", OrganizationID: &org}
		storetest.Must(t, q.InsertRequest(r))

		page := viewer.get(fmt.Sprintf("/ops/?state=open&partner=%d", f.partner.ID))
		export := link(page.Body, "export-csv")
		if !strings.Contains(export, "format=csv") || !strings.Contains(export, fmt.Sprintf("partner=%d", f.partner.ID)) {
			t.Fatalf("export link %q does not keep the filter", export)
		}
		rows := readCSV(t, viewer.get(export), "requests")
		if want := []string{"reference", "state", "kind", "partner", "sender", "customer_name", "organization_id",
			"organization_name", "findings", "received_at", "overdue"}; strings.Join(rows[0], ",") != strings.Join(want, ",") {
			t.Errorf("header %v", rows[0])
		}
		if len(rows) != 1+len(ids) {
			t.Fatalf("export of the partner's open requests: %d rows, want %d", len(rows)-1, len(ids))
		}
		if rows[1][0] != store.Reference(ids[len(ids)-1]) || rows[len(rows)-1][0] != store.Reference(ids[0]) {
			t.Errorf("export order: first %s, last %s", rows[1][0], rows[len(rows)-1][0])
		}
		if rows[1][3] != "Alpenblick IT GmbH" || rows[1][1] != store.StatePendingApproval {
			t.Errorf("row %v", rows[1])
		}

		rows = readCSV(t, viewer.get("/ops/?state=needs_info&format=csv"), "requests")
		got := map[string]string{}
		for _, row := range rows[1:] {
			got[row[0]] = row[5]
		}
		for i, id := range hostileIDs {
			want := hostile[i]
			if strings.ContainsRune("=+-@\t\r", rune(want[0])) {
				want = "'" + want
			}
			// encoding/csv drops a lone CR when it ends lines with CRLF.
			want = strings.Replace(want, "'\r", "'", 1)
			if got[store.Reference(id)] != want {
				t.Errorf("customer cell %q: %q, want %q", hostile[i], got[store.Reference(id)], want)
			}
		}
		if len(rows) != 1+len(hostile) {
			t.Errorf("needs_info export: %d rows", len(rows)-1)
		}
		rows = readCSV(t, viewer.get("/ops/?state=all&q=northwind&format=csv"), "requests")
		if len(rows) != 2 || rows[1][7] != "Northwind Traders Ltd" {
			t.Errorf("text-filtered export: %v", rows)
		}
		// Logged out, no export.
		if r := f.client().get("/ops/?format=csv"); r.Status != http.StatusSeeOther {
			t.Errorf("export without a session: %d", r.Status)
		}
	})
}

// The links page filters by status, partner and organization, pages, and
// exports the filtered links.
func TestConsoleLinksFiltersAndCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		q := st.Q(context.Background())
		other, err := q.PartnerForSender("sam@cloudharbor.example")
		storetest.Must(t, err)
		orgs := []string{orgDE, orgEN, orgX}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 60; i++ {
			l := &store.Link{PartnerID: f.partner.ID, OrganizationID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
				Status: store.LinkExpired, StartedAt: base.Add(time.Duration(i) * time.Hour)}
			storetest.Must(t, q.InsertLink(l))
		}
		for i, o := range orgs {
			storetest.Must(t, q.InsertLink(&store.Link{PartnerID: other.ID, OrganizationID: o, Status: store.LinkActive,
				StartedAt: base.Add(time.Duration(100+i) * time.Hour), EndReason: "=cmd|' /C calc'!A0"}))
		}
		r := c.get("/ops/links?status=active")
		contains(t, "active links", r.Body, "Cloud Harbor Ltd", "Northwind Traders Ltd")
		lacks(t, "active links", r.Body, "00000000-0000-4000-8000-", `id="next-page"`)
		r = c.get("/ops/links?organization=" + url.QueryEscape(strings.ToUpper(orgEN)))
		contains(t, "links of an organization", r.Body, orgEN)
		lacks(t, "links of an organization", r.Body, orgDE, orgX)
		r = c.get(fmt.Sprintf("/ops/links?partner=%d", f.partner.ID))
		if n := strings.Count(r.Body, "00000000-0000-4000-8000-"); n != 50 {
			t.Errorf("first page of the partner's links: %d rows", n)
		}
		lacks(t, "the partner's links", r.Body, "Cloud Harbor Ltd</td>")
		next := link(r.Body, "next-page")
		r = c.get(next)
		if n := strings.Count(r.Body, "00000000-0000-4000-8000-"); n != 10 || !strings.Contains(r.Body, "00000000-0000-4000-8000-000000000000") {
			t.Errorf("second page of the partner's links: %d rows", n)
		}

		rows := readCSV(t, c.get(fmt.Sprintf("/ops/links?partner=%d&format=csv", f.partner.ID)), "links")
		if len(rows) != 61 || rows[0][0] != "id" || rows[1][3] != "00000000-0000-4000-8000-000000000059" {
			t.Errorf("partner's links export: %d rows, first %v", len(rows), rows[1])
		}
		rows = readCSV(t, c.get("/ops/links?status=active&format=csv"), "links")
		if len(rows) != 4 || rows[1][1] != "Cloud Harbor Ltd" || rows[1][4] != "Evil Corp" || rows[1][12] != "'=cmd|' /C calc'!A0" {
			t.Errorf("active links export: %v", rows)
		}
	})
}

// The audit page lists every entry newest first and filters by actor,
// subject and dates; a subject it cannot read is refused with the forms
// it takes; the export has the filtered entries.
func TestConsoleAuditPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		viewer := f.loginAs("vera@onboarding.example", workflow.RoleViewer)
		q := st.Q(context.Background())
		req := f.seedRequests(1)[0]
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for _, e := range []store.AuditEntry{
			{RequestID: &req, At: at, Actor: "olga@onboarding.example", FromState: "needs_info", ToState: "pending_approval", Reason: "+ORG fixed"},
			{Subject: fmt.Sprintf("partner:%d", f.partner.ID), At: at.Add(24 * time.Hour), Actor: "admin@onboarding.example", Reason: "renamed"},
			{Subject: "organization:" + orgEN, At: at.Add(48 * time.Hour), Actor: "admin@onboarding.example", Reason: "new administrator"},
			{Subject: "ops_user:vera@onboarding.example", At: at.Add(72 * time.Hour), Actor: "system", Reason: "role viewer"},
		} {
			storetest.Must(t, q.AddAudit(&e))
		}
		r := viewer.get("/ops/audit")
		contains(t, "audit", r.Body, "renamed", "new administrator", "role viewer", "ORG fixed",
			fmt.Sprintf(`href="/ops/requests/%d">request:%d</a>`, req, req), fmt.Sprintf(`href="/ops/partners/%d"`, f.partner.ID))
		if i, j := strings.Index(r.Body, "role viewer"), strings.Index(r.Body, "ORG fixed"); i > j {
			t.Errorf("audit not newest first")
		}
		for query, want := range map[string][]string{
			"actor=admin%40onboarding.example":             {"renamed", "new administrator"},
			"subject=request%3A" + store.Reference(req):    {"ORG fixed"},
			"subject=organization%3A" + orgEN:              {"new administrator"},
			"subject=ops_user%3Avera%40onboarding.example": {"role viewer"},
			"from=2026-12-02&to=2026-12-03":                {"renamed", "new administrator"},
			"to=2026-12-01":                                {"ORG fixed"},
		} {
			r := viewer.get("/ops/audit?" + query)
			if r.Status != http.StatusOK {
				t.Fatalf("audit %s: %d", query, r.Status)
			}
			n := 0
			for _, reason := range []string{"ORG fixed", "renamed", "new administrator", "role viewer"} {
				if strings.Contains(r.Body, reason+"</td>") {
					n++
				}
			}
			contains(t, "audit "+query, r.Body, want...)
			if n != len(want) {
				t.Errorf("audit %s: %d entries, want %v", query, n, want)
			}
		}
		for _, bad := range []string{"subject=customer%3A1", "subject=request%3Aabc", "from=1.12.2026"} {
			if r := viewer.get("/ops/audit?" + bad); r.Status != http.StatusBadRequest {
				t.Errorf("audit %s: %d", bad, r.Status)
			}
		}
		page := viewer.get("/ops/audit?actor=admin%40onboarding.example")
		rows := readCSV(t, viewer.get(link(page.Body, "export-csv")), "audit")
		if len(rows) != 3 || rows[0][1] != "at" || rows[1][3] != "organization:"+orgEN || rows[2][6] != "renamed" ||
			rows[1][1] != "2026-12-03T10:00:00Z" {
			t.Errorf("audit export: %v", rows)
		}
		rows = readCSV(t, viewer.get("/ops/audit?format=csv&subject=request%3A"+fmt.Sprint(req)), "audit")
		if len(rows) != 2 || rows[1][6] != "'+ORG fixed" {
			t.Errorf("audit export of a request: %v", rows)
		}
	})
}

// Mails in, the outbox, partners and organizations page by 50 with links
// that keep the filter, and filter by disposition, status and kind, and
// status and name.
func TestConsoleOtherListsPageAndFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		q := st.Q(context.Background())
		for i := 0; i < 55; i++ {
			disp := store.DispIgnored
			if i == 0 {
				disp = store.DispRequest
			}
			storetest.Must(t, q.SaveMessage(&store.Message{Mailbox: "INBOX", UIDValidity: 1, UID: int64(i + 1),
				FromAddr: "x@example.com", Subject: fmt.Sprintf("Mail in %03d", i), Disposition: disp,
				ReceivedAt: f.clock.Now().Add(time.Duration(i) * time.Second)}))
			kind, status := "needs_info", store.OutboxPending
			if i == 0 {
				kind, status = "invitation", store.OutboxSent
			}
			storetest.Must(t, q.InsertOutbox(&store.OutboxMail{Kind: kind, Delivery: store.Delivery{Status: status}, ToAddrs: `["a@example.com"]`,
				Subject: fmt.Sprintf("Mail out %03d", i), MessageID: fmt.Sprintf("m%d@example.com", i)}))
			storetest.Must(t, q.CreatePartner(&store.Partner{Name: fmt.Sprintf("Partner %03d", i), Locale: "en"}, nil, nil))
			storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
				Name: fmt.Sprintf("Organization %03d", i), Status: store.OrgActive}))
		}
		suspended, err := q.PartnerForSender("sam@cloudharbor.example")
		storetest.Must(t, err)
		storetest.Must(t, q.SetPartnerStatus(suspended.ID, store.PartnerActive, store.PartnerSuspended))

		for _, c2 := range []struct {
			path  string
			row   string
			first int // rows on the first page
			total int // rows over all pages
		}{
			{"/ops/messages", `>Mail in \d{3}<`, 50, 55},
			{"/ops/messages?disposition=request", `>Mail in \d{3}<`, 1, 1},
			{"/ops/outbox", `>Mail out \d{3}<`, 50, 55},
			{"/ops/outbox?kind=needs_info&status=pending", `>Mail out \d{3}<`, 50, 54},
			{"/ops/outbox?kind=invitation", `>Mail out \d{3}<`, 1, 1},
			{"/ops/partners", `<td class="lead"><a href="/ops/partners/\d+">`, 50, 57},
			{"/ops/partners?status=active", `<td class="lead"><a href="/ops/partners/\d+">`, 50, 56},
			{"/ops/partners?status=suspended", `<td class="lead"><a href="/ops/partners/\d+">Cloud Harbor`, 1, 1},
			{"/ops/partners?name=HARBOR", `<td class="lead"><a href="/ops/partners/\d+">`, 1, 1},
			{"/ops/organizations", `<td class="lead"><a href="/ops/organizations/`, 50, 58},
			{"/ops/organizations?name=organization+05", `<td class="lead"><a href="/ops/organizations/`, 5, 5},
			{"/ops/organizations?status=suspended", `<td class="lead"><a href="/ops/organizations/`, 0, 0},
		} {
			re := regexp.MustCompile(c2.row)
			path, total, pages := c2.path, 0, 0
			for path != "" {
				r := c.get(path)
				if r.Status != http.StatusOK {
					t.Fatalf("%s: %d", path, r.Status)
				}
				n := len(re.FindAllString(r.Body, -1))
				if pages == 0 && n != c2.first {
					t.Errorf("%s: %d rows on the first page, want %d", c2.path, n, c2.first)
				}
				total += n
				pages++
				next := link(r.Body, "next-page")
				if next != "" && strings.Contains(c2.path, "?") {
					u, _ := url.Parse(c2.path)
					for k := range u.Query() {
						if !strings.Contains(next, k+"=") {
							t.Errorf("%s: the next-page link %s lost %s", c2.path, next, k)
						}
					}
				}
				path = next
			}
			if total != c2.total {
				t.Errorf("%s: %d rows over %d pages, want %d", c2.path, total, pages, c2.total)
			}
		}
		for _, p := range []string{"/ops/messages", "/ops/outbox", "/ops/partners", "/ops/organizations", "/ops/links", "/ops/audit"} {
			if r := c.get(p + "?after=AAAA"); r.Status != http.StatusBadRequest {
				t.Errorf("%s with a forged cursor: %d", p, r.Status)
			}
		}
	})
}
