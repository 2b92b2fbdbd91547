package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/language"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// The database directory as ops edit it, one organization at a time: add,
// edit, suspend; each change one transaction with one audit entry about
// the organization (subject organization:UUID). A change of the
// administrator's address is also recorded on every open request of the
// organization: a finding admin_changed and an audit entry, so whoever
// approves (or resends an invitation) sees it. With an external (HTTP)
// directory the organizations are its snapshots: read-only here, and
// refreshed by asking the directory again.

// FindAdminChanged: the organization's administrator address changed while
// the request was open.
const FindAdminChanged = "admin_changed"

// ErrReadOnly: the organizations come from an external directory.
var ErrReadOnly = errors.New("the organizations come from the HTTP directory (ONBOARDER_DIRECTORY_URL) and are read-only here: change them there, then refresh")

// OrganizationInput is an organization as ops add it, or (with pointers:
// OrganizationChange) change it.
type OrganizationInput struct {
	ID         string
	Name       string
	Country    string // ISO 3166-1 alpha-2
	AdminName  string
	AdminEmail string
	Locale     string // en or de; "" is en
	VatID      string
}

// OrganizationChange is an edit of an organization; a nil field keeps its
// value.
type OrganizationChange struct {
	Name       *string
	Country    *string
	AdminName  *string
	AdminEmail *string
	Locale     *string
	VatID      *string
}

// OrganizationView is one organization as its page shows it.
type OrganizationView struct {
	Organization store.Organization
	Requests     []store.Request
	Links        []store.Link
	Partners     map[int64]string
	Audit        []store.AuditEntry
	// ReadOnly: the organizations come from an external directory.
	ReadOnly bool
}

// PartnerName names the partner with id (nil: "").
func (v OrganizationView) PartnerName(id *int64) string {
	if id == nil {
		return ""
	}
	return v.Partners[*id]
}

func orgSubject(id string) string { return "organization:" + id }

// DirectoryReadOnly reports whether organizations come from an external
// directory, so that ops cannot edit them here.
func (s *Service) DirectoryReadOnly() bool { return s.external() }

// CheckCountry reports whether cc is an ISO 3166-1 alpha-2 country code.
func CheckCountry(cc string) error {
	bad := fmt.Errorf("country %q: give the ISO 3166-1 alpha-2 code, such as DE or GB: %w", cc, ErrInvalid)
	if len(cc) != 2 || strings.ToUpper(cc) != cc || strings.Trim(cc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return bad
	}
	r, err := language.ParseRegion(cc)
	if err != nil || !r.IsCountry() {
		return bad
	}
	if c := r.Canonicalize().String(); c != cc {
		return fmt.Errorf("country %q: the ISO 3166-1 code is %s: %w", cc, c, ErrInvalid)
	}
	return nil
}

// checkOrganization checks an organization's fields and normalizes them.
// Imported organizations may lack a country or an administrator: an edit
// (old not nil) may leave such a field empty as it was.
func checkOrganization(o, old *store.Organization) error {
	o.Name = parser.SanitizeText(strings.TrimSpace(o.Name), 300)
	o.AdminName = parser.SanitizeText(strings.TrimSpace(o.AdminName), 200)
	o.AdminEmail = strings.ToLower(strings.TrimSpace(o.AdminEmail))
	o.Country = strings.ToUpper(strings.TrimSpace(o.Country))
	o.Locale = strings.ToLower(strings.TrimSpace(o.Locale))
	o.VatID = strings.ToUpper(strings.Join(strings.Fields(o.VatID), ""))
	if o.Locale == "" {
		o.Locale = "en"
	}
	switch {
	case o.Name == "":
		return fmt.Errorf("an organization needs a name: %w", ErrInvalid)
	case o.AdminEmail == "" && (old == nil || old.AdminEmail != ""):
		return fmt.Errorf("an organization needs its administrator's address (the invitation goes there): %w", ErrInvalid)
	case len(o.VatID) > 20:
		return fmt.Errorf("VAT ID %q is too long: %w", o.VatID, ErrInvalid)
	}
	if o.AdminEmail != "" {
		if err := CheckAddress(o.AdminEmail); err != nil {
			return fmt.Errorf("administrator: %v: %w", err, ErrInvalid)
		}
	}
	if o.Country != "" || old == nil || old.Country != "" {
		if err := CheckCountry(o.Country); err != nil {
			return err
		}
	}
	return checkLocale(o.Locale)
}

// AddOrganization adds an organization to the database directory.
func (s *Service) AddOrganization(ctx context.Context, in OrganizationInput, by string) (store.Organization, error) {
	if s.external() {
		return store.Organization{}, ErrReadOnly
	}
	id, ok := parser.CanonicalUUID(strings.TrimSpace(in.ID))
	if !ok {
		return store.Organization{}, fmt.Errorf("organization ID %q is not a UUID: %w", in.ID, ErrInvalid)
	}
	o := store.Organization{ID: id, Name: in.Name, Status: store.OrgActive, AdminName: in.AdminName,
		AdminEmail: in.AdminEmail, Country: in.Country, Locale: in.Locale, VatID: in.VatID}
	if err := checkOrganization(&o, nil); err != nil {
		return o, err
	}
	err := s.transact(ctx, func(tx *txn) error {
		if err := tx.CreateOrganization(&o); err != nil {
			return err
		}
		return tx.auditSubject(orgSubject(id), actorOf(by), "", store.OrgActive,
			fmt.Sprintf("%s %s added: admin %s, country %s", orgSubject(id), o.Name, o.AdminEmail, o.Country))
	})
	return o, err
}

