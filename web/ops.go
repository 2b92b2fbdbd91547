package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// The operations console under /ops/.

const sessionCookie = "onboarder_session"

type ctxKey struct{}

// userOf returns the ops user a request was authenticated as. Its Role is
// what the console allows (loaded from the user row for password sessions);
// every role check of the web layer reads it here.
func userOf(r *http.Request) *store.OpsUser {
	if s := sessionOf(r); s != nil {
		u := s.User
		if s.Role != "" { // single sign-on: the identity provider's role counts
			u.Role = s.Role
		}
		return &u
	}
	return nil
}

// sessionOf returns the session a request was authenticated with: its user
// and, after a single sign-on, the role the identity provider stated
// (Role; "" after a password login, where the user's own role counts).
func sessionOf(r *http.Request) *workflow.Session {
	s, _ := r.Context().Value(ctxKey{}).(*workflow.Session)
	return s
}

// consoleUser is userOf as the workflow takes it.
func consoleUser(r *http.Request) workflow.ConsoleUser {
	if u := userOf(r); u != nil {
		return workflow.ConsoleUser{Email: u.Email, Role: u.Role}
	}
	return workflow.ConsoleUser{}
}

// can says whether an ops user's role includes need (templates use it to
// hide what the role may not use).
func can(u *store.OpsUser, need string) bool {
	return u != nil && workflow.RoleAllows(u.Role, need)
}

// need lets a request through only when the user's role includes role:
// otherwise 403 and nothing is done. Wrap every POST with it (approver for
// actions on requests and mails, admin for the registry, the directory and
// the users); the workflow checks again where it acts.
func (s *Server) need(role string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !can(userOf(r), role) {
			s.forbidden(w, r, role)
			return
		}
		h(w, r)
	}
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, role string) {
	u := userOf(r)
	s.log.Warn("console action refused: role", "path", r.URL.Path, "ops_user", u.Email, "role", u.Role, "needs", role)
	l := consoleLang(r)
	s.opsError(w, r, http.StatusForbidden, "err.forbidden", l.F("err.forbidden.body", role, orNone(l, u.Role)))
}

func orNone(l lang, s string) string {
	if s == "" {
		return l.T("role.none")
	}
	return s
}

func (s *Server) routeConsole() {
	m := s.mux
	m.HandleFunc("GET /ops", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ops/", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /ops/login", s.loginPage)
	m.HandleFunc("POST /ops/login", s.login)
	m.HandleFunc("POST /ops/logout", s.logout)
	m.HandleFunc("POST /ops/lang", s.setLang)
	s.routeOIDC()
	m.Handle("GET /ops/{$}", s.auth(s.queue))
	m.Handle("GET /ops/requests/{id}", s.auth(s.request))
	m.Handle("POST /ops/requests/{id}/{action}", s.auth(s.need(workflow.RoleApprover, s.act)))
	m.Handle("POST /ops/requests/{id}/clear-fraud", s.auth(s.need(workflow.RoleApprover, s.clearFraud)))
	m.Handle("GET /ops/links", s.auth(s.links))
	m.Handle("GET /ops/audit", s.auth(s.auditPage))
	m.Handle("GET /ops/messages", s.auth(s.messages))
	m.Handle("GET /ops/messages/{id}", s.auth(s.message))
	m.Handle("POST /ops/messages/{id}/reprocess", s.auth(s.need(workflow.RoleApprover, s.reprocess)))
	s.routeRegistry() // partners.go
	s.routeTeam()     // team.go
	s.routeLinks()    // links.go
	m.Handle("GET /ops/outbox", s.auth(s.outbox))
	m.Handle("POST /ops/outbox/{id}/retry", s.auth(s.need(workflow.RoleApprover, s.retry)))
	m.Handle("/ops/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.nopage")
	}))
}

