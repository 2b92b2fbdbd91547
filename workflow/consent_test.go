package workflow_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// customerAsks is an administrator's own request for a partner.
func customerAsks(from, msgID, partner, body string, extra ...string) string {
	h := "From: " + from + "\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + msgID + ">\r\n" +
		"Subject: Please connect our organization to reseller " + partner + "\r\n" +
		"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n" + body + "\r\n"
}

// mail returns the request's newest outbox mail of kind to addr.
func (f *fixture) mail(id int64, kind, addr string) store.OutboxMail {
	f.t.Helper()
	rows := f.outbox(id)
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Kind == kind && strings.Join(rows[i].To(), ",") == addr {
			return rows[i]
		}
	}
	f.t.Fatalf("no %s mail to %s; mails: %s", kind, addr, f.kinds(id))
	return store.OutboxMail{}
}

func (f *fixture) consentToken(id int64, addr string) string {
	f.t.Helper()
	return storetest.ConsentToken(f.t, f.st, f.mail(id, templates.KindConsentRequest, addr))
}

func TestCustomerFirstOnlyTheAdministrator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		for i, from := range []string{
			"Eve <eve@evil.example>",            // a stranger
			"Sarah <ops@acme.example>",          // the partner itself
			"Hank <hank@globex.example>, x@y.z", // the administrator and someone else
		} {
			res := f.deliver(customerAsks(from, fmt.Sprintf("cf%d@x.example", i), "MPN-1001", "Organization ID: "+orgGlobex))
			r := f.request(res.RequestID)
			if r.State != store.StateRejected || r.Kind != store.KindCustomerFirst || !strings.HasPrefix(f.findings(r.ID), workflow.FindUnknownSender) {
				t.Errorf("%s: %s %s %s", from, r.State, r.Kind, f.findings(r.ID))
			}
			if got := f.kinds(r.ID); got != "" {
				t.Errorf("%s: answered (backscatter): %s", from, got)
			}
		}
	})
}

func TestCustomerFirstUnknownPartnerAsksTheAdministrator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		q := st.Q(context.Background())
		for _, e := range []string{"a@twin-one.example", "b@twin-two.example"} {
			storetest.Must(t, q.CreatePartner(&store.Partner{Name: "Twin Cloud"}, []string{e}, nil))
		}
		for _, tc := range []struct{ named, finding, says string }{
			{"Nobody Inc", workflow.FindPartnerUnknown, "We know no registered partner"},
			{"twin cloud", workflow.FindPartnerAmbiguous, "Several registered partners"},
		} {
			res := f.deliver(customerAsks("Hank <hank@globex.example>", tc.finding+"@globex.example", tc.named, "Organization ID: "+orgGlobex))
			r := f.request(res.RequestID)
			if r.State != store.StateNeedsInfo || r.PartnerID != nil || !strings.HasPrefix(f.findings(r.ID), tc.finding) {
				t.Fatalf("%s: %s %v %s", tc.named, r.State, r.PartnerID, f.findings(r.ID))
			}
			m := f.mail(r.ID, templates.KindCustomerNeedsInfo, "hank@globex.example")
			if m.InReplyTo != tc.finding+"@globex.example" || !strings.Contains(m.Subject, "["+r.Reference()+"]") || !strings.Contains(m.TextBody, tc.says) {
				t.Errorf("%s: needs_info not threaded or wrong: %s / %s\n%s", tc.named, m.InReplyTo, m.Subject, m.TextBody)
			}
		}
		// The administrator's reply names the partner: the request resumes.
		first := f.mail(1, templates.KindCustomerNeedsInfo, "hank@globex.example")
		res := f.deliver(customerAsks("Hank <hank@globex.example>", "reply@globex.example", "Nobody Inc", "Partner ID: MPN-1001",
			"In-Reply-To: <"+first.MessageID+">"))
		if res.Disposition != store.DispReply || res.RequestID != 1 {
			t.Fatalf("reply: %+v", res)
		}
		if r := f.request(1); r.State != store.StatePendingPartner || r.PartnerID == nil || *r.PartnerID != f.acme.ID {
			t.Fatalf("after reply: %s %v", r.State, r.PartnerID)
		}
		f.consentToken(1, "ops@acme.example")
	})
}