// orgID reads an organization ID as ops type it.
func orgID(s string) (string, error) {
	id, ok := parser.CanonicalUUID(strings.TrimSpace(s))
	if !ok {
		return "", fmt.Errorf("organization %q: %w", s, store.ErrNotFound)
	}
	return id, nil
}

// UpdateOrganization applies ops' edit to an organization, audited with
// each field's before and after. A new administrator address is also
// recorded on the organization's open requests (finding admin_changed).
func (s *Service) UpdateOrganization(ctx context.Context, rawID string, c OrganizationChange, by string) (store.Organization, error) {
	if s.external() {
		return store.Organization{}, ErrReadOnly
	}
	id, err := orgID(rawID)
	if err != nil {
		return store.Organization{}, err
	}
	var out store.Organization
	err = s.transact(ctx, func(tx *txn) error {
		old, err := tx.Organization(id)
		if err != nil {
			return err
		}
		o := old
		for _, f := range []struct {
			dst *string
			v   *string
		}{{&o.Name, c.Name}, {&o.Country, c.Country}, {&o.AdminName, c.AdminName}, {&o.AdminEmail, c.AdminEmail},
			{&o.Locale, c.Locale}, {&o.VatID, c.VatID}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if err := checkOrganization(&o, &old); err != nil {
			return err
		}
		var diff []string
		for _, f := range []struct{ name, before, after string }{
			{"name", old.Name, o.Name}, {"country", old.Country, o.Country}, {"admin_name", old.AdminName, o.AdminName},
			{"admin_email", old.AdminEmail, o.AdminEmail}, {"locale", old.Locale, o.Locale}, {"vat_id", old.VatID, o.VatID},
		} {
			if f.before != f.after {
				diff = append(diff, fmt.Sprintf("%s %q -> %q", f.name, f.before, f.after))
			}
		}
		out = o
		if len(diff) == 0 {
			return nil
		}
		if err := tx.UpdateOrganization(&o); err != nil {
			return err
		}
		actor := actorOf(by)
		if old.AdminEmail != o.AdminEmail {
			detail := fmt.Sprintf("administrator %s -> %s", orNone(old.AdminEmail), o.AdminEmail)
			open, err := tx.OrganizationRequests(id, true, 1000)
			if err != nil {
				return err
			}
			for _, r := range open {
				if err := tx.AddFinding(r.ID, FindAdminChanged, detail); err != nil {
					return err
				}
				if err := tx.audit(r.ID, nil, actor, r.State, r.State,
					fmt.Sprintf("%s: %s (check before approving or resending)", orgSubject(id), detail)); err != nil {
					return err
				}
			}
		}
		return tx.auditSubject(orgSubject(id), actor, "", "", fmt.Sprintf("%s updated: %s", orgSubject(id), strings.Join(diff, "; ")))
	})
	return out, err
}

// SuspendOrganization suspends an organization: requests for it are
// refused as organization_inactive from now on.
func (s *Service) SuspendOrganization(ctx context.Context, rawID, by string) error {
	if s.external() {
		return ErrReadOnly
	}
	id, err := orgID(rawID)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *txn) error {
		o, err := tx.Organization(id)
		if err != nil {
			return err
		}
		if o.Status != store.OrgActive {
			return stateErr("organization %s (%s) is %s already", id, o.Name, o.Status)
		}
		o.Status = store.OrgSuspended
		if err := tx.UpdateOrganization(&o); err != nil {
			return err
		}
		return tx.auditSubject(orgSubject(id), actorOf(by), store.OrgActive, store.OrgSuspended, orgSubject(id)+" suspended")
	})
}

// RefreshOrganizationFromDirectory asks the external directory about one
// organization again and updates the snapshot (audited when it changed).
func (s *Service) RefreshOrganizationFromDirectory(ctx context.Context, rawID, by string) (store.Organization, error) {
	if !s.external() {
		return store.Organization{}, stateErr("the organizations are kept in the database: there is no directory to ask")
	}
	id, err := orgID(rawID)
	if err != nil {
		return store.Organization{}, err
	}
	org, err := s.opts.Directory.Organization(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return org, stateErr("organization %s is no longer in the directory", id)
	case err != nil:
		return org, fmt.Errorf("asking the organization directory about %s: %w: try again when it answers", id, err)
	}
	err = s.transact(ctx, func(tx *txn) error {
		old, err := tx.Organization(id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.UpsertOrganization(&org); err != nil {
			return err
		}
		if old.Name == org.Name && old.Status == org.Status && old.AdminEmail == org.AdminEmail && old.AdminName == org.AdminName {
			return nil
		}
		return tx.auditSubject(orgSubject(id), actorOf(by), old.Status, org.Status,
			fmt.Sprintf("%s refreshed from the directory: name %q -> %q; admin_email %q -> %q", orgSubject(id),
				old.Name, org.Name, old.AdminEmail, org.AdminEmail))
	})
	return org, err
}

// Organization returns one organization with its recent requests, links
// and audit trail.
func (s *Service) Organization(ctx context.Context, rawID string) (OrganizationView, error) {
	v := OrganizationView{ReadOnly: s.external()}
	id, err := orgID(rawID)
	if err != nil {
		return v, err
	}
	q := s.st.Q(ctx)
	if v.Organization, err = q.Organization(id); err != nil {
		return v, err
	}
	if v.Requests, err = q.OrganizationRequests(id, false, 20); err != nil {
		return v, err
	}
	if v.Links, err = q.OrganizationLinks(id); err != nil {
		return v, err
	}
	if v.Partners, err = s.partnerNames(q); err != nil {
		return v, err
	}
	v.Audit, err = q.SubjectAudit(orgSubject(id), 50)
	return v, err
}
