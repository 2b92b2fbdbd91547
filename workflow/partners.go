package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/onboarder/onboarder/store"
)

// Partners as ops edit them: their fields, sender rules and parent
// distributor, suspension and re-activation. Every change is one
// transaction with one audit entry about the partner (subject partner:ID)
// whose reason lists each change as before -> after, on one line.

// ErrRuleTaken: a sender address or domain belongs to another partner; the
// error's message names it. Such an error is also a store.ErrConflict.
var ErrRuleTaken = errors.New("sender rule belongs to another partner")

type ruleTakenError struct{ msg string }

func (e ruleTakenError) Error() string { return e.msg }
func (e ruleTakenError) Is(target error) bool {
	return target == ErrRuleTaken || target == store.ErrConflict
}

// PartnerChange is an edit of a partner; a nil field keeps its value.
// Emails and Domains, when given, replace the old lists.
type PartnerChange struct {
	Name    *string
	Ref     *string
	Locale  *string
	Trusted *bool
	Emails  *[]string
	Domains *[]string
	// Parent is the distributor's id; a pointer to 0 removes the parent.
	Parent *int64
}

// PartnerView is one partner as its page shows it.
type PartnerView struct {
	Partner  store.Partner
	Parent   *store.Partner
	Children []store.Partner
	Links    []store.Link
	Orgs     map[string]store.Organization
	Requests []store.Request
	Audit    []store.AuditEntry
}

func partnerSubject(id int64) string { return "partner:" + strconv.FormatInt(id, 10) }

// auditSubject records a registry change about subject (partner:3,
// organization:UUID) that belongs to no request or link.
func (t *txn) auditSubject(subject, actor, from, to, reason string) error {
	return t.AddAudit(&store.AuditEntry{At: t.s.now(), Actor: actor, FromState: from, ToState: to, Reason: reason,
		Subject: subject})
}

// senderRules checks and normalizes a partner's sender rules: plain
// addresses, domains that are no public mail provider's, each once.
func senderRules(emails, domains []string) ([]string, []string, error) {
	es, ds := []string{}, []string{}
	for _, a := range emails {
		if err := CheckAddress(strings.TrimSpace(a)); err != nil {
			return nil, nil, fmt.Errorf("%v: %w", err, ErrInvalid)
		}
		if a = strings.ToLower(strings.TrimSpace(a)); !slices.Contains(es, a) {
			es = append(es, a)
		}
	}
	for _, d := range domains {
		d = strings.TrimSpace(d)
		if err := CheckDomain(d); err != nil {
			return nil, nil, fmt.Errorf("%v: %w", err, ErrInvalid)
		}
		d = strings.ToLower(strings.TrimPrefix(d, "@"))
		if IsPublicMailDomain(d) {
			return nil, nil, fmt.Errorf("%s is a public mail provider's domain, where anyone can have an address: "+
				"it cannot be a whole-domain rule; give the partner's own addresses there as sender addresses instead: %w", d, ErrInvalid)
		}
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return es, ds, nil
}

// checkRulesFree refuses rules that belong to another partner than id,
// naming it.
func (t *txn) checkRulesFree(id int64, emails, domains []string) error {
	cs, err := t.ConflictingRules(id, emails, domains)
	if err != nil || len(cs) == 0 {
		return err
	}
	c := cs[0]
	what := "sender address " + c.Rule.Value
	if c.Rule.Kind == store.RuleDomain {
		what = "sender domain " + c.Rule.Value
	}
	return ruleTakenError{fmt.Sprintf("%s belongs to partner %d (%s) already: remove it there first, or leave it out",
		what, c.Rule.PartnerID, c.PartnerName)}
}

// checkParent makes sure parent exists and is not the partner id itself
// or one of its own descendants.
func (t *txn) checkParent(id, parent int64) (store.Partner, error) {
	if parent == id {
		return store.Partner{}, fmt.Errorf("partner %d cannot be its own parent distributor: %w", id, ErrInvalid)
	}
	p, err := t.Partner(parent)
	if errors.Is(err, store.ErrNotFound) {
		return p, fmt.Errorf("parent distributor %d does not exist (see partners list): %w", parent, ErrInvalid)
	}
	if err != nil {
		return p, err
	}
	for up, n := p, 0; up.ParentID != nil && n < 50; n++ {
		if *up.ParentID == id {
			return p, fmt.Errorf("partner %d sells through partner %d already: it cannot be its parent too: %w", parent, id, ErrInvalid)
		}
		if up, err = t.Partner(*up.ParentID); err != nil {
			return p, err
		}
	}
	return p, nil
}

func checkLocale(l string) error {
	if l != "en" && l != "de" {
		return fmt.Errorf("locale %q: use en or de: %w", l, ErrInvalid)
	}
	return nil
}

// UpdatePartner applies ops' edit to a partner, audited with each field's
// before and after. It returns the partner as it is now.
func (s *Service) UpdatePartner(ctx context.Context, id int64, c PartnerChange, by string) (store.Partner, error) {
	var emails, domains []string // nil: keep
	var err error
	if c.Emails != nil {
		if emails, _, err = senderRules(*c.Emails, nil); err != nil {
			return store.Partner{}, err
		}
	}
	if c.Domains != nil {
		if _, domains, err = senderRules(nil, *c.Domains); err != nil {
			return store.Partner{}, err
		}
	}
	var out store.Partner
	err = s.transact(ctx, func(tx *txn) error {
		old, err := tx.Partner(id)
		if err != nil {
			return err
		}
		p := old
		p.Rules = nil
		var diff []string
		str := func(field string, dst *string, v *string) {
			if v != nil && strings.TrimSpace(*v) != *dst {
				diff = append(diff, fmt.Sprintf("%s %q -> %q", field, *dst, strings.TrimSpace(*v)))
				*dst = strings.TrimSpace(*v)
			}
		}
		str("name", &p.Name, c.Name)
		str("ref", &p.Ref, c.Ref)
		str("locale", &p.Locale, c.Locale)
		if p.Name == "" {
			return fmt.Errorf("a partner needs a name: %w", ErrInvalid)
		}
		if err := checkLocale(p.Locale); err != nil {
			return err
		}
		if c.Trusted != nil && *c.Trusted != p.Trusted {
			diff = append(diff, fmt.Sprintf("trusted %v -> %v", p.Trusted, *c.Trusted))
			p.Trusted = *c.Trusted
		}
		if c.Parent != nil {
			before := "none"
			if p.ParentID != nil {
				before = strconv.FormatInt(*p.ParentID, 10)
			}
			switch {
			case *c.Parent == 0 && p.ParentID != nil:
				diff = append(diff, "parent "+before+" -> none")
				p.ParentID = nil
			case *c.Parent != 0 && (p.ParentID == nil || *p.ParentID != *c.Parent):
				parent, err := tx.checkParent(id, *c.Parent)
				if err != nil {
					return err
				}
				diff = append(diff, fmt.Sprintf("parent %s -> %d (%s)", before, parent.ID, parent.Name))
				pid := parent.ID
				p.ParentID = &pid
			}
		}
		if emails == nil {
			emails = old.Emails()
		}
		if domains == nil {
			domains = old.Domains()
		}
		if len(emails)+len(domains) == 0 {
			return fmt.Errorf("a partner needs at least one sender address or domain, or no mail can speak for it: %w", ErrInvalid)
		}
		if !slices.Equal(emails, old.Emails()) {
			diff = append(diff, fmt.Sprintf("emails %v -> %v", old.Emails(), emails))
		}
		if !slices.Equal(domains, old.Domains()) {
			diff = append(diff, fmt.Sprintf("domains %v -> %v", old.Domains(), domains))
		}
		if len(diff) == 0 {
			out = old
			return nil
		}
		if err := tx.checkRulesFree(id, emails, domains); err != nil {
			return err
		}
		if err := tx.UpdatePartner(&p, emails, domains); err != nil {
			return err
		}
		out = p
		return tx.auditSubject(partnerSubject(id), actorOf(by), "", "",
			fmt.Sprintf("%s updated: %s", partnerSubject(id), strings.Join(diff, "; ")))
	})
	return out, err
}

// SuspendPartner suspends a partner: from now on its mail is answered as
// from an unknown sender (unknown_sender). The reason is audited.
func (s *Service) SuspendPartner(ctx context.Context, id int64, by, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return fmt.Errorf("a suspension needs a reason (kept in the audit trail): %w", ErrInvalid)
	}
	return s.setPartnerStatus(ctx, id, store.PartnerActive, store.PartnerSuspended, by,
		fmt.Sprintf("%s suspended: %s", partnerSubject(id), reason))
}

