package parser

import (
	"strings"
	"unicode"
)

// NewOrgFields are the labelled company and contact fields of a
// new-organization request, as the partner wrote them (sanitised, not
// checked: workflow checks them). The JSON keys are those of
// `requests show --json` (new_organization).
type NewOrgFields struct {
	CompanyName      string `json:"company_name,omitempty"`
	Street           string `json:"street,omitempty"`
	Postcode         string `json:"postcode,omitempty"`
	City             string `json:"city,omitempty"`
	Country          string `json:"country,omitempty"`
	VatID            string `json:"vat_id,omitempty"`
	ContactFirstName string `json:"contact_first_name,omitempty"`
	ContactLastName  string `json:"contact_last_name,omitempty"`
	ContactEmail     string `json:"contact_email,omitempty"`
}

// Empty reports whether no field was found.
func (f NewOrgFields) Empty() bool { return f == NewOrgFields{} }

// Field keys: NewOrgFields' JSON keys, in the order the fields are asked for.
const (
	FieldCompanyName      = "company_name"
	FieldStreet           = "street"
	FieldPostcode         = "postcode"
	FieldCity             = "city"
	FieldCountry          = "country"
	FieldVatID            = "vat_id"
	FieldContactFirstName = "contact_first_name"
	FieldContactLastName  = "contact_last_name"
	FieldContactEmail     = "contact_email"
)

// FieldKeys lists every field key in order.
var FieldKeys = []string{FieldCompanyName, FieldStreet, FieldPostcode, FieldCity, FieldCountry, FieldVatID,
	FieldContactFirstName, FieldContactLastName, FieldContactEmail}

// Ptr returns the field of key, nil for an unknown key.
func (f *NewOrgFields) Ptr(key string) *string {
	switch key {
	case FieldCompanyName:
		return &f.CompanyName
	case FieldStreet:
		return &f.Street
	case FieldPostcode:
		return &f.Postcode
	case FieldCity:
		return &f.City
	case FieldCountry:
		return &f.Country
	case FieldVatID:
		return &f.VatID
	case FieldContactFirstName:
		return &f.ContactFirstName
	case FieldContactLastName:
		return &f.ContactLastName
	case FieldContactEmail:
		return &f.ContactEmail
	}
	return nil
}

// Merge overwrites f's fields with the non-empty ones of g (a reply that
// gives only the corrected fields).
func (f *NewOrgFields) Merge(g NewOrgFields) {
	for _, k := range FieldKeys {
		if v := *g.Ptr(k); v != "" {
			*f.Ptr(k) = v
		}
	}
}

// fieldContactName is a contact's full name in one field ("Contact person:
// Anna Brückner"): its last word is the last name, the rest the first.
const fieldContactName = "contact_name"

// fieldLabels maps a label, as labelKey normalises it, to its field: the
// English and German labels real clients' forms and partners write.
var fieldLabels = map[string]string{}

func init() {
	for key, labels := range map[string][]string{
		FieldCompanyName: {"company name", "company", "name of the company", "organization name", "organisation name",
			"customer name", "legal name", "firmenname", "firma", "unternehmen", "unternehmensname", "name des unternehmens"},
		FieldStreet: {"street", "street and number", "street and house number", "street address", "street name and number",
			"street number", "address", "straße", "strasse", "straße und hausnummer", "strasse und hausnummer",
			"straße hausnummer", "straße nr", "adresse", "anschrift"},
		FieldPostcode: {"postcode", "post code", "postal code", "zip", "zip code", "zipcode", "plz", "postleitzahl"},
		FieldCity:     {"city", "town", "ort", "stadt"},
		FieldCountry:  {"country", "land", "country code", "ländercode"},
		FieldVatID: {"vat id", "vat", "vat number", "vat no", "vat reg no", "vat registration number", "vat id number",
			"ust idnr", "ust id nr", "ust id", "ustidnr", "ust idnummer", "umsatzsteuer id", "umsatzsteuer idnr",
			"umsatzsteuer identifikationsnummer", "mwst nr", "uid", "uid nummer"},
		FieldContactFirstName: {"first name", "firstname", "given name", "forename", "vorname"},
		FieldContactLastName:  {"last name", "lastname", "surname", "family name", "nachname", "familienname"},
		FieldContactEmail:     {"email", "e mail", "email address", "e mail address", "mail", "e mail adresse", "email adresse"},
		fieldContactName: {"contact person", "contact name", "contact", "full name", "ansprechpartner", "ansprechpartnerin",
			"kontaktperson", "kontakt", "name der kontaktperson"},
	} {
		for _, l := range labels {
			fieldLabels[labelKey(l)] = key
			if key == FieldContactFirstName || key == FieldContactLastName || key == FieldContactEmail {
				for _, p := range []string{"contact", "contact person", "kontakt", "ansprechpartner", "ansprechpartnerin", "admin", "administrator"} {
					fieldLabels[labelKey(p+" "+l)] = key
				}
			}
		}
	}
}

