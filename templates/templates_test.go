package templates

import (
	"errors"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// TestBuiltinTemplatesRenderEverySample: Load test-renders only what an
// override touches, so the built-in templates are test-rendered here, every
// kind and locale with every sample.
func TestBuiltinTemplatesRenderEverySample(t *testing.T) {
	s := loadBuiltin(t)
	n := 0
	for _, loc := range Locales {
		for _, kind := range Kinds {
			if err := s.renderSamples(s.mails[kind+"/"+loc], kind, loc); err != nil {
				t.Error(err)
			}
			n++
		}
	}
	if n != len(Locales)*len(Kinds) || n == 0 {
		t.Fatalf("checked %d kinds", n)
	}
}

func loadBuiltin(t *testing.T) *Set {
	t.Helper()
	s, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	return s
}

// fullData has a distinct, markup-free value in every field, so that a test
// can tell which field reached which mail.
func fullData() Data {
	return Data{
		Reference:         "REQ-000123",
		PartnerName:       "Acme Reseller AG",
		PartnerRef:        "MPN-7654321",
		RecipientName:     "Robin Recipient",
		CustomerName:      "Customer As Written",
		OrganizationID:    "0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a",
		OrganizationName:  "Directory Name Ltd",
		AdminName:         "Dana Admin",
		AdminEmail:        "dana.admin@customer.example",
		Reason:            "Contract not signed yet",
		ExistingReference: "REQ-000042",
		Candidates:        []string{"11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-aaaaaaaaaaaa"},
		Message:           "We work with another partner",
		Note:              "Approved after a call with the customer",
		InviteURL:         "https://onboarder.example.com/invitations/tok_abc123",
		ExpiresAt:         time.Date(2026, time.March, 14, 10, 30, 0, 0, time.UTC),
		Mailbox:           "partners@onboarder.example",
		State:             "pending_approval",
		StateAt:           time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC),
		Digest: &Digest{Requests: []DigestRequest{{Reference: "REQ-000123", State: "pending_approval", Partner: "Acme Reseller AG",
			Customer: "Customer As Written", Since: time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC), AgeDays: 12,
			URL: "https://onboarder.example.com/ops/requests/123"}}},
		ManageURL: "https://onboarder.example.com/manage/tok_manage",
		EndsAt:    time.Date(2026, time.June, 30, 0, 0, 0, 0, time.UTC),
		DaysLeft:  30,
	}
}

type recipient struct {
	kind, audience string
}

// recipients lists every mail as the workflow renders it: one per kind, two
// for connection_established.
func recipients() []recipient {
	var out []recipient
	for _, k := range Kinds {
		switch k {
		case KindConnectionEstablished, KindLinkEnded, KindLinkReminder, KindLinkExpired:
			out = append(out, recipient{k, AudiencePartner}, recipient{k, AudienceAdmin})
		case KindOpsDigest:
			out = append(out, recipient{k, AudienceOps})
		case KindInvitation, KindInvitationReminder, KindCustomerNeedsInfo, KindCustomerRequestClosed:
			out = append(out, recipient{k, AudienceAdmin})
		case KindConsentRequest, KindResellerConfirmation:
			out = append(out, recipient{k, AudienceContact})
		case KindConsentAccepted, KindConsentDeclined, KindConsentExpired: // the administrator, or a distributor
			out = append(out, recipient{k, AudienceAdmin}, recipient{k, AudiencePartner})
		default:
			out = append(out, recipient{k, AudiencePartner})
		}
	}
	return out
}

