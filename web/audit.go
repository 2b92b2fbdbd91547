package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
)

// The global audit page: every audit entry, newest first, filtered by
// actor, subject and date range, paged and exported as CSV.

type auditRow struct {
	store.AuditEntry
	// Subject is what the entry is about (request:42, partner:3…); Link
	// the console page of it ("" when there is none).
	Subject, Link string
}

type auditData struct {
	Rows []auditRow
	// Actor, Subject, From and To are the filter as typed.
	Actor, Subject, From, To string
	Pager                    pager
	CSV                      string
}

// auditFilter reads the audit page's filter; a subject or date it cannot
// read is an error for the user, as a catalog key.
func auditFilter(r *http.Request) (store.AuditList, auditData, string) {
	qv := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(qv.Get("actor")), Subject: strings.TrimSpace(qv.Get("subject")),
		From: strings.TrimSpace(qv.Get("from")), To: strings.TrimSpace(qv.Get("to"))}
	f := store.AuditList{Actor: d.Actor}
	if len(f.Actor) > 320 {
		return f, d, "err.audit.actor"
	}
	if d.Subject != "" {
		s, err := store.ParseAuditSubject(d.Subject)
		if err != nil {
			return f, d, "err.audit.subject"
		}
		f.Subject = s
	}
	if d.From != "" {
		t, err := time.Parse(time.DateOnly, d.From)
		if err != nil {
			return f, d, "err.audit.from"
		}
		f.Since = t
	}
	if d.To != "" {
		t, err := time.Parse(time.DateOnly, d.To)
		if err != nil {
			return f, d, "err.audit.to"
		}
		f.Until = t.AddDate(0, 0, 1) // the end date's entries count
	}
	return f, d, ""
}

// subjectLink is the console page of an audit subject ("" when none).
func subjectLink(subject string) string {
	kind, val, _ := strings.Cut(subject, ":")
	switch kind {
	case "request":
		return "/ops/requests/" + val
	case "partner":
		return "/ops/partners/" + val
	case "organization":
		return "/ops/organizations/" + url.PathEscape(val)
	case "link":
		return "/ops/audit?" + url.Values{"subject": {subject}}.Encode()
	}
	return ""
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	f, d, bad := auditFilter(r)
	fv := filterValues("actor", d.Actor, "subject", d.Subject, "from", d.From, "to", d.To)
	if bad != "" {
		p := s.opsPage(r, "auditlog.title", "audit", d)
		p.Error = p.L.T(bad)
		s.render(w, http.StatusBadRequest, "audit.html", p)
		return
	}
	if wantsCSV(r) {
		s.auditCSV(w, r, f)
		return
	}
	pg, err := s.wf.Store().Q(r.Context()).AuditPage(f, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	for _, e := range pg.Items {
		sub := e.AuditSubject()
		d.Rows = append(d.Rows, auditRow{AuditEntry: e, Subject: sub, Link: subjectLink(sub)})
	}
	d.Pager = pagerOf("/ops/audit", fv, pg)
	csvv := url.Values{"format": {"csv"}}
	for k, vs := range fv {
		csvv[k] = vs
	}
	d.CSV = "/ops/audit?" + csvv.Encode()
	s.ops(w, r, http.StatusOK, "audit.html", "auditlog.title", "audit", d)
}

// auditCSV exports the filtered audit trail, every entry of it.
func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, f store.AuditList) {
	var out *csvExport
	p := store.Paging{Limit: 500}
	for {
		pg, err := s.wf.Store().Q(r.Context()).AuditPage(f, p)
		if err != nil {
			s.exportFail(w, r, out, err)
			return
		}
		if out == nil {
			out = startCSV(w, "audit", s.opts.Now(), "id", "at", "actor", "subject", "from", "to", "reason")
		}
		for _, e := range pg.Items {
			out.write(strconv.FormatInt(e.ID, 10), csvTime(&e.At), e.Actor, e.AuditSubject(), e.FromState, e.ToState, e.Reason)
		}
		if !out.flush() || pg.Next == "" {
			return
		}
		p.After = pg.Next
	}
}
