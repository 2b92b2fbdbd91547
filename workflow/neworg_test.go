package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// newOrgFields is a complete, valid new-organization body.
var newOrgFields = map[string]string{
	"Company name": "Brückner Maschinenbau GmbH", "Street": "Industriestraße 12", "Postcode": "83313",
	"City": "Siegsdorf", "Country": "Germany", "VAT ID": "DE 136 695 976", "First name": "Anna",
	"Last name": "Brückner", "Email": "anna@brueckner-mb.example",
}

var newOrgLabels = []string{"Company name", "Street", "Postcode", "City", "Country", "VAT ID", "First name", "Last name", "Email"}

// newOrgMail is a new-organization request from Acme with the fields of
// newOrgFields, changed by change ("" drops a field).
func newOrgMail(msgID string, change map[string]string) string {
	var b strings.Builder
	b.WriteString("Hello,\r\n\r\n")
	for _, l := range newOrgLabels {
		v := newOrgFields[l]
		if c, ok := change[l]; ok {
			v = c
		}
		if v != "" {
			b.WriteString(l + ": " + v + "\r\n")
		}
	}
	return "From: Sarah <ops@acme.example>\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + msgID + ">\r\n" +
		"Subject: Please create a new organization for customer Brückner Maschinenbau\r\n" +
		"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + b.String()
}

// replyTo is the partner's reply in the thread of the request's last mail.
func (f *fixture) replyTo(id int64, msgID, body string) workflow.Result {
	f.t.Helper()
	rows := f.outbox(id)
	last := rows[len(rows)-1]
	return f.deliver("From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <" + msgID + ">\r\nIn-Reply-To: <" +
		last.MessageID + ">\r\nSubject: Re: " + last.Subject + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
		"\r\n\r\n> " + strings.ReplaceAll(last.TextBody, "\n", "\n> ") + "\r\n")
}

func (f *fixture) lastMail(id int64) store.OutboxMail {
	f.t.Helper()
	rows := f.outbox(id)
	if len(rows) == 0 {
		f.t.Fatalf("no mail for %s", store.Reference(id))
	}
	return rows[len(rows)-1]
}

// TestNewOrgFieldChecks: each missing or invalid field makes the request
// needs_info, and the mail to the partner names the field and what is wrong.
func TestNewOrgFieldChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		for i, tc := range []struct {
			name    string
			change  map[string]string
			finding string
			says    []string // in the mail's text
		}{
			{"street missing", map[string]string{"Street": ""}, "field_missing", []string{"Street: missing"}},
			{"email invalid", map[string]string{"Email": "anna at brueckner"}, "field_invalid", []string{`Email: "anna at brueckner" is not an e-mail address`}},
			{"country unknown", map[string]string{"Country": "Atlantis"}, "field_invalid", []string{`Country: "Atlantis" is not a country we know`}},
			{"postcode of another format", map[string]string{"Postcode": "8331"}, "field_invalid", []string{`Postcode: "8331" is not a postcode of Germany`}},
			{"VAT check digit", map[string]string{"VAT ID": "DE136695977"}, "vat_id_invalid", []string{`VAT ID: "DE136695977" is not a valid VAT ID of Germany`, "check digit"}},
			{"VAT of another country", map[string]string{"VAT ID": "ATU13585627"}, "vat_id_invalid", []string{`VAT ID: "ATU13585627" is the VAT ID of another country than Germany`}},
			{"VAT format", map[string]string{"VAT ID": "DE12345"}, "vat_id_invalid", []string{`VAT ID: "DE12345" does not have the format of a VAT ID of Germany`}},
			{"two fields", map[string]string{"City": "", "Last name": ""}, "field_missing", []string{"City: missing", "Last name: missing"}},
			{"the partner's own address", map[string]string{"Email": "sales@acme.example"}, "field_invalid", []string{`Email: "sales@acme.example" is your own address`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := f.deliver(newOrgMail("n"+string(rune('a'+i))+"@acme.example", tc.change))
				r := f.request(res.RequestID)
				if r.State != store.StateNeedsInfo || r.Kind != store.KindNewOrganization {
					t.Fatalf("state %s kind %s", r.State, r.Kind)
				}
				if fs := f.findings(r.ID); !strings.Contains(fs, tc.finding) {
					t.Errorf("findings %s, want %s", fs, tc.finding)
				}
				m := f.lastMail(r.ID)
				if m.Kind != templates.KindNewOrgNeedsInfo || m.InReplyTo != "n"+string(rune('a'+i))+"@acme.example" || !strings.Contains(m.Subject, "[REQ-") {
					t.Fatalf("mail %s %q in reply to %q", m.Kind, m.Subject, m.InReplyTo)
				}
				text := strings.Join(strings.Fields(m.TextBody), " ")
				for _, s := range tc.says {
					if !strings.Contains(text, s) {
						t.Errorf("mail lacks %q:\n%s", s, m.TextBody)
					}
				}
				// Only the fields at fault are named.
				if strings.Contains(text, "Company name:") {
					t.Errorf("mail names a correct field:\n%s", m.TextBody)
				}
			})
		}
	})
}

