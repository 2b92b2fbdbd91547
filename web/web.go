// Package web serves onboarder over HTTP: the invitation pages where an
// organization's administrator accepts or declines, the health and
// readiness probes, and the Prometheus metrics. Every write goes through
// workflow; web only reads the store. Values from mail are always escaped
// (html/template); a GET never changes state, because mail scanners open
// every link before the person does.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onboarder/onboarder/workflow"
)

//go:embed pages/*.html
var pagesFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"derefOrg": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}).ParseFS(pagesFS, "pages/*.html"))

// Options configure the handler.
type Options struct {
	Workflow *workflow.Service
	// Ready reports whether the worker is ready (database reachable, polls
	// succeeding); nil means only the database is checked.
	Ready    func(ctx context.Context) error
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
}

// Server is the HTTP handler.
type Server struct {
	opts Options
	mux  *http.ServeMux
	log  *slog.Logger
}

// New builds the handler.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Ready == nil {
		opts.Ready = func(ctx context.Context) error { return opts.Workflow.Store().Ping(ctx) }
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), log: opts.Logger}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	s.mux.HandleFunc("GET /invite/{token}", s.invite)
	s.mux.HandleFunc("POST /invite/{token}/accept", s.accept)
	s.mux.HandleFunc("POST /invite/{token}/decline", s.decline)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusOK, "home.html", nil)
	})
	return s
}

// ServeHTTP adds the security headers and refuses cross-origin form posts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	http.NewCrossOriginProtection().Handler(s.mux).ServeHTTP(w, r)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.opts.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

type pageData struct {
	Info    workflow.InvitationInfo
	Token   string
	Status  string
	Message string
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
	}
}

// fail maps workflow errors to pages: unknown token 404, used/revoked/
// expired 410, anything else 500.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var gone *workflow.GoneError
	switch {
	case errors.As(err, &gone):
		s.render(w, http.StatusGone, "gone.html", pageData{Status: gone.Status})
	case errors.Is(err, workflow.ErrNotFound):
		s.render(w, http.StatusNotFound, "notfound.html", nil)
	default:
		s.log.Error("invitation request failed", "err", err)
		s.render(w, http.StatusInternalServerError, "error.html", nil)
	}
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	info, err := s.opts.Workflow.LookupInvitation(r.Context(), token)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, http.StatusOK, "invite.html", pageData{Info: info, Token: token})
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request) {
	info, err := s.opts.Workflow.Accept(r.Context(), r.PathValue("token"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, http.StatusOK, "accepted.html", pageData{Info: info})
}

func (s *Server) decline(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	fraud := r.PostFormValue("not_requested") != ""
	info, err := s.opts.Workflow.Decline(r.Context(), r.PathValue("token"), r.PostFormValue("message"), fraud)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, http.StatusOK, "declined.html", pageData{Info: info})
}
