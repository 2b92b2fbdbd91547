package directory

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	orgUUID      = "3f0c2a51-8d6e-4b7a-9c1d-2e5f6a7b8c9d"
	orgContainer = "nordwind-logistik-organization"
)

var acme = Organization{ID: orgUUID, ContainerID: orgContainer, Name: "Nordwind Logistik GmbH",
	LifecycleState: StateActive, Labels: map[string]string{"admin-email": "it@nordwind.example"}}

// fakeRM is a Resource Manager stand-in: it answers from a script of
// statuses first, then from its organizations.
type fakeRM struct {
	mu     sync.Mutex
	script []func(w http.ResponseWriter)
	hits   int
	tokens []string
	paths  []string
	delay  time.Duration
}

func (f *fakeRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits++
	f.tokens = append(f.tokens, r.Header.Get("Authorization"))
	f.paths = append(f.paths, r.URL.Path)
	var step func(w http.ResponseWriter)
	if len(f.script) > 0 {
		step, f.script = f.script[0], f.script[1:]
	}
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if step != nil {
		step(w)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/api/v2/organizations/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if id == orgUUID || id == orgContainer {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"organizationId": strings.ToUpper(orgUUID), "containerId": orgContainer,
			"name": acme.Name, "lifecycleState": "ACTIVE", "labels": acme.Labels, "parent": nil})
		return
	}
	http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}

func start(t *testing.T, f *fakeRM, cfg Config) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/api/"
	if cfg.Token == "" {
		cfg.Token = "dir-token"
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 10 * time.Millisecond
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name     string
		script   []func(w http.ResponseWriter)
		id       string
		want     Organization
		wantErr  error
		wantHits int
		minTook  time.Duration
	}{
		{name: "by UUID", id: orgUUID, want: acme, wantHits: 1},
		{name: "by UUID in upper case", id: strings.ToUpper(orgUUID), want: acme, wantHits: 1},
		{name: "by container ID resolves to the UUID", id: orgContainer, want: acme, wantHits: 1},
		{name: "unknown", id: "00000000-0000-4000-8000-000000000000", wantErr: ErrNotFound, wantHits: 1},
		{name: "5xx retried", id: orgUUID, script: []func(http.ResponseWriter){status(503, ""), status(502, "")}, want: acme, wantHits: 3},
		{name: "429 honours Retry-After", id: orgUUID, script: []func(http.ResponseWriter){status(429, "1")}, want: acme, wantHits: 2, minTook: time.Second},
		{name: "5xx until retries run out", id: orgUUID, script: []func(http.ResponseWriter){status(500, ""), status(500, ""), status(500, ""), status(500, "")},
			wantErr: ErrUnavailable, wantHits: 4},
		{name: "Retry-After too long is not waited for", id: orgUUID, script: []func(http.ResponseWriter){status(503, "3600")}, wantErr: ErrUnavailable, wantHits: 1},
		{name: "token refused: no retry", id: orgUUID, script: []func(http.ResponseWriter){status(401, "")}, wantErr: ErrUnavailable, wantHits: 1},
		{name: "not JSON", id: orgUUID, script: []func(http.ResponseWriter){func(w http.ResponseWriter) { w.Write([]byte("<html>")) }}, wantErr: ErrUnavailable, wantHits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRM{script: tc.script}
			c := start(t, f, Config{})
			began := time.Now()
			got, err := c.Organization(context.Background(), tc.id)
			took := time.Since(began)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("organization (-want +got):\n%s", diff)
			}
			if f.hits != tc.wantHits {
				t.Errorf("requests = %d, want %d", f.hits, tc.wantHits)
			}
			if took < tc.minTook {
				t.Errorf("took %s, want at least %s", took, tc.minTook)
			}
			for _, tok := range f.tokens {
				if tok != "Bearer dir-token" {
					t.Errorf("Authorization = %q", tok)
				}
			}
		})
	}
}

func TestCache(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := &fakeRM{}
	c := start(t, f, Config{CacheTTL: time.Minute, Now: clock})
	ctx := context.Background()
	for _, id := range []string{orgContainer, orgUUID, orgContainer} {
		if _, err := c.Organization(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Organization(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	c.Organization(ctx, "00000000-0000-4000-8000-000000000000")
	if f.hits != 2 {
		t.Fatalf("requests within the cache time = %d, want 2 (one per organization)", f.hits)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	c.Organization(ctx, orgUUID)
	if f.hits != 3 {
		t.Fatalf("after the cache time: %d requests, want 3", f.hits)
	}
}

func TestTimeout(t *testing.T) {
	f := &fakeRM{delay: 2 * time.Second}
	c := start(t, f, Config{Timeout: 100 * time.Millisecond, Retries: -1})
	began := time.Now()
	_, err := c.Organization(context.Background(), orgUUID)
	if !errors.Is(err, ErrUnavailable) || time.Since(began) > time.Second {
		t.Fatalf("slow directory: %v after %s", err, time.Since(began))
	}
}

func TestCheck(t *testing.T) {
	c := start(t, &fakeRM{}, Config{})
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check on a working directory: %v", err)
	}
	c = start(t, &fakeRM{script: []func(http.ResponseWriter){status(403, "")}}, Config{})
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Check with a refused token: %v", err)
	}
	if _, err := New(Config{BaseURL: "ftp://x"}); err == nil {
		t.Fatal("New accepted an ftp URL")
	}
}
