package workflow

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/templates"
)

// New organizations (STACKIT Method 1, product.md "The other ways in" 1): a
// partner asks for a new organization for its customer and gives the
// company and contact fields. After the sender checks, the fields are
// checked (needs_info names each one; the partner's reply with the
// corrected fields resumes), then the directory is searched for the same
// VAT ID (rejected: organization_exists) and for similar names in the same
// country (warning similar_organization). Approval creates the organization
// as initializing with the contact as its administrator, records the link
// invited and invites the contact; accepting makes the organization active,
// declining or expiry deletes it.

// Finding codes of new-organization requests.
const (
	FindFieldMissing        = "field_missing"        // a field is missing (detail: the field)
	FindFieldInvalid        = "field_invalid"        // a field is not valid (detail: field, value, why)
	FindVatIDInvalid        = "vat_id_invalid"       // the VAT ID fails its country's syntax or check digit
	FindOrganizationExists  = "organization_exists"  // an organization with the VAT ID exists (detail: which, for ops only)
	FindSimilarOrganization = "similar_organization" // warning: an organization of a similar name in the same country
)

// NewOrgFields reads a request's stored new-organization fields.
func NewOrgFields(r store.Request) parser.NewOrgFields {
	var f parser.NewOrgFields
	if r.NewOrg != "" {
		_ = json.Unmarshal([]byte(r.NewOrg), &f) // written by us; a bad row reads as empty fields
	}
	return f
}

func newOrgJSON(f parser.NewOrgFields) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// maxFieldRunes caps each field (the directory's and the mails' limits).
var maxFieldRunes = map[string]int{
	parser.FieldCompanyName: 200, parser.FieldStreet: 200, parser.FieldPostcode: 12, parser.FieldCity: 100,
	parser.FieldCountry: 60, parser.FieldVatID: 30, parser.FieldContactFirstName: 100,
	parser.FieldContactLastName: 100, parser.FieldContactEmail: 254,
}

// postcodeRe is the postcode format per country; others take
// postcodeOther.
var postcodeRe = map[string]*regexp.Regexp{}

var postcodeOther = regexp.MustCompile(`^[A-Z0-9][A-Z0-9 -]{1,9}$`)

func init() {
	for re, ccs := range map[string][]string{
		`^\d{5}$`:                            {"DE", "FR", "IT", "ES", "FI", "EE", "HR", "LT", "MC"},
		`^\d{4}$`:                            {"AT", "CH", "BE", "DK", "NO", "HU", "LU", "SI", "CY", "BG", "LI"},
		`^\d{3} ?\d{2}$`:                     {"SE", "CZ", "SK", "GR"},
		`^\d{4} ?[A-Z]{2}$`:                  {"NL"},
		`^\d{2}-\d{3}$`:                      {"PL"},
		`^\d{4}-\d{3}$`:                      {"PT"},
		`^\d{6}$`:                            {"RO"},
		`^(?:LV-)?\d{4}$`:                    {"LV"},
		`^[A-Z]{3} ?\d{4}$`:                  {"MT"},
		`^[A-Z]\d[\dW] ?[A-Z\d]{4}$`:         {"IE"},
		`^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$`: {"GB"},
		`^\d{5}(?:-\d{4})?$`:                 {"US"},
		`^[A-Z]\d[A-Z] ?\d[A-Z]\d$`:          {"CA"},
	} {
		for _, cc := range ccs {
			postcodeRe[cc] = regexp.MustCompile(re)
		}
	}
}

// checkedFields is the result of checking a new organization's fields:
// the fields normalized where valid (as written where not), what the
// partner is to correct and the findings for ops.
type checkedFields struct {
	fields   parser.NewOrgFields
	problems []templates.FieldProblem
	findings []finding
}

