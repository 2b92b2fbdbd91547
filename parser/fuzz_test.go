package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedFiles returns the fixtures and, when present, the corpus request mails.
func seedFiles(f *testing.F) [][]byte {
	var out [][]byte
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if d := os.Getenv("ONBOARDER_CORPUS_DIR"); d != "" {
		more, _ := filepath.Glob(filepath.Join(d, "requests", "*.eml"))
		paths = append(paths, more...)
	} else if wd, err := os.Getwd(); err == nil {
		more, _ := filepath.Glob(filepath.Join(wd, "..", "..", "shared", "corpus", "requests", "*.eml"))
		paths = append(paths, more...)
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		f.Log("no seed files found")
	}
	return out
}

func checkMail(t *testing.T, m *Mail, opts Options) {
	t.Helper()
	if m == nil {
		t.Fatal("Parse returned nil")
	}
	if m.HasDefect(DefectInternal) {
		t.Fatalf("internal error: %v", m.Defects)
	}
	switch m.Kind {
	case KindRequest, KindAutoReply, KindBounce, KindOther:
	default:
		t.Fatalf("unknown kind %q", m.Kind)
	}
	if m.Kind == KindRequest && (!m.IsRequestSubject || m.OwnLoop) {
		t.Fatalf("request without request subject or with own loop header")
	}
	if m.OrgIDStatus == OrgIDFound {
		if id, ok := CanonicalUUID(m.OrgID); !ok || id != m.OrgID {
			t.Fatalf("found OrgID %q is not canonical", m.OrgID)
		}
	} else if m.OrgID != "" {
		t.Fatalf("OrgID %q with status %s", m.OrgID, m.OrgIDStatus)
	}
	for _, s := range []string{m.CustomerName, m.Subject, m.Note, m.From.Name} {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\t\x00\u202e") {
			t.Fatalf("unsanitised one-line field %q", s)
		}
	}
	if utf8.RuneCountInString(m.CustomerName) > opts.withDefaults().MaxNameRunes {
		t.Fatalf("name longer than the cap: %d runes", utf8.RuneCountInString(m.CustomerName))
	}
	if !utf8.ValidString(m.Text) || len(m.Text) > opts.withDefaults().MaxTextBytes {
		t.Fatalf("Text invalid or too long (%d bytes)", len(m.Text))
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("Subject: =?utf-8?q?A=0D=0ABcc:_x@evil?=\r\n\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n--a--\n"))
	opts := Options{TrustedAuthServID: trustedID, MaxTextBytes: 64 << 10}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkMail(t, Parse(raw, opts), opts)
	})
}

func FuzzSubject(f *testing.F) {
	for _, s := range []string{
		"Please establish reseller connection to customer Acme",
		"RE: AW: [EXTERNAL] Fwd: Please establish reseller connection to customer „Acme“ [REQ-000001]",
		"Re[2]: Please establish reseller connection to customer [Acme] [REQ-1]",
		"Please establish reseller connection to customer \u202eEvil\r\nBcc: x",
		"[[[[", "Re: Re: Re:", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stripped := StripSubjectPrefixes(s)
		if again := StripSubjectPrefixes(stripped); again != stripped {
			t.Fatalf("StripSubjectPrefixes not idempotent: %q -> %q -> %q", s, stripped, again)
		}
		name, ok := parseRequestSubject(s, 50)
		if !ok && name != "" {
			t.Fatalf("name %q for a non-request subject", name)
		}
		if !utf8.ValidString(name) || strings.ContainsAny(name, "\r\n\t\x00\u202e\u2066") || utf8.RuneCountInString(name) > 50 {
			t.Fatalf("unsafe name %q", name)
		}
		if name != strings.TrimSpace(name) {
			t.Fatalf("name %q not trimmed", name)
		}
		if tag := findRequestTag(s); tag != "" && (!strings.HasPrefix(tag, "REQ-") || tag != strings.ToUpper(tag)) {
			t.Fatalf("tag %q", tag)
		}
		san := SanitizeText(s, 0)
		if SanitizeText(san, 0) != san {
			t.Fatalf("SanitizeText not idempotent on %q", s)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "alternative-4k.eml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		m := Parse(raw, Options{TrustedAuthServID: trustedID})
		if m.OrgIDStatus != OrgIDFound {
			b.Fatal(m.OrgIDStatus)
		}
	}
}