func TestRenderEveryKindAndLocale(t *testing.T) {
	s := loadBuiltin(t)
	dates := map[string]string{"en": "14\u00a0March\u00a02026", "de": "14.\u00a0März\u00a02026"}
	greeting := map[string]string{"en": "Hello Robin Recipient,", "de": "Guten Tag Robin Recipient,"}

	// What each mail must show beyond the reference, per kind.
	type tc struct {
		name     string
		kind     string
		audience string
		mutate   func(*Data)
		want     []string // in subject+text and in HTML (HTML-escaped)
		wantLoc  map[string][]string
	}
	cases := []tc{
		{name: "request_received", kind: KindRequestReceived, want: []string{"Customer As Written", "0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a"}},
		{name: "request_received new organization", kind: KindRequestReceived, mutate: func(d *Data) { d.NewOrganization, d.OrganizationID = true, "" },
			want:    []string{"Customer As Written"},
			wantLoc: map[string][]string{"en": {"create a new organization", "your contact person"}, "de": {"eine neue Organisation", "Ihrer Kontaktperson"}}},
		{name: "needs_info missing", kind: KindNeedsInfo, mutate: func(d *Data) { d.Problem = "missing" },
			want:    []string{"3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53"},
			wantLoc: map[string][]string{"en": {"does not contain an Organization ID", "reply to this mail"}, "de": {"enthält keine Organisations-ID", "antworten Sie auf diese E-Mail"}}},
		{name: "needs_info ambiguous", kind: KindNeedsInfo, mutate: func(d *Data) { d.Problem = "ambiguous" },
			want:    []string{"11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-aaaaaaaaaaaa", "3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53"},
			wantLoc: map[string][]string{"en": {"several different Organization IDs"}, "de": {"mehrere unterschiedliche Organisations-IDs"}}},
		{name: "needs_info malformed", kind: KindNeedsInfo, mutate: func(d *Data) { d.Problem = "malformed" },
			want:    []string{"3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53"},
			wantLoc: map[string][]string{"en": {"not a valid one"}, "de": {"keine gültige"}}},
		{name: "rejected unknown organization", kind: KindRequestRejected, mutate: func(d *Data) { d.ReasonCode, d.Reason = "unknown_organization", "" },
			want:    []string{"0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a"},
			wantLoc: map[string][]string{"en": {"found no organization"}, "de": {"keine Organisation"}}},
		{name: "rejected inactive", kind: KindRequestRejected, mutate: func(d *Data) { d.ReasonCode, d.Reason = "organization_inactive", "" },
			want:    []string{"0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a"},
			wantLoc: map[string][]string{"en": {"is not active"}, "de": {"nicht aktiv"}}},
		{name: "rejected by ops", kind: KindRequestRejected, mutate: func(d *Data) { d.ReasonCode = "ops" },
			want:    []string{"Contract not signed yet"},
			wantLoc: map[string][]string{"en": {"operations team"}, "de": {"Operations-Team"}}},
		{name: "duplicate", kind: KindRequestDuplicate, want: []string{"REQ-000042"}},
		{name: "approved", kind: KindRequestApproved, want: []string{"Approved after a call with the customer"}},
		{name: "invitation", kind: KindInvitation, want: []string{"Acme Reseller AG", "MPN-7654321", "Directory Name Ltd", "0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a", "https://onboarder.example.com/invitations/tok_abc123"},
			wantLoc: map[string][]string{"en": {"If you ignore this mail, nothing happens", "What accepting means"}, "de": {"Wenn Sie diese E-Mail ignorieren, passiert nichts", "Was die Annahme bedeutet"}}},
		{name: "established partner", kind: KindConnectionEstablished, audience: AudiencePartner, want: []string{"Directory Name Ltd"}},
		{name: "established admin", kind: KindConnectionEstablished, audience: AudienceAdmin, want: []string{"Acme Reseller AG", "Directory Name Ltd"}},
		{name: "declined", kind: KindInvitationDeclined, want: []string{"We work with another partner"}},
		{name: "expired", kind: KindInvitationExpired},
		{name: "too large", kind: KindRequestTooLarge, mutate: func(d *Data) { d.MessageSize, d.SizeLimit = 13002342, 10<<20 },
			wantLoc: map[string][]string{"en": {"12.4 MB", "10 MB", "Organization ID"}, "de": {"12,4 MB", "10 MB", "Organisations-ID"}}},
		{name: "status pending", kind: KindRequestStatus,
			wantLoc: map[string][]string{"en": {"being checked by our operations team", "Next step: our operations team approves", "2\u00a0March\u00a02026"}, "de": {"wird von unserem Operations-Team geprüft", "Nächster Schritt: Unser Operations-Team", "2.\u00a0März\u00a02026"}}},
		{name: "status invited", kind: KindRequestStatus, mutate: func(d *Data) { d.State = "invited" },
			wantLoc: map[string][]string{"en": {"waiting for the customer", "accepts or declines the invitation"}, "de": {"wartet auf die Antwort", "nimmt die Einladung an oder lehnt sie ab"}}},
		{name: "status cancel refused", kind: KindRequestStatus, mutate: func(d *Data) { d.State, d.CancelRefused = "completed", true },
			wantLoc: map[string][]string{"en": {"can no longer be cancelled", "the reseller connection is established"}, "de": {"kann nicht mehr storniert werden", "Die Reseller-Verbindung besteht"}}},
		{name: "cancelled", kind: KindRequestCancelled, wantLoc: map[string][]string{"en": {"we have cancelled your request"}, "de": {"storniert"}}},
		{name: "invitation reminder", kind: KindInvitationReminder, want: []string{"Acme Reseller AG", "Directory Name Ltd", "https://onboarder.example.com/invitations/tok_abc123"},
			wantLoc: map[string][]string{"en": {"This is a reminder"}, "de": {"Dies ist eine Erinnerung"}}},
		{name: "needs_info reminder", kind: KindNeedsInfoReminder, wantLoc: map[string][]string{"en": {"still waiting for the Organization ID"}, "de": {"fehlt uns weiterhin die Organisations-ID"}}},
		{name: "request expired", kind: KindRequestExpired, wantLoc: map[string][]string{"en": {"we have closed it"}, "de": {"haben wir die Anfrage geschlossen"}}},
		{name: "ops digest", kind: KindOpsDigest, audience: AudienceOps, want: []string{"https://onboarder.example.com/ops/requests/123", "Acme Reseller AG", "12"},
			wantLoc: map[string][]string{"en": {"Open requests, oldest first"}, "de": {"Offene Anfragen, älteste zuerst"}}},
		{name: "new_org_needs_info", kind: KindNewOrgNeedsInfo, mutate: func(d *Data) {
			d.Fields = []FieldProblem{{Field: "street", Problem: "missing"}, {Field: "contact_email", Value: "jane at acme", Problem: "invalid_email"},
				{Field: "vat_id", Value: "DE136695977", Problem: "vat_check_digit", Country: "Deutschland"}}
		},
			want: []string{"jane at acme", "DE136695977", "Deutschland"},
			wantLoc: map[string][]string{"en": {"Street", "missing", "is not an e-mail address", "VAT ID", "mistyped"},
				"de": {"Straße", "fehlt", "ist keine E-Mail-Adresse", "USt-IdNr.", "Prüfziffer"}}},
		{name: "organization_exists", kind: KindOrganizationExists, want: []string{"Please establish reseller connection to customer Customer As Written"},
			wantLoc: map[string][]string{"en": {"exists already"}, "de": {"besteht bereits"}}},
		{name: "customer needs info", kind: KindCustomerNeedsInfo, audience: AudienceAdmin, mutate: func(d *Data) { d.Problem = "ambiguous" },
			want: []string{"Acme Reseller AG", "Partner ID: MPN-1234567"}, wantLoc: map[string][]string{"en": {"Several registered partners"}, "de": {"Mehrere eingetragene Partner"}}},
		{name: "consent request", kind: KindConsentRequest, audience: AudienceContact,
			want: []string{"Directory Name Ltd", "dana.admin@customer.example", "0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a", "https://onboarder.example.com/invitations/tok_abc123"}},
		{name: "reseller confirmation", kind: KindResellerConfirmation, audience: AudienceContact, mutate: func(d *Data) { d.DistributorName = "Distrib-X" },
			want: []string{"Distrib-X", "Acme Reseller AG", "Customer As Written", "https://onboarder.example.com/invitations/tok_abc123"}},
		{name: "consent reminder", kind: KindConsentRequest, audience: AudienceContact, mutate: func(d *Data) { d.Reminder = true },
			want:    []string{"Directory Name Ltd", "https://onboarder.example.com/invitations/tok_abc123"},
			wantLoc: map[string][]string{"en": {"This is a reminder", "replaces the one"}, "de": {"Dies ist eine Erinnerung", "ersetzt den"}}},
		{name: "reseller confirmation reminder", kind: KindResellerConfirmation, audience: AudienceContact, mutate: func(d *Data) { d.DistributorName = "Distrib-X"; d.Reminder = true },
			want:    []string{"Distrib-X"},
			wantLoc: map[string][]string{"en": {"This is a reminder"}, "de": {"Dies ist eine Erinnerung"}}},
		{name: "consent accepted", kind: KindConsentAccepted, audience: AudienceAdmin, want: []string{"Acme Reseller AG"}},
		{name: "consent declined", kind: KindConsentDeclined, audience: AudienceAdmin, want: []string{"Acme Reseller AG", "We work with another partner"}},
		{name: "consent declined to the distributor", kind: KindConsentDeclined, audience: AudiencePartner,
			mutate: func(d *Data) { d.DistributorName = "Distrib-X" }, want: []string{"Distrib-X", "We work with another partner"}},
		{name: "consent expired", kind: KindConsentExpired, audience: AudienceAdmin, want: []string{"Acme Reseller AG", "Directory Name Ltd"},
			wantLoc: map[string][]string{"en": {"have expired", "is closed"}, "de": {"abgelaufen", "abgeschlossen"}}},
		{name: "consent expired to the distributor", kind: KindConsentExpired, audience: AudiencePartner,
			mutate: func(d *Data) { d.DistributorName = "Distrib-X" }, want: []string{"Distrib-X", "Acme Reseller AG"},
			wantLoc: map[string][]string{"en": {"reseller of record"}, "de": {"Reseller zu sein"}}},
		{name: "status of a completed request whose link ended", kind: KindRequestStatus, mutate: func(d *Data) { d.State = "completed"; d.LinkStatus = "ended" },
			wantLoc: map[string][]string{"en": {"has since been ended", "the connection has ended"}, "de": {"inzwischen beendet", "Die Verbindung ist beendet"}}},
		{name: "customer request rejected", kind: KindCustomerRequestClosed, audience: AudienceAdmin,
			mutate:  func(d *Data) { d.ReasonCode = "ops"; d.Reason = "Not a partner we work with" },
			want:    []string{"Acme Reseller AG", "Directory Name Ltd", "Not a partner we work with"},
			wantLoc: map[string][]string{"en": {"has declined your request"}, "de": {"hat Ihre Anfrage"}}},
		{name: "customer request duplicate", kind: KindCustomerRequestClosed, audience: AudienceAdmin,
			mutate: func(d *Data) { d.ReasonCode = "duplicate" }, want: []string{"Acme Reseller AG"},
			wantLoc: map[string][]string{"en": {"already open", "already connected"}, "de": {"bereits offen", "bereits verbunden"}}},
		{name: "link ended by partner", kind: KindLinkEnded, audience: AudienceAdmin, mutate: func(d *Data) { d.EndedBy = "partner" },
			want:    []string{"Acme Reseller AG", "Directory Name Ltd", "Contract not signed yet", "https://onboarder.example.com/manage/tok_manage"},
			wantLoc: map[string][]string{"en": {"has ended its reseller connection", "Manage your partners"}, "de": {"hat die Reseller-Verbindung zu Ihrer Organisation", "Ihre Partner verwalten"}}},
		{name: "link ended by customer", kind: KindLinkEnded, audience: AudiencePartner, mutate: func(d *Data) { d.EndedBy = "customer" },
			want:    []string{"Directory Name Ltd", "Contract not signed yet"},
			wantLoc: map[string][]string{"en": {"has ended your reseller connection"}, "de": {"Die Administration von"}}},
		{name: "link ended by ops", kind: KindLinkEnded, audience: AudiencePartner, mutate: func(d *Data) { d.EndedBy = "ops" },
			wantLoc: map[string][]string{"en": {"Our partner team has ended"}, "de": {"Unser Partner-Team hat"}}},
		{name: "link end answer ended", kind: KindLinkEndAnswer, mutate: func(d *Data) { d.ReasonCode = "ended" },
			want:    []string{"Directory Name Ltd"},
			wantLoc: map[string][]string{"en": {"has been ended"}, "de": {"wurde Ihre Reseller-Verbindung"}}},
		{name: "link end answer no link", kind: KindLinkEndAnswer, mutate: func(d *Data) { d.ReasonCode = "no_link"; d.OrganizationName = "" },
			want:    []string{"0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a"},
			wantLoc: map[string][]string{"en": {"no active reseller connection"}, "de": {"keine aktive Reseller-Verbindung"}}},
		{name: "link reminder", kind: KindLinkReminder, audience: AudienceAdmin, mutate: func(d *Data) { d.DaysLeft = 7 },
			want:    []string{"Acme Reseller AG", "Directory Name Ltd", "https://onboarder.example.com/manage/tok_manage"},
			wantLoc: map[string][]string{"en": {"in 7 days", "30\u00a0June\u00a02026"}, "de": {"in 7 Tagen", "30.\u00a0Juni\u00a02026"}}},
		{name: "link expired", kind: KindLinkExpired, audience: AudiencePartner,
			want: []string{"Acme Reseller AG", "Directory Name Ltd"}},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.kind] = true
		for _, loc := range Locales {
			for _, thread := range []bool{false, true} {
				name := c.name + "/" + loc
				if thread {
					name += "/thread"
				}
				t.Run(name, func(t *testing.T) {
					d := fullData()
					d.Audience = c.audience
					if thread {
						d.ThreadSubject = "Re: Please establish reseller connection to customer Customer As Written [REQ-000123]"
					}
					if c.mutate != nil {
						c.mutate(&d)
					}
					r, err := s.Render(c.kind, loc, d)
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					if r.Subject == "" || strings.TrimSpace(r.Text) == "" || strings.TrimSpace(r.HTML) == "" {
						t.Fatalf("empty part: %+v", r)
					}
					if c.kind != KindOpsDigest && !strings.Contains(r.Subject, "[REQ-000123]") {
						t.Errorf("subject %q lacks the reference tag", r.Subject)
					}
					partnerThread := thread && (c.kind != KindInvitation && c.kind != KindInvitationReminder && c.audience != AudienceAdmin && c.audience != AudienceOps)
					if partnerThread && r.Subject != d.ThreadSubject {
						t.Errorf("subject = %q, want the thread subject %q", r.Subject, d.ThreadSubject)
					}
					want := append([]string{"REQ-000123", greeting[loc]}, c.want...)
					want = append(want, c.wantLoc[loc]...)
					if c.kind == KindInvitation || c.kind == KindInvitationReminder || c.kind == KindRequestApproved || c.kind == KindInvitationExpired {
						want = append(want, dates[loc])
					}
					flat := lineJoin.ReplaceAllString(r.Text, " ") // tidyText wraps long lines
					for _, w := range want {
						if !strings.Contains(r.Text, w) && !strings.Contains(flat, w) {
							t.Errorf("text lacks %q:\n%s", w, r.Text)
						}
						if !strings.Contains(r.HTML, html.EscapeString(w)) {
							t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
						}
					}
					if !strings.HasPrefix(r.HTML, "<!DOCTYPE html>") || !strings.Contains(r.HTML, `<html lang="`+loc+`">`) {
						t.Errorf("HTML is not a complete %s document:\n%.200s", loc, r.HTML)
					}
					other := map[string]string{"en": "Guten Tag", "de": "Hello"}[loc]
					if strings.Contains(r.Text, other) {
						t.Errorf("%s text contains %q from the other language", loc, other)
					}
					for i, line := range strings.Split(r.Text, "\n") {
						if n := utf8.RuneCountInString(line); n > textWidth && strings.Contains(strings.TrimSpace(line), " ") {
							t.Errorf("text line %d has %d runes (> %d) and could be wrapped: %q", i+1, n, textWidth, line)
						}
					}
				})
			}
		}
	}
	for _, k := range Kinds {
		if !seen[k] {
			t.Errorf("kind %s not covered", k)
		}
	}
}

