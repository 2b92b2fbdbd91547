package parser

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNewOrgFixtures reads the company and contact fields of new-organization
// requests as real clients send them: Outlook's HTML table, Thunderbird's
// plain lines, Apple Mail's quoted-printable two-column text, Gmail's base64
// tab-separated table, a forward, German labels in Latin-1.
func TestNewOrgFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, name string
		want       NewOrgFields
	}{
		{"neworg-outlook-html.eml", "Brückner Maschinenbau", NewOrgFields{
			CompanyName: "Brückner Maschinenbau GmbH", Street: "Industriestraße 12", Postcode: "83313", City: "Siegsdorf",
			Country: "Germany", VatID: "DE136695976", ContactFirstName: "Anna", ContactLastName: "Brückner",
			ContactEmail: "anna.brueckner@brueckner-mb.example"}},
		{"neworg-thunderbird-plain.eml", "Polar Freight Ltd", NewOrgFields{
			CompanyName: "Polar Freight Ltd", Street: "10 Dock Road", Postcode: "SW1A 1AA", City: "London",
			Country: "GB", VatID: "GB 980 7806 84", ContactFirstName: "Oliver", ContactLastName: "Hughes",
			ContactEmail: "oliver.hughes@polarfreight.example"}},
		{"neworg-apple-qp.eml", "Alpen Software", NewOrgFields{
			CompanyName: "Alpen Software AG", Street: "Bahnhofstrasse 7", Postcode: "8001", City: "Zürich",
			Country: "Schweiz", VatID: "CHE-107.787.577 MWST", ContactFirstName: "Lea", ContactLastName: "Meier",
			ContactEmail: "lea.meier@alpen-software.example"}},
		{"neworg-gmail-base64.eml", "Nordic Timber", NewOrgFields{
			CompanyName: "Nordic Timber AS", Street: "Strandgata 3", Postcode: "5013", City: "Bergen",
			Country: "Norway", VatID: "NO 995 525 828 MVA", ContactFirstName: "Ingrid", ContactLastName: "Hansen",
			ContactEmail: "ingrid@nordictimber.example"}},
		{"neworg-forward.eml", "Baltic Bytes", NewOrgFields{
			CompanyName: "Baltic Bytes Sp. z o.o.", Street: "ul. Długa 5", Postcode: "80-827", City: "Gdańsk",
			Country: "Poland", VatID: "PL8567346215", ContactFirstName: "Marta", ContactLastName: "Kowalska",
			ContactEmail: "marta@balticbytes.example"}},
		{"neworg-german.eml", "Weber & Söhne KG", NewOrgFields{
			CompanyName: "Weber & Söhne KG", Street: "Marktplatz 4", Postcode: "1010", City: "Wien",
			Country: "Österreich", VatID: "ATU13585627", ContactFirstName: "Karl", ContactLastName: "Weber",
			ContactEmail: "k.weber@weber-soehne.example"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw, Options{})
			if m.Kind != KindNewOrganization || !m.IsNewOrgSubject || m.CustomerName != tc.name {
				t.Errorf("kind %s, new-org subject %v, customer %q; want new_organization for %q", m.Kind, m.IsNewOrgSubject, m.CustomerName, tc.name)
			}
			if diff := cmp.Diff(tc.want, m.NewOrg); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewOrgSubject: the new-organization subject with the connection
// subject's prefixes, tags and brackets; the connection subject is not one.
func TestNewOrgSubject(t *testing.T) {
	for _, tc := range []struct {
		subject, name string
		ok            bool
	}{
		{"Please create a new organization for customer Acme GmbH", "Acme GmbH", true},
		{"RE: [REQ-000042] please create new organisation for customer: «Acme GmbH»", "Acme GmbH", true},
		{"[EXTERNAL] Fwd: Please create a new organization for the customer 'Acme' [REQ-000001]", "Acme", true},
		{"Please establish reseller connection to customer Acme", "", false},
		{"Please create a new project for customer Acme", "", false},
	} {
		name, ok := parseNewOrgSubject(tc.subject, 200)
		if ok != tc.ok || name != tc.name {
			t.Errorf("%q: got %q %v, want %q %v", tc.subject, name, ok, tc.name, tc.ok)
		}
	}
}

// TestNewOrgLabels: label shapes and a label above its value; a reply's
// corrected fields alone.
func TestNewOrgLabels(t *testing.T) {
	got := extractFields([]string{
		"* Company Name *: Acme",
		"USt-IdNr:",
		"DE 136 695 976",
		"Contact e-mail | Jane <JANE@acme.example> |",
		"Nachname\tDoe",
		"Phone: 123",
		"Hello City Hall",
		"-- ",
		"Street: Partner Road 1",
	})
	want := NewOrgFields{CompanyName: "Acme", VatID: "DE 136 695 976", ContactEmail: "jane@acme.example", ContactLastName: "Doe"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = extractFields([]string{"Ansprechpartner: Anna Maria Brückner", "Kontakt: anna@acme.example"})
	want = NewOrgFields{ContactFirstName: "Anna Maria", ContactLastName: "Brückner", ContactEmail: "anna@acme.example"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("full name (-want +got):\n%s", diff)
	}
	f := NewOrgFields{CompanyName: "Acme", VatID: "bad"}
	f.Merge(NewOrgFields{VatID: "DE136695976"})
	if f.CompanyName != "Acme" || f.VatID != "DE136695976" {
		t.Errorf("merge: %+v", f)
	}
}
