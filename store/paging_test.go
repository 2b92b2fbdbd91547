package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// TestRequestPageKeyset pages through requests while new ones arrive
// between page loads: every request that was there at the start is shown
// exactly once, newest first, also where many share one received time;
// going back gives the same pages.
func TestRequestPageKeyset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		var want []int64 // newest first
		for i := 0; i < 23; i++ {
			// Groups of five share a received time: ties on the sort key.
			r := &store.Request{State: store.StateNeedsInfo, Sender: "a@a.example", CustomerName: fmt.Sprint("c", i),
				ReceivedAt: base.Add(time.Duration(i/5) * time.Minute)}
			storetest.Must(t, q.InsertRequest(r))
			want = append([]int64{r.ID}, want...)
		}
		// The groups were inserted in id order, so newest first within a
		// group is id descending: want is already the expected order.
		var got []int64
		var pages []store.Page[store.Request]
		p := store.Paging{Limit: 4}
		for n := 0; ; n++ {
			pg, err := q.RequestPage(store.RequestList{}, p)
			storetest.Must(t, err)
			pages = append(pages, pg)
			for _, r := range pg.Items {
				got = append(got, r.ID)
			}
			// A request arrives between two page loads, newer and as old
			// as the rows shown.
			storetest.Must(t, q.InsertRequest(&store.Request{State: store.StateNeedsInfo, Sender: "b@a.example",
				ReceivedAt: base.Add(time.Hour + time.Duration(n)*time.Minute)}))
			storetest.Must(t, q.InsertRequest(&store.Request{State: store.StateNeedsInfo, Sender: "b@a.example",
				ReceivedAt: base.Add(-time.Hour)}))
			if pg.Next == "" {
				break
			}
			if n == 0 && pg.Prev != "" {
				t.Errorf("first page has a previous page")
			}
			p = store.Paging{After: pg.Next, Limit: 4}
		}
		// The older arrivals are past the end of the original rows; the
		// original rows come first, each once.
		if len(got) < len(want) || fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
			t.Fatalf("pages gave\n%v\nwant\n%v first", got, want)
		}
		seen := map[int64]bool{}
		for _, id := range got {
			if seen[id] {
				t.Errorf("request %d shown twice", id)
			}
			seen[id] = true
		}
		// Back from the third page: the second page again.
		back, err := q.RequestPage(store.RequestList{}, store.Paging{Before: pages[2].Prev, Limit: 4})
		storetest.Must(t, err)
		if fmt.Sprint(ids(back.Items)) != fmt.Sprint(ids(pages[1].Items)) || back.Prev == "" || back.Next == "" {
			t.Errorf("previous of page 3: %v (prev %q next %q), want %v", ids(back.Items), back.Prev, back.Next, ids(pages[1].Items))
		}
		if _, err := q.RequestPage(store.RequestList{}, store.Paging{After: "bm90IGEgY3Vyc29y"}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("forged cursor: %v", err)
		}
	})
}