// TestNewOrgReplyResumes: the partner's replies with only the corrected
// fields are merged into the stored ones until the checks pass.
func TestNewOrgReplyResumes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		res := f.deliver(newOrgMail("m1@acme.example", map[string]string{"VAT ID": "DE136695977", "Street": ""}))
		id := res.RequestID
		if r := f.request(id); r.State != store.StateNeedsInfo {
			t.Fatalf("state %s", r.State)
		}
		// The VAT ID corrected, the street still missing.
		if r := f.replyTo(id, "m2@acme.example", "VAT ID: DE136695976"); r.RequestID != id || r.Disposition != store.DispReply {
			t.Fatalf("reply %+v", r)
		}
		r := f.request(id)
		m := f.lastMail(id)
		if r.State != store.StateNeedsInfo || m.Kind != templates.KindNewOrgNeedsInfo || m.InReplyTo != "m2@acme.example" {
			t.Fatalf("after the first reply: %s, %s", r.State, f.kinds(id))
		}
		if !strings.Contains(m.TextBody, "Street: missing") || strings.Contains(m.TextBody, "VAT ID:\"") || strings.Contains(m.TextBody, "check digit") {
			t.Errorf("second ask:\n%s", m.TextBody)
		}
		if fs := f.findings(id); strings.Contains(fs, "vat_id_invalid") || !strings.Contains(fs, "field_missing") {
			t.Errorf("findings after the first reply: %s", fs)
		}
		// The street: the checks pass.
		f.replyTo(id, "m3@acme.example", "Straße: Industriestraße 12")
		r = f.request(id)
		if r.State != store.StatePendingApproval || f.lastMail(id).Kind != templates.KindRequestReceived {
			t.Fatalf("after the second reply: %s, %s", r.State, f.kinds(id))
		}
		var got parser.NewOrgFields
		storetest.Must(t, json.Unmarshal([]byte(r.NewOrg), &got))
		want := parser.NewOrgFields{CompanyName: "Brückner Maschinenbau GmbH", Street: "Industriestraße 12", Postcode: "83313",
			City: "Siegsdorf", Country: "DE", VatID: "DE136695976", ContactFirstName: "Anna", ContactLastName: "Brückner",
			ContactEmail: "anna@brueckner-mb.example"}
		if got != want {
			t.Errorf("fields %+v\nwant   %+v", got, want)
		}
		if fs := f.findings(id); strings.Contains(fs, "field_") || strings.Contains(fs, "vat_id_invalid") {
			t.Errorf("findings after the checks passed: %s", fs)
		}
	})
}

