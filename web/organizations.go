package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// The organizations of the directory: with the database directory ops add,
// edit and suspend them here; with the HTTP directory the pages are
// read-only, with a button that asks the directory again.

// orgForm is the organization form's fields as typed (kept on an error).
type orgForm struct {
	ID, Name, Country, AdminName, AdminEmail, Locale, VatID string
}

func orgFormOf(o store.Organization) orgForm {
	return orgForm{ID: o.ID, Name: o.Name, Country: o.Country, AdminName: o.AdminName, AdminEmail: o.AdminEmail,
		Locale: o.Locale, VatID: o.VatID}
}

func readOrgForm(r *http.Request) orgForm {
	v := r.PostFormValue
	return orgForm{ID: v("id"), Name: v("name"), Country: v("country"), AdminName: v("admin_name"),
		AdminEmail: v("admin_email"), Locale: v("locale"), VatID: v("vat_id")}
}

type organizationsData struct {
	Organizations []store.Organization
	ReadOnly      bool
	Form          orgForm
	Filter        store.OrganizationList
	Tabs          []tab
	Pager         pager
}

var orgStatuses = []string{store.OrgActive, store.OrgSuspended}

func (s *Server) organizations(w http.ResponseWriter, r *http.Request) {
	s.showOrganizations(w, r, http.StatusOK, "", orgForm{Locale: "en"})
}

func (s *Server) showOrganizations(w http.ResponseWriter, r *http.Request, status int, errMsg string, form orgForm) {
	qv := r.URL.Query()
	f := store.OrganizationList{Status: oneOf(qv.Get("status"), orgStatuses), Name: strings.TrimSpace(qv.Get("name"))}
	if len(f.Name) > 200 {
		f.Name = f.Name[:200]
	}
	fv := filterValues("status", f.Status, "name", f.Name)
	pg, err := s.wf.Store().Q(r.Context()).OrganizationPage(f, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	p := s.opsPage(r, "orgs.title", "organizations", organizationsData{Organizations: pg.Items,
		ReadOnly: s.wf.DirectoryReadOnly(), Form: form, Filter: f,
		Tabs:  tabsFor(consoleLang(r), "status.", "/ops/organizations", "status", f.Status, orgStatuses, fv),
		Pager: pagerOf("/ops/organizations", fv, pg)})
	if errMsg != "" {
		// The form's post: the language switch returns to the list.
		p.Error, p.Flash, p.Here = errMsg, "", "/ops/organizations"
	}
	s.render(w, status, "organizations.html", p)
}

func (s *Server) addOrganization(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	f := readOrgForm(r)
	o, err := s.wf.AddOrganization(r.Context(), workflow.OrganizationInput{ID: f.ID, Name: f.Name, Country: f.Country,
		AdminName: f.AdminName, AdminEmail: f.AdminEmail, Locale: f.Locale, VatID: f.VatID}, userOf(r).Email)
	if st := registryStatus(err); st != 0 {
		s.showOrganizations(w, r, st, refusalIn(consoleLang(r), err), f)
		return
	}
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.log.Info("organization added", "organization_id", o.ID, "ops_user", userOf(r).Email)
	http.Redirect(w, r, "/ops/organizations/"+o.ID+"?done=org-added", http.StatusSeeOther)
}

type organizationData struct {
	View workflow.OrganizationView
	Form orgForm
}

func (s *Server) organization(w http.ResponseWriter, r *http.Request) {
	s.showOrganization(w, r, http.StatusOK, "", nil)
}

func (s *Server) showOrganization(w http.ResponseWriter, r *http.Request, status int, errMsg string, form *orgForm) {
	v, err := s.wf.Organization(r.Context(), r.PathValue("id"))
	if errors.Is(err, workflow.ErrNotFound) {
		s.noOrganization(w, r)
		return
	}
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	d := organizationData{View: v, Form: orgFormOf(v.Organization)}
	if form != nil {
		d.Form = *form
	}
	p := s.opsPage(r, v.Organization.Name, "organizations", d)
	if errMsg != "" {
		p.Error, p.Flash, p.Here = errMsg, "", "/ops/organizations/"+url.PathEscape(v.Organization.ID)
	}
	s.render(w, status, "organization.html", p)
}

func (s *Server) noOrganization(w http.ResponseWriter, r *http.Request) {
	s.opsError(w, r, http.StatusNotFound, "err.notfound", consoleLang(r).F("err.noorg", r.PathValue("id")))
}

func (s *Server) orgDone(w http.ResponseWriter, r *http.Request, id, done string, err error, f *orgForm) {
	if errors.Is(err, workflow.ErrNotFound) {
		s.noOrganization(w, r)
		return
	}
	if st := registryStatus(err); st != 0 {
		s.showOrganization(w, r, st, refusalIn(consoleLang(r), err), f)
		return
	}
	if err != nil {
		s.log.Error("organization change failed", "organization_id", id, "change", done, "err", err)
		s.showOrganization(w, r, http.StatusBadGateway, consoleLang(r).F("err.notchanged", err.Error()), f)
		return
	}
	s.log.Info("organization changed", "organization_id", id, "change", done, "ops_user", userOf(r).Email)
	http.Redirect(w, r, "/ops/organizations/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

func (s *Server) editOrganization(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	f := readOrgForm(r)
	c := workflow.OrganizationChange{Name: &f.Name, Country: &f.Country, AdminName: &f.AdminName, AdminEmail: &f.AdminEmail,
		Locale: &f.Locale, VatID: &f.VatID}
	o, err := s.wf.UpdateOrganization(r.Context(), r.PathValue("id"), c, userOf(r).Email)
	s.orgDone(w, r, o.ID, "org-updated", err, &f)
}

func (s *Server) suspendOrganization(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	err := s.wf.SuspendOrganization(r.Context(), r.PathValue("id"), userOf(r).Email)
	s.orgDone(w, r, r.PathValue("id"), "org-suspended", err, nil)
}

func (s *Server) refreshOrganization(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	o, err := s.wf.RefreshOrganizationFromDirectory(r.Context(), r.PathValue("id"), userOf(r).Email)
	s.orgDone(w, r, o.ID, "org-refreshed", err, nil)
}
