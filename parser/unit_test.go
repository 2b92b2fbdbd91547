package parser

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestRequestSubject(t *testing.T) {
	const rs = "Please establish reseller connection to customer "
	tests := []struct {
		subject string
		name    string
		ok      bool
		tag     string
	}{
		{rs + "Acme", "Acme", true, ""},
		{"please ESTABLISH reseller   connection to CUSTOMER Acme", "Acme", true, ""},
		{"Re: " + rs + "Acme", "Acme", true, ""},
		{"RE: " + rs + "Acme", "Acme", true, ""},
		{"Fwd: " + rs + "Acme", "Acme", true, ""},
		{"FW: " + rs + "Acme", "Acme", true, ""},
		{"Fw: " + rs + "Acme", "Acme", true, ""},
		{"AW: " + rs + "Acme", "Acme", true, ""},
		{"WG: " + rs + "Acme", "Acme", true, ""},
		{"SV: " + rs + "Acme", "Acme", true, ""},
		{"VS: " + rs + "Acme", "Acme", true, ""},
		{"Antw: " + rs + "Acme", "Acme", true, ""},
		{"TR: " + rs + "Acme", "Acme", true, ""},
		{"Re[2]: " + rs + "Acme", "Acme", true, ""},
		{"Re(3): " + rs + "Acme", "Acme", true, ""},
		{"Re : " + rs + "Acme", "Acme", true, ""},
		{"Re: Re: RE: Fwd: AW: " + rs + "Acme", "Acme", true, ""},
		{"[EXTERNAL] " + rs + "Acme", "Acme", true, ""},
		{"Re: [EXTERNAL] Fwd: [Ext] " + rs + "Acme", "Acme", true, ""},
		{"*EXTERNAL* " + rs + "Acme", "Acme", true, ""},
		{"EXTERNAL: " + rs + "Acme", "Acme", true, ""},
		{"Re: [REQ-000123] " + rs + "Acme", "Acme", true, "REQ-000123"},
		{rs + "[Acme GmbH]", "Acme GmbH", true, ""},
		{rs + `"Acme GmbH"`, "Acme GmbH", true, ""},
		{rs + "«Acme GmbH»", "Acme GmbH", true, ""},
		{rs + "“Acme GmbH”", "Acme GmbH", true, ""},
		{rs + "„Acme GmbH“", "Acme GmbH", true, ""},
		{rs + "[Acme] [REQ-000042]", "Acme", true, "REQ-000042"},
		{"Re: " + rs + "Stark Industries Ltd [REQ-000003]", "Stark Industries Ltd", true, "REQ-000003"},
		{rs + "Acme [req-7]", "Acme", true, "REQ-7"},
		{rs + "[Acme] & [Beta]", "[Acme] & [Beta]", true, ""},
		{rs + "[[Acme]]", "[[Acme]]", true, ""},
		{rs + `"Acme "Inc""`, `"Acme "Inc""`, true, ""},
		{rs + "Acme\r\nBcc: x@evil", "Acme Bcc: x@evil", true, ""},
		{rs + "<script>alert(1)</script>", "<script>alert(1)</script>", true, ""},
		{rs + "\u202eAcme\u202c", "Acme", true, ""},
		{rs + strings.Repeat("é", 500), strings.Repeat("é", 200), true, ""},
		{"Please establish reseller connection to customer", "", true, ""},
		{"Please establish reseller connection to customer: Acme", "Acme", true, ""},
		{"Automatic reply: " + rs + "Acme", "", false, ""},
		{"Your invoice", "", false, ""},
		{"Question: " + rs + "Acme", "", false, ""},
		{"Please establish reseller connections to customer Acme", "", false, ""},
		{"Please establish reseller connection to customers Acme", "", false, ""},
		{"", "", false, ""},
	}
	for _, tt := range tests {
		name, ok := parseRequestSubject(tt.subject, 200)
		if name != tt.name || ok != tt.ok {
			t.Errorf("parseRequestSubject(%q) = %q, %v; want %q, %v", tt.subject, name, ok, tt.name, tt.ok)
		}
		if tag := findRequestTag(tt.subject); tag != tt.tag {
			t.Errorf("findRequestTag(%q) = %q, want %q", tt.subject, tag, tt.tag)
		}
	}
}

