package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// Who an invitation goes to. Consent must come from the organization, so
// the recipient is the administrator the directory names. An address from
// the partner's own mail ("Admin contact: …") is only a suggestion: a
// partner could name a mailbox of its own and accept for a customer who
// never agreed. Ops may pick it, explicitly and audited, when the directory
// has no address, and never when it belongs to the requesting partner.

// FindNoAdminContact: the directory has no administrator address for the
// organization, so an approval has nobody to invite (a warning: the request
// waits for ops and is never approved automatically).
const FindNoAdminContact = "no_admin_contact"

// ErrContactRefused: the contact an ops user picked cannot be invited.
var ErrContactRefused = errors.New("this contact cannot be invited")

// Recipient is whom approving a request would invite, as the console and
// `requests show` name it before the click.
type Recipient struct {
	Name  string
	Email string // "" when there is nobody to invite yet
	// Source is store.RecipientDirectory when Email is the directory's
	// administrator, "" when the directory has no address.
	Source string
	// Suggested is the contact the partner's mail named ("" for none). It
	// is never invited unless an ops user picks it.
	Suggested string
	// SuggestedRefused says why Suggested cannot be picked ("" when it can).
	SuggestedRefused string
}

// recipientOf decides the invitation's recipient for a request.
func recipientOf(r store.Request, partner *store.Partner, org store.Organization) Recipient {
	rc := Recipient{Suggested: r.ContactEmail}
	if org.AdminEmail != "" {
		rc.Name, rc.Email, rc.Source = org.AdminName, org.AdminEmail, store.RecipientDirectory
	}
	if rc.Suggested != "" {
		if err := pickable(rc.Suggested, r, partner, org); err != nil {
			rc.SuggestedRefused = err.Error()
		}
	}
	return rc
}

// pickable says whether an ops user may invite contact instead of the
// directory's administrator.
func pickable(contact string, r store.Request, partner *store.Partner, org store.Organization) error {
	if org.AdminEmail != "" {
		return fmt.Errorf("the directory names the administrator (%s): the invitation goes there: %w", org.AdminEmail, ErrContactRefused)
	}
	if r.ContactEmail == "" || !strings.EqualFold(contact, r.ContactEmail) {
		return fmt.Errorf("%s is not the contact the partner suggested: add the administrator to the directory instead: %w", contact, ErrContactRefused)
	}
	if partner != nil && belongsToPartner(contact, r.Sender, *partner) {
		return fmt.Errorf("%s belongs to the partner %s itself: the customer must consent, add its administrator to the directory: %w",
			contact, partner.Name, ErrContactRefused)
	}
	return nil
}

// belongsToPartner reports whether addr is one of the partner's sender
// addresses, or in the organizational domain of one of its domains, of one
// of its addresses, or of the request's sender.
func belongsToPartner(addr, sender string, p store.Partner) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	domains := append([]string{domainOf(sender)}, p.Domains()...)
	for _, e := range p.Emails() {
		if strings.EqualFold(e, addr) {
			return true
		}
		domains = append(domains, domainOf(e))
	}
	own := parser.OrgDomain(domainOf(addr))
	for _, d := range domains {
		if d != "" && own != "" && parser.OrgDomain(d) == own {
			return true
		}
	}
	return false
}

func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return strings.ToLower(addr[at+1:])
	}
	return ""
}

// InviteRecipient says whom request id's newest invitation went to, or,
// before approval, whom approving it would invite.
func (s *Service) InviteRecipient(ctx context.Context, id int64) (Recipient, error) {
	q := s.st.Q(ctx)
	r, err := q.Request(id)
	if err != nil {
		return Recipient{}, err
	}
	var (
		partner *store.Partner
		org     *store.Organization
	)
	if r.PartnerID != nil {
		p, err := q.Partner(*r.PartnerID)
		if err != nil {
			return Recipient{}, err
		}
		partner = &p
	}
	if r.OrganizationID != nil {
		o, err := q.Organization(*r.OrganizationID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Recipient{}, err
		}
		if err == nil {
			org = &o
		}
	}
	invs, err := q.Invitations(id)
	if err != nil {
		return Recipient{}, err
	}
	return recipientView(r, partner, org, invs), nil
}

// recipientView is whom the newest of invs (newest first) went to, or,
// without one, whom approving r would invite.
func recipientView(r store.Request, partner *store.Partner, org *store.Organization, invs []store.Invitation) Recipient {
	if org == nil && r.Kind == store.KindNewOrganization && partner != nil {
		o := newOrganization(r, *partner) // approving creates it, its contact the administrator
		org = &o
	}
	if org == nil {
		return Recipient{Suggested: r.ContactEmail}
	}
	rc := recipientOf(r, partner, *org)
	if len(invs) > 0 && invs[0].Recipient != "" {
		rc.Email, rc.Source, rc.Name = invs[0].Recipient, invs[0].RecipientSource, ""
		if strings.EqualFold(rc.Email, org.AdminEmail) {
			rc.Name = org.AdminName
		}
	}
	return rc
}