func TestCustomerFirstPartnerAcceptsOpsApprove(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		res := f.deliver(customerAsks("Hank <hank@globex.example>", "cf@globex.example", "[MPN-1001]", "Organization ID: "+orgGlobex))
		id := res.RequestID
		if r := f.request(id); r.State != store.StatePendingPartner || r.Kind != store.KindCustomerFirst || *r.PartnerID != f.acme.ID {
			t.Fatalf("intake: %s %s %v", r.State, r.Kind, r.PartnerID)
		}
		ask := f.mail(id, templates.KindConsentRequest, "ops@acme.example")
		if strings.Contains(ask.TextBody, "/consent/") && !strings.Contains(ask.TextBody, store.ConsentTokenPlaceholder) {
			t.Fatal("a live consent link is stored in the outbox")
		}
		tok := f.consentToken(id, "ops@acme.example")
		info, err := f.wf.LookupConsent(ctx, tok)
		if err != nil || info.Organization.Name != "Globex Corporation" || info.Partner.ID != f.acme.ID {
			t.Fatalf("lookup: %v %+v", err, info)
		}
		if f.request(id).State != store.StatePendingPartner {
			t.Fatal("looking changed the state")
		}
		if _, err := f.wf.Consent(ctx, tok, true, "Happy to help"); err != nil {
			t.Fatal(err)
		}
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("after consent: %s", r.State)
		}
		told := f.mail(id, templates.KindConsentAccepted, "hank@globex.example")
		if told.InReplyTo != "cf@globex.example" || !strings.Contains(told.TextBody, "Acme Cloud Resellers Ltd") {
			t.Errorf("administrator not told in the thread: %+v", told)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.Consent(ctx, tok, true, ""); !errors.As(err, &gone) {
			t.Fatalf("second use: %v", err)
		}
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		if r := f.request(id); r.State != store.StateCompleted {
			t.Fatalf("after approval: %s", r.State)
		}
		link, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		if link.Status != store.LinkActive || link.PartnerID != f.acme.ID || link.OrganizationID != orgGlobex {
			t.Fatalf("link %+v", link)
		}
		for _, to := range []string{"ops@acme.example", "hank@globex.example"} {
			m := f.mail(id, templates.KindConnectionEstablished, to)
			if m.Status == store.OutboxHeld {
				t.Errorf("connection_established to %s held: %s", to, m.LastError)
			}
		}
		if strings.Contains(f.kinds(id), templates.KindInvitation+">") {
			t.Errorf("an invitation went out for a customer's own request: %s", f.kinds(id))
		}
	})
}

func TestCustomerFirstPartnerDeclinesMessageRelayed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		const orgMueller = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: orgMueller, Name: "Müller GmbH",
			Status: store.OrgActive, AdminName: "Anna", AdminEmail: "anna@mueller.example", Locale: "de"}))
		res := f.deliver(customerAsks("Anna <anna@mueller.example>", "cf@mueller.example", "acme cloud resellers ltd", "Organization ID: "+orgMueller))
		id := res.RequestID
		if r := f.request(id); r.State != store.StatePendingPartner {
			t.Fatalf("intake by name: %s %s", r.State, f.findings(id))
		}
		tok := f.consentToken(id, "ops@acme.example")
		if _, err := f.wf.Consent(ctx, tok, false, "Wir kennen Sie leider nicht.\nBitte melden Sie sich."); err != nil {
			t.Fatal(err)
		}
		if r := f.request(id); r.State != store.StateDeclined {
			t.Fatalf("after decline: %s", r.State)
		}
		m := f.mail(id, templates.KindConsentDeclined, "anna@mueller.example")
		for _, want := range []string{"Nachricht des Partners", "Wir kennen Sie leider nicht.", "abgeschlossen"} {
			if !strings.Contains(m.TextBody, want) {
				t.Errorf("German decline lacks %q:\n%s", want, m.TextBody)
			}
		}
		var gone *workflow.GoneError
		if _, err := f.wf.LookupConsent(ctx, tok); !errors.As(err, &gone) || gone.Status != store.ConsentDeclined {
			t.Fatalf("used link: %v", err)
		}
		if err := f.wf.Approve(ctx, id, "olga", ""); !errors.Is(err, workflow.ErrState) {
			t.Fatalf("approving a declined request: %v", err)
		}
	})
}