// TestListFilters checks the filters of the request, link, partner and
// audit lists on both databases.
func TestListFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		a := &store.Partner{Name: "Alpha IT"}
		storetest.Must(t, q.CreatePartner(a, []string{"a@a.example"}, nil))
		b := &store.Partner{Name: "Beta Cloud"}
		storetest.Must(t, q.CreatePartner(b, []string{"b@b.example"}, nil))
		org := "3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c"
		storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: org, Name: "Nordlicht GmbH", Status: store.OrgActive}))
		r1 := &store.Request{State: store.StatePendingApproval, PartnerID: &a.ID, OrganizationID: &org, Sender: "a@a.example", CustomerName: "Nordlicht"}
		storetest.Must(t, q.InsertRequest(r1))
		storetest.Must(t, q.AddFinding(r1.ID, "name_mismatch", ""))
		r2 := &store.Request{State: store.StateRejected, PartnerID: &b.ID, Sender: "b@b.example", CustomerName: "Other AG", Kind: store.KindNewOrganization}
		storetest.Must(t, q.InsertRequest(r2))
		for name, c := range map[string]struct {
			f    store.RequestList
			want []int64
		}{
			"open":     {store.RequestList{State: "open"}, []int64{r1.ID}},
			"state":    {store.RequestList{State: store.StateRejected}, []int64{r2.ID}},
			"kind":     {store.RequestList{Kind: store.KindNewOrganization}, []int64{r2.ID}},
			"partner":  {store.RequestList{PartnerID: a.ID}, []int64{r1.ID}},
			"finding":  {store.RequestList{Finding: "name_mismatch"}, []int64{r1.ID}},
			"ref":      {store.RequestList{Text: r2.Reference()}, []int64{r2.ID}},
			"org name": {store.RequestList{Text: "nordLICHT gm"}, []int64{r1.ID}},
			"org id":   {store.RequestList{Text: org[:8]}, []int64{r1.ID}},
			"customer": {store.RequestList{Text: "other"}, []int64{r2.ID}},
		} {
			pg, err := q.RequestPage(c.f, store.Paging{})
			storetest.Must(t, err)
			if fmt.Sprint(ids(pg.Items)) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v, want %v", name, ids(pg.Items), c.want)
			}
		}

		l := &store.Link{PartnerID: a.ID, OrganizationID: org, Status: store.LinkActive, RequestID: &r1.ID}
		storetest.Must(t, q.InsertLink(l))
		for name, f := range map[string]store.LinkList{"status": {Status: store.LinkRevoked}, "partner": {PartnerID: b.ID},
			"org": {OrganizationID: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"}} {
			pg, err := q.LinkPage(f, store.Paging{})
			storetest.Must(t, err)
			if len(pg.Items) != 0 {
				t.Errorf("links by %s: %d", name, len(pg.Items))
			}
		}
		pg, err := q.LinkPage(store.LinkList{Status: store.LinkActive, PartnerID: a.ID, OrganizationID: org}, store.Paging{})
		storetest.Must(t, err)
		if len(pg.Items) != 1 {
			t.Errorf("link not found by its filters")
		}

		ps, err := q.PartnerPage(store.PartnerList{Name: "cloud"}, store.Paging{})
		storetest.Must(t, err)
		if len(ps.Items) != 1 || ps.Items[0].ID != b.ID || len(ps.Items[0].Emails()) != 1 {
			t.Errorf("partners by name: %+v", ps.Items)
		}
		os, err := q.OrganizationPage(store.OrganizationList{Status: store.OrgActive, Name: "nord"}, store.Paging{})
		storetest.Must(t, err)
		if len(os.Items) != 1 {
			t.Errorf("organizations by name: %+v", os.Items)
		}

		at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		for _, e := range []store.AuditEntry{
			{RequestID: &r1.ID, At: at, Actor: "ops@x.example", FromState: "needs_info", ToState: "pending_approval"},
			{Subject: "partner:" + fmt.Sprint(a.ID), At: at.Add(time.Hour), Actor: "admin@x.example", Reason: "renamed"},
			{LinkID: &l.ID, At: at.Add(48 * time.Hour), Actor: "system", ToState: "expired"},
		} {
			storetest.Must(t, q.AddAudit(&e))
		}
		for name, c := range map[string]struct {
			f    store.AuditList
			want []string
		}{
			"all":       {store.AuditList{}, []string{"link:" + fmt.Sprint(l.ID), "partner:" + fmt.Sprint(a.ID), "request:" + fmt.Sprint(r1.ID)}},
			"actor":     {store.AuditList{Actor: "system"}, []string{"link:" + fmt.Sprint(l.ID)}},
			"request":   {store.AuditList{Subject: "request:" + r1.Reference()}, []string{"request:" + fmt.Sprint(r1.ID)}},
			"partner":   {store.AuditList{Subject: "partner:" + fmt.Sprint(a.ID)}, []string{"partner:" + fmt.Sprint(a.ID)}},
			"link":      {store.AuditList{Subject: "link:" + fmt.Sprint(l.ID)}, []string{"link:" + fmt.Sprint(l.ID)}},
			"date span": {store.AuditList{Since: at.Add(time.Minute), Until: at.Add(24 * time.Hour)}, []string{"partner:" + fmt.Sprint(a.ID)}},
		} {
			pg, err := q.AuditPage(c.f, store.Paging{})
			storetest.Must(t, err)
			var got []string
			for _, e := range pg.Items {
				got = append(got, e.AuditSubject())
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("audit %s: %v, want %v", name, got, c.want)
			}
		}
		if _, err := q.AuditPage(store.AuditList{Subject: "customer:1"}, store.Paging{}); err == nil {
			t.Errorf("an unknown subject kind was accepted")
		}
	})
}

func ids(rs []store.Request) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// TestOrganizationPageByName pages the directory by name, A to Z, where
// many organizations share a name (ties broken by their text IDs), forward
// to the end and back to the start.
func TestOrganizationPageByName(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		q := st.Q(context.Background())
		var want []string
		for i := 0; i < 8; i++ {
			name := "Same GmbH"
			if i == 0 {
				name = "Aachen AG"
			} else if i == 7 {
				name = "Zeta SE"
			}
			o := store.Organization{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", 7-i), Name: name, Status: store.OrgActive}
			storetest.Must(t, q.UpsertOrganization(&o))
		}
		// By name, then by ID: Aachen (…07), the Same GmbH from …01 to
		// …06, Zeta (…00).
		want = append(want, "00000000-0000-4000-8000-000000000007")
		for i := 1; i <= 6; i++ {
			want = append(want, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
		}
		want = append(want, "00000000-0000-4000-8000-000000000000")
		var got []string
		var pages []store.Page[store.Organization]
		p := store.Paging{Limit: 3}
		for {
			pg, err := q.OrganizationPage(store.OrganizationList{}, p)
			storetest.Must(t, err)
			pages = append(pages, pg)
			for _, o := range pg.Items {
				got = append(got, o.ID)
			}
			if pg.Next == "" {
				break
			}
			p.After = pg.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(pages) != 3 {
			t.Fatalf("pages gave %v, want %v", got, want)
		}
		back, err := q.OrganizationPage(store.OrganizationList{}, store.Paging{Before: pages[1].Prev, Limit: 3})
		storetest.Must(t, err)
		var first []string
		for _, o := range back.Items {
			first = append(first, o.ID)
		}
		if fmt.Sprint(first) != fmt.Sprint(want[:3]) || back.Prev != "" || back.Next == "" {
			t.Errorf("back to the first page: %v (prev %q)", first, back.Prev)
		}
	})
}