// auth lets a request through with a live session; otherwise a GET is sent
// to the login page (and back afterwards), anything else refused.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err == nil {
			sess, err := s.wf.SessionOf(r.Context(), c.Value)
			if err == nil {
				h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &sess)))
				return
			}
			if !errors.Is(err, workflow.ErrNotFound) {
				s.log.Error("checking session", "err", err)
				s.opsError(w, r, http.StatusInternalServerError, "err.title", "err.session")
				return
			}
		}
		if r.Method != http.MethodGet {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/ops/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

func (s *Server) ops(w http.ResponseWriter, r *http.Request, status int, name, title, nav string, d any) {
	s.render(w, status, name, s.opsPage(r, title, nav, d))
}

// opsPage is the page of a console handler in the user's language, with
// the flash of the action that led to it (?done=). title may be a catalog
// key. Every console page should start from it.
func (s *Server) opsPage(r *http.Request, title, nav string, d any) page {
	l := consoleLang(r)
	return page{L: l, Title: l.T(title), User: userOf(r), Nav: nav, Wide: true, D: d, Here: here(r),
		Flash: flashOf(l, r.URL.Query().Get("done"))}
}

// here is where the language switch returns to: the page itself, but not
// the address of a form's post (a page shown after a refused action), whose
// handler names its page instead.
func here(r *http.Request) string {
	if r.Method != http.MethodGet {
		return ""
	}
	return r.URL.RequestURI()
}

// opsError shows a console error page; title and msg are catalog keys or,
// from handlers not translated yet, plain English.
func (s *Server) opsError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	l := consoleLang(r)
	s.render(w, status, "opserror.html", page{L: l, Title: l.T(title), User: userOf(r), D: l.T(msg), Here: here(r)})
}

func (s *Server) opsFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, workflow.ErrNotFound) {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", err.Error())
		return
	}
	s.log.Error("console page failed", "path", r.URL.Path, "err", err)
	s.opsError(w, r, http.StatusInternalServerError, "err.title", "err.load")
}

// flashes holds flash lines not in the catalog yet, by ?done= value; the
// catalog's "flash.DONE" keys come first.
var flashes = map[string]string{}

// flashOf is the line shown after the action done.
func flashOf(l lang, done string) string {
	if done == "" {
		return ""
	}
	if _, ok := catalog["en"]["flash."+done]; ok {
		return l.T("flash." + done)
	}
	return flashes[done]
}

// ---- language ----

// langCookie keeps the console language a browser chose, for the pages
// before login; after login the user's row counts.
const langCookie = "onboarder_lang"

// consoleLang is the console's language for a request: the one the ops
// user chose (kept on their row), else the browser's choice (cookie), else
// Accept-Language, else English.
func consoleLang(r *http.Request) lang {
	if u := userOf(r); u != nil && known(u.Locale) {
		return langOf(u.Locale)
	}
	if c, err := r.Cookie(langCookie); err == nil && known(c.Value) {
		return langOf(c.Value)
	}
	return acceptLang(r)
}

func known(code string) bool { return code == "en" || code == "de" }

// setLangCookie remembers a language choice in the browser for a year.
func (s *Server) setLangCookie(w http.ResponseWriter, code string) {
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/ops/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
}