// labelKey is a label as fieldLabels holds it: lower case, letters and
// digits only, words separated by one space ("USt-IdNr." → "ust idnr").
func labelKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}

// splitLabel splits a "Label: value", "Label<TAB>value" (HTML and
// tab-separated tables) or "Label   value" (a plain two-column table) line
// into its field key and value. ok is false when the line does not start
// with a known label; a line that is only a label has an empty value.
func splitLabel(line string) (key, value string, ok bool) {
	t := strings.TrimSpace(line)
	t = strings.TrimLeft(t, "-*•·|> \t")
	if t == "" || len(t) > 1000 {
		return "", "", false
	}
	cut := len(t)
	for _, sep := range []string{":", "：", "\t", "  ", "|"} {
		if i := strings.Index(t, sep); i >= 0 && i < cut {
			cut = i
		}
	}
	label := t[:cut]
	if len(label) > 60 {
		return "", "", false
	}
	key, ok = fieldLabels[labelKey(label)]
	if !ok {
		return "", "", false
	}
	value = strings.TrimSpace(t[cut:])
	value = strings.TrimSpace(strings.TrimLeft(value, ":：|\t "))
	value = strings.TrimRight(value, "|\t ")
	return key, value, true
}

// extractFields reads the labelled new-organization fields from the new
// text of a mail, up to a signature delimiter. The first value of each field counts; a label alone on
// its line takes the next line that is not a label (table cells some
// clients break into lines, "Label:" above its value).
func extractFields(lines []string) NewOrgFields {
	var f NewOrgFields
	for i := 0; i < len(lines); i++ {
		if l := strings.TrimRight(lines[i], " \t"); l == "--" || l == "-- " {
			break // the sender's signature: its Address or E-Mail is the partner's
		}
		key, v, ok := splitLabel(lines[i])
		if !ok {
			continue
		}
		if v == "" {
			for j := i + 1; j < len(lines) && j <= i+2; j++ {
				if strings.TrimSpace(lines[j]) == "" {
					continue
				}
				if _, _, label := splitLabel(lines[j]); !label {
					v = strings.TrimSpace(lines[j])
					i = j
				}
				break
			}
		}
		if v == "" {
			continue
		}
		if key == fieldContactName {
			if emailRe.MatchString(v) { // "Contact: anna@example.com"
				key = FieldContactEmail
			} else {
				if w := strings.Fields(SanitizeText(v, 300)); len(w) >= 2 && f.ContactFirstName == "" && f.ContactLastName == "" {
					f.ContactFirstName, f.ContactLastName = strings.Join(w[:len(w)-1], " "), w[len(w)-1]
				}
				continue
			}
		}
		if key == FieldContactEmail {
			e := emailRe.FindString(v)
			if e == "" || len(e) > 254 {
				// Not an address: kept as written so the check can say so.
				e = v
			}
			v = strings.ToLower(e)
		}
		if p := f.Ptr(key); *p == "" {
			*p = SanitizeText(v, 300)
		}
	}
	return f
}
