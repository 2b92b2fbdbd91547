package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	s.opsError(w, r, http.StatusForbidden, "Not allowed",
		fmt.Sprintf("Nothing was done: this needs the role %s or more, and you are %s. Ask an admin (onboarder ops-users role).", role, orNone(u.Role)))
}

func orNone(s string) string {
	if s == "" {
		return "none"
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
	s.routeOIDC()
	m.Handle("GET /ops/{$}", s.auth(s.queue))
	m.Handle("GET /ops/requests/{id}", s.auth(s.request))
	m.Handle("POST /ops/requests/{id}/{action}", s.auth(s.need(workflow.RoleApprover, s.act)))
	m.Handle("POST /ops/requests/{id}/clear-fraud", s.auth(s.need(workflow.RoleApprover, s.clearFraud)))
	m.Handle("GET /ops/links", s.auth(s.links))
	m.Handle("GET /ops/messages", s.auth(s.messages))
	m.Handle("GET /ops/messages/{id}", s.auth(s.message))
	m.Handle("POST /ops/messages/{id}/reprocess", s.auth(s.need(workflow.RoleApprover, s.reprocess)))
	s.routeRegistry() // partners.go
	s.routeLinks()    // links.go
	m.Handle("GET /ops/outbox", s.auth(s.outbox))
	m.Handle("POST /ops/outbox/{id}/retry", s.auth(s.need(workflow.RoleApprover, s.retry)))
	m.Handle("/ops/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		s.opsError(w, r, http.StatusNotFound, "Not found", "There is no such page in the console.")
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
				s.opsError(w, r, http.StatusInternalServerError, "Something went wrong", "The session could not be checked; try again.")
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
	p := page{L: langOf("en"), Title: title, User: userOf(r), Nav: nav, Wide: true, D: d}
	p.Flash = flashes[r.URL.Query().Get("done")]
	s.render(w, status, name, p)
}

func (s *Server) opsError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, status, "opserror.html", page{L: langOf("en"), Title: title, User: userOf(r), D: msg})
}

func (s *Server) opsFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, workflow.ErrNotFound) {
		s.opsError(w, r, http.StatusNotFound, "Not found", err.Error())
		return
	}
	s.log.Error("console page failed", "path", r.URL.Path, "err", err)
	s.opsError(w, r, http.StatusInternalServerError, "Something went wrong", "The page could not be loaded; the log has the details.")
}