// TestEndSubject: the end subject takes the request subject's prefixes,
// brackets and tags, and is never taken for a request.
func TestEndSubject(t *testing.T) {
	const es = "Please end reseller connection to customer "
	tests := []struct {
		subject string
		name    string
		ok      bool
	}{
		{es + "Acme", "Acme", true},
		{"please END the reseller connection to CUSTOMER Acme", "Acme", true},
		{"Re: AW: [EXTERNAL] Fwd: " + es + "„Acme GmbH“ [REQ-000001]", "Acme GmbH", true},
		{es + "[Acme] [REQ-000042]", "Acme", true},
		{es + "Acme\r\nBcc: x@evil", "Acme Bcc: x@evil", true},
		{"Please end reseller connection to customer: Acme", "Acme", true},
		{"Please establish reseller connection to customer Acme", "", false},
		{"Please end reseller connections to customer Acme", "", false},
		{"Question: " + es + "Acme", "", false},
	}
	for _, tt := range tests {
		name, ok := parseEndSubject(tt.subject, 200)
		if name != tt.name || ok != tt.ok {
			t.Errorf("parseEndSubject(%q) = %q, %v; want %q, %v", tt.subject, name, ok, tt.name, tt.ok)
		}
		if _, req := parseRequestSubject(tt.subject, 200); req && ok {
			t.Errorf("%q taken for a request subject", tt.subject)
		}
	}
	raw := "From: a@p.example\r\nSubject: =?utf-8?q?Re=3A_Please_end_reseller_connection_to_customer_M=C3=BCller?=\r\n" +
		"Message-ID: <e1@p.example>\r\n\r\nOrganization ID: 3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53\r\n"
	m := Parse([]byte(raw), Options{})
	if m.Kind != KindEndLink || !m.IsEndSubject || m.CustomerName != "Müller" || m.OrgID != "3f2b8c1e-9d4a-4e7b-8a6c-2b1d0e9f7a53" {
		t.Errorf("Parse: kind %s, end %v, name %q, org %q", m.Kind, m.IsEndSubject, m.CustomerName, m.OrgID)
	}
}