// setLang is the language switch of every console page (a form, since a GET
// changes nothing): it keeps the choice in a cookie and, when someone is
// logged in, on their row, and goes back to the page.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	code := r.PostFormValue("lang")
	if !known(code) {
		http.Error(w, "unknown language", http.StatusBadRequest)
		return
	}
	s.setLangCookie(w, code)
	if c, err := r.Cookie(sessionCookie); err == nil {
		if sess, err := s.wf.SessionOf(r.Context(), c.Value); err == nil {
			if err := s.wf.SetOpsUserLocale(r.Context(), sess.User.ID, code); err != nil {
				s.log.Error("keeping the console language", "ops_user", sess.User.Email, "err", err)
			}
		}
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// ---- login ----

type loginData struct {
	Email, Next string
	// Password says whether the password form is shown; SSO names the
	// identity provider of the "Sign in with" button ("" without one).
	Password bool
	SSO      string
}

func (s *Server) loginData(email, next string) loginData {
	d := loginData{Email: email, Next: next, Password: !s.opts.NoPasswordLogin}
	if s.oidc != nil {
		d.SSO = s.oidc.name()
	}
	return d
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/ops/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/ops/"
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	l := consoleLang(r)
	s.render(w, http.StatusOK, "login.html", page{L: l, Title: l.T("login.title"), Here: here(r),
		D: s.loginData("", safeNext(r.URL.Query().Get("next")))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !opsForm(w, r) {
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	next := safeNext(r.PostFormValue("next"))
	client := s.clientAddr(r)
	l := consoleLang(r)
	again := func(status int, msg string) {
		s.render(w, status, "login.html", page{L: l, Title: l.T("login.title"), Error: msg,
			Here: "/ops/login?next=" + url.QueryEscape(next), D: s.loginData(email, next)})
	}
	if s.opts.NoPasswordLogin {
		s.log.Warn("password login refused: switched off", "client", client, "email", email)
		again(http.StatusForbidden, l.T("login.off"))
		return
	}
	token, u, err := s.wf.LoginFrom(r.Context(), client, email, r.PostFormValue("password"))
	if wait, ok := workflow.IsThrottled(err); ok {
		wait = wait.Round(time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.log.Warn("login refused: too many failures", "client", client, "email", email)
		again(http.StatusTooManyRequests, l.F("login.throttled", max(wait, time.Second)))
		return
	}
	if errors.Is(err, workflow.ErrBadLogin) {
		s.log.Info("login failed", "client", client, "email", email)
		again(http.StatusUnauthorized, l.T("login.bad"))
		return
	}
	if err != nil {
		s.log.Error("login", "err", err)
		again(http.StatusInternalServerError, l.T("login.failed"))
		return
	}
	s.log.Info("ops user logged in", "ops_user", u.Email, "client", client)
	s.startSession(w, token)
	s.keepLangAtLogin(w, r, u)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession gives the browser the session cookie of a login (password
// or single sign-on).
func (s *Server) startSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/ops/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.wf.SessionCookieAge() / time.Second)})
}

// keepLangAtLogin joins the two places a language choice is kept: a user
// without one takes the choice this browser made before login; a user with
// one gets it in this browser's cookie, so the login page after logout
// speaks it too.
func (s *Server) keepLangAtLogin(w http.ResponseWriter, r *http.Request, u store.OpsUser) {
	if known(u.Locale) {
		s.setLangCookie(w, u.Locale)
		return
	}
	if c, err := r.Cookie(langCookie); err == nil && known(c.Value) {
		if err := s.wf.SetOpsUserLocale(r.Context(), u.ID, c.Value); err != nil {
			s.log.Error("keeping the console language", "ops_user", u.Email, "err", err)
		}
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.wf.Logout(r.Context(), c.Value); err != nil {
			s.log.Error("logout", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ops/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/ops/login", http.StatusSeeOther)
}

// ---- queue ----

type tab struct {
	Label string
	URL   string
	On    bool
	Count int64
}

// queueRow is one request of the queue with its age against the target.
type queueRow struct {
	workflow.QueueItem
	// Overdue: open, and older than ONBOARDER_QUEUE_TARGET in business time.
	Overdue bool
}

type queueData struct {
	Items    []queueRow
	Filter   store.RequestList
	Partners []store.Partner
	Kinds    []string
	Findings []string
	Tabs     []tab
	Pager    pager
	// CSV is the link to this list's export.
	CSV string
	Now time.Time
	// Target is the queue target, shown with the overdue.
	Target string
	// FraudReports are the open ones, shown above the queue.
	FraudReports []workflow.FraudReportView
}

var queueStates = []string{"open", store.StatePendingApproval, store.StateNeedsInfo, store.StateInvited,
	store.StateCompleted, store.StateDeclined, store.StateExpired, store.StateRejected, store.StateDuplicate, "all"}

// codeLike accepts what a kind or finding code looks like (lower-case
// letters, digits, _), so a filter value is never more than that.
func codeLike(s string) string {
	if len(s) > 64 || strings.TrimFunc(s, func(r rune) bool { return r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }) != "" {
		return ""
	}
	return s
}

// queueFilter reads the queue's filter from the query; its values as
// query values are for the page, tab and export links.
func queueFilter(r *http.Request) (store.RequestList, url.Values) {
	qv := r.URL.Query()
	f := store.RequestList{State: oneOf(qv.Get("state"), queueStates), Kind: codeLike(qv.Get("kind")),
		Finding: codeLike(qv.Get("finding")), Text: strings.TrimSpace(qv.Get("q"))}
	if len(f.Text) > 200 {
		f.Text = f.Text[:200]
	}
	if f.State == "" {
		f.State = "open"
	}
	f.PartnerID, _ = strconv.ParseInt(qv.Get("partner"), 10, 64)
	partner := ""
	if f.PartnerID > 0 {
		partner = strconv.FormatInt(f.PartnerID, 10)
	}
	v := filterValues("state", f.State, "kind", f.Kind, "partner", partner, "finding", f.Finding, "q", f.Text)
	if f.State == "all" {
		f.State = ""
	}
	return f, v
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	f, fv := queueFilter(r)
	if wantsCSV(r) {
		s.queueCSV(w, r, f)
		return
	}
	ctx := r.Context()
	pg, err := s.wf.Queue(ctx, f, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	q := s.wf.Store().Q(ctx)
	partners, err := q.Partners()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	counts, err := q.RequestCounts()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	kinds, err := q.RequestKinds()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	codes, err := q.FindingCodes()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	frauds, err := s.wf.OpenFraudReports(ctx)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	l := consoleLang(r)
	state := fv.Get("state")
	var tabs []tab
	for _, st := range queueStates {
		v := url.Values{}
		for k, vs := range fv {
			v[k] = vs
		}
		v.Set("state", st)
		n := counts[st]
		switch st {
		case "open":
			n = 0
			for _, o := range store.OpenStates {
				n += counts[o]
			}
		case "all":
			n = -1
		}
		tabs = append(tabs, tab{Label: tabLabel(l, "state.", st), URL: "/ops/?" + v.Encode(), On: st == state, Count: n})
	}
	now := s.opts.Now()
	rows := make([]queueRow, len(pg.Items))
	for i, it := range pg.Items {
		rows[i] = queueRow{QueueItem: it, Overdue: s.overdue(it.Request, now)}
	}
	csvv := url.Values{"format": {"csv"}}
	for k, vs := range fv {
		csvv[k] = vs
	}
	s.ops(w, r, http.StatusOK, "queue.html", "queue.title", "queue",
		queueData{Items: rows, FraudReports: frauds, Filter: f, Partners: partners, Kinds: kinds, Findings: codes, Tabs: tabs,
			Pager: pagerOf("/ops/", fv, pg), CSV: "/ops/?" + csvv.Encode(), Now: now, Target: s.targetText(l)})
}

// overdue says whether an open request waited longer than the queue
// target, in business time.
func (s *Server) overdue(r store.Request, now time.Time) bool {
	return slices.Contains(store.OpenStates, r.State) && workflow.Overdue(r.ReceivedAt, now, s.opts.QueueTarget)
}

// targetText writes the queue target as ONBOARDER_QUEUE_TARGET does, in
// the language.
func (s *Server) targetText(l lang) string {
	d := s.opts.QueueTarget
	if d%(24*time.Hour) == 0 {
		return l.F("queue.target.days", int64(d/(24*time.Hour)))
	}
	return l.F("queue.target.time", d.String())
}

// queueCSV exports the filtered queue, every page of it.
func (s *Server) queueCSV(w http.ResponseWriter, r *http.Request, f store.RequestList) {
	now := s.opts.Now()
	var out *csvExport
	p := store.Paging{Limit: 500}
	for {
		pg, err := s.wf.Queue(r.Context(), f, p)
		if err != nil {
			s.exportFail(w, r, out, err)
			return
		}
		if out == nil {
			out = startCSV(w, "requests", now, "reference", "state", "kind", "partner", "sender", "customer_name",
				"organization_id", "organization_name", "findings", "received_at", "overdue")
		}
		for _, it := range pg.Items {
			var codes []string
			for _, fd := range it.Findings {
				codes = append(codes, fd.Code)
			}
			org := ""
			if it.Organization != nil {
				org = it.Organization.Name
			}
			out.write(it.Request.Reference(), it.Request.State, it.Request.Kind, it.PartnerName, it.Request.Sender,
				it.Request.CustomerName, deref(it.Request.OrganizationID), org, strings.Join(codes, " "),
				csvTime(&it.Request.ReceivedAt), strconv.FormatBool(s.overdue(it.Request, now)))
		}
		if !out.flush() || pg.Next == "" {
			return
		}
		p.After = pg.Next
	}
}

// exportFail ends an export that failed: an error page before the first
// byte, else a broken connection, so no cut-short file looks complete.
func (s *Server) exportFail(w http.ResponseWriter, r *http.Request, out *csvExport, err error) {
	if out == nil {
		s.listFail(w, r, err)
		return
	}
	s.log.Error("CSV export failed", "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ---- one request ----

type requestData struct {
	View workflow.RequestView
	Now  time.Time
}

func requestID(r *http.Request) (int64, bool) {
	return store.ParseReference(r.PathValue("id"))
}

func (s *Server) request(w http.ResponseWriter, r *http.Request) {
	s.showRequest(w, r, http.StatusOK, "")
}

func (s *Server) showRequest(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	id, ok := requestID(r)
	if !ok {
		s.noRequest(w, r)
		return
	}
	v, err := s.wf.Request(r.Context(), id)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	p := s.opsPage(r, v.Request.Reference(), "queue", requestData{View: v, Now: s.opts.Now()})
	if errMsg != "" {
		p.Error, p.Flash, p.Here = errMsg, "", fmt.Sprintf("/ops/requests/%d", id)
	}
	s.render(w, status, "request.html", p)
}

// noRequest answers 404 for a request that does not exist.
func (s *Server) noRequest(w http.ResponseWriter, r *http.Request) {
	s.opsError(w, r, http.StatusNotFound, "err.notfound", consoleLang(r).F("err.norequest", r.PathValue("id")))
}

func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	l := consoleLang(r)
	id, ok := s.postTo(w, r, requestID, s.noRequest)
	if !ok {
		return
	}
	kind := r.PathValue("action")
	a := workflow.Action{Kind: kind, By: userOf(r).Email, Role: userOf(r).Role}
	switch kind {
	case workflow.ActApprove:
		a.Text = r.PostFormValue("note")
		a.InviteContact = r.PostFormValue("invite_contact")
	case workflow.ActReject, workflow.ActEnd:
		a.Text = r.PostFormValue("reason")
	case workflow.ActResend, workflow.ActRevoke:
	default:
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.noaction")
		return
	}
	a.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	err := s.wf.Act(r.Context(), id, a)
	switch {
	case err == nil:
		s.log.Info("console action", "request_ref", store.Reference(id), "action", kind, "ops_user", a.By)
		if kind == workflow.ActApprove {
			if now, err := s.wf.Store().Q(r.Context()).Request(id); err == nil && now.State == store.StatePendingApproval {
				kind = "approve1" // four eyes: the first of two approvals
			}
		}
		http.Redirect(w, r, fmt.Sprintf("/ops/requests/%d?done=%s", id, kind), http.StatusSeeOther)
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	case errors.Is(err, workflow.ErrChanged):
		s.showRequest(w, r, http.StatusConflict, l.F("err.changed", err.Error()))
	case errors.Is(err, workflow.ErrTooSoon):
		s.showRequest(w, r, http.StatusTooManyRequests, l.F("err.nothing", err.Error()))
	case errors.Is(err, workflow.ErrState), errors.Is(err, store.ErrConflict), errors.Is(err, workflow.ErrContactRefused):
		s.showRequest(w, r, http.StatusConflict, l.F("err.nothing", err.Error()))
	case errors.Is(err, workflow.ErrNotFound):
		s.opsFail(w, r, err)
	case errors.Is(err, workflow.ErrEndReasonRequired):
		s.showRequest(w, r, http.StatusBadRequest, "Nothing was done: give a reason; it goes to the partner and the administrator.")
	case errors.Is(err, workflow.ErrReasonRequired):
		s.showRequest(w, r, http.StatusBadRequest, l.T("err.reason"))
	default:
		s.log.Error("console action failed", "request_ref", store.Reference(id), "action", kind, "err", err)
		s.showRequest(w, r, http.StatusInternalServerError, l.F("err.action", err.Error()))
	}
}

// ---- lists ----

// tabsFor makes the tabs of one filter param over values ("all" first),
// each keeping the list's other filters; a value's label is the catalog's
// prefix+value.
func tabsFor(l lang, prefix, base, param, current string, values []string, filter url.Values) []tab {
	link := func(v string) string {
		q := url.Values{}
		for k, vs := range filter {
			q[k] = vs
		}
		q.Del(param)
		if v != "" {
			q.Set(param, v)
		}
		return withQuery(base, q)
	}
	out := []tab{{Label: tabLabel(l, prefix, ""), URL: link(""), On: current == ""}}
	for _, v := range values {
		out = append(out, tab{Label: tabLabel(l, prefix, v), URL: link(v), On: v == current})
	}
	return out
}

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return ""
}

var linkStatuses = []string{store.LinkInvited, store.LinkActive, store.LinkDeclined, store.LinkExpired, store.LinkRevoked, store.LinkEnded}

type linksData struct {
	Links    []store.Link
	Partners map[int64]string
	Orgs     map[string]store.Organization
	Tabs     []tab
	Filter   store.LinkList
	// PartnerList is every partner, for the filter.
	PartnerList []store.Partner
	Pager       pager
	CSV         string
}

// linkFilter reads the links list's filter from the query.
func linkFilter(r *http.Request) (store.LinkList, url.Values) {
	qv := r.URL.Query()
	f := store.LinkList{Status: oneOf(qv.Get("status"), linkStatuses)}
	f.PartnerID, _ = strconv.ParseInt(qv.Get("partner"), 10, 64)
	if org := strings.ToLower(strings.Trim(strings.TrimSpace(qv.Get("organization")), "{}")); len(org) <= 64 {
		f.OrganizationID = org
	}
	partner := ""
	if f.PartnerID > 0 {
		partner = strconv.FormatInt(f.PartnerID, 10)
	}
	return f, filterValues("status", f.Status, "partner", partner, "organization", f.OrganizationID)
}

func (s *Server) links(w http.ResponseWriter, r *http.Request) {
	f, fv := linkFilter(r)
	if wantsCSV(r) {
		s.linksCSV(w, r, f)
		return
	}
	q := s.wf.Store().Q(r.Context())
	pg, err := q.LinkPage(f, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	partners, err := q.Partners()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	names := map[int64]string{}
	for _, p := range partners {
		names[p.ID] = p.Name
	}
	orgs, err := q.OrganizationsByID(linkOrgIDs(pg.Items))
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	csvv := url.Values{"format": {"csv"}}
	for k, vs := range fv {
		csvv[k] = vs
	}
	s.ops(w, r, http.StatusOK, "links.html", "links.title", "links", linksData{Links: pg.Items, Partners: names, Orgs: orgs,
		Tabs: tabsFor(consoleLang(r), "status.", "/ops/links", "status", f.Status, linkStatuses, fv), Filter: f, PartnerList: partners,
		Pager: pagerOf("/ops/links", fv, pg), CSV: "/ops/links?" + csvv.Encode()})
}

func linkOrgIDs(ls []store.Link) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.OrganizationID)
	}
	return ids
}

// linksCSV exports the filtered links, every page of them.
func (s *Server) linksCSV(w http.ResponseWriter, r *http.Request, f store.LinkList) {
	q := s.wf.Store().Q(r.Context())
	names, err := s.wf.PartnerNames(r.Context())
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	name := func(id *int64) string {
		if id == nil {
			return ""
		}
		return names[*id]
	}
	var out *csvExport
	p := store.Paging{Limit: 500}
	for {
		pg, err := q.LinkPage(f, p)
		var orgs map[string]store.Organization
		if err == nil {
			orgs, err = q.OrganizationsByID(linkOrgIDs(pg.Items))
		}
		if err != nil {
			s.exportFail(w, r, out, err)
			return
		}
		if out == nil {
			out = startCSV(w, "links", s.opts.Now(), "id", "partner", "distributor", "organization_id", "organization_name",
				"type", "status", "request", "started_at", "ends_at", "ended_at", "ended_by", "end_reason")
		}
		for _, l := range pg.Items {
			req := ""
			if l.RequestID != nil {
				req = store.Reference(*l.RequestID)
			}
			out.write(strconv.FormatInt(l.ID, 10), names[l.PartnerID], name(l.DistributorID), l.OrganizationID,
				orgs[l.OrganizationID].Name, l.Type, l.Status, req, csvTime(&l.StartedAt), csvTime(l.EndsAt),
				csvTime(l.EndedAt), l.EndedBy, l.EndReason)
		}
		if !out.flush() || pg.Next == "" {
			return
		}
		p.After = pg.Next
	}
}

var dispositions = []string{store.DispRequest, store.DispReply, store.DispAutoReply, store.DispBounce, store.DispIgnored,
	store.DispTooLarge, store.DispDuplicate, store.DispUnparseable, store.DispPending, store.DispEndLink}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	disp := oneOf(r.URL.Query().Get("disposition"), dispositions)
	fv := filterValues("disposition", disp)
	pg, err := s.wf.Store().Q(r.Context()).MessagePage(disp, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "messages.html", "messages.title", "messages", struct {
		Messages []store.Message
		Tabs     []tab
		Pager    pager
	}{pg.Items, tabsFor(consoleLang(r), "disp.", "/ops/messages", "disposition", disp, dispositions, fv), pagerOf("/ops/messages", fv, pg)})
}

func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.nomail")
		return
	}
	m, orig, err := s.wf.Message(r.Context(), id)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "message.html", consoleLang(r).F("message.title", id), "messages", struct {
		Message  store.Message
		Original *workflow.OriginalMail
	}{m, orig})
}

func (s *Server) reprocess(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.nomail")
		return
	}
	res, err := s.wf.ConsoleReprocess(r.Context(), consoleUser(r), id)
	switch {
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	case err == nil:
		s.log.Info("mail reprocessed", "message_id", id, "disposition", res.Disposition, "ops_user", userOf(r).Email)
		http.Redirect(w, r, fmt.Sprintf("/ops/messages/%d?done=reprocess", id), http.StatusSeeOther)
	case errors.Is(err, workflow.ErrState):
		s.opsError(w, r, http.StatusConflict, "err.notreprocessed", consoleLang(r).F("err.nothing", err.Error()))
	default:
		s.opsFail(w, r, err)
	}
}