// lineJoin finds a wrapped line's break with the indentation around it.
var lineJoin = regexp.MustCompile(`[ \t]*\n[ \t]*`)

const hostile = "Evil <script>alert(1)</script> & \"Co\"\r\nBcc: victim@example.com\x00\u2028X"

func hostileData() Data {
	d := fullData()
	for _, p := range []*string{&d.PartnerName, &d.PartnerRef, &d.RecipientName, &d.CustomerName,
		&d.OrganizationName, &d.AdminName, &d.Reason, &d.Message, &d.Note, &d.ThreadSubject, &d.ExistingReference} {
		*p = hostile
	}
	d.Candidates = []string{hostile}
	return d
}

func TestHostileValuesAreEscapedAndCannotBreakTheSubject(t *testing.T) {
	s := loadBuiltin(t)
	for _, rc := range recipients() {
		for _, loc := range Locales {
			for _, problem := range []string{"missing", "ambiguous", "malformed"} {
				t.Run(rc.kind+"/"+rc.audience+"/"+loc+"/"+problem, func(t *testing.T) {
					d := hostileData()
					d.Audience, d.Problem, d.ReasonCode = rc.audience, problem, "ops"
					r, err := s.Render(rc.kind, loc, d)
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					for _, ch := range r.Subject {
						if unicode.IsControl(ch) || ch == '\u2028' {
							t.Fatalf("subject %q contains control character %U", r.Subject, ch)
						}
					}
					if strings.TrimSpace(r.Subject) != r.Subject {
						t.Errorf("subject %q is not trimmed", r.Subject)
					}
					if strings.Contains(r.HTML, "<script") || strings.Contains(r.HTML, "alert(1)</script>") {
						t.Errorf("HTML contains unescaped markup:\n%s", r.HTML)
					}
					if !strings.Contains(r.HTML, "&lt;script&gt;") {
						t.Errorf("HTML does not show the name as escaped text:\n%s", r.HTML)
					}
					if strings.ContainsAny(r.Text, "\r\x00\u2028") || strings.ContainsAny(r.HTML, "\r\x00\u2028") {
						t.Errorf("body contains CR, NUL or U+2028")
					}
					// A multi-line value keeps its lines but stays quoted.
					if rc.kind == KindInvitationDeclined && !strings.Contains(r.Text, "\n> Bcc: victim@example.com\n") {
						t.Errorf("decline message is not quoted line by line:\n%s", r.Text)
					}
				})
			}
		}
	}
}

