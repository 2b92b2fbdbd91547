package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
)

// The "manage your partners" page: every mail to an organization's
// administrator carries a link to it (queueAdmin). The link's token is
// made when its mail is sent (store.MintManageToken), only its hash is
// kept, and ops revoke all of an organization's links at once. The page
// lists the organization's active links; the administrator ends one with
// a reason. There is no login: the link is the key, as for invitations.

// ManageGoneError says that a manage link was revoked.
type ManageGoneError struct{ RevokedAt time.Time }

func (e *ManageGoneError) Error() string { return "the manage link was revoked" }

// ManageInfo is what the manage page shows.
type ManageInfo struct {
	Organization store.Organization
	// Links are the organization's active links with their partners.
	Links []ManagedLink
}

// ManagedLink is one active link on the manage page.
type ManagedLink struct {
	Link    store.Link
	Partner store.Partner
}

// queueAdmin queues a mail to organization orgID's administrator with its
// manage link (Data.ManageURL): the link's row is written with the mail,
// its token made when the mail goes out.
func (tx *txn) queueAdmin(m outMail, orgID string) error {
	unknown, err := store.NewToken()
	if err != nil {
		return fmt.Errorf("making a manage link: %w", err)
	}
	m.data.ManageURL = tx.s.opts.PublicURL + "/manage/" + store.ManageTokenPlaceholder
	if err := tx.queue(m); err != nil {
		return err
	}
	outboxID := tx.lastOutbox
	return tx.InsertManageLink(&store.ManageLink{OrganizationID: orgID, TokenHash: store.HashToken(unknown),
		OutboxID: &outboxID, CreatedAt: tx.s.now()})
}

// LookupManage finds the manage page of a token without changing
// anything; ErrNotFound for an unknown token, *ManageGoneError for a
// revoked one.
func (s *Service) LookupManage(ctx context.Context, token string) (ManageInfo, error) {
	return s.lookupManage(s.reader(ctx), token)
}

func (s *Service) lookupManage(tx *txn, token string) (ManageInfo, error) {
	var info ManageInfo
	ml, err := byToken(token, "manage link", tx.ManageLinkByHash, func(m store.ManageLink) string { return m.TokenHash })
	if err != nil {
		return info, err
	}
	if info.Organization, err = tx.Organization(ml.OrganizationID); err != nil {
		return info, err
	}
	if ml.RevokedAt != nil {
		return info, &ManageGoneError{RevokedAt: *ml.RevokedAt}
	}
	links, err := tx.ActiveOrganizationLinks(ml.OrganizationID)
	if err != nil {
		return info, err
	}
	for _, l := range links {
		p, err := tx.Partner(l.PartnerID)
		if err != nil {
			return info, err
		}
		info.Links = append(info.Links, ManagedLink{Link: l, Partner: p})
	}
	return info, nil
}

// EndLinkAsCustomer is the administrator ending one of the organization's
// active links on the manage page, with a reason for the partner; the
// partner and ops are told. It returns the page as it is afterwards.
func (s *Service) EndLinkAsCustomer(ctx context.Context, token string, linkID int64, reason string) (ManageInfo, error) {
	reason = parser.SanitizeText(strings.TrimSpace(reason), 2000)
	var info ManageInfo
	err := s.transact(ctx, func(tx *txn) error {
		var err error
		if info, err = s.lookupManage(tx, token); err != nil {
			return err
		}
		if reason == "" {
			return ErrEndReasonRequired
		}
		for _, ml := range info.Links {
			if ml.Link.ID == linkID {
				actor := "customer:" + info.Organization.AdminEmail
				if info.Organization.AdminEmail == "" {
					actor = "customer:" + info.Organization.ID
				}
				return tx.endLink(ml.Link, ByCustomer, actor, reason)
			}
		}
		return stateErr("link %d is not an active link of organization %s", linkID, info.Organization.ID)
	})
	if err != nil {
		return info, err
	}
	return s.LookupManage(ctx, token)
}

// RevokeManageLinks makes every manage link of an organization mailed so
// far stop working (a mail forwarded to the wrong people, a new
// administrator); mails sent later carry new ones. Audited under the
// organization. It returns how many links were revoked.
func (s *Service) RevokeManageLinks(ctx context.Context, orgID, by string) (int64, error) {
	if strings.TrimSpace(by) == "" {
		return 0, fmt.Errorf("revoking manage links: no ops user: %w", ErrForbidden)
	}
	var n int64
	err := s.transact(ctx, func(tx *txn) error {
		if _, err := tx.Organization(orgID); err != nil {
			return err
		}
		var err error
		if n, err = tx.Q.RevokeManageLinks(orgID, "ops:"+by, tx.s.now()); err != nil {
			return err
		}
		return tx.auditSubject(orgSubject(orgID), "ops:"+by, "", "",
			fmt.Sprintf("manage links revoked (%d): the \"manage your partners\" links mailed so far stop working", n))
	})
	return n, err
}

// ConsoleRevokeManageLinks is RevokeManageLinks for a console user
// (approver or more).
func (s *Service) ConsoleRevokeManageLinks(ctx context.Context, u ConsoleUser, orgID string) (int64, error) {
	if err := u.may(RoleApprover, "revoking manage links"); err != nil {
		return 0, err
	}
	return s.RevokeManageLinks(ctx, orgID, u.Email)
}

// ConsoleEndLink is EndLink for a console user (approver or more).
func (s *Service) ConsoleEndLink(ctx context.Context, u ConsoleUser, linkID int64, reason string) error {
	if err := u.may(RoleApprover, "ending a link"); err != nil {
		return err
	}
	return s.EndLink(ctx, linkID, u.Email, reason)
}

// ConsoleSetLinkEnd is SetLinkEnd for a console user (approver or more).
func (s *Service) ConsoleSetLinkEnd(ctx context.Context, u ConsoleUser, linkID int64, endsAt *time.Time) error {
	if err := u.may(RoleApprover, "setting a link's end date"); err != nil {
		return err
	}
	return s.SetLinkEnd(ctx, linkID, endsAt, u.Email)
}