var flashes = map[string]string{
	"approve":   "Approved: the link is recorded as invited, the invitation and the partner's mail are queued.",
	"approve1":  "Approved 1 of 2: the findings need a second ops user's approval; nothing is sent until then.",
	"reject":    "Rejected: the partner is told the reason.",
	"resend":    "A new invitation is queued; the previous link stopped working.",
	"revoke":    "The link is revoked.",
	"end":       "The link is ended: the partner and the administrator are told.",
	"reprocess": "The mail was handled again.",
	"retry":     "The mail is queued to be sent again.",
	"clear-fraud": "The fraud report is cleared: later requests for the organization or from the partner are no longer " +
		"flagged fraud_reported.",
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
	s.render(w, http.StatusOK, "login.html", page{L: langOf("en"), Title: "Log in",
		D: s.loginData("", safeNext(r.URL.Query().Get("next")))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := parseSmallForm(r); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	next := safeNext(r.PostFormValue("next"))
	client := s.clientAddr(r)
	again := func(status int, msg string) {
		s.render(w, status, "login.html", page{L: langOf("en"), Title: "Log in", Error: msg,
			D: s.loginData(email, next)})
	}
	if s.opts.NoPasswordLogin {
		s.log.Warn("password login refused: switched off", "client", client, "email", email)
		again(http.StatusForbidden, "Password login is switched off; use single sign-on.")
		return
	}
	token, u, err := s.wf.LoginFrom(r.Context(), client, email, r.PostFormValue("password"))
	if wait, ok := workflow.IsThrottled(err); ok {
		wait = wait.Round(time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.log.Warn("login refused: too many failures", "client", client, "email", email)
		again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed logins. Try again in %s.", max(wait, time.Second)))
		return
	}
	if errors.Is(err, workflow.ErrBadLogin) {
		s.log.Info("login failed", "client", client, "email", email)
		again(http.StatusUnauthorized, "Wrong e-mail address or password.")
		return
	}
	if err != nil {
		s.log.Error("login", "err", err)
		again(http.StatusInternalServerError, "The login could not be checked; try again.")
		return
	}
	s.log.Info("ops user logged in", "ops_user", u.Email, "client", client)
	s.startSession(w, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession gives the browser the session cookie of a login (password
// or single sign-on).
func (s *Server) startSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/ops/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.wf.SessionCookieAge() / time.Second)})
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

type queueData struct {
	Items    []workflow.QueueItem
	Filter   store.QueueFilter
	Partners []store.Partner
	Tabs     []tab
	Limit    int
	Now      time.Time
	// FraudReports are the open ones, shown above the queue.
	FraudReports []workflow.FraudReportView
}

var queueStates = []string{"open", store.StatePendingApproval, store.StateNeedsInfo, store.StateInvited,
	store.StateCompleted, store.StateDeclined, store.StateExpired, store.StateRejected, store.StateDuplicate, "all"}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	f := store.QueueFilter{State: qv.Get("state"), Search: strings.TrimSpace(qv.Get("q")), Limit: 200}
	if len(f.Search) > 200 {
		f.Search = f.Search[:200]
	}
	if f.State == "" {
		f.State = "open"
	}
	known := false
	for _, st := range queueStates {
		known = known || st == f.State
	}
	if !known {
		f.State = "open"
	}
	f.PartnerID, _ = strconv.ParseInt(qv.Get("partner"), 10, 64)
	ctx := r.Context()
	items, err := s.wf.Queue(ctx, f)
	if err != nil {
		s.opsFail(w, r, err)
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
	frauds, err := s.wf.OpenFraudReports(ctx)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	var tabs []tab
	for _, st := range queueStates {
		v := url.Values{"state": {st}}
		if f.Search != "" {
			v.Set("q", f.Search)
		}
		if f.PartnerID != 0 {
			v.Set("partner", strconv.FormatInt(f.PartnerID, 10))
		}
		n := counts[st]
		switch st {
		case "open":
			n = counts[store.StateNeedsInfo] + counts[store.StatePendingApproval] + counts[store.StateInvited]
		case "all":
			n = -1
		}
		tabs = append(tabs, tab{Label: strings.ReplaceAll(st, "_", " "), URL: "/ops/?" + v.Encode(), On: st == f.State, Count: n})
	}
	s.ops(w, r, http.StatusOK, "queue.html", "Queue", "queue",
		queueData{Items: items, FraudReports: frauds, Filter: f, Partners: partners, Tabs: tabs, Limit: f.Limit, Now: s.opts.Now()})
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
		s.opsError(w, r, http.StatusNotFound, "Not found", "No request "+r.PathValue("id")+".")
		return
	}
	v, err := s.wf.Request(r.Context(), id)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	p := page{L: langOf("en"), Title: v.Request.Reference(), User: userOf(r), Nav: "queue", Wide: true,
		Error: errMsg, D: requestData{View: v, Now: s.opts.Now()}}
	if errMsg == "" {
		p.Flash = flashes[r.URL.Query().Get("done")]
	}
	s.render(w, status, "request.html", p)
}

func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	id, ok := requestID(r)
	if !ok {
		s.opsError(w, r, http.StatusNotFound, "Not found", "No request "+r.PathValue("id")+".")
		return
	}
	if err := parseSmallForm(r); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
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
		s.opsError(w, r, http.StatusNotFound, "Not found", "No such action.")
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
		s.showRequest(w, r, http.StatusConflict, "Nothing was done: this request changed since you opened the page ("+
			err.Error()+"). Check the page below and act again if still needed.")
	case errors.Is(err, workflow.ErrTooSoon):
		s.showRequest(w, r, http.StatusTooManyRequests, "Nothing was done: "+err.Error()+".")
	case errors.Is(err, workflow.ErrState), errors.Is(err, store.ErrConflict), errors.Is(err, workflow.ErrContactRefused):
		s.showRequest(w, r, http.StatusConflict, "Nothing was done: "+err.Error()+".")
	case errors.Is(err, workflow.ErrNotFound):
		s.opsFail(w, r, err)
	case errors.Is(err, workflow.ErrEndReasonRequired):
		s.showRequest(w, r, http.StatusBadRequest, "Nothing was done: give a reason; it goes to the partner and the administrator.")
	case errors.Is(err, workflow.ErrReasonRequired):
		s.showRequest(w, r, http.StatusBadRequest, "Nothing was done: give a reason; it goes to the partner.")
	default:
		s.log.Error("console action failed", "request_ref", store.Reference(id), "action", kind, "err", err)
		s.showRequest(w, r, http.StatusInternalServerError, "The action failed: "+err.Error())
	}
}

