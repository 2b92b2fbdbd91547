package parser

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOneSender(t *testing.T) {
	const rest = "To: partners@onboarding.example\r\nSubject: Please establish reseller connection to customer Acme\r\n\r\n" +
		"Organization ID: 3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c\r\n"
	tests := []struct {
		name    string
		head    string
		from    string // want Mail.From.Addr
		sender  string // want Mail.Sender
		problem string // want in Mail.SenderProblem ("" for none)
	}{
		{name: "one address", head: "From: Jens <vertrieb@nordwind-it.example>\r\n", from: "vertrieb@nordwind-it.example"},
		{name: "two From fields", head: "From: vertrieb@nordwind-it.example\r\nFrom: eve@evil.example\r\n", problem: "2 From fields"},
		{name: "two From fields, the same address", head: "From: vertrieb@nordwind-it.example\r\nfrom: vertrieb@nordwind-it.example\r\n", problem: "2 From fields"},
		{name: "two From fields, one empty", head: "From: vertrieb@nordwind-it.example\r\nFrom:\r\n", problem: "2 From fields"},
		{name: "two addresses in one field", head: "From: vertrieb@nordwind-it.example, eve@evil.example\r\n", problem: "2 From addresses"},
		{name: "address with two @", head: "From: <vertrieb@nordwind-it.example@evil.example>\r\n", problem: `does not parse as an address: "<vertrieb@nordwind-it.example@evil.example>"`},
		{name: "name then broken address", head: "From: Jens Vogel <vertrieb@nordwind-it.example> <eve@evil.example>\r\n", problem: "does not parse"},
		{name: "no angle brackets, trailing text", head: "From: vertrieb@nordwind-it.example evil\r\n", problem: "does not parse"},
		{name: "quoted local part with @", head: "From: \"vertrieb@nordwind-it.example\"@evil.example\r\n", problem: "not a plain local@domain"},
		{name: "bidi override in the address", head: "From: =?utf-8?q?x?= <vertrieb\u202e@nordwind-it.example>\r\n", problem: "From"},
		{name: "empty group", head: "From: undisclosed-recipients:;\r\n", problem: "0 From addresses"},
		{name: "no From", head: "Reply-To: a@b.example\r\n", problem: "no From field"},
		{name: "Sender equal to From", head: "From: vertrieb@nordwind-it.example\r\nSender: vertrieb@nordwind-it.example\r\n",
			from: "vertrieb@nordwind-it.example", sender: "vertrieb@nordwind-it.example"},
		{name: "broken Sender", head: "From: vertrieb@nordwind-it.example\r\nSender: <vertrieb@nordwind-it.example@evil.example>\r\n",
			from: "vertrieb@nordwind-it.example", problem: "Sender does not parse"},
		{name: "two Sender fields", head: "From: vertrieb@nordwind-it.example\r\nSender: vertrieb@nordwind-it.example\r\nSender: eve@evil.example\r\n",
			from: "vertrieb@nordwind-it.example", problem: "2 Sender fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.head+rest), Options{})
			if m.From.Addr != tt.from || m.Sender != tt.sender {
				t.Errorf("From %q, Sender %q; want %q, %q", m.From.Addr, m.Sender, tt.from, tt.sender)
			}
			if tt.problem == "" && m.SenderProblem != "" || !strings.Contains(m.SenderProblem, tt.problem) {
				t.Errorf("SenderProblem %q, want %q", m.SenderProblem, tt.problem)
			}
			if tt.problem != "" && tt.from == "" && (m.From != Address{}) {
				t.Errorf("From %+v set although the mail names no sender", m.From)
			}
			if strings.ContainsAny(m.SenderProblem, "\r\n\u202e") {
				t.Errorf("SenderProblem is not one clean line: %q", m.SenderProblem)
			}
			if m.Kind != KindRequest {
				t.Errorf("kind %s: the From rule must not change the classification", m.Kind)
			}
		})
	}
}