// distributor registers a distributor and one of its resellers.
func (f *fixture) distributor() (dist, res store.Partner) {
	f.t.Helper()
	q := f.st.Q(context.Background())
	dist = store.Partner{Name: "Distri AG", Ref: "DIS-1", Locale: "de"}
	storetest.Must(f.t, q.CreatePartner(&dist, []string{"sales@distri.example"}, nil))
	res = store.Partner{Name: "Resell GmbH", Ref: "RES-1", ParentID: &dist.ID}
	storetest.Must(f.t, q.CreatePartner(&res, []string{"info@resell.example"}, nil))
	return dist, res
}

func TestDistributorNamesItsReseller(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		dist, reseller := f.distributor()
		res := f.deliver(request("Sales <sales@distri.example>", "d1@distri.example", "Globex Corporation",
			"Organization ID: "+orgGlobex+"\r\nReseller ID: RES-1"))
		id := res.RequestID
		r := f.request(id)
		if r.State != store.StatePendingReseller || r.PartnerID == nil || *r.PartnerID != reseller.ID || r.DistributorID == nil || *r.DistributorID != dist.ID {
			t.Fatalf("intake: %s partner %v distributor %v %s", r.State, r.PartnerID, r.DistributorID, f.findings(id))
		}
		ask := f.mail(id, templates.KindResellerConfirmation, "info@resell.example")
		tok := storetest.ConsentToken(t, st, ask)
		info, err := f.wf.LookupConsent(ctx, tok)
		if err != nil || info.Distributor == nil || info.Distributor.ID != dist.ID {
			t.Fatalf("lookup: %v %+v", err, info)
		}
		if _, err := f.wf.Consent(ctx, tok, true, ""); err != nil {
			t.Fatal(err)
		}
		if r := f.request(id); r.State != store.StatePendingApproval {
			t.Fatalf("after confirmation: %s", r.State)
		}
		if m := f.mail(id, templates.KindConsentAccepted, "sales@distri.example"); m.Status == store.OutboxHeld {
			t.Errorf("distributor's notice held: %s", m.LastError)
		}
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		inv := f.mail(id, templates.KindInvitation, "hank@globex.example")
		if !strings.Contains(inv.TextBody, "Resell GmbH") || !strings.Contains(inv.TextBody, "through its distributor Distri AG") {
			t.Errorf("invitation does not name both companies:\n%s", inv.TextBody)
		}
		if m := f.mail(id, templates.KindRequestApproved, "sales@distri.example"); m.Status == store.OutboxHeld {
			t.Errorf("approval notice to the distributor held: %s", m.LastError)
		}
		link, err := st.Q(ctx).LinkForRequest(id)
		storetest.Must(t, err)
		if link.PartnerID != reseller.ID || link.DistributorID == nil || *link.DistributorID != dist.ID {
			t.Fatalf("link %+v", link)
		}
		invInfo, err := f.wf.LookupInvitation(ctx, f.token(id))
		if err != nil || invInfo.Distributor == nil || invInfo.Distributor.Name != "Distri AG" {
			t.Fatalf("invitation page info: %v %+v", err, invInfo.Distributor)
		}
	})
}

