package web

import (
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/workflow"
)

// Every code the console shows has a name in English and in German: a
// request's states, the findings, and the statuses of links, mails,
// invitations, partners and organizations, and the dispositions of mails in.
func TestCatalogNamesEveryCode(t *testing.T) {
	codes := map[string][]string{
		"state.": {store.StateNeedsInfo, store.StatePendingPartner, store.StatePendingReseller, store.StatePendingApproval,
			store.StateInvited, store.StateCompleted, store.StateDeclined, store.StateExpired, store.StateRejected,
			store.StateCancelled, store.StateDuplicate},
		"finding.": {workflow.FindDirectoryUnavailable, workflow.FindFraudReported, workflow.FindAdminChanged,
			workflow.FindNoAdminContact, workflow.FindAnswerHeld, workflow.FindUnknownSender, workflow.FindSenderAuthFailed,
			workflow.FindSenderAuthUnchecked, workflow.FindOrgIDMissing, workflow.FindOrgIDAmbiguous, workflow.FindOrgIDMalformed,
			workflow.FindUnknownOrganization, workflow.FindOrganizationInact, workflow.FindDuplicate, workflow.FindNameMismatch,
			workflow.FindOtherReseller, workflow.FindInvitationBounced, workflow.FindAnswerBounced, workflow.FindPartnerSuspended,
			workflow.FindPossibleFraud},
		"status.": {store.LinkInvited, store.LinkActive, store.LinkDeclined, store.LinkExpired, store.LinkRevoked, store.LinkEnded,
			store.OutboxPending, store.OutboxSent, store.OutboxFailed, store.OutboxBounced, store.OutboxHeld,
			store.InviteAccepted, store.InviteReplaced, store.PartnerActive, store.PartnerSuspended,
			store.OrgInitializing, store.OrgActive, store.OrgSuspended, store.OrgDeleted},
		"disp.": dispositions,
		"kind.": {store.KindConnect, store.KindNewOrganization, store.KindCustomerFirst},
	}
	for prefix, cs := range codes {
		for _, c := range cs {
			for _, l := range []lang{langOf("en"), langOf("de")} {
				if _, ok := l.m[prefix+c]; !ok {
					t.Errorf("the %s catalog has no %s%s", l.Code, prefix, c)
				}
			}
		}
	}
	de := langOf("de")
	if got := de.Name("state.", store.StatePendingApproval); got != "zur Genehmigung" {
		t.Errorf("German pending_approval: %q", got)
	}
	if got := de.Name("finding.", "no_such_code"); got != "no_such_code" {
		t.Errorf("an unnamed code shows as %q, want the code", got)
	}
	if got := de.Status(store.PartnerSuspended); got != "gesperrt" {
		t.Errorf("German suspended (a partner's status in the audit trail): %q", got)
	}
}
