// Package web serves onboarder over HTTP: the invitation pages where an
// organization's administrator accepts or declines (in English or German),
// the "manage your partners" page where they end a reseller link,
// the operations console under /ops/, and the health and readiness probes;
// and, on a listener of its own for the operators (Server.Admin), the
// Prometheus metrics and the readiness probe with its reason.
//
// Pages are html/template files embedded in the binary, with one small
// stylesheet and no JavaScript. Every write goes through workflow; web only
// reads the store through workflow's read models. Values from mail are
// always escaped; a mail's HTML is never rendered. A GET never changes
// state, because mail scanners open every link before the person does.
// Cross-origin form posts are refused (http.CrossOriginProtection) and every
// response carries a strict Content-Security-Policy. No handler sees more
// than maxBodyBytes of a request body, and a GET's body is never read.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

//go:embed pages/*.html
var pagesFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the handler.
type Options struct {
	Workflow *workflow.Service
	// Ready reports whether the worker is ready (database reachable, polls
	// succeeding); nil means only the database is checked.
	Ready    func(ctx context.Context) error
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// PublicURL is where people reach the server; an https:// URL makes
	// the session cookie Secure.
	PublicURL string
	// Now is the clock for ages (default time.Now).
	Now func() time.Time
	// QueueTarget is how long an open request may wait, in business time
	// (workflow.BusinessAge), before the queue shows it overdue (default
	// one business day).
	QueueTarget time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (for the login limiter and the log); a request from any
	// other peer is the peer's own.
	TrustedProxies []netip.Prefix
	// OIDC is the console's single sign-on (nil: none).
	OIDC *OIDCOptions
	// NoPasswordLogin hides the console's password form and refuses
	// password logins (single sign-on only).
	NoPasswordLogin bool
	// PasswordCost is the bcrypt cost of passwords set on the console's
	// team page (0: 12); tests lower it.
	PasswordCost int
}

// Server is the HTTP handler.
type Server struct {
	opts   Options
	wf     *workflow.Service
	mux    *http.ServeMux
	log    *slog.Logger
	pages  map[string]*template.Template
	secure bool
	cop    *http.CrossOriginProtection
	oidc   *oidcClient // nil: no single sign-on
}

// maxBodyBytes caps every request body: the largest thing posted is a
// decline's message (2000 runes) in a form.
const maxBodyBytes = 64 << 10

// contentSecurityPolicy allows our own stylesheet and nothing else: no
// scripts, no frames, forms only to ourselves.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// New builds the handler. It panics only when the embedded pages do not
// parse, which the package's tests rule out.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueueTarget <= 0 {
		opts.QueueTarget = 24 * time.Hour // one business day, as ONBOARDER_QUEUE_TARGET's default
	}
	if opts.Ready == nil {
		opts.Ready = func(ctx context.Context) error { return opts.Workflow.Store().Ping(ctx) }
	}
	s := &Server{
		opts:   opts,
		wf:     opts.Workflow,
		mux:    http.NewServeMux(),
		log:    opts.Logger,
		pages:  mustParsePages(),
		secure: strings.HasPrefix(strings.ToLower(opts.PublicURL), "https://"),
		cop:    http.NewCrossOriginProtection(),
		oidc:   newOIDCClient(opts.OIDC, opts.PublicURL),
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", redactPath(r.URL.Path),
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", s.readyzPublic)
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		l := pickLang(r, "")
		s.render(w, http.StatusOK, "home.html", page{L: l, Title: l.T("home.title"), LangSwitch: true})
	})
	m.HandleFunc("GET /invite/{token}", s.invite)
	m.HandleFunc("POST /invite/{token}/accept", s.accept)
	m.HandleFunc("POST /invite/{token}/decline", s.decline)
	s.routeConsent()
	s.routeManage()
	s.routeConsole()
	return s
}

// ServeHTTP caps the body, adds the security headers and refuses
// cross-origin form posts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	capBody(w, r)
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.cop.Handler(s.mux).ServeHTTP(w, r)
}

