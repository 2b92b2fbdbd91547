package templates

// Start-up checks: the sample data every template is test-rendered with,
// and the field names a template may use.

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/template/parse"
	"time"
)

// samples returns the data Load test-renders every template with: every
// audience, reason code and problem, a full value set and an empty one.
func samples() []Data {
	full := fullSample()
	var out []Data
	for _, aud := range []string{AudiencePartner, AudienceAdmin} {
		for _, code := range []string{"unknown_organization", "organization_inactive", "ops", "ended", "no_link", "duplicate", "other"} {
			for _, problem := range []string{"missing", "ambiguous", "malformed", "other"} {
				d := full
				d.Audience, d.ReasonCode, d.Problem = aud, code, problem
				d.EndedBy = []string{"partner", "customer", "ops", "system"}[len(out)%4]
				out = append(out, d)
			}
		}
		out = append(out, Data{Audience: aud, Reference: "REQ-000001"})
		cf := full
		cf.Audience, cf.CustomerFirst, cf.DistributorName = aud, true, ""
		out = append(out, cf)
		// request_too_large answers a mail that made no request.
		out = append(out, Data{Audience: aud, PartnerName: full.PartnerName, Mailbox: full.Mailbox,
			MessageSize: 13002342, SizeLimit: 10 << 20})
	}
	for _, state := range sampleStates {
		for _, refused := range []bool{false, true} {
			d := full
			d.Audience, d.State, d.CancelRefused = AudiencePartner, state, refused
			out = append(out, d)
		}
	}
	empty := full
	empty.Audience, empty.Digest = AudiencePartner, &Digest{}
	return append(out, empty)
}

// fullSample is one request with every value set: what a snippet is
// executed with alone, to name the file an HTML context error comes from.
func fullSample() Data {
	return Data{
		Reference:         "REQ-000123",
		ThreadSubject:     "Re: Please establish reseller connection to customer Example GmbH [REQ-000123]",
		PartnerName:       "Example Partner AG",
		PartnerRef:        "MPN-1234567",
		RecipientName:     "Alex Example",
		CustomerName:      "Example GmbH",
		OrganizationID:    "3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53",
		OrganizationName:  "Example GmbH",
		AdminName:         "Kim Admin",
		AdminEmail:        "kim.admin@example.com",
		Reason:            "Sample reason.\nSecond line.",
		ExistingReference: "REQ-000100",
		Candidates:        []string{"3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53", "0b8e1f7c-2a3d-4c5e-9f6a-7b8c9d0e1f2a"},
		Message:           "Sample message.\nSecond line.",
		Note:              "Sample note.",
		InviteURL:         "https://onboarder.example.com/invitations/sample-token",
		ExpiresAt:         time.Date(2026, time.March, 14, 10, 0, 0, 0, time.UTC),
		Mailbox:           "partners@example.com",
		State:             "invited",
		StateAt:           time.Date(2026, time.February, 28, 10, 0, 0, 0, time.UTC),
		Digest:            sampleDigest(),
		Fields: []FieldProblem{{Field: "company_name", Problem: "missing"}, {Field: "street", Value: "x", Problem: "too_long"},
			{Field: "contact_email", Value: "jane at example", Problem: "invalid_email"},
			{Field: "contact_email", Value: "sales@partner.example", Problem: "partner_email"},
			{Field: "country", Value: "Atlantis", Problem: "unknown_country"},
			{Field: "postcode", Value: "1", Problem: "postcode_format", Country: "Germany"},
			{Field: "vat_id", Value: "DE1", Problem: "vat_format", Country: "Germany"},
			{Field: "vat_id", Value: "DE136695977", Problem: "vat_check_digit", Country: "Germany"},
			{Field: "vat_id", Value: "ATU13585627", Problem: "vat_other_country", Country: "Germany"},
			{Field: "city", Problem: "other"}, {Field: "postcode", Problem: "missing"}, {Field: "city", Problem: "missing"},
			{Field: "vat_id", Problem: "missing"}, {Field: "contact_first_name", Problem: "missing"},
			{Field: "contact_last_name", Problem: "missing"}, {Field: "other", Problem: "missing"}},
		DistributorName: "Example Distribution GmbH",
		ManageURL:       "https://onboarder.example.com/manage/sample-token",
		EndsAt:          time.Date(2026, time.June, 30, 0, 0, 0, 0, time.UTC),
		DaysLeft:        7,
	}
}