func TestCleanDataKeepsOneLineFieldsOnOneLine(t *testing.T) {
	d := cleanData(hostileData())
	for name, v := range map[string]string{"PartnerName": d.PartnerName, "CustomerName": d.CustomerName,
		"ThreadSubject": d.ThreadSubject, "Candidate": d.Candidates[0], "RecipientName": d.RecipientName} {
		if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' }) {
			t.Errorf("%s = %q still has a control character or line break", name, v)
		}
		if !strings.Contains(v, "Bcc: victim@example.com") {
			t.Errorf("%s = %q lost its text", name, v)
		}
	}
	if want := "Evil <script>alert(1)</script> & \"Co\"\nBcc: victim@example.com\nX"; d.Message != want {
		t.Errorf("Message = %q, want %q", d.Message, want)
	}
}

func TestInviteURLWithScriptSchemeIsNeutralized(t *testing.T) {
	s := loadBuiltin(t)
	d := fullData()
	d.InviteURL = "javascript:alert(1)"
	r, err := s.Render(KindInvitation, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Errorf("HTML links to a javascript: URL:\n%s", r.HTML)
	}
}

// TestPartnerMailsDoNotLeak checks that mails to a partner never carry the
// administrator's contact, the invitation link, or (before the connection
// exists) the directory's name for an organization ID the partner supplied.
func TestPartnerMailsDoNotLeak(t *testing.T) {
	s := loadBuiltin(t)
	d := fullData()
	for _, rc := range recipients() {
		if rc.audience != AudiencePartner {
			continue
		}
		for _, loc := range Locales {
			for _, code := range []string{"unknown_organization", "organization_inactive", "ops"} {
				d.Audience, d.ReasonCode, d.Problem = rc.audience, code, "ambiguous"
				r, err := s.Render(rc.kind, loc, d)
				if err != nil {
					t.Fatal(err)
				}
				secret := []string{d.AdminEmail, d.AdminName, d.InviteURL, "tok_abc123"}
				switch rc.kind {
				case KindConnectionEstablished, KindLinkEnded, KindLinkReminder, KindLinkExpired:
					// Sent while or after the partner is connected: it knows the name.
				case KindLinkEndAnswer:
					d.OrganizationName = "" // the workflow names it only when there was a link
				default:
					secret = append(secret, d.OrganizationName)
				}
				d.ManageURL = "" // only set for the administrator
				for _, sec := range secret {
					for part, body := range map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML} {
						if strings.Contains(body, sec) {
							t.Errorf("%s/%s/%s: %s contains %q", rc.kind, loc, code, part, sec)
						}
					}
				}
			}
		}
	}
}