// checkNewOrgFields checks every field: present, not too long, an e-mail
// address not of the partner, a country (ISO code or an English or German name), a postcode
// and a VAT ID of that country.
// partners reports whether an address is the partner's own: the contact
// person becomes the customer's administrator, so it must not be.
func checkNewOrgFields(in parser.NewOrgFields, locale string, partners func(addr string) bool) checkedFields {
	c := checkedFields{fields: in}
	f := &c.fields
	bad := func(key, value, problem, country, detail string) {
		c.problems = append(c.problems, templates.FieldProblem{Field: key, Value: value, Problem: problem, Country: country})
		code := FindFieldInvalid
		switch {
		case problem == "missing":
			code, detail = FindFieldMissing, key
		case key == parser.FieldVatID:
			code = FindVatIDInvalid
		}
		if problem != "missing" {
			detail = key + ": " + detail
		}
		c.findings = append(c.findings, finding{code, detail})
	}
	for _, k := range parser.FieldKeys {
		p := f.Ptr(k)
		*p = strings.TrimSpace(*p)
	}
	cc, countryOK := "", false
	if f.Country != "" {
		cc, countryOK = CountryCode(f.Country)
	}
	for _, k := range parser.FieldKeys {
		v := *f.Ptr(k)
		switch {
		case v == "":
			bad(k, "", "missing", "", "")
			continue
		case utf8.RuneCountInString(v) > maxFieldRunes[k]:
			bad(k, truncateString(v, 60)+"…", "too_long", "", fmt.Sprintf("%d characters, at most %d", utf8.RuneCountInString(v), maxFieldRunes[k]))
			continue
		}
		switch k {
		case parser.FieldContactEmail:
			switch {
			case CheckAddress(v) != nil:
				bad(k, v, "invalid_email", "", fmt.Sprintf("%q is not an e-mail address", v))
			case partners != nil && partners(v):
				bad(k, v, "partner_email", "", fmt.Sprintf("%s is the partner's own address, not the customer's", v))
			}
		case parser.FieldCountry:
			if !countryOK {
				bad(k, v, "unknown_country", "", fmt.Sprintf("%q is not an ISO 3166-1 country or its English or German name", v))
			} else {
				f.Country = cc
			}
		case parser.FieldPostcode:
			if !countryOK {
				continue
			}
			pc := strings.ToUpper(strings.Join(strings.Fields(v), " "))
			re := postcodeRe[cc]
			if re == nil {
				re = postcodeOther
			}
			if !re.MatchString(pc) {
				bad(k, v, "postcode_format", CountryName(cc, locale), fmt.Sprintf("%q is not a postcode of %s", v, cc))
			} else {
				f.Postcode = pc
			}
		case parser.FieldVatID:
			if !countryOK {
				continue
			}
			vat, err := NormalizeVAT(cc, v)
			switch {
			case errors.Is(err, errVATCheckDigit):
				bad(k, v, "vat_check_digit", CountryName(cc, locale), fmt.Sprintf("%q: the check digit does not match (%s)", v, cc))
			case errors.Is(err, errVATOtherCountry):
				bad(k, v, "vat_other_country", CountryName(cc, locale), fmt.Sprintf("%q is the VAT ID of another country than %s", v, cc))
			case err != nil:
				bad(k, v, "vat_format", CountryName(cc, locale), fmt.Sprintf("%q does not have the format of a VAT ID of %s", v, cc))
			default:
				f.VatID = vat
			}
		}
	}
	return c
}

