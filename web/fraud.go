package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// clearFraud clears the open fraud reports on the organization named by
// the form of a request's page, with the ops user and the reason; the
// audit entry goes on the reported request and on this one.
func (s *Server) clearFraud(w http.ResponseWriter, r *http.Request) {
	l := consoleLang(r)
	id, ok := s.postTo(w, r, requestID, s.noRequest)
	if !ok {
		return
	}
	org, by := r.PostFormValue("organization_id"), userOf(r).Email
	n, err := s.wf.ConsoleClearFraud(r.Context(), consoleUser(r), org, r.PostFormValue("reason"), id)
	switch {
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	case err == nil:
		s.log.Info("console action", "request_ref", store.Reference(id), "action", "clear-fraud", "organization_id", org,
			"reports", n, "ops_user", by)
		http.Redirect(w, r, fmt.Sprintf("/ops/requests/%d?done=clear-fraud", id), http.StatusSeeOther)
	case errors.Is(err, workflow.ErrClearReasonRequired):
		s.showRequest(w, r, http.StatusBadRequest, l.T("err.clearreason"))
	case errors.Is(err, workflow.ErrState), errors.Is(err, store.ErrConflict):
		s.showRequest(w, r, http.StatusConflict, l.F("err.nothing", err.Error()))
	case errors.Is(err, workflow.ErrNotFound):
		s.opsFail(w, r, err)
	default:
		s.log.Error("console action failed", "request_ref", store.Reference(id), "action", "clear-fraud", "err", err)
		s.showRequest(w, r, http.StatusInternalServerError, l.F("err.action", err.Error()))
	}
}