func TestAuthResultsAboutTheFromDomain(t *testing.T) {
	const trusted = "mx.partners.example"
	tests := []struct {
		name   string
		from   string
		ar     string // the trusted Authentication-Results value after the id
		want   AuthResult
		detail string // in want.Detail when set
	}{
		{name: "aligned pass", from: "a@nordwind-it.example",
			ar:   "dkim=pass header.d=nordwind-it.example; spf=pass smtp.mailfrom=bounce@nordwind-it.example; dmarc=pass header.from=nordwind-it.example",
			want: AuthResult{Checked: true, DMARC: "pass", DKIM: "pass", SPF: "pass"}},
		{name: "DMARC pass of another domain", from: "a@nordwind-it.example",
			ar:   "dmarc=pass header.from=evil.example",
			want: AuthResult{Checked: true}, detail: "dmarc=pass header.from=evil.example"},
		{name: "DMARC pass of a subdomain is not the From domain", from: "a@nordwind-it.example",
			ar:   "dmarc=pass header.from=mail.nordwind-it.example",
			want: AuthResult{Checked: true}},
		{name: "DMARC pass without header.from", from: "a@nordwind-it.example",
			ar:   "dmarc=pass",
			want: AuthResult{Checked: true}},
		{name: "DMARC pass, From domain in another case", from: "a@nordwind-it.example",
			ar:   "dmarc=pass header.from=Nordwind-IT.Example.",
			want: AuthResult{Checked: true, DMARC: "pass"}},
		{name: "DKIM pass of another domain", from: "a@nordwind-it.example",
			ar:   "dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example",
			want: AuthResult{Checked: true}, detail: "dkim=pass header.d=evil.example, spf=pass smtp.mailfrom=evil.example"},
		{name: "DKIM of a subdomain aligns relaxed", from: "a@nordwind-it.example",
			ar:   "dkim=pass header.d=mail.nordwind-it.example",
			want: AuthResult{Checked: true, DKIM: "pass"}},
		{name: "DKIM identity when header.d is missing", from: "a@nordwind-it.example",
			ar:   "dkim=pass header.i=@nordwind-it.example",
			want: AuthResult{Checked: true, DKIM: "pass"}},
		{name: "another organization under a public suffix", from: "a@partner.co.uk",
			ar:   "dkim=pass header.d=evil.co.uk; spf=pass smtp.mailfrom=co.uk",
			want: AuthResult{Checked: true}},
		{name: "a private public suffix", from: "a@partner.github.io",
			ar:   "dkim=pass header.d=evil.github.io",
			want: AuthResult{Checked: true}},
		{name: "DMARC fail of the From domain fails", from: "a@nordwind-it.example",
			ar:   "dkim=pass header.d=evil.example; dmarc=fail header.from=nordwind-it.example",
			want: AuthResult{Checked: true, DMARC: "fail", Failed: true}},
		{name: "DMARC fail of another domain says nothing", from: "a@nordwind-it.example",
			ar:   "dmarc=fail header.from=evil.example",
			want: AuthResult{Checked: true}},
		{name: "aligned DKIM and SPF fail fail", from: "a@nordwind-it.example",
			ar:   "dkim=fail header.d=nordwind-it.example; spf=fail smtp.mailfrom=bounce@mail.nordwind-it.example",
			want: AuthResult{Checked: true, DKIM: "fail", SPF: "fail", Failed: true}},
		{name: "unaligned DKIM fail says nothing", from: "a@nordwind-it.example",
			ar:   "dkim=fail header.d=evil.example; spf=fail smtp.mailfrom=nordwind-it.example",
			want: AuthResult{Checked: true, SPF: "fail"}},
		{name: "an aligned pass beats an unaligned fail", from: "a@nordwind-it.example",
			ar:   "dkim=fail header.d=evil.example; dkim=pass header.d=nordwind-it.example",
			want: AuthResult{Checked: true, DKIM: "pass"}},
		{name: "lenient scan reads the properties too", from: "a@nordwind-it.example",
			ar:   "dmarc=pass header.from=evil.example; dkim=pass header.d=nordwind-it.example; spf=pass policy.x smtp.mailfrom=nordwind-it.example; foo",
			want: AuthResult{Checked: true, DKIM: "pass", SPF: "pass"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: " + tt.from + "\r\nSubject: x\r\nAuthentication-Results: " + trusted + "; " + tt.ar + "\r\n\r\nbody\r\n"
			got := Parse([]byte(raw), Options{TrustedAuthServID: trusted}).Auth
			if !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("Detail %q lacks %q", got.Detail, tt.detail)
			}
			got.Detail = ""
			if got != tt.want {
				t.Errorf("Auth = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("two From fields: no result counts", func(t *testing.T) {
		raw := "From: a@nordwind-it.example\r\nFrom: eve@evil.example\r\nAuthentication-Results: " + trusted +
			"; dkim=pass header.d=nordwind-it.example; dmarc=pass header.from=nordwind-it.example\r\n\r\nbody\r\n"
		got := Parse([]byte(raw), Options{TrustedAuthServID: trusted}).Auth
		if got.DMARC != "" || got.DKIM != "" || !got.Checked {
			t.Errorf("Auth = %+v, want checked with no result", got)
		}
	})
}

// newSlowLookup returns a lookup that records the names it is asked for and
// answers only when its context ends (as a name server that never answers
// does to net.Resolver), or after a minute.
func newSlowLookup() (func(ctx context.Context, name string) ([]string, error), func() []string) {
	var mu sync.Mutex
	var names []string
	lookup := func(ctx context.Context, name string) ([]string, error) {
		mu.Lock()
		names = append(names, name)
		mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Minute):
			return nil, errors.New("no answer")
		}
	}
	return lookup, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), names...)
	}
}