func TestDistributorResellerNotYours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		f.distributor()
		res := f.deliver(request("Sales <sales@distri.example>", "d2@distri.example", "Globex Corporation",
			"Organization ID: "+orgGlobex+"\r\nReseller ID: MPN-1001"))
		r := f.request(res.RequestID)
		if r.State != store.StateRejected || f.findings(r.ID) != workflow.FindResellerNotYours || r.DistributorID != nil {
			t.Fatalf("%s %s %v", r.State, f.findings(r.ID), r.DistributorID)
		}
		m := f.mail(r.ID, templates.KindRequestRejected, "sales@distri.example")
		if !strings.Contains(m.TextBody, "Reseller ID") || m.InReplyTo != "d2@distri.example" {
			t.Errorf("distributor not told: %+v\n%s", m, m.TextBody)
		}
	})
}

func TestDistributorReplyCompletesRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		_, reseller := f.distributor()
		res := f.deliver(request("Sales <sales@distri.example>", "d3@distri.example", "Globex Corporation", "Reseller ID: RES-1"))
		id := res.RequestID
		if r := f.request(id); r.State != store.StateNeedsInfo || *r.PartnerID != reseller.ID {
			t.Fatalf("without an Organization ID: %s %v", r.State, r.PartnerID)
		}
		ask := f.mail(id, templates.KindNeedsInfo, "sales@distri.example")
		if ask.Status == store.OutboxHeld {
			t.Fatalf("needs_info to the distributor held: %s", ask.LastError)
		}
		res = f.deliver(request("Sales <sales@distri.example>", "d4@distri.example", "Globex Corporation",
			"Organization ID: "+orgGlobex, "In-Reply-To: <"+ask.MessageID+">"))
		if res.RequestID != id {
			t.Fatalf("reply not threaded: %+v", res)
		}
		if r := f.request(id); r.State != store.StatePendingReseller {
			t.Fatalf("after the distributor's reply: %s %s", r.State, f.findings(id))
		}
		storetest.ConsentToken(t, st, f.mail(id, templates.KindResellerConfirmation, "info@resell.example"))
	})
}

func TestConsentLinksCloseTogether(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		// Two registered contacts: each gets its own link; one answer closes both.
		f.acme.Locale = "en"
		storetest.Must(t, st.Q(ctx).UpdatePartner(&f.acme, []string{"ops@acme.example", "ceo@acme.example"}, nil))
		id := f.deliver(customerAsks("hank@globex.example", "cf2@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)).RequestID
		a, b := f.consentToken(id, "ops@acme.example"), f.consentToken(id, "ceo@acme.example")
		if a == b {
			t.Fatal("two contacts share one link")
		}
		if _, err := f.wf.Consent(ctx, b, true, ""); err != nil {
			t.Fatal(err)
		}
		var gone *workflow.GoneError
		if _, err := f.wf.LookupConsent(ctx, a); !errors.As(err, &gone) || gone.Status != store.ConsentClosed {
			t.Fatalf("the other contact's link: %v", err)
		}
		// A partner with no registered address: ops are told.
		id2 := f.deliver(customerAsks("hank@globex.example", "cf3@globex.example", "Bluebird", "Organization ID: "+orgGlobex)).RequestID
		if r := f.request(id2); r.State != store.StatePendingPartner || !strings.Contains(f.findings(id2), workflow.FindNoPartnerContact) {
			t.Fatalf("partner without addresses: %s %s", r.State, f.findings(id2))
		}
		// Ops reject a request that waits for a partner: its links stop working.
		const orgHooli = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: orgHooli, Name: "Hooli", Status: store.OrgActive,
			AdminEmail: "gavin@hooli.example", Locale: "en"}))
		id3 := f.deliver(customerAsks("gavin@hooli.example", "cf4@hooli.example", "MPN-1001", "Organization ID: "+orgHooli)).RequestID
		tok := f.consentToken(id3, "ops@acme.example")
		storetest.Must(t, f.wf.Reject(ctx, id3, "olga", "not now"))
		if _, err := f.wf.LookupConsent(ctx, tok); !errors.As(err, &gone) {
			t.Fatalf("link after reject: %v", err)
		}
		if strings.Contains(f.kinds(id3), templates.KindRequestRejected) {
			t.Errorf("a partner's rejection mail went to the administrator: %s", f.kinds(id3))
		}
	})
}