var outboxStatuses = []string{store.OutboxPending, store.OutboxSent, store.OutboxFailed, store.OutboxBounced}

func (s *Server) outbox(w http.ResponseWriter, r *http.Request) {
	q := s.wf.Store().Q(r.Context())
	kinds, err := q.OutboxKinds()
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	f := store.OutboxList{Status: oneOf(r.URL.Query().Get("status"), outboxStatuses), Kind: oneOf(r.URL.Query().Get("kind"), kinds)}
	fv := filterValues("status", f.Status, "kind", f.Kind)
	pg, err := q.OutboxPage(f, pagingOf(r))
	if err != nil {
		s.listFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "outbox.html", "outbox.title", "outbox", struct {
		Mails    []store.OutboxMail
		Tabs     []tab
		KindTabs []tab
		Pager    pager
	}{pg.Items, tabsFor(consoleLang(r), "status.", "/ops/outbox", "status", f.Status, outboxStatuses, fv),
		tabsFor(consoleLang(r), "mailkind.", "/ops/outbox", "kind", f.Kind, kinds, fv), pagerOf("/ops/outbox", fv, pg)})
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "err.notfound", "err.nomail")
		return
	}
	err = s.wf.ConsoleRetryOutbox(r.Context(), consoleUser(r), id)
	switch {
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	case err == nil:
		http.Redirect(w, r, "/ops/outbox?done=retry", http.StatusSeeOther)
	case errors.Is(err, workflow.ErrState):
		s.opsError(w, r, http.StatusConflict, "err.notretried", consoleLang(r).F("err.nothing", err.Error()))
	default:
		s.opsFail(w, r, err)
	}
}