// checkNewOrg runs the checks of a new-organization request after the
// sender checks: the fields, an organization with the same VAT ID, similar
// names in the same country. It stores the normalized fields in r.NewOrg.
func (tx *txn) checkNewOrg(r *store.Request, partner *store.Partner, auth parser.AuthResult) (decision, error) {
	senderWarnings := warnings(warningInput{auth: &auth})
	c := checkNewOrgFields(NewOrgFields(*r), partner.Locale, func(addr string) bool {
		return belongsToPartner(addr, r.Sender, *partner)
	})
	r.NewOrg = newOrgJSON(c.fields)
	if len(c.problems) > 0 {
		return decision{state: store.StateNeedsInfo, mail: templates.KindNewOrgNeedsInfo,
			findings: append(c.findings, senderWarnings...), data: templates.Data{Fields: c.problems}}, nil
	}
	f := c.fields
	existing, err := tx.OrganizationByVatID(f.VatID)
	switch {
	case err == nil:
		// The existing organization's ID and name are for ops only: the
		// partner is told to ask the customer for the Organization ID.
		return decision{state: store.StateRejected, mail: templates.KindOrganizationExists,
			findings: append([]finding{{FindOrganizationExists, fmt.Sprintf("organization %s (%s, %s) has VAT ID %s",
				existing.ID, existing.Name, existing.Status, f.VatID)}}, senderWarnings...)}, nil
	case !errors.Is(err, store.ErrNotFound):
		return decision{}, err
	}
	ws := senderWarnings
	similar, err := tx.similarOrganizations(f.CompanyName, f.Country)
	if err != nil {
		return decision{}, err
	}
	if len(similar) > 0 {
		var cands []string
		for _, o := range similar {
			cands = append(cands, fmt.Sprintf("%s (%s, %s, %s)", o.Name, o.ID, o.Country, o.Status))
		}
		ws = append(ws, finding{FindSimilarOrganization, fmt.Sprintf("%q is similar to %s", f.CompanyName, strings.Join(cands, "; "))})
	}
	return decision{state: store.StatePendingApproval, mail: templates.KindRequestReceived, findings: ws}, nil
}

// similarOrganizations returns up to three organizations of the country
// whose names are like name (SameName, or a few letters apart).
func (tx *txn) similarOrganizations(name, country string) ([]store.Organization, error) {
	os, err := tx.OrganizationsInCountry(country, 5000)
	if err != nil {
		return nil, err
	}
	var out []store.Organization
	for _, o := range os {
		if similarName(name, o.Name) {
			out = append(out, o)
			if len(out) == 3 {
				break
			}
		}
	}
	return out, nil
}

