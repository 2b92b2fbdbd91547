package workflow

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/onboarder/onboarder/store"
)

// The registry and the directory as ops change them (partners, the
// database directory's organizations), and ops' hand on the outbox. Every
// change is one transaction with its audit entry; the CLI and the console
// both come here.

// CheckAddress reports whether s is one plain address (local@domain, no
// name, no brackets): what a sender rule or a directory contact may hold.
func CheckAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) || !strings.Contains(a.Address, "@") {
		return fmt.Errorf("%q is not an e-mail address (write it as name@domain.example)", s)
	}
	return nil
}

// CheckDomain reports whether s is a domain name fit for a sender rule
// (an optional leading @ is allowed).
func CheckDomain(s string) error {
	d := strings.TrimPrefix(s, "@")
	if d == "" || strings.ContainsAny(d, " \t\r\n,<>@\"") || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") ||
		strings.HasSuffix(d, ".") {
		return fmt.Errorf("%q is not a domain (write it as partner.example)", s)
	}
	return nil
}

// PartnerInput is a new partner as ops register it.
type PartnerInput struct {
	Name    string
	Ref     string
	Locale  string // en or de
	Trusted bool
	Emails  []string // sender addresses
	Domains []string // whole sender domains (no public mail provider's)
	// Parent is the distributor the partner sells through (0: none).
	Parent int64
}

// ErrInvalid: the input breaks a rule; the message says which.
var ErrInvalid = errors.New("invalid input")

// AddPartner registers a partner with its sender rules. A public mail
// provider's domain is refused as a whole-domain rule, and so is an
// address or domain that belongs to another partner (ErrRuleTaken).
func (s *Service) AddPartner(ctx context.Context, in PartnerInput, by string) (store.Partner, error) {
	p := store.Partner{Name: strings.TrimSpace(in.Name), Ref: strings.TrimSpace(in.Ref), Locale: in.Locale, Trusted: in.Trusted}
	switch {
	case p.Name == "":
		return p, fmt.Errorf("a partner needs a name: %w", ErrInvalid)
	case len(in.Emails)+len(in.Domains) == 0:
		return p, fmt.Errorf("a partner needs at least one sender address or domain, or no mail can speak for it: %w", ErrInvalid)
	}
	if err := checkLocale(p.Locale); err != nil {
		return p, err
	}
	emails, domains, err := senderRules(in.Emails, in.Domains)
	if err != nil {
		return p, err
	}
	err = s.transact(ctx, func(tx *txn) error {
		if in.Parent != 0 {
			parent, err := tx.checkParent(0, in.Parent)
			if err != nil {
				return err
			}
			p.ParentID = &parent.ID
		}
		if err := tx.checkRulesFree(0, emails, domains); err != nil {
			return err
		}
		if err := tx.CreatePartner(&p, emails, domains); err != nil {
			return err
		}
		return tx.auditSubject(partnerSubject(p.ID), actorOf(by), "", store.PartnerActive,
			fmt.Sprintf("partner:%d %s added: emails %v; domains %v", p.ID, p.Name, emails, domains))
	})
	return p, err
}

// ImportOrganizations upserts organizations into the database directory,
// all or none, with one audit entry.
func (s *Service) ImportOrganizations(ctx context.Context, orgs []store.Organization, by string) error {
	for _, o := range orgs {
		if o.AdminEmail != "" {
			if err := CheckAddress(o.AdminEmail); err != nil {
				return fmt.Errorf("organization %s: admin_email %v: %w", o.ID, err, ErrInvalid)
			}
		}
	}
	return s.transact(ctx, func(tx *txn) error {
		for i := range orgs {
			if err := tx.UpsertOrganization(&orgs[i]); err != nil {
				return err
			}
		}
		return tx.audit(0, nil, actorOf(by), "", "", fmt.Sprintf("%d organizations imported into the directory", len(orgs)))
	})
}
