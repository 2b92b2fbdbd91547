package parser

import (
	"strings"
	"testing"
)

func TestCustomerFirstSubject(t *testing.T) {
	const cs = "Please connect our organization to reseller "
	tests := []struct {
		subject, partner string
		ok               bool
	}{
		{cs + "MPN-1234", "MPN-1234", true},
		{"Re: AW: [EXTERNAL] " + cs + "Example Partner AG [REQ-000012]", "Example Partner AG", true},
		{"please CONNECT our organisation to reseller «Acme Cloud»", "Acme Cloud", true},
		{cs + `"Acme"`, "Acme", true},
		{"=?UTF-8?B?" + "UGxlYXNlIGNvbm5lY3Qgb3VyIG9yZ2FuaXphdGlvbiB0byByZXNlbGxlciBCw6RyIEdtYkg=" + "?=", "Bär GmbH", true},
		{"Please establish reseller connection to customer Acme", "", false},
		{"Automatic reply: " + cs + "Acme", "", false},
	}
	for _, tt := range tests {
		raw := "From: admin@customer.example\r\nMessage-ID: <a@b>\r\nSubject: " + tt.subject + "\r\n\r\nOrganization ID: 3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53\r\n"
		m := Parse([]byte(raw), Options{})
		if m.CustomerFirst != tt.ok || m.PartnerNamed != tt.partner {
			t.Errorf("%q: CustomerFirst %v PartnerNamed %q, want %v %q", tt.subject, m.CustomerFirst, m.PartnerNamed, tt.ok, tt.partner)
		}
		if tt.ok && (m.Kind != KindRequest || m.CustomerName != "" || m.OrgIDStatus != OrgIDFound) {
			t.Errorf("%q: kind %s, customer %q, org %s: want a request with its Organization ID", tt.subject, m.Kind, m.CustomerName, m.OrgIDStatus)
		}
	}
}

func TestResellerIDLabel(t *testing.T) {
	const head = "From: sales@distributor.example\r\nMessage-ID: <a@b>\r\nSubject: Please establish reseller connection to customer Acme\r\n"
	tests := []struct{ name, raw, want string }{
		{"plain", head + "\r\nOrganization ID: 3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53\r\nReseller ID: RES-42\r\n", "RES-42"},
		{"german, bold", head + "\r\n**Wiederverkäufer-ID:** RES-7\r\n", "RES-7"},
		{"html table", head + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
			"<table><tr><td>Organization ID</td><td>3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53</td></tr>" +
			"<tr><td>Reseller ID</td><td>RES-99</td></tr></table>", "RES-99"},
		{"html line", head + "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello,</p><p><b>Reseller ID:</b> RES-5</p>", "RES-5"},
		{"quoted only", head + "\r\nThanks.\r\n\r\nOn Monday someone wrote:\r\n> Reseller ID: RES-1\r\n", ""},
		{"none", head + "\r\nOrganization ID: 3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53\r\n", ""},
	}
	for _, tt := range tests {
		m := Parse([]byte(tt.raw), Options{})
		if m.ResellerRef != tt.want {
			t.Errorf("%s: ResellerRef %q, want %q (text %q)", tt.name, m.ResellerRef, tt.want, strings.TrimSpace(m.Text))
		}
	}
}

func TestResellerIDNotProse(t *testing.T) {
	raw := "From: a@b.example\r\nSubject: Please establish reseller connection to customer Acme\r\n\r\nReseller connection wanted\r\nreseller ids differ\r\n"
	if m := Parse([]byte(raw), Options{}); m.ResellerRef != "" {
		t.Errorf("ResellerRef %q from prose", m.ResellerRef)
	}
}
