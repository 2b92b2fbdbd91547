package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// The console's registry pages: partners and the organizations of the
// directory (organizations.go), with their forms. Every change goes
// through workflow, which audits it with the acting ops user.

func (s *Server) routeRegistry() {
	m := s.mux
	m.Handle("GET /ops/partners", s.auth(s.partners))
	m.Handle("POST /ops/partners", s.auth(s.need(workflow.RoleAdmin, s.addPartner)))
	m.Handle("GET /ops/partners/{id}", s.auth(s.partner))
	m.Handle("POST /ops/partners/{id}/edit", s.auth(s.need(workflow.RoleAdmin, s.editPartner)))
	m.Handle("POST /ops/partners/{id}/suspend", s.auth(s.need(workflow.RoleAdmin, s.suspendPartner)))
	m.Handle("POST /ops/partners/{id}/activate", s.auth(s.need(workflow.RoleAdmin, s.activatePartner)))
	m.Handle("GET /ops/organizations", s.auth(s.organizations))
	m.Handle("POST /ops/organizations", s.auth(s.need(workflow.RoleAdmin, s.addOrganization)))
	m.Handle("GET /ops/organizations/{id}", s.auth(s.organization))
	m.Handle("POST /ops/organizations/{id}/edit", s.auth(s.need(workflow.RoleAdmin, s.editOrganization)))
	m.Handle("POST /ops/organizations/{id}/suspend", s.auth(s.need(workflow.RoleAdmin, s.suspendOrganization)))
	m.Handle("POST /ops/organizations/{id}/refresh", s.auth(s.need(workflow.RoleAdmin, s.refreshOrganization)))
}