func TestStripSubjectPrefixes(t *testing.T) {
	tests := map[string]string{
		"Re: Hello": "Hello",
		"RE: FW: Fwd: AW: WG: SV: VS: Antw: TR: Hi": "Hi",
		"Re[2]: Re^3: Hi":                "Hi",
		"[EXTERNAL] Re: [REQ-000001] Hi": "Hi",
		"  Re:Re:Hi  ":                   "Hi",
		"Hi [REQ-000001]":                "Hi [REQ-000001]",
		"Report: Re: x":                  "Report: Re: x",
		"Rechnung":                       "Rechnung",
		"":                               "",
	}
	for in, want := range tests {
		if got := StripSubjectPrefixes(in); got != want {
			t.Errorf("StripSubjectPrefixes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasForwardPrefix(t *testing.T) {
	for s, want := range map[string]bool{
		"Fwd: x": true, "FW: x": true, "WG: x": true, "TR: x": true, "Re: Fwd: x": true,
		"[EXT] FW: x": true, "Re: x": false, "AW: x": false, "x": false, "Fwdx: y": false,
	} {
		if got := hasForwardPrefix(s); got != want {
			t.Errorf("hasForwardPrefix(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCanonicalUUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{idA, idA, true},
		{strings.ToUpper(idA), idA, true},
		{"{" + idA + "}", idA, true},
		{"{" + strings.ToUpper(idA) + "}", idA, true},
		{"urn:uuid:" + idA, idA, true},
		{"URN:UUID:" + strings.ToUpper(idA), idA, true},
		{"  " + idA + "  ", idA, true},
		{strings.ReplaceAll(idA, "-", ""), idA, true},
		{"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000", true},
		{"3f1c2a9e-6b7d-0c1e-0a2b-5d8e7f6a1b2c", "3f1c2a9e-6b7d-0c1e-0a2b-5d8e7f6a1b2c", true}, // no version bits required
		{idA[:35], "", false},
		{idA + "0", "", false},
		{"3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2g", "", false},
		{"3f1c2a9e_6b7d_4c1e_9a2b_5d8e7f6a1b2c", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalUUID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalUUID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSanitizeText(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  Acme  GmbH ", 0, "Acme GmbH"},
		{"A\r\nB\tC\nD", 0, "A B C D"},
		{"A\x00B\x07C\x1b[31mD", 0, "ABC[31mD"},
		{"A\u0085B\u009bC", 0, "A BC"},
		{"\u202aA\u202bB\u202cC\u202dD\u202eE\u2066F\u2067G\u2068H\u2069I", 0, "ABCDEFGHI"},
		{"Zero\u200bWidth\ufeff", 0, "ZeroWidth"},
		{"line\u2028sep", 0, "line sep"},
		{"bad \xff\xfe utf8", 0, "bad \ufffd\ufffd utf8"},
		{"<b>bold</b>", 0, "<b>bold</b>"},
		{"äöüäöü", 3, "äöü"},
		{"ab cd", 3, "ab"},
		{"ab cd", 4, "ab c"},
		{"", 5, ""},
	}
	for _, tt := range tests {
		got := SanitizeText(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("SanitizeText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("SanitizeText(%q) not valid UTF-8", tt.in)
		}
		if tt.max > 0 && utf8.RuneCountInString(got) > tt.max {
			t.Errorf("SanitizeText(%q, %d) has %d runes", tt.in, tt.max, utf8.RuneCountInString(got))
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<p>a</p><p>b</p>`, "a\n\nb"},
		{`<div>a<br>b</div>`, "a\nb"},
		{`<table><tr><td>Organization ID</td><td>X</td></tr><tr><td>Name</td><td>Y</td></tr></table>`, "Organization ID\tX\nName\tY"},
		{`<html><head><title>T</title><style>p{}</style></head><body>x<script>var y=1;</script></body></html>`, "x"},
		{`<head><meta charset="utf-8"><body>text after unclosed head`, "text after unclosed head"},
		{`a &amp; b &lt;c&gt; &uuml;`, "a & b <c> ü"},
		{`new<blockquote>old<blockquote>older</blockquote></blockquote>after`, "new\n> old\n> older\nafter"},
		{"<pre>a\n  b</pre>", "a\n  b"},
		{"a   \n  b", "a b"},
	}
	for _, tt := range tests {
		if got := htmlToText(tt.in); got != tt.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		fwd        bool
		wantFresh  string
		wantQuoted string
	}{
		{"gt quotes", "new\n> old\n>> older\nnew2", false, "new\nnew2", "> old\n>> older"},
		{"on wrote", "new\nOn Mon, 1 Jan 2026, X <x@y> wrote:\n> old", false, "new", "On Mon, 1 Jan 2026, X <x@y> wrote:\n> old"},
		{"am schrieb", "neu\nAm 16.11.2026 um 10:00 schrieb X <x@y>:\n> alt", false, "neu", "Am 16.11.2026 um 10:00 schrieb X <x@y>:\n> alt"},
		{"outlook block", "new\n\nFrom: X\nSent: Monday\nTo: Y\n\nold", false, "new\n", "From: X\nSent: Monday\nTo: Y\n\nold"},
		{"outlook block de", "neu\nVon: X\nGesendet: Montag\nAn: Y\nalt", false, "neu", "Von: X\nGesendet: Montag\nAn: Y\nalt"},
		{"outlook block forwarded", "fyi\nFrom: X\nSent: Monday\nTo: Y\n\nforwarded body", true, "fyi\nFrom: X\nSent: Monday\nTo: Y\n\nforwarded body", ""},
		{"original message", "new\n-----Original Message-----\nold", false, "new", "-----Original Message-----\nold"},
		{"ursprüngliche", "neu\n-----Ursprüngliche Nachricht-----\nalt", false, "neu", "-----Ursprüngliche Nachricht-----\nalt"},
		{"gmail forward", "fyi\n---------- Forwarded message ---------\nFrom: X\nDate: Mon\nSubject: s\n\nbody\n\nFrom: Z\nSent: Sun\n\nolder", false,
			"fyi\n---------- Forwarded message ---------\nFrom: X\nDate: Mon\nSubject: s\n\nbody\n", "From: Z\nSent: Sun\n\nolder"},
		{"weitergeleitet", "siehe\n-------- Weitergeleitete Nachricht --------\nBetreff: x\n\nbody", false, "siehe\n-------- Weitergeleitete Nachricht --------\nBetreff: x\n\nbody", ""},
		{"begin forwarded", "see\nBegin forwarded message:\n\nFrom: X\nDate: Mon\n\nbody", false, "see\nBegin forwarded message:\n\nFrom: X\nDate: Mon\n\nbody", ""},
		{"not a header block", "From: me, the partner\nhello", false, "From: me, the partner\nhello", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh, quoted := splitQuoted(tt.text, tt.fwd)
			if diff := cmp.Diff(tt.wantFresh, strings.Join(fresh, "\n")); diff != "" {
				t.Errorf("fresh (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantQuoted, strings.Join(quoted, "\n")); diff != "" {
				t.Errorf("quoted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanOrgIDs(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		status    OrgIDStatus
		id        string
		labelled  bool
		malformed []string
	}{
		{"label colon", "Organization ID: " + idA, OrgIDFound, idA, true, nil},
		{"label no colon", "Organisation ID " + idA, OrgIDFound, idA, true, nil},
		{"org id", "Org ID: " + idA, OrgIDFound, idA, true, nil},
		{"org-id", "Org-ID: " + idA, OrgIDFound, idA, true, nil},
		{"orgid", "OrgID=" + idA, OrgIDFound, idA, true, nil},
		{"organisations-id", "Organisations-ID: " + idA, OrgIDFound, idA, true, nil},
		{"organization-id", "organization-id: " + idA, OrgIDFound, idA, true, nil},
		{"label is", "The Organization ID is " + idA + ".", OrgIDFound, idA, true, nil},
		{"next line", "Organization ID:\n\n" + idA, OrgIDFound, idA, true, nil},
		{"labelled wins", idB + "\nOrganization ID: " + idA, OrgIDFound, idA, true, nil},
		{"two labelled", "Organization ID: " + idA + "\nOrg ID: " + idB, OrgIDAmbiguous, "", true, nil},
		{"same labelled twice", "Organization ID: " + idA + "\nOrg ID: {" + strings.ToUpper(idA) + "}", OrgIDFound, idA, true, nil},
		{"two unlabelled", idA + " " + idB, OrgIDAmbiguous, "", false, nil},
		{"malformed", "Organization ID: 12345-abc", OrgIDMalformed, "", true, []string{"12345-abc"}},
		{"malformed beats unlabelled", "Organization ID: 3f1c2a9e6b7d\n" + idB, OrgIDMalformed, "", true, []string{"3f1c2a9e6b7d"}},
		{"words are no value", "Organization ID: unknown, sorry", OrgIDMissing, "", false, nil},
		{"none", "hello", OrgIDMissing, "", false, nil},
		{"other label is not org", "Tenant ID: " + idA + "\nSubscription ID: " + idB, OrgIDAmbiguous, "", false, nil},
		{"disorganization id", "disorganization id " + idA, OrgIDFound, idA, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Mail
			decideOrgID(&m, scanOrgIDs(strings.Split(tt.text, "\n")))
			if m.OrgIDStatus != tt.status || m.OrgID != tt.id || m.OrgIDLabelled != tt.labelled {
				t.Errorf("got %s %q labelled=%v, want %s %q labelled=%v", m.OrgIDStatus, m.OrgID, m.OrgIDLabelled, tt.status, tt.id, tt.labelled)
			}
			for _, mf := range tt.malformed {
				found := false
				for _, c := range m.OrgIDCandidates {
					found = found || c == mf
				}
				if !found {
					t.Errorf("candidates %v lack %q", m.OrgIDCandidates, mf)
				}
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	p := &parse{m: &Mail{}, opts: Options{}.withDefaults()}
	if got := p.decodeHeaderText("=?x-unknown?q?Caf=E9?= ok"); got != "Café ok" {
		t.Errorf("unknown charset word = %q", got)
	}
	if got := p.decodeHeaderText("=?utf-8?b?w7w=?= =?utf-8?b?w7w=?="); got != "üü" {
		t.Errorf("adjacent words = %q", got)
	}
	if got := p.decodeHeaderText("M\xfcller"); got != "Müller" {
		t.Errorf("raw latin1 = %q", got)
	}
	if got := string(decodeQPLenient([]byte("a=3Db=\nc=ZZ=4"))); got != "a=bc=ZZ=4" {
		t.Errorf("qp = %q", got)
	}
	if got, _ := decodeBase64Lenient([]byte("aGVs\nbG8=\nIHdvcmxk")); string(got) != "hello world" {
		t.Errorf("base64 = %q", got)
	}
	if got, ok := decodeBase64Lenient([]byte("This is plain text\nnot base64 at all\n")); ok || string(got) != "This is plain text\nnot base64 at all\n" {
		t.Errorf("plain text as base64 = %q, %v", got, ok)
	}
}
