package web

import (
	"errors"
	"net/http"

	"github.com/onboarder/onboarder/workflow"
)

// The consent pages: a partner's contact answers an administrator's own
// request, or a reseller its distributor's, by a single-use link (like
// the invitation pages: a GET shows, only a POST decides).

type consentData struct {
	Info   workflow.ConsentInfo
	Token  string
	Accept bool
}

func (s *Server) routeConsent() {
	s.mux.HandleFunc("GET /consent/{token}", s.consentPage)
	s.mux.HandleFunc("POST /consent/{token}/accept", func(w http.ResponseWriter, r *http.Request) { s.consent(w, r, true) })
	s.mux.HandleFunc("POST /consent/{token}/decline", func(w http.ResponseWriter, r *http.Request) { s.consent(w, r, false) })
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	info, err := s.wf.LookupConsent(r.Context(), token)
	if err != nil {
		s.failConsent(w, r, info, err)
		return
	}
	l := pickLang(r, info.Locale())
	s.render(w, http.StatusOK, "consent.html", page{L: l, Title: l.T("consent.title"), LangSwitch: true,
		D: consentData{Info: info, Token: token}})
}

func (s *Server) consent(w http.ResponseWriter, r *http.Request, accept bool) {
	if err := parseSmallForm(r); err != nil {
		s.badForm(w, r)
		return
	}
	info, err := s.wf.Consent(r.Context(), r.PathValue("token"), accept, r.PostFormValue("message"))
	if err != nil {
		s.failConsent(w, r, info, err)
		return
	}
	s.log.Info("consent answered", "request_ref", info.Request.Reference(), "accepted", accept)
	l := pickLang(r, info.Locale())
	s.public(w, r, http.StatusOK, "consented.html", l, "consent.title", consentData{Info: info, Accept: accept})
}

// failConsent maps workflow errors to pages: unknown token 404, used,
// closed or expired 410, anything else 500.
func (s *Server) failConsent(w http.ResponseWriter, r *http.Request, info workflow.ConsentInfo, err error) {
	var gone *workflow.GoneError
	switch {
	case errors.As(err, &gone):
		l := pickLang(r, info.Locale())
		s.public(w, r, http.StatusGone, "consentgone.html", l, "consent.gone.title", nil)
	case errors.Is(err, workflow.ErrNotFound):
		s.public(w, r, http.StatusNotFound, "notfound.html", pickLang(r, ""), "notfound.title", nil)
	default:
		s.log.Error("consent page failed", "path", redactPath(r.URL.Path), "err", err)
		s.public(w, r, http.StatusInternalServerError, "error.html", pickLang(r, ""), "error.title",
			errorData{"error.title", "error.body"})
	}
}
