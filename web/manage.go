package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/onboarder/onboarder/workflow"
)

// The "manage your partners" page behind the link in every mail to an
// organization's administrator: GET shows the organization's active
// reseller links, POST ends one with a reason. No login: the link is the
// key. Cross-origin posts are refused as for the invitation page.

type manageData struct {
	Info  workflow.ManageInfo
	Token string
	// Ended names the partner whose link the administrator just ended.
	Ended string
	// Problem is why the last post did nothing (a catalog key).
	Problem string
}

func (s *Server) routeManage() {
	s.mux.HandleFunc("GET /manage/{token}", s.managePage)
	s.mux.HandleFunc("POST /manage/{token}/end", s.manageEnd)
}

// failManage maps workflow errors to pages: unknown token 404, revoked
// 410, anything else 500.
func (s *Server) failManage(w http.ResponseWriter, r *http.Request, info workflow.ManageInfo, err error) {
	var gone *workflow.ManageGoneError
	l := pickLang(r, info.Organization.Locale)
	switch {
	case errors.As(err, &gone):
		s.public(w, r, http.StatusGone, "error.html", l, "manage.gone.title", errorData{"manage.gone.title", "manage.gone.body"})
	case errors.Is(err, workflow.ErrNotFound):
		s.public(w, r, http.StatusNotFound, "error.html", l, "manage.notfound.title", errorData{"manage.notfound.title", "manage.notfound.body"})
	default:
		s.log.Error("manage page failed", "path", redactPath(r.URL.Path), "err", err)
		s.public(w, r, http.StatusInternalServerError, "error.html", l, "error.title", errorData{"error.title", "error.body"})
	}
}

func (s *Server) managePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	info, err := s.wf.LookupManage(r.Context(), token)
	if err != nil {
		s.failManage(w, r, info, err)
		return
	}
	s.showManage(w, r, http.StatusOK, manageData{Info: info, Token: token})
}

func (s *Server) showManage(w http.ResponseWriter, r *http.Request, status int, d manageData) {
	l := pickLang(r, d.Info.Organization.Locale)
	s.render(w, status, "manage.html", page{L: l, Title: l.T("manage.title"), LangSwitch: true, D: d})
}

func (s *Server) manageEnd(w http.ResponseWriter, r *http.Request) {
	if err := parseSmallForm(r); err != nil {
		s.badForm(w, r)
		return
	}
	token := r.PathValue("token")
	linkID, _ := strconv.ParseInt(r.PostFormValue("link_id"), 10, 64)
	before, err := s.wf.LookupManage(r.Context(), token)
	if err != nil {
		s.failManage(w, r, before, err)
		return
	}
	ended := ""
	for _, ml := range before.Links {
		if ml.Link.ID == linkID {
			ended = ml.Partner.Name
		}
	}
	info, err := s.wf.EndLinkAsCustomer(r.Context(), token, linkID, r.PostFormValue("reason"))
	switch {
	case err == nil:
		s.log.Info("link ended by the administrator", "link", linkID, "organization_id", info.Organization.ID)
		s.showManage(w, r, http.StatusOK, manageData{Info: info, Token: token, Ended: ended})
	case errors.Is(err, workflow.ErrEndReasonRequired):
		s.showManage(w, r, http.StatusBadRequest, manageData{Info: before, Token: token, Problem: "manage.reason_required"})
	case errors.Is(err, workflow.ErrState), errors.Is(err, workflow.ErrNotFound) && linkID != 0:
		s.showManage(w, r, http.StatusConflict, manageData{Info: before, Token: token, Problem: "manage.not_active"})
	default:
		s.failManage(w, r, before, err)
	}
}
