package parser

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// dkimKey is one signing key with its DNS record.
type dkimKey struct {
	priv   ed25519.PrivateKey
	record string
}

func newDKIMKey(t *testing.T) dkimKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return dkimKey{priv: priv, record: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
}

func dkimSign(t *testing.T, raw, domain string, k dkimKey) string {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{
		Domain: domain, Selector: "sel", Signer: k.priv, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject", "Message-ID"},
	})
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return out.String()
}

func TestVerifyDKIM(t *testing.T) {
	good, other := newDKIMKey(t), newDKIMKey(t)
	var lookups atomic.Int32
	dns := map[string]string{
		"sel._domainkey.nordwind-it.example":      good.record,
		"sel._domainkey.mail.nordwind-it.example": good.record,
		"sel._domainkey.bulkmailer.example":       good.record,
	}
	lookup := func(_ context.Context, name string) ([]string, error) {
		lookups.Add(1)
		if r, ok := dns[name]; ok {
			return []string{r}, nil
		}
		return nil, errors.New("NXDOMAIN")
	}
	const mail = "From: Jens <vertrieb@nordwind-it.example>\r\nTo: partners@onboarding.example\r\n" +
		"Subject: Please establish reseller connection to customer Acme\r\nMessage-ID: <d1@nordwind-it.example>\r\n\r\n" +
		"Organization ID: 3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c\r\n"
	signed := dkimSign(t, mail, "nordwind-it.example", good)

	tests := []struct {
		name    string
		raw     string
		from    string
		aligned bool
		detail  string
	}{
		{name: "valid and aligned", raw: signed, from: "nordwind-it.example", aligned: true, detail: "valid and aligned"},
		{name: "subdomain signer aligns relaxed", raw: dkimSign(t, mail, "mail.nordwind-it.example", good), from: "nordwind-it.example", aligned: true},
		{name: "LF line ends", raw: strings.ReplaceAll(signed, "\r\n", "\n"), from: "nordwind-it.example", aligned: true},
		{name: "valid but another domain", raw: dkimSign(t, mail, "bulkmailer.example", good), from: "nordwind-it.example", detail: "not aligned"},
		{name: "wrong key", raw: dkimSign(t, mail, "nordwind-it.example", other), from: "nordwind-it.example", detail: "invalid"},
		{name: "body changed", raw: strings.Replace(signed, "Organization ID: 3f", "Organization ID: 4f", 1), from: "nordwind-it.example", detail: "invalid"},
		{name: "From changed", raw: strings.Replace(signed, "Jens <vertrieb@", "Eve <vertrieb@", 1), from: "nordwind-it.example", detail: "invalid"},
		{name: "no signature", raw: mail, from: "nordwind-it.example", detail: "no DKIM signature"},
		{name: "unknown key", raw: dkimSign(t, mail, "elsewhere.example", good), from: "elsewhere.example", detail: "invalid"},
		{name: "no From domain", raw: signed, from: "", detail: "no From domain"},
		{name: "garbage signature", raw: "DKIM-Signature: v=1; a=\x00; b=;;;\r\n" + mail, from: "nordwind-it.example", detail: "invalid"},
		{name: "unterminated header", raw: "DKIM-Signature: x\r\nFrom: a@b", from: "b", detail: "not checked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := VerifyDKIM(context.Background(), []byte(tt.raw), tt.from, DKIMOptions{LookupTXT: lookup})
			if res.Aligned != tt.aligned {
				t.Errorf("Aligned = %v, want %v (%s)", res.Aligned, tt.aligned, res.Detail)
			}
			if !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("Detail %q lacks %q", res.Detail, tt.detail)
			}
			if strings.ContainsAny(res.Detail, "\r\n") {
				t.Errorf("Detail has a line break: %q", res.Detail)
			}
		})
	}

	t.Run("signature cap", func(t *testing.T) {
		raw := signed
		for i := 0; i < 50; i++ { // a forged flood of signatures on top
			raw = dkimSign(t, raw, "bulkmailer.example", other)
		}
		lookups.Store(0)
		res := VerifyDKIM(context.Background(), []byte(raw), "nordwind-it.example", DKIMOptions{LookupTXT: lookup, MaxSignatures: 3})
		if res.Aligned || res.Signatures != 3 || lookups.Load() > 3 {
			t.Errorf("Aligned %v, %d signatures checked, %d lookups; want not aligned, 3, at most 3", res.Aligned, res.Signatures, lookups.Load())
		}
		if !strings.Contains(res.Detail, "only the first 3") {
			t.Errorf("Detail %q does not tell of the cap", res.Detail)
		}
	})
	t.Run("no lookup configured", func(t *testing.T) {
		if res := VerifyDKIM(context.Background(), []byte(signed), "nordwind-it.example", DKIMOptions{}); res.Aligned {
			t.Error("aligned without a lookup")
		}
	})
	t.Run("huge header not read", func(t *testing.T) {
		raw := "DKIM-Signature: v=1\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\n" + signed
		lookups.Store(0)
		res := VerifyDKIM(context.Background(), []byte(raw), "nordwind-it.example", DKIMOptions{LookupTXT: lookup})
		if res.Aligned || lookups.Load() != 0 {
			t.Errorf("huge header: aligned %v after %d lookups", res.Aligned, lookups.Load())
		}
	})
}