// sampleStates are the request states request_status explains, and one it
// does not know.
var sampleStates = []string{"needs_info", "pending_partner", "pending_reseller", "pending_approval", "invited",
	"completed", "declined", "expired", "rejected", "cancelled", "duplicate", "other"}

// sampleDigest is an ops digest with one row in every list.
func sampleDigest() *Digest {
	at := time.Date(2026, time.March, 1, 8, 0, 0, 0, time.UTC)
	return &Digest{
		Requests: []DigestRequest{{Reference: "REQ-000123", State: "pending_approval", Partner: "Example Partner AG",
			Customer: "Example GmbH", Since: at, AgeDays: 3, URL: "https://onboarder.example.com/ops/requests/123"}},
		MoreRequests: 2,
		Mails: []DigestMail{{ID: 7, Kind: "request_received", Status: "held", To: "sales@partner.example",
			Error: "held: answer limit", Reference: "REQ-000123", URL: "https://onboarder.example.com/ops/requests/123"}},
		MoreMails:   1,
		Links:       []DigestLink{{ID: 9, Partner: "Example Partner AG", Organization: "Example GmbH", EndsAt: at}},
		LinksWithin: 30,
		Fraud: []DigestFraud{{ID: 4, Organization: "Example GmbH", Partner: "Example Partner AG",
			Reference: "REQ-000100", URL: "https://onboarder.example.com/ops/requests/100", ReportedAt: at}},
		MoreFraud: 1,
	}
}

// allowedNames collects every field and method name reachable from view, so
// that a misspelt field is found even in a branch the samples never execute.
func allowedNames() map[string]bool {
	names := map[string]bool{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		if t == nil || seen[t] || depth > 6 { // view → Data → *Digest → Digest → []T → T
			return
		}
		seen[t] = true
		for _, tt := range []reflect.Type{t, reflect.PointerTo(t)} {
			for i := 0; i < tt.NumMethod(); i++ {
				m := tt.Method(i)
				names[m.Name] = true
				for j := 0; j < m.Type.NumOut(); j++ {
					walk(m.Type.Out(j), depth+1)
				}
			}
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem(), depth+1)
		case reflect.Struct:
			for _, f := range reflect.VisibleFields(t) {
				if f.IsExported() {
					names[f.Name] = true
					walk(f.Type, depth+1)
				}
			}
		}
	}
	walk(reflect.TypeOf(view{}), 0)
	return names
}

// checkFields reports the first field name in tree that no reachable type has.
func checkFields(tree *parse.Tree, allowed map[string]bool) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	var bad parse.Node
	var badName string
	check := func(n parse.Node, idents []string) {
		if bad != nil {
			return
		}
		for _, id := range idents {
			if !allowed[id] {
				bad, badName = n, id
				return
			}
		}
	}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if n == nil || bad != nil {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			check(n, n.Ident)
		case *parse.ChainNode:
			walk(n.Node)
			check(n, n.Field)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				check(n, n.Ident[1:])
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(tree.Root)
	if bad != nil {
		loc, _ := tree.ErrorContext(bad)
		return fmt.Errorf("template: %s: unknown field %q (known fields: %s)", loc, badName, strings.Join(dataFields(), ", "))
	}
	return nil
}

// dataFields lists the fields a template may name, for error messages.
func dataFields() []string {
	var out []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(view{})) {
		if f.IsExported() && !f.Anonymous {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}