// TestNewOrgExists: an organization with the same VAT ID rejects the
// request; the partner is told to ask for a connection, and neither the
// existing organization's ID nor its name is mailed.
func TestNewOrgExists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		const secretID = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"
		storetest.Must(t, st.Q(context.Background()).CreateOrganization(&store.Organization{ID: secretID,
			Name: "Nordlicht Holding GmbH", Status: store.OrgActive, AdminEmail: "it@nordlicht.example", Country: "DE",
			Locale: "de", VatID: "DE136695976"}))
		res := f.deliver(newOrgMail("e1@acme.example", nil))
		r := f.request(res.RequestID)
		if r.State != store.StateRejected || !strings.Contains(f.findings(r.ID), workflow.FindOrganizationExists) {
			t.Fatalf("state %s findings %s", r.State, f.findings(r.ID))
		}
		m := f.lastMail(r.ID)
		if m.Kind != templates.KindOrganizationExists || !strings.Contains(m.TextBody, "connection request") {
			t.Fatalf("mail %s:\n%s", m.Kind, m.TextBody)
		}
		for _, part := range []string{m.Subject, m.TextBody, m.HTMLBody} {
			for _, secret := range []string{secretID, "Nordlicht", "it@nordlicht.example"} {
				if strings.Contains(part, secret) {
					t.Errorf("the mail to the partner gives away %q", secret)
				}
			}
		}
		// Ops see which organization it is.
		fs, _ := st.Q(context.Background()).Findings(r.ID)
		if len(fs) == 0 || !strings.Contains(fs[0].Detail, secretID) {
			t.Errorf("finding for ops %+v", fs)
		}
	})
}

// TestNewOrgSimilarApproveAccept: a similar name in the same country is a
// warning for ops (four eyes by default); the approval that counts creates
// the organization as initializing with the contact as administrator,
// records the link invited and invites the contact; accepting activates it.
func TestNewOrgSimilarApproveAccept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		q := st.Q(ctx)
		const similarID = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
		storetest.Must(t, q.CreateOrganization(&store.Organization{ID: similarID, Name: "Brueckner Maschinenbau AG",
			Status: store.OrgActive, AdminEmail: "x@bm.example", Country: "DE", Locale: "de", VatID: "DE811569869"}))
		storetest.Must(t, q.CreateOrganization(&store.Organization{ID: "2a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", Name: "Brückner Maschinenbau GmbH",
			Status: store.OrgActive, AdminEmail: "x@bm.example", Country: "AT", Locale: "de"}))
		id := f.deliver(newOrgMail("s1@acme.example", nil)).RequestID
		if r := f.request(id); r.State != store.StatePendingApproval || f.lastMail(id).Kind != templates.KindRequestReceived {
			t.Fatalf("state %s mails %s", r.State, f.kinds(id))
		}
		fs, _ := q.Findings(id)
		var similar []store.Finding
		for _, x := range fs {
			if x.Code == workflow.FindSimilarOrganization {
				similar = append(similar, x)
			}
		}
		if len(similar) != 1 || !strings.Contains(similar[0].Detail, similarID) || strings.Contains(similar[0].Detail, "AT") {
			t.Fatalf("similar_organization %+v", similar)
		}
		// The first of two approvals creates nothing.
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		if r := f.request(id); r.OrganizationID != nil || r.State != store.StatePendingApproval {
			t.Fatalf("after the first approval: %+v", r)
		}
		storetest.Must(t, f.wf.Approve(ctx, id, "piet", ""))
		r := f.request(id)
		if r.State != store.StateInvited || r.OrganizationID == nil {
			t.Fatalf("after the second approval: %+v", r)
		}
		org, err := q.Organization(*r.OrganizationID)
		storetest.Must(t, err)
		if org.Status != store.OrgInitializing || org.Name != "Brückner Maschinenbau GmbH" || org.AdminEmail != "anna@brueckner-mb.example" ||
			org.AdminName != "Anna Brückner" || org.Country != "DE" || org.Locale != "de" || org.VatID != "DE136695976" {
			t.Fatalf("organization %+v", org)
		}
		link, err := q.LinkForRequest(id)
		storetest.Must(t, err)
		if link.Status != store.LinkInvited || link.OrganizationID != org.ID {
			t.Fatalf("link %+v", link)
		}
		var inv store.OutboxMail
		for _, m := range f.outbox(id) {
			if m.Kind == templates.KindInvitation {
				inv = m
			}
		}
		if inv.ID == 0 || !strings.Contains(inv.ToAddrs, "anna@brueckner-mb.example") || !strings.Contains(inv.TextBody, "Guten Tag") {
			t.Fatalf("invitation %+v", inv)
		}
		if _, err := f.wf.Accept(ctx, f.token(id)); err != nil {
			t.Fatal(err)
		}
		org, _ = q.Organization(org.ID)
		link, _ = q.LinkForRequest(id)
		if org.Status != store.OrgActive || link.Status != store.LinkActive || f.request(id).State != store.StateCompleted {
			t.Fatalf("after accept: organization %s, link %s, request %s", org.Status, link.Status, f.request(id).State)
		}
	})
}