// capBody makes sure no handler reads more than maxBodyBytes, and a GET or
// HEAD nothing: whatever a client sends with them stays unread (net/http
// then closes the connection instead of reading on).
func capBody(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		r.Body = http.NoBody
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
}

// Admin returns the handler of the operators' listener: /metrics,
// /readyz with the reason it fails, and /healthz. It is meant for an
// address only operators and the monitoring reach.
func (s *Server) Admin() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", s.readyz)
	if s.opts.Gatherer != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{}))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		capBody(w, r)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		m.ServeHTTP(w, r)
	})
}

// readyzPublic answers as readyz does, without the reason: that (a
// database error, an OAuth error code) is for operators, on Admin.
func (s *Server) readyzPublic(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.opts.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n"))
		return
	}
	w.Write([]byte("ready\n"))
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

// ---- templates ----

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"ago": ago,
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"ref": func(id int64) string { return store.Reference(id) },
	"id": func(p *int64) int64 { // an optional record id (nil: 0)
		if p == nil {
			return 0
		}
		return *p
	},
	"stateClass":   stateClass,
	"linkClass":    linkClass,
	"outboxClass":  outboxClass,
	"findingClass": findingClass,
	"can":          can,
	// fields hands a form's values to a shared fields template with the
	// page's language.
	"fields": func(l lang, f any) struct {
		L lang
		F any
	} {
		return struct {
			L lang
			F any
		}{l, f}
	},
	"dispClass": dispClass,
	"canLink":   workflow.CanLink,
	"reprocessable": func(d string) bool {
		return d == store.DispPending || d == store.DispUnparseable || d == store.DispIgnored
	},
}

func mustParsePages() map[string]*template.Template {
	names, err := fs.Glob(pagesFS, "pages/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "pages/")
		if base == "layout.html" {
			continue
		}
		t := template.Must(template.New(base).Funcs(funcs).ParseFS(pagesFS, "pages/layout.html", n))
		out[base] = t
	}
	return out
}

// page is what every template gets.
type page struct {
	L          lang
	Title      string
	LangSwitch bool
	User       *store.OpsUser
	Nav        string
	Wide       bool
	Flash      string
	Error      string
	// Here is the page's own address, where the console's language
	// switch comes back to ("": the queue).
	Here string
	D    any
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("rendering page", "page", name, "err", "no such page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.Execute(&buf, p); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(buf.String()))
}

// public renders a page of the public site.
func (s *Server) public(w http.ResponseWriter, r *http.Request, status int, name string, l lang, titleKey string, d any) {
	s.render(w, status, name, page{L: l, Title: l.T(titleKey), D: d})
}

// ---- invitation pages ----

type inviteData struct {
	Info  workflow.InvitationInfo
	Token string
	Fraud bool
}

type errorData struct{ Title, Body string }

// goneReasons maps why a token stopped working to the page's sentence.
func goneReason(status string) string {
	switch status {
	case store.InviteAccepted, store.InviteDeclined, store.InviteRevoked, store.InviteReplaced, store.InviteExpired:
		return "gone." + status
	}
	return "gone.closed"
}

// redactPath hides the token of an invitation, a consent link or a manage link in logs.
func redactPath(p string) string {
	for _, prefix := range []string{"/invite/", "/consent/", "/manage/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			tail := ""
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				tail = rest[i:]
			}
			return prefix + "…" + tail
		}
	}
	return p
}

// failInvite maps workflow errors to pages: unknown token 404, used,
// revoked or expired 410, anything else 500.
func (s *Server) failInvite(w http.ResponseWriter, r *http.Request, info workflow.InvitationInfo, err error) {
	var gone *workflow.GoneError
	switch {
	case errors.As(err, &gone):
		l := pickLang(r, info.Organization.Locale)
		s.public(w, r, http.StatusGone, "gone.html", l, "gone.title", struct{ Reason string }{goneReason(gone.Status)})
	case errors.Is(err, workflow.ErrNotFound):
		s.public(w, r, http.StatusNotFound, "notfound.html", pickLang(r, ""), "notfound.title", nil)
	default:
		s.log.Error("invitation page failed", "path", redactPath(r.URL.Path), "err", err)
		s.public(w, r, http.StatusInternalServerError, "error.html", pickLang(r, ""), "error.title",
			errorData{"error.title", "error.body"})
	}
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	info, err := s.wf.LookupInvitation(r.Context(), token)
	if err != nil {
		s.failInvite(w, r, info, err)
		return
	}
	l := pickLang(r, info.Organization.Locale)
	s.render(w, http.StatusOK, "invite.html", page{L: l, Title: l.T("invite.title"), LangSwitch: true,
		D: inviteData{Info: info, Token: token}})
}