// lines splits a textarea into its non-empty lines (commas and spaces
// separate too).
func lines(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' }) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// partnerForm is the partner form's fields as typed (kept on an error).
type partnerForm struct {
	Name, Ref, Locale string
	Trusted           bool
	Parent            int64
	Emails, Domains   string
}

func partnerFormOf(p store.Partner) partnerForm {
	f := partnerForm{Name: p.Name, Ref: p.Ref, Locale: p.Locale, Trusted: p.Trusted,
		Emails: strings.Join(p.Emails(), "\n"), Domains: strings.Join(p.Domains(), "\n")}
	if p.ParentID != nil {
		f.Parent = *p.ParentID
	}
	return f
}

func readPartnerForm(r *http.Request) partnerForm {
	f := partnerForm{Name: r.PostFormValue("name"), Ref: r.PostFormValue("ref"), Locale: r.PostFormValue("locale"),
		Trusted: r.PostFormValue("trusted") != "", Emails: r.PostFormValue("emails"), Domains: r.PostFormValue("domains")}
	f.Parent, _ = strconv.ParseInt(r.PostFormValue("parent"), 10, 64)
	return f
}

// registryStatus maps a refused registry change to its HTTP status.
func registryStatus(err error) int {
	switch {
	case errors.Is(err, workflow.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, workflow.ErrReadOnly), errors.Is(err, workflow.ErrState), errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	}
	return 0
}

// refusalIn is refusal in a language (the workflow's reason stays English).
func refusalIn(l lang, err error) string {
	return l.F("err.notsaved", strings.TrimSuffix(err.Error(), ": "+workflow.ErrInvalid.Error()))
}

type partnersData struct {
	// Partners is the page shown; All every partner (the form's parents).
	Partners, All []store.Partner
	// Parents maps a partner's id to its parent distributor's name.
	Parents map[int64]string
	Form    partnerForm
	Filter  store.PartnerList
	Tabs    []tab
	Pager   pager
}

var partnerStatuses = []string{store.PartnerActive, store.PartnerSuspended}

func (s *Server) partners(w http.ResponseWriter, r *http.Request) {
	s.showPartners(w, r, http.StatusOK, "", partnerForm{Locale: "en"})
}

func (s *Server) showPartners(w http.ResponseWriter, r *http.Request, status int, errMsg string, form partnerForm) {
	q := s.wf.Store().Q(r.Context())
	ps, err := q.Partners()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	qv := r.URL.Query()
	f := store.PartnerList{Status: oneOf(qv.Get("status"), partnerStatuses), Name: strings.TrimSpace(qv.Get("name"))}
	if len(f.Name) > 200 {
		f.Name = f.Name[:200]
	}
	fv := filterValues("status", f.Status, "name", f.Name)
	pg, err := q.PartnerPage(f, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	names, parents := map[int64]string{}, map[int64]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	for _, p := range ps {
		if p.ParentID != nil {
			parents[p.ID] = names[*p.ParentID]
		}
	}
	p := s.opsPage(r, "partners.title", "partners", partnersData{Partners: pg.Items, All: ps, Parents: parents, Form: form,
		Filter: f, Tabs: tabsFor(consoleLang(r), "status.", "/ops/partners", "status", f.Status, partnerStatuses, fv),
		Pager: pagerOf("/ops/partners", fv, pg)})
	if errMsg != "" {
		// The form's post: the language switch returns to the list.
		p.Error, p.Flash, p.Here = errMsg, "", "/ops/partners"
	}
	s.render(w, status, "partners.html", p)
}

func (s *Server) addPartner(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	f := readPartnerForm(r)
	p, err := s.wf.AddPartner(r.Context(), workflow.PartnerInput{Name: f.Name, Ref: f.Ref, Locale: f.Locale, Trusted: f.Trusted,
		Emails: lines(f.Emails), Domains: lines(f.Domains), Parent: f.Parent}, userOf(r).Email)
	if st := registryStatus(err); st != 0 {
		s.showPartners(w, r, st, refusalIn(consoleLang(r), err), f)
		return
	}
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.log.Info("partner added", "partner_id", p.ID, "ops_user", userOf(r).Email)
	http.Redirect(w, r, fmt.Sprintf("/ops/partners/%d?done=partner-added", p.ID), http.StatusSeeOther)
}

type partnerData struct {
	View     workflow.PartnerView
	Form     partnerForm
	Partners []store.Partner // for the parent choice
}

func partnerID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

func (s *Server) partner(w http.ResponseWriter, r *http.Request) {
	s.showPartner(w, r, http.StatusOK, "", nil)
}

func (s *Server) showPartner(w http.ResponseWriter, r *http.Request, status int, errMsg string, form *partnerForm) {
	id, ok := partnerID(r)
	if !ok {
		s.noPartner(w, r)
		return
	}
	v, err := s.wf.Partner(r.Context(), id)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	ps, err := s.wf.Store().Q(r.Context()).Partners()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	others := ps[:0]
	for _, p := range ps {
		if p.ID != id {
			others = append(others, p)
		}
	}
	d := partnerData{View: v, Form: partnerFormOf(v.Partner), Partners: others}
	if form != nil {
		d.Form = *form
	}
	p := s.opsPage(r, v.Partner.Name, "partners", d)
	if errMsg != "" {
		p.Error, p.Flash, p.Here = errMsg, "", fmt.Sprintf("/ops/partners/%d", id)
	}
	s.render(w, status, "partner.html", p)
}

func (s *Server) noPartner(w http.ResponseWriter, r *http.Request) {
	s.opsError(w, r, http.StatusNotFound, "err.notfound", consoleLang(r).F("err.nopartner", r.PathValue("id")))
}

func (s *Server) editPartner(w http.ResponseWriter, r *http.Request) {
	id, ok := s.postTo(w, r, partnerID, s.noPartner)
	if !ok {
		return
	}
	f := readPartnerForm(r)
	emails, domains := lines(f.Emails), lines(f.Domains)
	c := workflow.PartnerChange{Name: &f.Name, Ref: &f.Ref, Locale: &f.Locale, Trusted: &f.Trusted, Parent: &f.Parent,
		Emails: &emails, Domains: &domains}
	_, err := s.wf.UpdatePartner(r.Context(), id, c, userOf(r).Email)
	s.partnerDone(w, r, id, "partner-updated", err, &f)
}

func (s *Server) partnerDone(w http.ResponseWriter, r *http.Request, id int64, done string, err error, f *partnerForm) {
	if st := registryStatus(err); st != 0 {
		s.showPartner(w, r, st, refusalIn(consoleLang(r), err), f)
		return
	}
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.log.Info("partner changed", "partner_id", id, "change", done, "ops_user", userOf(r).Email)
	http.Redirect(w, r, fmt.Sprintf("/ops/partners/%d?done=%s", id, done), http.StatusSeeOther)
}

func (s *Server) suspendPartner(w http.ResponseWriter, r *http.Request) {
	id, ok := s.postTo(w, r, partnerID, s.noPartner)
	if !ok {
		return
	}
	err := s.wf.SuspendPartner(r.Context(), id, userOf(r).Email, r.PostFormValue("reason"))
	s.partnerDone(w, r, id, "partner-suspended", err, nil)
}

func (s *Server) activatePartner(w http.ResponseWriter, r *http.Request) {
	id, ok := s.postTo(w, r, partnerID, s.noPartner)
	if !ok {
		return
	}
	err := s.wf.ActivatePartner(r.Context(), id, userOf(r).Email)
	s.partnerDone(w, r, id, "partner-activated", err, nil)
}