// TestCustomerFirstOwnDKIM: without trusted Authentication-Results, the
// administrator's mail is authenticated by our own DKIM check, as a
// partner's is; an unsigned one stays sender_auth_unchecked for ops.
func TestCustomerFirstOwnDKIM(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(ctx context.Context, name string) ([]string, error) {
		if name == "s1._domainkey.globex.example" {
			return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
		}
		return nil, errors.New("no such name")
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, func(o *workflow.Options) { o.VerifyDKIM, o.LookupTXT, o.TrustedAuthServID = true, lookup, "" })
		var b bytes.Buffer
		raw := customerAsks("hank@globex.example", "dk1@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)
		storetest.Must(t, dkim.Sign(&b, strings.NewReader(raw), &dkim.SignOptions{Domain: "globex.example", Selector: "s1", Signer: priv,
			Hash: crypto.SHA256, HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}))
		signed := f.deliver(b.String()).RequestID
		if r := f.request(signed); r.State != store.StatePendingPartner || strings.Contains(f.findings(signed), workflow.FindSenderAuthUnchecked) {
			t.Errorf("signed: %s %s", r.State, f.findings(signed))
		}
		storetest.Must(t, f.wf.Reject(context.Background(), signed, "olga", "again"))
		unsigned := f.deliver(customerAsks("hank@globex.example", "dk2@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)).RequestID
		if !strings.Contains(f.findings(unsigned), workflow.FindSenderAuthUnchecked) {
			t.Errorf("unsigned: %s", f.findings(unsigned))
		}
	})
}

// TestCustomerFirstClosedTellsTheAdministrator: ops rejecting an
// administrator's own request, and a duplicate one, answer the
// administrator in the organization's locale, in their thread; the
// duplicate names no other partner.
func TestCustomerFirstClosedTellsTheAdministrator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		storetest.Must(t, st.Q(ctx).UpsertOrganization(&store.Organization{ID: orgGlobex, Name: "Globex Corporation",
			Status: store.OrgActive, AdminName: "Hank", AdminEmail: "hank@globex.example", Locale: "de"}))
		id := f.deliver(customerAsks("Hank <hank@globex.example>", "cfr@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)).RequestID
		if r := f.request(id); r.State != store.StatePendingPartner {
			t.Fatalf("intake: %s", r.State)
		}
		// A second request for the same partner while the first is open.
		dup := f.deliver(customerAsks("Hank <hank@globex.example>", "cfd@globex.example", "MPN-1001", "Organization ID: "+orgGlobex)).RequestID
		if r := f.request(dup); r.State != store.StateDuplicate {
			t.Fatalf("second request: %s", r.State)
		}
		m := f.mail(dup, templates.KindCustomerRequestClosed, "hank@globex.example")
		if m.InReplyTo != "cfd@globex.example" || !strings.Contains(m.Subject, "[REQ-") ||
			!strings.Contains(m.TextBody, "bereits offen") || !strings.Contains(m.TextBody, "MPN-1001") ||
			strings.Contains(m.TextBody, store.Reference(id)) || !strings.Contains(m.TextBody, "/manage/") {
			t.Errorf("duplicate answer: %s / %s\n%s", m.InReplyTo, m.Subject, m.TextBody)
		}

		storetest.Must(t, f.wf.Reject(ctx, id, "olga", "Acme does not serve your region"))
		m = f.mail(id, templates.KindCustomerRequestClosed, "hank@globex.example")
		if m.InReplyTo != "cfr@globex.example" || !strings.Contains(m.TextBody, "hat Ihre Anfrage "+store.Reference(id)+" abgelehnt") ||
			!strings.Contains(m.TextBody, "Acme does not serve your region") || !strings.Contains(m.HTMLBody, "Acme does not serve your region") {
			t.Errorf("rejection to the administrator: %s\n%s", m.InReplyTo, m.TextBody)
		}
		if got := f.kinds(id); strings.Contains(got, "@acme.example") && strings.Contains(got, templates.KindRequestRejected) {
			t.Errorf("the partner got a rejection meant for the administrator: %s", got)
		}
	})
}