// postTo reads the id of the record a console form posts to, with id, and
// the form; when either fails it answers (missing: 404; a bad form: 400)
// and returns false.
func (s *Server) postTo(w http.ResponseWriter, r *http.Request, id func(*http.Request) (int64, bool),
	missing func(http.ResponseWriter, *http.Request)) (int64, bool) {
	n, ok := id(r)
	if !ok {
		missing(w, r)
		return 0, false
	}
	return n, opsForm(w, r)
}

// opsForm reads a console form, answering 400 when it cannot.
func opsForm(w http.ResponseWriter, r *http.Request) bool {
	if err := parseSmallForm(r); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return false
	}
	return true
}

// parseSmallForm reads a urlencoded form (ServeHTTP capped the body).
func parseSmallForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("reading form: %w", err)
	}
	return nil
}

func (s *Server) badForm(w http.ResponseWriter, r *http.Request) {
	s.public(w, r, http.StatusBadRequest, "error.html", pickLang(r, ""), "badreq.title", errorData{"badreq.title", "badreq.body"})
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request) {
	if err := parseSmallForm(r); err != nil {
		s.badForm(w, r)
		return
	}
	info, err := s.wf.Accept(r.Context(), r.PathValue("token"))
	if err != nil {
		s.failInvite(w, r, info, err)
		return
	}
	s.log.Info("invitation accepted", "request_ref", info.Request.Reference())
	l := pickLang(r, info.Organization.Locale)
	s.public(w, r, http.StatusOK, "accepted.html", l, "accepted.title", inviteData{Info: info})
}

func (s *Server) decline(w http.ResponseWriter, r *http.Request) {
	if err := parseSmallForm(r); err != nil {
		s.badForm(w, r)
		return
	}
	fraud := r.PostFormValue("not_requested") != ""
	info, err := s.wf.Decline(r.Context(), r.PathValue("token"), r.PostFormValue("message"), fraud)
	if err != nil {
		s.failInvite(w, r, info, err)
		return
	}
	s.log.Info("invitation declined", "request_ref", info.Request.Reference(), "flagged", fraud)
	l := pickLang(r, info.Organization.Locale)
	s.public(w, r, http.StatusOK, "declined.html", l, "declined.title", inviteData{Info: info, Fraud: fraud})
}

// ---- small helpers for templates ----

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

func stateClass(s string) string {
	switch s {
	case store.StatePendingApproval:
		return "warn"
	case store.StateNeedsInfo, store.StateInvited:
		return "info"
	case store.StateCompleted:
		return "ok"
	case store.StateRejected, store.StateDeclined, store.StateExpired:
		return "bad"
	}
	return ""
}

func linkClass(s string) string {
	switch s {
	case store.LinkActive:
		return "ok"
	case store.LinkInvited:
		return "info"
	case store.LinkEnded:
		return ""
	}
	return "bad"
}

func outboxClass(s string) string {
	switch s {
	case store.OutboxSent:
		return "ok"
	case store.OutboxPending:
		return "info"
	}
	return "bad"
}

func dispClass(s string) string {
	switch s {
	case store.DispRequest, store.DispReply:
		return "ok"
	case store.DispUnparseable, store.DispPending, store.DispTooLarge:
		return "bad"
	}
	return ""
}

func findingClass(code string) string {
	switch code {
	case workflow.FindNameMismatch, workflow.FindOtherReseller, workflow.FindSenderAuthUnchecked:
		return "warn"
	case workflow.FindDuplicate, workflow.FindOrgIDMissing:
		return "info"
	}
	return "bad"
}
