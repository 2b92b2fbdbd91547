package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/onboarder/onboarder/store"
)

// Paging of the console's lists: a page link carries the list's filter and
// a cursor (after= for the next page, before= for the previous one) that
// the store made and checks.

// pagingOf reads a list page's cursor from the query.
func pagingOf(r *http.Request) store.Paging {
	q := r.URL.Query()
	return store.Paging{After: q.Get("after"), Before: q.Get("before")}
}

// pager holds the links to a list's neighbouring pages ("" when none).
type pager struct {
	Next, Prev string
}

// pagerOf makes the links to pg's neighbours: path with the filter and
// their cursor.
func pagerOf[T any](path string, filter url.Values, pg store.Page[T]) pager {
	link := func(param, cursor string) string {
		if cursor == "" {
			return ""
		}
		v := url.Values{}
		for k, vs := range filter {
			v[k] = vs
		}
		v.Set(param, cursor)
		return path + "?" + v.Encode()
	}
	return pager{Next: link("after", pg.Next), Prev: link("before", pg.Prev)}
}

// filterValues keeps the non-empty filter fields of a list as query
// values, for its page, tab and export links.
func filterValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// withQuery is path with v as its query (path alone when v is empty).
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// listFail answers a list that could not be read: a cursor the store did
// not make is the client's (400), anything else opsFail's.
func (s *Server) listFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrBadCursor) {
		s.opsError(w, r, http.StatusBadRequest, "err.badpage", "err.badpage.body")
		return
	}
	s.opsFail(w, r, err)
}