// ActivatePartner re-activates a suspended partner.
func (s *Service) ActivatePartner(ctx context.Context, id int64, by string) error {
	return s.setPartnerStatus(ctx, id, store.PartnerSuspended, store.PartnerActive, by,
		fmt.Sprintf("%s activated", partnerSubject(id)))
}

func (s *Service) setPartnerStatus(ctx context.Context, id int64, from, to, by, reason string) error {
	return s.transact(ctx, func(tx *txn) error {
		p, err := tx.Partner(id)
		if err != nil {
			return err
		}
		if p.Status != from {
			return stateErr("partner %d (%s) is %s already", id, p.Name, p.Status)
		}
		if err := tx.SetPartnerStatus(id, from, to); err != nil {
			return err
		}
		return tx.auditSubject(partnerSubject(id), actorOf(by), from, to, reason)
	})
}

// Partner returns one partner with its parent, the partners below it, its
// links, its recent requests and its audit trail.
func (s *Service) Partner(ctx context.Context, id int64) (PartnerView, error) {
	q := s.st.Q(ctx)
	var v PartnerView
	var err error
	if v.Partner, err = q.Partner(id); err != nil {
		return v, err
	}
	if v.Partner.ParentID != nil {
		parent, err := q.Partner(*v.Partner.ParentID)
		if err != nil {
			return v, err
		}
		v.Parent = &parent
	}
	if v.Children, err = q.PartnerChildren(id); err != nil {
		return v, err
	}
	if v.Links, err = q.ConsoleLinks(store.LinkFilter{PartnerID: id, Limit: 200}); err != nil {
		return v, err
	}
	if v.Requests, err = q.PartnerRequests(id, 20); err != nil {
		return v, err
	}
	var ids []string
	for _, l := range v.Links {
		ids = append(ids, l.OrganizationID)
	}
	for _, r := range v.Requests {
		if r.OrganizationID != nil {
			ids = append(ids, *r.OrganizationID)
		}
	}
	if v.Orgs, err = q.OrganizationsByID(ids); err != nil {
		return v, err
	}
	v.Audit, err = q.SubjectAudit(partnerSubject(id), 50)
	return v, err
}
