package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

func TestInvitationAccept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)

		// A GET (what a mail scanner does) shows the invitation and changes nothing.
		for range 3 {
			r := c.get("/invite/" + token)
			if r.Status != http.StatusOK {
				t.Fatalf("GET invite: %d", r.Status)
			}
			contains(t, "invitation page", r.Body, "Alpenblick IT GmbH asks to become the reseller of Northwind Traders Ltd",
				"MPN-7001", orgEN, store.Reference(id), "What accepting means", `id="accept"`, `id="decline"`, `name="message"`)
		}
		if got := f.request(id).State; got != store.StateInvited {
			t.Fatalf("after GETs the request is %s, want invited", got)
		}
		before := len(f.outbox(id))

		r := c.post("/invite/"+token+"/accept", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		contains(t, "accepted page", r.Body, "Connection established", "Alpenblick IT GmbH is now recorded as the reseller of Northwind Traders Ltd")
		lacks(t, "accepted page", r.Body, token)
		if got := f.request(id).State; got != store.StateCompleted {
			t.Errorf("request is %s, want completed", got)
		}
		l, err := st.Q(context.Background()).LinkForRequest(id)
		storetest.Must(t, err)
		if l.Status != store.LinkActive {
			t.Errorf("link is %s, want active", l.Status)
		}
		if diff := cmp.Diff([]string{templates.KindConnectionEstablished, templates.KindConnectionEstablished}, f.kinds(id)[before:]); diff != "" {
			t.Errorf("mails queued by accept (-want +got):\n%s", diff)
		}

		// The link works once: a second use answers 410 and says why.
		for _, method := range []string{"GET", "POST accept", "POST decline"} {
			var r resp
			switch method {
			case "GET":
				r = c.get("/invite/" + token)
			case "POST accept":
				r = c.post("/invite/"+token+"/accept", nil)
			default:
				r = c.post("/invite/"+token+"/decline", url.Values{"message": {"no"}})
			}
			if r.Status != http.StatusGone {
				t.Errorf("%s after accept: %d, want 410", method, r.Status)
			}
			contains(t, method+" gone page", r.Body, "no longer valid", "already been accepted")
		}
		if got := f.request(id).State; got != store.StateCompleted {
			t.Errorf("request is %s after reuse, want completed", got)
		}
	})
}

func TestInvitationDeclineFlagsFraud(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)

		r := c.post("/invite/"+token+"/decline", url.Values{"message": {"We never asked <b>for</b> this."}, "not_requested": {"1"}})
		if r.Status != http.StatusOK {
			t.Fatalf("decline: %d %s", r.Status, r.Body)
		}
		contains(t, "declined page", r.Body, "Invitation declined", "not requested by you")
		if got := f.request(id).State; got != store.StateDeclined {
			t.Errorf("request is %s, want declined", got)
		}
		fs, err := st.Q(context.Background()).Findings(id)
		storetest.Must(t, err)
		var codes []string
		for _, x := range fs {
			codes = append(codes, x.Code)
		}
		if !strings.Contains(strings.Join(codes, " "), workflow.FindPossibleFraud) {
			t.Errorf("findings %v lack %s", codes, workflow.FindPossibleFraud)
		}
		audit, err := st.Q(context.Background()).Audit(id)
		storetest.Must(t, err)
		if last := audit[len(audit)-1]; !strings.Contains(last.Reason, "possibly fraudulent") {
			t.Errorf("last audit entry %+v does not flag fraud", last)
		}
		rows := f.outbox(id)
		last := rows[len(rows)-1]
		if last.Kind != templates.KindInvitationDeclined || !strings.Contains(last.TextBody, "We never asked") {
			t.Errorf("partner mail %s does not carry the message:\n%s", last.Kind, last.TextBody)
		}
		if r := c.get("/invite/" + token); r.Status != http.StatusGone || !strings.Contains(r.Body, "already been declined") {
			t.Errorf("reuse after decline: %d", r.Status)
		}
	})
}

func TestInvitationErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		ctx := context.Background()

		// Unknown tokens: 404, whatever their shape.
		for _, tok := range []string{"x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("a", 500)} {
			if r := c.get("/invite/" + tok); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "Invitation not found") {
				t.Errorf("GET unknown token %.10s…: %d", tok, r.Status)
			}
			if r := c.post("/invite/"+tok+"/accept", nil); r.Status != http.StatusNotFound {
				t.Errorf("POST unknown token %.10s…: %d", tok, r.Status)
			}
		}

		// Replaced by a resend: the old token is gone, the new one works.
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		old := f.approve(id)
		f.clock.Add(61 * time.Minute)
		storetest.Must(t, f.wf.ResendInvitation(ctx, id, "tester"))
		fresh := f.lastToken(id)
		if r := c.get("/invite/" + old); r.Status != http.StatusGone || !strings.Contains(r.Body, "newer invitation") {
			t.Errorf("replaced token: %d", r.Status)
		}
		if r := c.get("/invite/" + fresh); r.Status != http.StatusOK {
			t.Errorf("fresh token: %d", r.Status)
		}

		// Revoked by ops.
		l, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		storetest.Must(t, f.wf.RevokeLink(ctx, l.ID, "tester"))
		if r := c.post("/invite/"+fresh+"/accept", nil); r.Status != http.StatusGone || !strings.Contains(r.Body, "withdrawn") {
			t.Errorf("revoked token: %d", r.Status)
		}

		// Expired: past the TTL the link answers 410 before the scheduler ran.
		id2 := f.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein", orgDE)
		tok2 := f.approve(id2)
		f.clock.Add(15 * 24 * time.Hour)
		r := c.get("/invite/" + tok2)
		if r.Status != http.StatusGone || !strings.Contains(r.Body, "abgelaufen") {
			t.Errorf("expired token: %d %s", r.Status, r.Body)
		}
		if r := c.post("/invite/"+tok2+"/accept", nil); r.Status != http.StatusGone {
			t.Errorf("accepting an expired token: %d", r.Status)
		}
		if got := f.request(id2).State; got != store.StateInvited {
			t.Errorf("expired request moved to %s by the web", got)
		}

		// An oversized form is refused without acting.
		id3 := f.deliver("jonas@alpenblick.example", "Evil Corp", orgX)
		tok3 := f.approve(id3)
		r = c.post("/invite/"+tok3+"/decline", url.Values{"message": {strings.Repeat("x", 100<<10)}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("huge form: %d", r.Status)
		}
		if got := f.request(id3).State; got != store.StateInvited {
			t.Errorf("huge form moved the request to %s", got)
		}
	})
}

func TestInvitationLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		id := f.deliver("jonas@alpenblick.example", "Bäckerei Sonnenschein", orgDE)
		token := f.approve(id)
		tests := []struct {
			path  string
			lang  string
			wants []string
		}{
			{"/invite/" + token, "de", []string{"möchte Reseller von Bäckerei Sonnenschein GmbH werden", "Annehmen", "Ablehnen", `href="?lang=en"`}},
			{"/invite/" + token + "?lang=en", "en", []string{"asks to become the reseller of", "Accept", "Decline", `href="?lang=de"`}},
		}
		for _, tt := range tests {
			r := c.get(tt.path)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d", tt.path, r.Status)
			}
			contains(t, tt.path, r.Body, append(tt.wants, `<html lang="`+tt.lang+`"`)...)
		}
		// The result page stays in the language the person chose.
		r := c.post("/invite/"+token+"/accept", url.Values{"lang": {"en"}})
		contains(t, "accepted in en", r.Body, "Connection established")
		r = c.get("/invite/" + token)
		contains(t, "gone in de", r.Body, "nicht mehr gültig")
	})
}

func TestCrossOriginPostRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)
		for _, hdr := range [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
			{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
		} {
			r := c.post("/invite/"+token+"/accept", nil, hdr...)
			if r.Status != http.StatusForbidden {
				t.Errorf("accept with %v: %d, want 403", hdr, r.Status)
			}
		}
		if got := f.request(id).State; got != store.StateInvited {
			t.Fatalf("a cross-origin post moved the request to %s", got)
		}
		// Logging in from another site is refused as well.
		r := c.post("/ops/login", url.Values{"email": {opsEmail}, "password": {opsPassword}}, "Sec-Fetch-Site", "cross-site")
		if r.Status != http.StatusForbidden {
			t.Errorf("cross-site login: %d", r.Status)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)
		for _, path := range []string{"/", "/invite/" + token, "/invite/unknown-token-000000000000", "/ops/login", "/healthz"} {
			r := c.get(path)
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
				t.Errorf("%s: CSP %q allows too much", path, csp)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
				"X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %s = %q, want %q", path, k, got, want)
				}
			}
		}
		// The page's only subresource is the stylesheet, served by us.
		r := c.get("/static/app.css")
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
			t.Errorf("stylesheet: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		if r := c.get("/readyz"); r.Status != http.StatusOK {
			t.Errorf("readyz: %d", r.Status)
		}
		if r := c.get("/healthz"); r.Status != http.StatusOK || r.Body != "ok\n" {
			t.Errorf("healthz: %d %q", r.Status, r.Body)
		}
	})
}
