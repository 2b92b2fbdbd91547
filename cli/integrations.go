package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onboarder/onboarder/config"
	"github.com/onboarder/onboarder/directory"
	"github.com/onboarder/onboarder/oauth"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/webhook"
	"github.com/onboarder/onboarder/workflow"
)

// integrations are the optional parts that talk to other systems: the
// OAuth token source of the mailbox sign-in, the organization directory
// API and the webhook dispatcher. Each is nil when not configured.
type integrations struct {
	once   sync.Once
	tokens *oauth.Source
	dir    *directory.Client
	dirErr error
}

// tokenSource returns the OAuth token source when IMAP or SMTP signs in
// with oauth2 (one source, one token, shared by both).
func (e *env) tokenSource() *oauth.Source {
	e.initIntegrations()
	return e.integ.tokens
}

// directoryClient returns the directory API client, or nil when
// ONBOARDER_DIRECTORY_URL is unset.
func (e *env) directoryClient() (*directory.Client, error) {
	e.initIntegrations()
	return e.integ.dir, e.integ.dirErr
}

func (e *env) initIntegrations() {
	e.integ.once.Do(func() {
		c := e.cfg
		if c.IMAPAuth == config.AuthOAuth2 || c.SMTPAuth == config.AuthOAuth2 {
			e.integ.tokens = oauth.New(oauth.Config{TokenURL: c.OAuth.TokenURL, ClientID: c.OAuth.ClientID,
				ClientSecret: c.OAuth.ClientSecret, RefreshToken: c.OAuth.RefreshToken, Scopes: c.OAuth.Scopes,
				Logger: e.log.With("component", "oauth")})
		}
		if c.DirectoryURL != "" {
			e.integ.dir, e.integ.dirErr = directory.New(directory.Config{BaseURL: c.DirectoryURL, Token: c.DirectoryToken,
				Timeout: c.DirectoryTimeout, Retries: c.DirectoryRetries, CacheTTL: c.DirectoryCacheTTL,
				Logger: e.log.With("component", "directory")})
		}
	})
}

// workflowDirectory is the Directory the workflow gets: nil (the database)
// or the API.
func (e *env) workflowDirectory(st *store.Store) (workflow.Directory, error) {
	d, err := e.directoryClient()
	if err != nil {
		return nil, fmt.Errorf("%w: check ONBOARDER_DIRECTORY_URL", err)
	}
	if d == nil {
		return nil, nil
	}
	return apiDirectory{c: d, st: st, adminLabel: e.cfg.DirectoryAdminLabel}, nil
}

// apiDirectory adapts the directory API to workflow.Directory. The
// administrator's contact comes from the configured label, else from the
// organizations table (an earlier snapshot or `orgs import`), as do country
// and locale.
type apiDirectory struct {
	c          *directory.Client
	st         *store.Store
	adminLabel string
}

func (a apiDirectory) Organization(ctx context.Context, id string) (store.Organization, error) {
	o, err := a.c.Organization(ctx, id)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return store.Organization{}, fmt.Errorf("organization %s: %w", id, store.ErrNotFound)
	case err != nil:
		return store.Organization{}, fmt.Errorf("%w: %s", workflow.ErrDirectoryUnavailable,
			strings.TrimPrefix(err.Error(), directory.ErrUnavailable.Error()+": "))
	}
	out := store.Organization{ID: o.ID, Name: o.Name, Status: orgStatus(o.LifecycleState), Locale: "en"}
	if out.Name == "" {
		out.Name = o.ContainerID
	}
	if db, err := a.st.Q(ctx).Organization(o.ID); err == nil {
		out.AdminName, out.AdminEmail, out.Country = db.AdminName, db.AdminEmail, db.Country
		if db.Locale != "" {
			out.Locale = db.Locale
		}
	}
	if a.adminLabel != "" {
		if v := strings.TrimSpace(o.Labels[a.adminLabel]); strings.Contains(v, "@") {
			out.AdminEmail = v
		}
	}
	if l := strings.ToLower(o.Labels["locale"]); l == "de" || l == "en" {
		out.Locale = l
	}
	return out, nil
}

// CreateOrganization creates a new organization in the directory API with
// its administrator as owner; the labels carry what the snapshot needs
// back (administrator, locale, country, VAT ID).
func (a apiDirectory) CreateOrganization(ctx context.Context, o store.Organization, key string) (store.Organization, error) {
	label := a.adminLabel
	if label == "" {
		label = "admin-email"
	}
	in := directory.NewOrganization{Name: o.Name,
		Labels:  map[string]string{label: o.AdminEmail, "locale": o.Locale, "country": o.Country, "vat-id": o.VatID},
		Members: []directory.Member{{Subject: o.AdminEmail, Role: directory.RoleOwner}}}
	c, err := a.c.CreateOrganization(ctx, in, key)
	if err != nil {
		return store.Organization{}, fmt.Errorf("%w: %s", workflow.ErrDirectoryUnavailable,
			strings.TrimPrefix(err.Error(), directory.ErrUnavailable.Error()+": "))
	}
	o.ID, o.Status = c.ID, orgStatus(c.LifecycleState)
	if c.Name != "" {
		o.Name = c.Name
	}
	return o, nil
}

// orgStatus maps the Resource Manager's lifecycleState to ours.
func orgStatus(s string) string {
	switch strings.ToUpper(s) {
	case directory.StateActive:
		return store.OrgActive
	case directory.StateCreating:
		return store.OrgInitializing // not usable yet, as suspended; waits for its administrator
	case directory.StateDeleting, "DELETED":
		return store.OrgDeleted
	}
	return store.OrgSuspended // INACTIVE, anything new: not usable yet
}

// newWebhookDispatcher returns the dispatcher, or nil without ONBOARDER_WEBHOOK_URL.
func (e *env) newWebhookDispatcher(holder string, reg prometheus.Registerer) (*webhook.Dispatcher, error) {
	if e.cfg.WebhookURL == "" {
		return nil, nil
	}
	var m *webhook.Metrics
	if reg != nil {
		deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarder_webhook_deliveries_total", Help: "Webhook delivery attempts, by result (sent, retry, failed).",
		}, []string{"result"})
		reg.MustRegister(deliveries)
		for _, r := range []string{webhook.ResultSent, webhook.ResultRetry, webhook.ResultFailed} {
			deliveries.WithLabelValues(r)
		}
		m = &webhook.Metrics{Delivered: func(r string) webhook.Counter { return deliveries.WithLabelValues(r) }}
	}
	d, err := webhook.New(e.st, webhook.Config{URL: e.cfg.WebhookURL, Secret: e.cfg.WebhookSecret, Holder: holder,
		Logger: e.log.With("component", "webhook"), Metrics: m})
	if err != nil {
		return nil, fmt.Errorf("%w: check ONBOARDER_WEBHOOK_URL", err)
	}
	return d, nil
}

// recheckDirectory settles the requests that waited for the directory;
// the poll loop runs it after every pass.
func (e *env) recheckDirectory(ctx context.Context) {
	if e.cfg.DirectoryURL == "" || e.wf == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	n, err := e.wf.RecheckDirectory(ctx, 100)
	if err != nil {
		e.log.Error("re-checking requests that wait for the directory failed", "err", err)
	} else if n > 0 {
		e.log.Info("requests re-checked with the directory", "count", n)
	}
}