func TestLocaleFallback(t *testing.T) {
	s := loadBuiltin(t)
	d := fullData()
	for _, c := range []struct{ in, want string }{
		{"fr", "en"}, {"", "en"}, {"xx-YY", "en"}, {"EN", "en"}, {"de-DE", "de"}, {"de_AT", "de"}, {"DE", "de"},
	} {
		for _, k := range Kinds {
			d.Audience = AudiencePartner
			got, err := s.Render(k, c.in, d)
			if err != nil {
				t.Fatalf("Render(%s, %q): %v", k, c.in, err)
			}
			want, err := s.Render(k, c.want, d)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Render(%s, %q) differs from %q (-want +got):\n%s", k, c.in, c.want, diff)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	s := loadBuiltin(t)
	for _, c := range []struct {
		name, kind, audience string
	}{
		{"unknown kind", "welcome", AudiencePartner},
		{"empty kind", "", AudiencePartner},
		{"established without audience", KindConnectionEstablished, ""},
		{"established with bad audience", KindConnectionEstablished, "ops"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := fullData()
			d.Audience = c.audience
			if _, err := s.Render(c.kind, "en", d); err == nil {
				t.Errorf("Render(%q) with audience %q: no error", c.kind, c.audience)
			}
		})
	}
	var nilSet *Set
	if _, err := nilSet.Render(KindInvitation, "en", fullData()); err == nil {
		t.Error("nil Set rendered without error")
	}
}

func TestAudienceFixedByKind(t *testing.T) {
	s := loadBuiltin(t)
	d := fullData()
	d.Audience = AudienceAdmin // wrong for a partner mail: must be ignored
	got, err := s.Render(KindRequestReceived, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	d.Audience = AudiencePartner
	want, err := s.Render(KindRequestReceived, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Audience changed a partner-only mail (-want +got):\n%s", diff)
	}
}

func writeFile(t *testing.T, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrideReplacesExactlyOneFile(t *testing.T) {
	builtinSet := loadBuiltin(t)
	dir := t.TempDir()
	writeFile(t, dir, "mail/en/request_received.txt.tmpl",
		`{{define "subject"}}Custom subject for {{.CustomerName}} [{{.Reference}}]{{end}}
{{define "body"}}CUSTOM BODY {{.Reference}}{{end}}`)
	writeFile(t, dir, "README.md", "not a template; ignored")
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	d := fullData()
	got, err := s.Render(KindRequestReceived, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "Custom subject for Customer As Written [REQ-000123]" {
		t.Errorf("subject = %q, want the override's", got.Subject)
	}
	if !strings.Contains(got.Text, "CUSTOM BODY REQ-000123") {
		t.Errorf("text does not come from the override:\n%s", got.Text)
	}
	if !strings.Contains(got.Text, "Hello Robin Recipient,") || !strings.Contains(got.Text, "partners@onboarder.example") {
		t.Errorf("override body is not wrapped in the built-in layout:\n%s", got.Text)
	}
	builtinRR, _ := builtinSet.Render(KindRequestReceived, "en", d)
	if got.HTML != strings.ReplaceAll(builtinRR.HTML, html.EscapeString(builtinRR.Subject), html.EscapeString(got.Subject)) {
		t.Errorf("HTML body changed although only the text file was overridden")
	}
	// Everything else is exactly the built-in output.
	for _, rc := range recipients() {
		for _, loc := range Locales {
			if rc.kind == KindRequestReceived && loc == "en" {
				continue
			}
			d.Audience = rc.audience
			want, err1 := builtinSet.Render(rc.kind, loc, d)
			got, err2 := s.Render(rc.kind, loc, d)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s/%s changed by an unrelated override (-want +got):\n%s", rc.kind, loc, diff)
			}
		}
	}
}

func TestOverrideLayoutAndCommon(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "mail/layout.html.tmpl", `<html><body>{{template "body" .}}<hr>LAYOUT-OVERRIDE {{.Subject}}</body></html>`)
	writeFile(t, dir, "mail/de/common.txt.tmpl", `{{define "greeting"}}Moin{{end}}{{define "footer"}}Grüße vom Team{{end}}`)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := fullData()
	for _, rc := range recipients() {
		d.Audience = rc.audience
		en, err := s.Render(rc.kind, "en", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(en.HTML, "LAYOUT-OVERRIDE") || !strings.Contains(en.HTML, "REQ-000123") {
			t.Errorf("%s/en HTML does not use the overridden layout:\n%s", rc.kind, en.HTML)
		}
		if !strings.Contains(en.Text, "Hello") {
			t.Errorf("%s/en text lost the built-in greeting", rc.kind)
		}
		de, err := s.Render(rc.kind, "de", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(de.Text, "Moin\n") || !strings.HasSuffix(de.Text, "Grüße vom Team\n") {
			t.Errorf("%s/de text does not use the overridden common file:\n%s", rc.kind, de.Text)
		}
	}
}

func TestBrokenOverrideFailsLoadWithFileAndLine(t *testing.T) {
	cases := []struct {
		name     string
		rel      string
		content  string
		wantLine string // e.g. ":3:"; "" when no line applies
		wantMore []string
	}{
		{
			name:     "syntax error",
			rel:      "mail/en/needs_info.txt.tmpl",
			content:  "{{define \"subject\"}}x{{end}}\n{{define \"body\"}}\nHello {{if .Reference}\n{{end}}",
			wantLine: ":3",
		},
		{
			name:     "unknown field",
			rel:      "mail/de/invitation.html.tmpl",
			content:  "{{define \"body\"}}\n<p>{{.Reference}} {{.OrganisationNmae}}</p>\n{{end}}",
			wantLine: ":2:",
			wantMore: []string{"OrganisationNmae"},
		},
		{
			name:     "unknown field in a branch the samples never take",
			rel:      "mail/en/request_rejected.txt.tmpl",
			content:  "{{define \"subject\"}}{{.Reference}}{{end}}\n{{define \"body\"}}\n\n{{if eq .ReasonCode \"never\"}}{{.Reson}}{{end}}\n{{end}}",
			wantLine: ":4:",
			wantMore: []string{"Reson"},
		},
		{
			name:     "unknown field via $",
			rel:      "mail/en/needs_info.txt.tmpl",
			content:  "{{define \"subject\"}}{{.Reference}}{{end}}\n{{define \"body\"}}{{range .Candidates}}{{$.Candidate}}{{end}}{{end}}",
			wantLine: ":2:",
			wantMore: []string{"Candidate"},
		},
		{
			name:     "unknown function",
			rel:      "mail/layout.txt.tmpl",
			content:  "{{template \"body\" .}}\n{{shout .Reference}}",
			wantLine: ":2:",
			wantMore: []string{"shout"},
		},
		{
			name:     "execution error",
			rel:      "mail/en/request_received.txt.tmpl",
			content:  "{{define \"subject\"}}{{.Reference}}{{end}}\n{{define \"body\"}}\n{{index .Candidates 7}}{{end}}",
			wantLine: ":3:",
		},
		{
			name:     "HTML context error",
			rel:      "mail/en/invitation.html.tmpl",
			content:  "{{define \"body\"}}\n<a href=\"{{.InviteURL}}\n{{end}}",
			wantMore: []string{"body"},
		},
		{
			name:     "subject missing",
			rel:      "mail/de/request_duplicate.txt.tmpl",
			content:  "{{define \"body\"}}{{.Reference}}{{end}}",
			wantMore: []string{`"subject"`},
		},
		{
			name:     "subject empty",
			rel:      "mail/de/request_duplicate.txt.tmpl",
			content:  "{{define \"subject\"}}\r\n{{end}}{{define \"body\"}}{{.Reference}}{{end}}",
			wantMore: []string{"subject", "empty"},
		},
		{
			name:     "misspelt file name",
			rel:      "mail/en/request_recieved.txt.tmpl",
			content:  "{{define \"subject\"}}x{{end}}{{define \"body\"}}x{{end}}",
			wantMore: []string{"unknown template file"},
		},
		{
			name:     "unsupported locale",
			rel:      "mail/fr/invitation.txt.tmpl",
			content:  "{{define \"subject\"}}x{{end}}{{define \"body\"}}x{{end}}",
			wantMore: []string{"unknown template file"},
		},
		{
			name:     "invalid UTF-8",
			rel:      "mail/en/invitation.txt.tmpl",
			content:  "{{define \"subject\"}}\xff{{end}}{{define \"body\"}}x{{end}}",
			wantMore: []string{"UTF-8"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			full := writeFile(t, dir, c.rel, c.content)
			s, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded with a broken %s", c.rel)
			}
			if s != nil {
				t.Errorf("Load returned a Set with its error")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if !strings.Contains(msg, full) {
				t.Errorf("error does not name the file %s: %s", full, msg)
			}
			if c.wantLine != "" && !strings.Contains(msg, full+c.wantLine) {
				t.Errorf("error does not name line %q of %s: %s", c.wantLine, full, msg)
			}
			for _, w := range c.wantMore {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
		})
	}
}

func TestLoadMissingOverrideDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Load(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing dir) = %v, want a not-exist error", err)
	}
	f := writeFile(t, t.TempDir(), "file", "x")
	if _, err := Load(f); err == nil {
		t.Errorf("Load(a file) succeeded")
	}
}

func TestOversizedOverrideRejected(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "mail/en/invitation.txt.tmpl", strings.Repeat("x", maxFileSize+1))
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load with an oversized file = %v", err)
	}
}

func TestBuiltinFSMatchesFiles(t *testing.T) {
	var got []string
	err := fs.WalkDir(BuiltinFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			got = append(got, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Files()
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embedded files differ from Files() (-want +got):\n%s", diff)
	}
	if len(want) != 2+len(Locales)*(2+2*len(Kinds)) {
		t.Errorf("Files() has %d entries", len(want))
	}
}

func TestCleanSubject(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"  Hello  ", "Hello"},
		{"Name\r\nBcc: x@example.com", "Name Bcc: x@example.com"},
		{"a\tb\x00c\x7fd\u0085e", "a b c d e"},
		{"line\u2028sep\u2029para", "line sep para"},
		{"bidi \u202Egnp.exe", "bidi gnp.exe"},
		{"Müller «AG» [REQ-000001]", "Müller «AG» [REQ-000001]"},
		{"\r\n\r\n", ""},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	} {
		if got := CleanSubject(c.in); got != c.want {
			t.Errorf("CleanSubject(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTidyTextWraps(t *testing.T) {
	long := strings.Repeat("word ", 30)
	for _, c := range []struct {
		name, in, want string
	}{
		{"blank lines collapse", "\n\na\n\n\n\nb  \n\n", "a\n\nb\n"},
		{"signature separator kept", "x\n-- \nsig", "x\n-- \nsig\n"},
		{"prose wraps", long, strings.TrimSpace(strings.Repeat("word ", 15)) + "\n" + strings.TrimSpace(strings.Repeat("word ", 15)) + "\n"},
		{"list hanging indent", "- " + long, "- " + strings.TrimSpace(strings.Repeat("word ", 14)) + " word\n  " + strings.TrimSpace(strings.Repeat("word ", 14)) + " word\n"},
		{"quote prefix", "> " + long, "> " + strings.TrimSpace(strings.Repeat("word ", 14)) + " word\n> " + strings.TrimSpace(strings.Repeat("word ", 14)) + " word\n"},
		{"long link stays whole", "  https://example.com/" + strings.Repeat("a", 100), "  https://example.com/" + strings.Repeat("a", 100) + "\n"},
		{"no-break space holds", strings.Repeat("x", 70) + " 14\u00a0March\u00a02026", strings.Repeat("x", 70) + "\n14\u00a0March\u00a02026\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, tidyText(c.in)); diff != "" {
				t.Errorf("tidyText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentRender(t *testing.T) {
	s := loadBuiltin(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for _, rc := range recipients() {
				d := fullData()
				d.Audience = rc.audience
				if _, err := s.Render(rc.kind, Locales[i%len(Locales)], d); err != nil {
					errs <- err
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHugeValuesStayBounded(t *testing.T) {
	s := loadBuiltin(t)
	d := fullData()
	big := strings.Repeat("A", 1<<20)
	d.CustomerName, d.Message = big, strings.Repeat("line\n", 1<<16)
	d.Candidates = make([]string, 1000)
	for i := range d.Candidates {
		d.Candidates[i] = "11111111-2222-4333-8444-555555555555"
	}
	start := time.Now()
	for _, k := range []string{KindNeedsInfo, KindInvitationDeclined} {
		d.Problem = "ambiguous"
		r, err := s.Render(k, "de", d)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Text) > 10<<20 || len(r.HTML) > 10<<20 {
			t.Errorf("%s output grew to %d/%d bytes", k, len(r.Text), len(r.HTML))
		}
	}
	// A guard against a blow-up (a quadratic escape of 1 MiB takes
	// minutes), not a speed test: under -race on a loaded CI machine this
	// takes seconds.
	if el := time.Since(start); el > time.Minute {
		t.Errorf("rendering huge values took %v", el)
	}
}

func FuzzRender(f *testing.F) {
	s, err := Load("")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Example GmbH", "Partner", "REQ-000001", "msg")
	f.Add(hostile, hostile, "REQ-\r\n1", "a\r\n<b>x</b>")
	f.Add("\xff\xfe", "\u202e", "", "")
	f.Fuzz(func(t *testing.T, name, partner, ref, msg string) {
		for _, rc := range recipients() {
			d := Data{Audience: rc.audience, CustomerName: name, OrganizationName: name, PartnerName: partner,
				Reference: ref, ThreadSubject: name, Message: msg, Reason: msg, Note: msg, Candidates: []string{name},
				Problem: "ambiguous", ReasonCode: "ops"}
			r, err := s.Render(rc.kind, "en", d)
			if err != nil {
				t.Fatalf("Render(%s): %v", rc.kind, err)
			}
			if strings.ContainsFunc(r.Subject, unicode.IsControl) {
				t.Fatalf("subject %q has a control character", r.Subject)
			}
			if strings.Contains(strings.ToLower(r.HTML), "<script") {
				t.Fatalf("HTML has a script tag")
			}
			if !utf8.ValidString(r.Subject) || !utf8.ValidString(r.Text) || !utf8.ValidString(r.HTML) {
				t.Fatalf("invalid UTF-8 in output")
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load(""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	s, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	d := fullData()
	for b.Loop() {
		if _, err := s.Render(KindInvitation, "de", d); err != nil {
			b.Fatal(err)
		}
	}
}

// A mail over the size limit made no request: the answer names its size,
// the limit and what to do, and no empty reference anywhere.
func TestTooLargeAnswer(t *testing.T) {
	s := loadBuiltin(t)
	d := Data{PartnerName: "Acme Reseller AG", Mailbox: "partners@onboarder.example", MessageSize: 13002342, SizeLimit: 10 << 20}
	want := map[string][]string{
		"en": {"Your mail was too large to be read", "12.4 MB", "10 MB",
			"send your request again, as a new mail without large attachments", "Organization ID: 3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53"},
		"de": {"Ihre E-Mail war zu groß, um gelesen zu werden", "12,4 MB", "10 MB",
			"senden Sie Ihre Anfrage erneut, als neue E-Mail ohne große Anhänge", "Organisations-ID: 3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53"},
	}
	for _, loc := range Locales {
		t.Run(loc, func(t *testing.T) {
			r, err := s.Render(KindRequestTooLarge, loc, d)
			if err != nil {
				t.Fatal(err)
			}
			all := r.Subject + "\n" + r.Text
			for _, w := range want[loc] {
				if !strings.Contains(all, w) {
					t.Errorf("subject and text lack %q:\n%s", w, all)
				}
				if w != want[loc][0] && !strings.Contains(r.HTML, html.EscapeString(w)) {
					t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
				}
			}
			for _, part := range []string{r.Subject, r.Text, r.HTML} {
				if strings.Contains(part, "[]") || strings.Contains(part, "REQ-") {
					t.Errorf("a reference is named though there is none:\n%s", part)
				}
			}
			d := d
			d.ThreadSubject = "Re: Please establish reseller connection to customer Example GmbH"
			if r, err := s.Render(KindRequestTooLarge, loc, d); err != nil || r.Subject != d.ThreadSubject {
				t.Errorf("in the partner's thread: subject %q, %v; want %q", r.Subject, err, d.ThreadSubject)
			}
		})
	}
}

func TestHumanSize(t *testing.T) {
	for _, c := range []struct {
		n      int64
		en, de string
	}{
		{0, "0 bytes", "0 Bytes"},
		{1000, "1000 bytes", "1000 Bytes"},
		{4096, "4 KB", "4 KB"},
		{5000, "4.9 KB", "4,9 KB"},
		{10 << 20, "10 MB", "10 MB"},
		{13002342, "12.4 MB", "12,4 MB"},
		{3 << 30, "3 GB", "3 GB"},
	} {
		if got := HumanSize(c.n, "en"); got != c.en {
			t.Errorf("HumanSize(%d, en) = %q, want %q", c.n, got, c.en)
		}
		if got := HumanSize(c.n, "de"); got != c.de {
			t.Errorf("HumanSize(%d, de) = %q, want %q", c.n, got, c.de)
		}
	}
}