// ---- lists ----

func tabsFor(base, param, current string, values []string) []tab {
	out := []tab{{Label: "all", URL: base, On: current == ""}}
	for _, v := range values {
		out = append(out, tab{Label: strings.ReplaceAll(v, "_", " "), URL: base + "?" + param + "=" + url.QueryEscape(v), On: v == current})
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

func (s *Server) links(w http.ResponseWriter, r *http.Request) {
	status := oneOf(r.URL.Query().Get("status"), linkStatuses)
	q := s.wf.Store().Q(r.Context())
	ls, err := q.ConsoleLinks(store.LinkFilter{Status: status, Limit: 500})
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	names, err := s.wf.PartnerNames(r.Context())
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.OrganizationID)
	}
	orgs, err := q.OrganizationsByID(ids)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "links.html", "Links", "links", struct {
		Links    []store.Link
		Partners map[int64]string
		Orgs     map[string]store.Organization
		Tabs     []tab
	}{ls, names, orgs, tabsFor("/ops/links", "status", status, linkStatuses)})
}

var dispositions = []string{store.DispRequest, store.DispReply, store.DispAutoReply, store.DispBounce, store.DispIgnored,
	store.DispTooLarge, store.DispDuplicate, store.DispUnparseable, store.DispPending, store.DispEndLink}

func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	disp := oneOf(r.URL.Query().Get("disposition"), dispositions)
	ms, err := s.wf.Store().Q(r.Context()).RecentMessages(disp, 500)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "messages.html", "Mails received", "messages", struct {
		Messages []store.Message
		Tabs     []tab
	}{ms, tabsFor("/ops/messages", "disposition", disp, dispositions)})
}

func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "Not found", "No such mail.")
		return
	}
	m, orig, err := s.wf.Message(r.Context(), id)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "message.html", fmt.Sprintf("Mail %d", id), "messages", struct {
		Message  store.Message
		Original *workflow.OriginalMail
	}{m, orig})
}

func (s *Server) reprocess(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "Not found", "No such mail.")
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
		s.opsError(w, r, http.StatusConflict, "Not reprocessed", err.Error())
	default:
		s.opsFail(w, r, err)
	}
}

var outboxStatuses = []string{store.OutboxPending, store.OutboxSent, store.OutboxFailed, store.OutboxBounced}

func (s *Server) outbox(w http.ResponseWriter, r *http.Request) {
	status := oneOf(r.URL.Query().Get("status"), outboxStatuses)
	ms, err := s.wf.Store().Q(r.Context()).RecentOutbox(status, 500)
	if err != nil {
		s.opsFail(w, r, err)
		return
	}
	s.ops(w, r, http.StatusOK, "outbox.html", "Outbox", "outbox", struct {
		Mails []store.OutboxMail
		Tabs  []tab
	}{ms, tabsFor("/ops/outbox", "status", status, outboxStatuses)})
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.opsError(w, r, http.StatusNotFound, "Not found", "No such mail.")
		return
	}
	err = s.wf.ConsoleRetryOutbox(r.Context(), consoleUser(r), id)
	switch {
	case errors.Is(err, workflow.ErrForbidden):
		s.forbidden(w, r, workflow.RoleApprover)
	case err == nil:
		http.Redirect(w, r, "/ops/outbox?done=retry", http.StatusSeeOther)
	case errors.Is(err, workflow.ErrState):
		s.opsError(w, r, http.StatusConflict, "Not retried", err.Error())
	default:
		s.opsFail(w, r, err)
	}
}
