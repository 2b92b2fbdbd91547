package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/webhook"
	"github.com/onboarder/onboarder/workflow"
)

const (
	secret = "s3cret"
	orgID  = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
)

// receiver records deliveries and answers from a script, then 204.
type receiver struct {
	mu      sync.Mutex
	script  []int
	got     []delivery
	answers []int
}

type delivery struct {
	event, id string
	valid     bool
	body      workflow.Event
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e workflow.Event
	json.Unmarshal(body, &e)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	code := http.StatusNoContent
	if len(rc.script) > 0 {
		code, rc.script = rc.script[0], rc.script[1:]
	}
	rc.answers = append(rc.answers, code)
	if code/100 == 2 {
		rc.got = append(rc.got, delivery{event: r.Header.Get(webhook.HeaderEvent), id: r.Header.Get(webhook.HeaderDelivery),
			valid: webhook.Verify(secret, body, r.Header.Get(webhook.HeaderSignature)) && r.Header.Get("Content-Type") == "application/json",
			body:  e})
	}
	w.WriteHeader(code)
}

func setup(t *testing.T, st *store.Store) (*workflow.Service, int64) {
	t.Helper()
	tpl, err := templates.Load("")
	storetest.Must(t, err)
	wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"},
		PublicURL: "https://onboard.example", Templates: tpl, Webhooks: true})
	storetest.Must(t, err)
	q := st.Q(context.Background())
	p := store.Partner{Name: "Acme", Locale: "en"}
	storetest.Must(t, q.CreatePartner(&p, []string{"ops@acme.example"}, nil))
	storetest.Must(t, q.UpsertOrganization(&store.Organization{ID: orgID, Name: "Globex", Status: store.OrgActive,
		AdminEmail: "hank@globex.example", Locale: "en"}))
	raw := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <w1@acme.example>\r\n" +
		"Subject: Please establish reseller connection to customer Globex\r\nContent-Type: text/plain\r\n\r\nOrganization ID: " + orgID + "\r\n"
	res, err := wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: 1,
		Raw: []byte(raw), Size: int64(len(raw)), ReceivedAt: time.Now()})
	storetest.Must(t, err)
	return wf, res.RequestID
}

func TestEventsDeliveredSignedAndRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		wf, id := setup(t, st)
		storetest.Must(t, wf.Approve(ctx, id, "olga", ""))

		rc := &receiver{script: []int{503, http.StatusTooManyRequests}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		now := time.Now()
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		d, err := webhook.New(st, webhook.Config{URL: srv.URL + "/hooks?token=x", Secret: secret, Holder: "w1",
			MinBackoff: time.Second, Now: clock})
		storetest.Must(t, err)

		res, err := d.FlushOnce(ctx)
		storetest.Must(t, err)
		if diff := cmp.Diff(webhook.Result{Sent: 1, Deferred: 2}, res); diff != "" {
			t.Errorf("first flush (-want +got):\n%s", diff)
		}
		advance(time.Hour)
		res, err = d.FlushOnce(ctx)
		storetest.Must(t, err)
		if diff := cmp.Diff(webhook.Result{Sent: 2}, res); diff != "" {
			t.Errorf("second flush (-want +got):\n%s", diff)
		}
		var events []string
		ids := map[string]bool{}
		for _, g := range rc.got {
			if !g.valid {
				t.Errorf("delivery %s: bad signature or content type", g.id)
			}
			if g.event != g.body.Type || g.id != g.body.ID || ids[g.id] {
				t.Errorf("delivery headers %s %s vs body %s %s (or repeated)", g.event, g.id, g.body.Type, g.body.ID)
			}
			ids[g.id] = true
			events = append(events, g.event)
		}
		got := map[string]int{}
		for _, e := range events {
			got[e]++
		}
		if diff := cmp.Diff(map[string]int{"request.pending_approval": 1, "link.invited": 1, "request.invited": 1}, got); len(events) != 3 || diff != "" {
			t.Errorf("events delivered %v (-want +got):\n%s", events, diff)
		}
		for _, g := range rc.got {
			if g.body.Request != nil && (g.body.Request.Reference != store.Reference(id) || g.body.Request.Partner == nil ||
				g.body.Request.Partner.Name != "Acme" || *g.body.Request.OrganizationID != orgID) {
				t.Errorf("request in %s: %+v", g.event, g.body.Request)
			}
			if g.event == "request.invited" && (g.body.Request.PreviousState == nil || *g.body.Request.PreviousState != "pending_approval" || g.body.Actor != "ops:olga") {
				t.Errorf("request.invited: %+v actor %q", g.body.Request, g.body.Actor)
			}
		}
		rows, err := st.Q(ctx).ListWebhooks(store.WebhookSent, 0)
		storetest.Must(t, err)
		if len(rows) != 3 {
			t.Errorf("%d rows sent, want 3", len(rows))
		}
	})
}

func TestPermanentAnswerFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		rc := &receiver{script: []int{http.StatusBadRequest}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		d, err := webhook.New(st, webhook.Config{URL: srv.URL, Secret: secret})
		storetest.Must(t, err)
		res, err := d.FlushOnce(ctx)
		storetest.Must(t, err)
		if diff := cmp.Diff(webhook.Result{Failed: 1}, res); diff != "" {
			t.Errorf("flush (-want +got):\n%s", diff)
		}
		rows, _ := st.Q(ctx).ListWebhooks(store.WebhookFailed, 0)
		if len(rows) != 1 || !strings.Contains(rows[0].LastError, "400") {
			t.Errorf("failed rows %+v", rows)
		}
	})
}

func TestReceiverDownIsRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		d, err := webhook.New(st, webhook.Config{URL: "http://127.0.0.1:1/hooks", Secret: secret, Timeout: time.Second})
		storetest.Must(t, err)
		res, err := d.FlushOnce(ctx)
		storetest.Must(t, err)
		if diff := cmp.Diff(webhook.Result{Deferred: 1}, res); diff != "" {
			t.Errorf("flush (-want +got):\n%s", diff)
		}
		rows, _ := st.Q(ctx).ListWebhooks(store.WebhookPending, 0)
		if len(rows) != 1 || rows[0].Attempts != 1 || !rows[0].NextAttemptAt.After(time.Now()) {
			t.Errorf("pending rows %+v", rows)
		}
	})
}

func TestNoEventsWithoutWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		tpl, _ := templates.Load("")
		wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "p@x.example"}, Templates: tpl})
		storetest.Must(t, err)
		raw := "From: a@b.example\r\nSubject: Please establish reseller connection to customer X\r\n\r\nhi\r\n"
		wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: 9, Raw: []byte(raw), Size: 10})
		rows, _ := st.Q(context.Background()).ListWebhooks("", 0)
		if len(rows) != 0 {
			t.Errorf("%d webhook rows written with webhooks off", len(rows))
		}
	})
}

func TestSign(t *testing.T) {
	// Reference value: printf '{"a":1}' | openssl dgst -sha256 -hmac key
	got := webhook.Sign("key", []byte(`{"a":1}`))
	if got != "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342" || !webhook.Verify("key", []byte(`{"a":1}`), got) {
		t.Fatalf("Sign = %s", got)
	}
	if webhook.Verify("key", []byte(`{"a":2}`), webhook.Sign("key", []byte(`{"a":1}`))) {
		t.Fatal("Verify accepted another body")
	}
	if _, err := webhook.New(nil, webhook.Config{URL: "ftp://x", Secret: "s"}); err == nil {
		t.Fatal("New accepted ftp://")
	}
}
