package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// The console's link page and its actions: end an active link with a
// reason, set or clear its end date; and revoking an organization's
// "manage your partners" links. The buttons show where the transition
// table allows the action (workflow.CanLink).

func (s *Server) routeLinks() {
	m := s.mux
	m.Handle("GET /ops/links/{id}", s.auth(s.linkPage))
	m.Handle("POST /ops/links/{id}/end", s.auth(s.need(workflow.RoleApprover, s.endLink)))
	m.Handle("POST /ops/links/{id}/set-end", s.auth(s.need(workflow.RoleApprover, s.setLinkEnd)))
	m.Handle("POST /ops/organizations/{id}/revoke-manage", s.auth(s.need(workflow.RoleApprover, s.revokeManage)))
}

type linkData struct {
	Link         store.Link
	Partner      string
	Organization store.Organization
	Audit        []store.AuditEntry
}

func linkID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	s.showLink(w, r, http.StatusOK, "")
}

func (s *Server) showLink(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	id, ok := linkID(r)
	if !ok {
		s.noLink(w, r)
		return
	}
	q := s.wf.Store().Q(r.Context())
	l, err := q.Link(id)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	d := linkData{Link: l, Organization: store.Organization{ID: l.OrganizationID}}
	if p, err := q.Partner(l.PartnerID); err == nil {
		d.Partner = p.Name
	}
	if o, err := q.Organization(l.OrganizationID); err == nil {
		d.Organization = o
	}
	if d.Audit, err = q.LinkAudit(l.ID); err != nil {
		s.opsFail(w, r, err)
		return
	}
	p := s.opsPage(r, fmt.Sprintf("Link %d", l.ID), "links", d)
	p.Error = errMsg
	if errMsg != "" {
		p.Flash, p.Here = "", fmt.Sprintf("/ops/links/%d", l.ID)
	}
	s.render(w, status, "link.html", p)
}

// linkDone answers a link action: back to the link's page, or the page
// with why nothing was done.
func (s *Server) linkDone(w http.ResponseWriter, r *http.Request, id int64, action, done string, err error) {
	switch {
	case err == nil:
		s.log.Info("console action", "link", id, "action", action, "ops_user", userOf(r).Email)
		http.Redirect(w, r, fmt.Sprintf("/ops/links/%d?done=%s", id, done), http.StatusSeeOther)
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	case errors.Is(err, workflow.ErrNotFound):
		s.opsFail(w, r, err)
	case errors.Is(err, workflow.ErrEndReasonRequired), errors.Is(err, workflow.ErrInvalid):
		s.showLink(w, r, http.StatusBadRequest, "Nothing was done: "+err.Error()+".")
	case errors.Is(err, workflow.ErrState), errors.Is(err, store.ErrConflict):
		s.showLink(w, r, http.StatusConflict, "Nothing was done: "+err.Error()+".")
	default:
		s.log.Error("console action failed", "link", id, "action", action, "err", err)
		s.showLink(w, r, http.StatusInternalServerError, "The action failed: "+err.Error())
	}
}

// noLink answers 404 for a link that does not exist.
func (s *Server) noLink(w http.ResponseWriter, r *http.Request) {
	s.opsError(w, r, http.StatusNotFound, "Not found", "No link "+r.PathValue("id")+".")
}

func (s *Server) endLink(w http.ResponseWriter, r *http.Request) {
	id, ok := s.postTo(w, r, linkID, s.noLink)
	if !ok {
		return
	}
	err := s.wf.ConsoleEndLink(r.Context(), consoleUser(r), id, r.PostFormValue("reason"))
	s.linkDone(w, r, id, "end", "link-ended", err)
}

func (s *Server) setLinkEnd(w http.ResponseWriter, r *http.Request) {
	id, ok := s.postTo(w, r, linkID, s.noLink)
	if !ok {
		return
	}
	var ends *time.Time
	done := "link-end-cleared"
	if r.PostFormValue("clear") == "" {
		t, err := workflow.ParseEndDate(r.PostFormValue("ends_at"))
		if err != nil {
			s.showLink(w, r, http.StatusBadRequest, "Nothing was done: "+err.Error()+".")
			return
		}
		ends, done = &t, "link-end-set"
	}
	err := s.wf.ConsoleSetLinkEnd(r.Context(), consoleUser(r), id, ends)
	s.linkDone(w, r, id, "set-end", done, err)
}

func (s *Server) revokeManage(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("id")
	n, err := s.wf.ConsoleRevokeManageLinks(r.Context(), consoleUser(r), strings.ToLower(org))
	switch {
	case err == nil:
		s.log.Info("console action", "organization_id", org, "action", "revoke-manage", "links", n, "ops_user", userOf(r).Email)
		http.Redirect(w, r, "/ops/organizations/"+org+"?done=manage-revoked", http.StatusSeeOther)
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	default:
		s.opsFail(w, r, err)
	}
}
