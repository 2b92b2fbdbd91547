package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedFiles returns the fixtures and, when the shared corpus is there, its
// request mails and every real-world mail (both corpora seed the fuzzers).
func seedFiles(f *testing.F) [][]byte {
	var out [][]byte
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	dir := os.Getenv("ONBOARDER_CORPUS_DIR")
	if dir == "" {
		if wd, err := os.Getwd(); err == nil {
			dir = filepath.Join(wd, "..", "..", "shared", "corpus")
		}
	}
	if dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "requests", "*.eml"))
		paths = append(paths, more...)
		_ = filepath.WalkDir(filepath.Join(dir, "realworld"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() != "index.tsv" && d.Name() != "SOURCES.md" {
				paths = append(paths, p)
			}
			return nil
		})
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) <= 1<<20 {
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
	case KindRequest, KindNewOrganization, KindAutoReply, KindBounce, KindOther:
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
	for _, b := range seedFiles(f) { // every subject of both corpora
		if subj := Parse(b, Options{}).Subject; subj != "" {
			f.Add(subj)
		}
	}
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

// FuzzOrgID feeds body text to the Organization ID extraction (labels,
// UUID forms, quotes) and the contact/note reader.
func FuzzOrgID(f *testing.F) {
	for _, b := range seedFiles(f) { // the new text of both corpora's mails
		if m := Parse(b, Options{}); m.Text != "" {
			f.Add(m.Text)
		}
	}
	for _, s := range []string{
		"Organization ID: 3F1C2A9E-6B7D-4C1E-9A2B-5D8E7F6A1B2C",
		"Org-ID:\n\n{3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c}",
		"Organisations-ID lautet urn:uuid:3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c, Org ID: 11111111-2222-3333-4444-555555555555",
		"Org ID: ABC-123\n3f1c2a9e6b7d4c1e9a2b5d8e7f6a1b2c",
		"> Organization ID: 3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c\nNote: =0D=0ABcc: x@evil\nContact: <script>@x.example",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Split(text, "\n")
		if len(lines) > 2000 {
			lines = lines[:2000]
		}
		m := &Mail{}
		decideOrgID(m, scanOrgIDs(lines))
		switch m.OrgIDStatus {
		case OrgIDFound:
			if id, ok := CanonicalUUID(m.OrgID); !ok || id != m.OrgID {
				t.Fatalf("found OrgID %q is not canonical", m.OrgID)
			}
			if !contains(m.OrgIDCandidates, m.OrgID) {
				t.Fatalf("found OrgID %q not among the candidates %q", m.OrgID, m.OrgIDCandidates)
			}
		case OrgIDMissing:
			if len(m.OrgIDCandidates) != 0 {
				t.Fatalf("missing, yet candidates %q", m.OrgIDCandidates)
			}
		case OrgIDAmbiguous, OrgIDMalformed:
			if m.OrgID != "" {
				t.Fatalf("%s with OrgID %q", m.OrgIDStatus, m.OrgID)
			}
		default:
			t.Fatalf("status %q", m.OrgIDStatus)
		}
		for _, c := range m.OrgIDCandidates {
			if !utf8.ValidString(c) || strings.ContainsAny(c, "\r\n\x00") || len(c) > 400 {
				t.Fatalf("unsafe candidate %q", c)
			}
		}
		if id, ok := CanonicalUUID(text); ok {
			if again, ok2 := CanonicalUUID(id); !ok2 || again != id {
				t.Fatalf("CanonicalUUID not idempotent: %q -> %q -> %q", text, id, again)
			}
		}
		extractContactAndNote(m, lines)
		if strings.ContainsAny(m.Note, "\r\n\x00") || !utf8.ValidString(m.Note) || utf8.RuneCountInString(m.Note) > 1000 {
			t.Fatalf("unsafe note %q", m.Note)
		}
		if m.ContactEmail != "" && (strings.ContainsAny(m.ContactEmail, "\r\n <>\"") || !strings.Contains(m.ContactEmail, "@")) {
			t.Fatalf("unsafe contact %q", m.ContactEmail)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
