package directory

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestCreateOrganization: the create is a POST in the Resource Manager's
// shape with the idempotency key, retried with the same key after a 503.
func TestCreateOrganization(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	var got NewOrganization
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/v2/organizations" {
			http.NotFound(w, r)
			return
		}
		keys = append(keys, r.Header.Get(HeaderIdempotencyKey))
		json.NewDecoder(r.Body).Decode(&got)
		if len(keys) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"organizationId": "AB5C6D7E-1111-4222-8333-444455556666", "name": got.Name,
			"lifecycleState": StateCreating})
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, Retries: 2, MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in := NewOrganization{Name: "Polar Freight Ltd", Labels: map[string]string{"admin-email": "o@p.example"},
		Members: []Member{{Subject: "o@p.example", Role: RoleOwner}}}
	o, err := c.CreateOrganization(context.Background(), in, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "ab5c6d7e-1111-4222-8333-444455556666" || o.LifecycleState != StateCreating {
		t.Errorf("created %+v", o)
	}
	if len(keys) != 2 || keys[0] != "key-1" || keys[1] != "key-1" || got.Members[0].Role != RoleOwner {
		t.Errorf("keys %v, body %+v", keys, got)
	}
	if _, err := c.CreateOrganization(context.Background(), in, ""); err == nil {
		t.Error("a create without a key was sent")
	}
}
