package mailtest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
)

// Directory is an in-memory organization directory shaped like the Resource
// Manager, for tests and demos: GET {URL}/v2/organizations/{id} (UUID or
// container ID) and POST {URL}/v2/organizations, which creates one
// organization per Idempotency-Key (a second POST with the same key answers
// the organization made by the first). FailCreates makes the next creates
// fail with 503 after creating, as a directory whose answer is lost.
type Directory struct {
	srv *httptest.Server

	mu      sync.Mutex
	orgs    map[string]*DirectoryOrg // by UUID
	byKey   map[string]string        // idempotency key → UUID
	posts   int
	failing int
}

// DirectoryOrg is one organization of a Directory, in the Resource
// Manager's JSON shape.
type DirectoryOrg struct {
	ID             string            `json:"organizationId"`
	ContainerID    string            `json:"containerId"`
	Name           string            `json:"name"`
	LifecycleState string            `json:"lifecycleState"`
	Labels         map[string]string `json:"labels"`
	Members        []DirectoryMember `json:"members,omitempty"`
}

// DirectoryMember is a member of a DirectoryOrg.
type DirectoryMember struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// StartDirectory starts a Directory on 127.0.0.1.
func StartDirectory() *Directory {
	d := &Directory{orgs: map[string]*DirectoryOrg{}, byKey: map[string]string{}}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	return d
}

// URL is the base URL (ONBOARDER_DIRECTORY_URL).
func (d *Directory) URL() string { return d.srv.URL }

// Close stops the server.
func (d *Directory) Close() { d.srv.Close() }

// Add puts an organization into the directory.
func (d *Directory) Add(o DirectoryOrg) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o.ID = strings.ToLower(o.ID)
	d.orgs[o.ID] = &o
}

// Orgs returns a copy of every organization.
func (d *Directory) Orgs() []DirectoryOrg {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []DirectoryOrg
	for _, o := range d.orgs {
		out = append(out, *o)
	}
	return out
}

// Posts counts the create calls received.
func (d *Directory) Posts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.posts
}

// FailCreates makes the next n creates create the organization and then
// answer 503.
func (d *Directory) FailCreates(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failing = n
}

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

func (d *Directory) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v2/organizations/"):
		id := strings.ToLower(strings.TrimPrefix(path, "/v2/organizations/"))
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, o := range d.orgs {
			if o.ID == id || o.ContainerID == id {
				json.NewEncoder(w).Encode(o)
				return
			}
		}
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
	case r.Method == http.MethodPost && path == "/v2/organizations":
		d.create(w, r)
	default:
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
	}
}

func (d *Directory) create(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	var in DirectoryOrg
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if key == "" || json.Unmarshal(body, &in) != nil || strings.TrimSpace(in.Name) == "" {
		http.Error(w, `{"message":"a name and an Idempotency-Key header are required"}`, http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.posts++
	status := http.StatusCreated
	id, seen := d.byKey[key]
	if seen {
		status = http.StatusOK
	} else {
		b := make([]byte, 16)
		rand.Read(b)
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		id = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		slug := strings.Trim(slugRe.ReplaceAllString(strings.ToLower(in.Name), "-"), "-")
		if len(slug) > 40 {
			slug = slug[:40]
		}
		d.orgs[id] = &DirectoryOrg{ID: id, ContainerID: slug + "-" + id[:4] + "-organization", Name: in.Name,
			LifecycleState: "CREATING", Labels: in.Labels, Members: in.Members}
		d.byKey[key] = id
	}
	if d.failing > 0 {
		d.failing--
		http.Error(w, `{"message":"try again"}`, http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(d.orgs[id])
}

// SetState sets an organization's lifecycleState (ACTIVE, DELETING, …).
func (d *Directory) SetState(id, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o, ok := d.orgs[strings.ToLower(id)]; ok {
		o.LifecycleState = state
	}
}