// similarName: the same name without case, accents, punctuation and legal
// forms (SameName), one name the other's start, or at most one letter in
// eight apart.
func similarName(a, b string) bool {
	ka, kb := nameKey(a), nameKey(b)
	if ka == "" || kb == "" {
		return false
	}
	if ka == kb || strings.HasPrefix(ka, kb+" ") || strings.HasPrefix(kb, ka+" ") {
		return true
	}
	ra, rb := []rune(ka), []rune(kb)
	return editDistance(ra, rb) <= max(1, min(len(ra), len(rb))/8)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// newOrgFieldCodes are the findings a new-organization check decides on;
// a check of a reply replaces them.
var newOrgFieldCodes = []string{FindFieldMissing, FindFieldInvalid, FindVatIDInvalid}

// replyNewOrg resumes a new-organization request that waits for fields:
// the reply's labelled fields replace the stored ones, and the checks run
// again. A reply without any field is recorded only.
func (tx *txn) replyNewOrg(r *store.Request, partner *store.Partner, m *store.Message, p *parser.Mail, actor string) error {
	if p.NewOrg.Empty() {
		m.Detail = "reply on " + r.Reference() + " without any labelled field: recorded"
		return tx.audit(r.ID, nil, actor, r.State, r.State, "reply without any labelled field")
	}
	f := NewOrgFields(*r)
	f.Merge(p.NewOrg)
	r.NewOrg = newOrgJSON(f)
	d, err := tx.checkNewOrg(r, partner, p.Auth)
	if err != nil {
		return err
	}
	for _, code := range newOrgFieldCodes {
		if err := tx.DeleteFindings(r.ID, code); err != nil {
			return err
		}
	}
	set := map[string]any{"new_org": r.NewOrg}
	if d.state == store.StateNeedsInfo {
		err = tx.SetRequestColumns(r.ID, store.StateNeedsInfo, set)
	} else {
		err = tx.moveRequest(r.ID, store.StateNeedsInfo, d.state, set)
	}
	if err != nil {
		return err
	}
	from, err := tx.resumed(r, m, d)
	if err != nil {
		return err
	}
	var given []string
	for _, k := range parser.FieldKeys {
		if *p.NewOrg.Ptr(k) != "" {
			given = append(given, k)
		}
	}
	reason := "fields received in reply: " + strings.Join(given, ", ")
	if d.state != store.StatePendingApproval && len(d.findings) > 0 {
		reason += "; " + d.findings[0].code
	}
	if err := tx.audit(r.ID, nil, actor, from, d.state, reason); err != nil {
		return err
	}
	if err := tx.answerPartner(r, partner, d.mail, d.data, p); err != nil {
		return err
	}
	if d.state == store.StatePendingApproval && !tx.s.external() && tx.autoApprovable(partner, p.Auth, d) { // as in newRequest
		return tx.approve(r.ID, "system", "approved automatically: trusted partner, no warnings", "")
	}
	return nil
}

// OrganizationCreator is a Directory that creates organizations (the HTTP
// directory). key makes the call idempotent: the same key creates one
// organization however often it is sent. The organization returned has the
// directory's ID.
type OrganizationCreator interface {
	CreateOrganization(ctx context.Context, o store.Organization, key string) (store.Organization, error)
}

// newOrganization is the organization a request's fields describe, without
// an ID yet, initializing, its contact the administrator.
func newOrganization(r store.Request, partner store.Partner) store.Organization {
	f := NewOrgFields(r)
	return store.Organization{Name: f.CompanyName, Status: store.OrgInitializing,
		AdminName:  strings.TrimSpace(f.ContactFirstName + " " + f.ContactLastName),
		AdminEmail: strings.ToLower(f.ContactEmail), Country: f.Country,
		Locale: countryLocale(f.Country, partner.Locale), VatID: f.VatID}
}

// IdempotencyKey is the key a request's organization is created with in
// the HTTP directory: a retry, or a second ops user's approval, cannot
// create a second one.
func IdempotencyKey(r store.Request) string { return "onboarder-new-org-" + r.Reference() }

// createInDirectory creates the organization of a new-organization request
// in the HTTP directory before the approval's transaction (no network I/O
// inside one), unless this approval is only the first of two. nil when
// there is nothing to create.
func (s *Service) createInDirectory(ctx context.Context, requestID int64) (*store.Organization, error) {
	if !s.external() {
		return nil, nil
	}
	q := s.st.Q(ctx)
	r, err := q.Request(requestID)
	if err != nil || r.Kind != store.KindNewOrganization || r.OrganizationID != nil ||
		r.State != store.StatePendingApproval || r.PartnerID == nil {
		return nil, err
	}
	fs, err := q.Findings(r.ID)
	if err != nil {
		return nil, err
	}
	if len(s.fourEyesOf(fs)) > 0 {
		as, err := q.ApprovalsFor([]int64{r.ID})
		if err != nil {
			return nil, err
		}
		if len(as[r.ID]) == 0 {
			return nil, nil // the first of two approvals creates nothing
		}
	}
	creator, ok := s.opts.Directory.(OrganizationCreator)
	if !ok {
		return nil, stateErr("%s asks for a new organization, and the organization directory cannot create one", r.Reference())
	}
	partner, err := q.Partner(*r.PartnerID)
	if err != nil {
		return nil, err
	}
	if err := vatTaken(q, r); err != nil {
		return nil, err
	}
	o, err := creator.CreateOrganization(ctx, newOrganization(r, partner), IdempotencyKey(r))
	if err != nil {
		return nil, fmt.Errorf("creating the organization of %s in the directory: %w: try again when it answers", r.Reference(), err)
	}
	return &o, nil
}

// createOrganization records the organization of a new-organization request
// as initializing, in the database directory or (created before the
// transaction) as the HTTP directory's snapshot, and sets it on r.
func (tx *txn) createOrganization(r *store.Request, partner store.Partner, actor string) error {
	if err := Organizations.Allows("", store.OrgInitializing); err != nil {
		return err
	}
	o := newOrganization(*r, partner)
	if tx.s.external() {
		if tx.created == nil {
			return stateErr("%s: the organization was not created in the directory", r.Reference())
		}
		c := *tx.created
		o.ID, o.Status = c.ID, store.OrgInitializing
		if c.Name != "" {
			o.Name = c.Name
		}
		if err := tx.UpsertOrganization(&o); err != nil {
			return err
		}
	} else {
		if err := vatTaken(tx.Q, *r); err != nil {
			return err
		}
		id, err := newUUID()
		if err != nil {
			return err
		}
		o.ID = id
		if err := tx.CreateOrganization(&o); err != nil {
			return err
		}
	}
	if err := tx.SetRequestColumns(r.ID, r.State, map[string]any{"organization_id": o.ID}); err != nil {
		return err
	}
	r.OrganizationID = &o.ID
	if err := tx.auditSubject(orgSubject(o.ID), actor, "", store.OrgInitializing, fmt.Sprintf(
		"%s %s created for %s: administrator %s, country %s, VAT ID %s", orgSubject(o.ID), o.Name, r.Reference(),
		o.AdminEmail, o.Country, o.VatID)); err != nil {
		return err
	}
	return tx.audit(r.ID, nil, actor, r.State, r.State, fmt.Sprintf("organization %s created in the directory as initializing", o.ID))
}

// settleNewOrganization moves the organization a new-organization request
// created when its invitation is answered: active on accept, deleted on
// decline or expiry. Any other organization is left alone.
func (tx *txn) settleNewOrganization(r store.Request, to, actor, why string) error {
	if r.Kind != store.KindNewOrganization || r.OrganizationID == nil {
		return nil
	}
	org, err := tx.Organization(*r.OrganizationID)
	if err != nil || org.Status != store.OrgInitializing {
		return err
	}
	if err := Organizations.Allows(store.OrgInitializing, to); err != nil {
		return err
	}
	if err := tx.SetOrganizationStatus(org.ID, store.OrgInitializing, to); err != nil {
		return err
	}
	return tx.auditSubject(orgSubject(org.ID), actor, store.OrgInitializing, to,
		fmt.Sprintf("%s %s: %s (%s)", orgSubject(org.ID), to, why, r.Reference()))
}

// vatTaken refuses to create a second organization with a VAT ID, one
// created since the request was checked (another partner's request, say).
func vatTaken(q *store.Q, r store.Request) error {
	vat := NewOrgFields(r).VatID
	o, err := q.OrganizationByVatID(vat)
	switch {
	case err == nil:
		return stateErr("%s: organization %s (%s) has the VAT ID %s since the request was checked: reject the request",
			r.Reference(), o.ID, o.Name, vat)
	case errors.Is(err, store.ErrNotFound):
		return nil
	}
	return err
}

// newUUID makes a random (version 4) UUID for an organization.
func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making an organization ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// NewOrgRow is one field of a new-organization request as the console
// shows it: its label, the value and, when a check failed, why.
type NewOrgRow struct{ Key, Label, Value, Problem string }

// fieldLabels are the console's names of the fields.
var fieldLabels = map[string]string{
	parser.FieldCompanyName: "Company name", parser.FieldStreet: "Street", parser.FieldPostcode: "Postcode",
	parser.FieldCity: "City", parser.FieldCountry: "Country", parser.FieldVatID: "VAT ID",
	parser.FieldContactFirstName: "Contact first name", parser.FieldContactLastName: "Contact last name",
	parser.FieldContactEmail: "Contact email",
}

// NewOrgRows lists a new-organization request's fields with the problems
// its findings name; nil for other kinds.
func (v RequestView) NewOrgRows() []NewOrgRow {
	if v.Request.Kind != store.KindNewOrganization {
		return nil
	}
	f := NewOrgFields(v.Request)
	var rows []NewOrgRow
	for _, k := range parser.FieldKeys {
		row := NewOrgRow{Key: k, Label: fieldLabels[k], Value: *f.Ptr(k)}
		for _, x := range v.Findings {
			switch {
			case x.Code == FindFieldMissing && x.Detail == k:
				row.Problem = "missing"
			case (x.Code == FindFieldInvalid || x.Code == FindVatIDInvalid) && strings.HasPrefix(x.Detail, k+": "):
				row.Problem = strings.TrimPrefix(x.Detail, k+": ")
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// SimilarOrganizations are the similar_organization warnings' candidates.
func (v RequestView) SimilarOrganizations() []string {
	var out []string
	for _, x := range v.Findings {
		if x.Code == FindSimilarOrganization {
			out = append(out, x.Detail)
		}
	}
	return out
}