// TestNewOrgDeclineExpire: a declined or expired invitation deletes the
// organization the request created.
func TestNewOrgDeclineExpire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		q := st.Q(ctx)
		orgOf := func(id int64) store.Organization {
			r := f.request(id)
			if r.OrganizationID == nil {
				t.Fatalf("%s has no organization", r.Reference())
			}
			o, err := q.Organization(*r.OrganizationID)
			storetest.Must(t, err)
			return o
		}
		id := f.deliver(newOrgMail("d1@acme.example", nil)).RequestID
		storetest.Must(t, f.wf.Approve(ctx, id, "olga", ""))
		if o := orgOf(id); o.Status != store.OrgInitializing {
			t.Fatalf("status %s", o.Status)
		}
		if _, err := f.wf.Decline(ctx, f.token(id), "", false); err != nil {
			t.Fatal(err)
		}
		if o := orgOf(id); o.Status != store.OrgDeleted {
			t.Fatalf("after decline: %s", o.Status)
		}
		// The deleted organization does not block the same VAT ID again.
		id2 := f.deliver(newOrgMail("d2@acme.example", nil)).RequestID
		if r := f.request(id2); r.State != store.StatePendingApproval {
			t.Fatalf("second request %s, findings %s", r.State, f.findings(id2))
		}
		storetest.Must(t, f.wf.Approve(ctx, id2, "olga", ""))
		f.now = f.now.Add(49 * time.Hour)
		if n, err := f.wf.ExpireDue(ctx); err != nil || n != 1 {
			t.Fatalf("ExpireDue %d %v", n, err)
		}
		if o := orgOf(id2); o.Status != store.OrgDeleted || f.request(id2).State != store.StateExpired {
			t.Fatalf("after expiry: organization %s, request %s", o.Status, f.request(id2).State)
		}
		// Ops rejecting an invited request delete its organization too.
		id3 := f.deliver(newOrgMail("d3@acme.example", nil)).RequestID
		storetest.Must(t, f.wf.Approve(ctx, id3, "olga", ""))
		storetest.Must(t, f.wf.Reject(ctx, id3, "olga", "the customer withdrew"))
		if o := orgOf(id3); o.Status != store.OrgDeleted {
			t.Fatalf("after reject: organization %s", o.Status)
		}
	})
}

// TestNewOrgAutoApprove: a trusted partner's clean new-organization request
// is approved at once with the database directory; with an HTTP directory
// it waits for ops (the create cannot run inside the intake's transaction).
func TestNewOrgAutoApprove(t *testing.T) {
	for _, external := range []bool{false, true} {
		storetest.Each(t, func(t *testing.T, st *store.Store) {
			f := newFixture(t, st, func(o *workflow.Options) {
				o.AutoApproveTrusted = true
				if external {
					o.Directory = &fakeDirectory{}
				}
			})
			raw := strings.Replace(newOrgMail("auto@bluebird.example", nil),
				"From: Sarah <ops@acme.example>", "From: Tom <tom@bluebird.example>\r\n"+bluebirdPass, 1)
			res := f.deliver(raw)
			want := store.StateInvited
			if external {
				want = store.StatePendingApproval
			}
			if r := f.request(res.RequestID); r.State != want {
				t.Fatalf("external %v: state %s, findings %s", external, r.State, f.findings(res.RequestID))
			}
		})
	}
}

// TestNewOrgSameVATTwice: of two requests for the same VAT ID checked
// before either was approved, the second approval is refused.
func TestNewOrgSameVATTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		a := f.deliver(newOrgMail("v1@acme.example", nil)).RequestID
		b := f.deliver(newOrgMail("v2@acme.example", nil)).RequestID
		storetest.Must(t, f.wf.Approve(ctx, a, "olga", ""))
		err := f.wf.Approve(ctx, b, "olga", "")
		if !errors.Is(err, workflow.ErrState) || !strings.Contains(err.Error(), "DE136695976") {
			t.Fatalf("second approval: %v", err)
		}
		if r := f.request(b); r.State != store.StatePendingApproval || r.OrganizationID != nil {
			t.Fatalf("second request after the refused approval: %+v", r)
		}
	})
}