func TestVerifyDKIMLooksUpAlignedSignaturesOnly(t *testing.T) {
	key := newDKIMKey(t)
	const mail = "From: Jens <vertrieb@nordwind-it.example>\r\nTo: partners@onboarding.example\r\n" +
		"Subject: Please establish reseller connection to customer Acme\r\nMessage-ID: <d2@nordwind-it.example>\r\n\r\nhello\r\n"
	raw := dkimSign(t, mail, "nordwind-it.example", key)
	raw = dkimSign(t, raw, "evil.example", key)
	raw = dkimSign(t, raw, "nordwind-it.example.evil.example", key)
	var mu sync.Mutex
	var asked []string
	lookup := func(_ context.Context, name string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, name)
		if name == "sel._domainkey.nordwind-it.example" {
			return []string{key.record}, nil
		}
		return nil, errors.New("NXDOMAIN")
	}
	res := VerifyDKIM(context.Background(), []byte(raw), "nordwind-it.example", DKIMOptions{LookupTXT: lookup})
	if !res.Aligned {
		t.Errorf("not aligned: %s", res.Detail)
	}
	if len(asked) != 1 || asked[0] != "sel._domainkey.nordwind-it.example" {
		t.Errorf("looked up %q, want only sel._domainkey.nordwind-it.example", asked)
	}

	// Only unaligned signatures: no lookup at all, however slow DNS is.
	slow, names := newSlowLookup()
	raw = dkimSign(t, dkimSign(t, mail, "evil.example", key), "bulkmailer.example", key)
	start := time.Now()
	res = VerifyDKIM(context.Background(), []byte(raw), "nordwind-it.example", DKIMOptions{LookupTXT: slow})
	if res.Aligned || len(names()) != 0 || time.Since(start) > 2*time.Second {
		t.Errorf("unaligned signatures: aligned %v, lookups %q, %s", res.Aligned, names(), time.Since(start))
	}
	if !strings.Contains(res.Detail, "d=evil.example not aligned with nordwind-it.example: not checked") {
		t.Errorf("Detail %q", res.Detail)
	}
}

func TestVerifyDKIMDeadlinePerMail(t *testing.T) {
	key := newDKIMKey(t)
	raw := "From: Jens <vertrieb@nordwind-it.example>\r\nTo: partners@onboarding.example\r\n" +
		"Subject: Please establish reseller connection to customer Acme\r\nMessage-ID: <d3@nordwind-it.example>\r\n\r\nhello\r\n"
	// Five aligned signatures, each waiting for a name server that does
	// not answer: together they get one deadline, not one each.
	for _, d := range []string{"nordwind-it.example", "mail.nordwind-it.example", "a.nordwind-it.example", "b.nordwind-it.example", "c.nordwind-it.example"} {
		raw = dkimSign(t, raw, d, key)
	}
	slow, names := newSlowLookup()
	const timeout = 300 * time.Millisecond
	start := time.Now()
	res := VerifyDKIM(context.Background(), []byte(raw), "nordwind-it.example", DKIMOptions{LookupTXT: slow, Timeout: timeout})
	el := time.Since(start)
	if res.Aligned {
		t.Error("aligned without a key")
	}
	if el > timeout+time.Second {
		t.Errorf("VerifyDKIM took %s with a %s deadline", el, timeout)
	}
	if len(names()) == 0 {
		t.Error("no lookup was made")
	}
	if !strings.Contains(res.Detail, "stopped at the 300ms deadline") {
		t.Errorf("Detail %q does not tell of the deadline", res.Detail)
	}
	if DefaultDKIMTimeout != 10*time.Second {
		t.Errorf("DefaultDKIMTimeout %s, documented as 10s", DefaultDKIMTimeout)
	}
}
