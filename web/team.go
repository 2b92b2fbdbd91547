package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// The team page: the console users, for admins. Adding, disabling,
// enabling, new passwords and roles go through workflow, which audits them
// under ops_user:EMAIL with the acting admin.

func (s *Server) routeTeam() {
	m := s.mux
	m.Handle("GET /ops/team", s.auth(s.need(workflow.RoleAdmin, s.team)))
	m.Handle("POST /ops/team", s.auth(s.need(workflow.RoleAdmin, s.addTeamMember)))
	m.Handle("POST /ops/team/{id}/{action}", s.auth(s.need(workflow.RoleAdmin, s.changeTeamMember)))
}

// teamForm is the add form as typed (kept on an error; never the password).
type teamForm struct{ Email, Role string }

type teamData struct {
	Users []store.OpsUser
	Roles []string
	Form  teamForm
}

var teamRoles = []string{workflow.RoleViewer, workflow.RoleApprover, workflow.RoleAdmin}

func (s *Server) team(w http.ResponseWriter, r *http.Request) {
	s.showTeam(w, r, http.StatusOK, "", teamForm{Role: workflow.RoleViewer})
}

func (s *Server) showTeam(w http.ResponseWriter, r *http.Request, status int, errMsg string, f teamForm) {
	us, err := s.wf.Store().Q(r.Context()).OpsUsers()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	p := s.opsPage(r, "team.title", "team", teamData{Users: us, Roles: teamRoles, Form: f})
	if errMsg != "" {
		p.Error, p.Flash, p.Here = errMsg, "", "/ops/team"
	}
	s.render(w, status, "team.html", p)
}

func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	f := teamForm{Email: r.PostFormValue("email"), Role: r.PostFormValue("role")}
	by := userOf(r).Email
	u, err := s.wf.AddOpsUserBy(r.Context(), f.Email, r.PostFormValue("password"), f.Role, by, s.opts.PasswordCost)
	if err != nil {
		// The workflow's refusals (address, role, password rule, a
		// duplicate) are the user's to fix; they are all shown.
		s.log.Info("ops user not added", "email", f.Email, "ops_user", by, "err", err)
		s.showTeam(w, r, http.StatusBadRequest, consoleLang(r).F("err.notsaved", err.Error()), f)
		return
	}
	s.log.Info("ops user added", "email", u.Email, "role", u.Role, "ops_user", by)
	http.Redirect(w, r, "/ops/team?done=team-added", http.StatusSeeOther)
}

func (s *Server) changeTeamMember(w http.ResponseWriter, r *http.Request) {
	l := consoleLang(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.nouser")
		return
	}
	if !opsForm(w, r) {
		return
	}
	u, err := s.wf.Store().Q(r.Context()).OpsUser(id)
	if errors.Is(err, store.ErrNotFound) {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.nouser")
		return
	}
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	me := userOf(r)
	action := r.PathValue("action")
	if u.ID == me.ID && (action == "disable" || action == "role") {
		// An admin who locks themselves out may leave nobody to undo it.
		s.showTeam(w, r, http.StatusConflict, l.T("err.self"), teamForm{Role: workflow.RoleViewer})
		return
	}
	switch action {
	case "disable":
		err = s.wf.DisableOpsUser(r.Context(), u.Email, me.Email)
	case "enable":
		err = s.wf.EnableOpsUser(r.Context(), u.Email, me.Email)
	case "password":
		err = s.wf.SetOpsPassword(r.Context(), u.Email, r.PostFormValue("password"), me.Email, s.opts.PasswordCost)
	case "role":
		err = s.wf.SetOpsUserRole(r.Context(), u.Email, r.PostFormValue("role"), me.Email)
	default:
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.noaction")
		return
	}
	if err != nil {
		s.log.Info("ops user not changed", "email", u.Email, "action", action, "ops_user", me.Email, "err", err)
		s.showTeam(w, r, http.StatusConflict, l.F("err.notsaved", fmt.Sprintf("%s: %v", u.Email, err)), teamForm{Role: workflow.RoleViewer})
		return
	}
	s.log.Info("ops user changed", "email", u.Email, "action", action, "ops_user", me.Email)
	http.Redirect(w, r, "/ops/team?done=team-"+action, http.StatusSeeOther)
}