func TestAuthResultsTrustRules(t *testing.T) {
	const trusted = "mx.partners.example"
	head := "From: a@nordwind-it.example\r\nSubject: x\r\n"
	tests := []struct {
		name   string
		fields []string // top first
		want   AuthResult
	}{
		{
			name:   "only the topmost trusted header counts",
			fields: []string{"mx.partners.example; dmarc=fail header.from=nordwind-it.example", "mx.partners.example; dmarc=pass; dkim=pass; spf=pass"},
			want:   AuthResult{Checked: true, DMARC: "fail", Failed: true},
		},
		{
			name:   "foreign headers above and below are skipped",
			fields: []string{"relay.internal.example; dmarc=fail header.from=nordwind-it.example", "mx.partners.example; dkim=pass header.d=nordwind-it.example; spf=pass smtp.mailfrom=nordwind-it.example; dmarc=pass header.from=nordwind-it.example", "evil.example; dmarc=fail header.from=nordwind-it.example"},
			want:   AuthResult{Checked: true, DMARC: "pass", DKIM: "pass", SPF: "pass"},
		},
		{
			name:   "a forged header with our id below ours counts for nothing",
			fields: []string{"mx.partners.example; dkim=none; spf=none smtp.mailfrom=nordwind-it.example", "mx.partners.example; dmarc=pass header.from=nordwind-it.example; dkim=pass header.d=nordwind-it.example"},
			want:   AuthResult{Checked: true, SPF: "none"},
		},
		{
			name:   "an oversized trusted header still decides",
			fields: []string{"mx.partners.example; dmarc=fail header.from=nordwind-it.example (" + strings.Repeat("x", 20<<10) + ")", "mx.partners.example; dmarc=pass header.from=nordwind-it.example"},
			want:   AuthResult{Checked: true, DMARC: "fail", Failed: true},
		},
		{
			name:   "comment before the id, case and version",
			fields: []string{"(our MX) MX.Partners.Example 1; dkim=fail header.d=Nordwind-IT.example; spf=fail smtp.mailfrom=bounce@nordwind-it.example"},
			want:   AuthResult{Checked: true, DKIM: "fail", SPF: "fail", Failed: true},
		},
		{
			name:   "an id that merely starts like ours is not ours",
			fields: []string{"mx.partners.example.evil.example; dmarc=pass header.from=nordwind-it.example", "mx.partners.examplex; dmarc=pass header.from=nordwind-it.example"},
			want:   AuthResult{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := head
			for _, f := range tt.fields {
				raw += "Authentication-Results: " + f + "\r\n"
			}
			raw += "\r\nbody\r\n"
			m := Parse([]byte(raw), Options{TrustedAuthServID: trusted})
			if m.Auth != tt.want {
				t.Errorf("Auth = %+v, want %+v", m.Auth, tt.want)
			}
		})
	}
}
