package parser

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const requestHead = "From: Jens <vertrieb@nordwind-it.example>\r\n" +
	"To: partners@onboarding.example\r\n" +
	"Message-ID: <hostile@nordwind-it.example>\r\n" +
	"Subject: Please establish reseller connection to customer Hostile Ltd\r\n" +
	"MIME-Version: 1.0\r\n"

// parseBounded parses raw and fails when it takes longer than limit or
// allocates more than maxAlloc bytes.
func parseBounded(t *testing.T, raw []byte, limit time.Duration, maxAlloc uint64) *Mail {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	m := Parse(raw, Options{})
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("input %d bytes: %v, %d MiB allocated, kind %s, defects %v", len(raw), el, alloc>>20, m.Kind, m.Defects)
	if m == nil {
		t.Fatal("Parse returned nil")
	}
	if el > limit && !raceEnabled {
		t.Errorf("Parse took %v, limit %v", el, limit)
	}
	if maxAlloc > 0 && alloc > maxAlloc {
		t.Errorf("Parse allocated %d MiB, limit %d MiB", alloc>>20, maxAlloc>>20)
	}
	if m.HasDefect(DefectInternal) {
		t.Errorf("internal error: %v", m.Defects)
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.CustomerName) {
		t.Error("output is not valid UTF-8")
	}
	return m
}

func requireDefect(t *testing.T, m *Mail, code string) {
	t.Helper()
	if !m.HasDefect(code) {
		t.Errorf("defects %v lack %q", m.Defects, code)
	}
}

func TestHostileNestedMultiparts(t *testing.T) {
	const depth = 10000
	var b bytes.Buffer
	b.WriteString(requestHead)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nOrganization ID: %s\r\n", depth, idA)
	for i := depth; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	m := parseBounded(t, b.Bytes(), 2*time.Second, 256<<20)
	requireDefect(t, m, DefectMIMEDepthExceeded)
	if m.Kind != KindRequest || m.CustomerName != "Hostile Ltd" {
		t.Errorf("kind %s name %q: the header must still be read", m.Kind, m.CustomerName)
	}
}

func TestHostileManyParts(t *testing.T) {
	const parts = 100000
	var b bytes.Buffer
	b.WriteString(requestHead)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n")
	fmt.Fprintf(&b, "--x\r\nContent-Type: text/plain\r\n\r\nOrganization ID: %s\r\n", idA)
	for i := 0; i < parts; i++ {
		b.WriteString("--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
	}
	b.WriteString("--x--\r\n")
	m := parseBounded(t, b.Bytes(), 2*time.Second, 256<<20)
	requireDefect(t, m, DefectPartLimitExceeded)
	if m.OrgID != idA {
		t.Errorf("OrgID %q: the first parts must still be read", m.OrgID)
	}
}

func TestHostileHugeHeader(t *testing.T) {
	t.Run("one 50 MB field", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(requestHead)
		b.WriteString("X-Big: ")
		b.Write(bytes.Repeat([]byte("a"), 50<<20))
		b.WriteString("\r\n\r\nOrganization ID: " + idA + "\r\n")
		m := parseBounded(t, b.Bytes(), 2*time.Second, 512<<20)
		requireDefect(t, m, DefectHeaderTooLarge)
		if m.CustomerName != "Hostile Ltd" || m.OrgID != idA {
			t.Errorf("name %q org %q: fields before the big one and the body must be read", m.CustomerName, m.OrgID)
		}
	})
	t.Run("50 MB of fields", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(requestHead)
		line := "X-Filler: " + strings.Repeat("z", 90) + "\r\n"
		for b.Len() < 50<<20 {
			b.WriteString(line)
		}
		b.WriteString("\r\nbody\r\n")
		m := parseBounded(t, b.Bytes(), 2*time.Second, 512<<20)
		requireDefect(t, m, DefectHeaderTooLarge)
		if m.Kind != KindRequest {
			t.Errorf("kind %s, want the subject read", m.Kind)
		}
	})
	t.Run("50 MB continuation", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(requestHead)
		b.WriteString("X-Folded: a\r\n")
		for b.Len() < 50<<20 {
			b.WriteString(" continued line of a folded header\r\n")
		}
		b.WriteString("\r\nbody\r\n")
		m := parseBounded(t, b.Bytes(), 2*time.Second, 512<<20)
		requireDefect(t, m, DefectHeaderTooLarge)
	})
}

func TestHostileBase64Bomb(t *testing.T) {
	zeros := make([]byte, 8<<20)
	enc := base64.StdEncoding.EncodeToString(zeros)
	var body strings.Builder
	for i := 0; i < len(enc); i += 76 {
		end := min(i+76, len(enc))
		body.WriteString(enc[i:end])
		body.WriteString("\r\n")
	}
	t.Run("single part", func(t *testing.T) {
		raw := []byte(requestHead + "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body.String())
		m := parseBounded(t, raw, 2*time.Second, 128<<20)
		requireDefect(t, m, DefectTextTruncated)
		if len(m.Text) > 1<<20 {
			t.Errorf("Text is %d bytes, cap is 1 MiB", len(m.Text))
		}
	})
	t.Run("in multipart", func(t *testing.T) {
		raw := []byte(requestHead + "Content-Type: multipart/mixed; boundary=\"q\"\r\n\r\n" +
			"--q\r\nContent-Type: text/plain\r\n\r\nOrganization ID: " + idA + "\r\n" +
			"--q\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body.String() +
			"--q\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body.String() +
			"--q--\r\n")
		m := parseBounded(t, raw, 2*time.Second, 128<<20)
		if m.OrgID != idA {
			t.Errorf("OrgID %q", m.OrgID)
		}
	})
}

func TestHostileSmallShapes(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		defect string
		check  func(t *testing.T, m *Mail)
	}{
		{name: "NUL bytes", raw: requestHead + "X-N\x00ul: a\x00b\r\n\r\nOrganization\x00 ID: " + idA + "\x00\r\n", defect: DefectNULBytes,
			check: func(t *testing.T, m *Mail) {
				if m.OrgID != idA || strings.ContainsRune(m.Text, 0) {
					t.Errorf("OrgID %q, Text %q", m.OrgID, m.Text)
				}
			}},
		{name: "CR-only line endings", raw: strings.ReplaceAll(requestHead, "\r\n", "\r") + "Content-Type: text/plain\r\rOrganization ID: " + idA + "\r", defect: DefectCRLineEndings,
			check: func(t *testing.T, m *Mail) {
				if m.Kind != KindRequest || m.OrgID != idA {
					t.Errorf("kind %s OrgID %q", m.Kind, m.OrgID)
				}
			}},
		{name: "invalid UTF-8 subject", raw: "From: a@b.example\r\nSubject: Please establish reseller connection to customer M\xfcller \xff\xfe\xc3\r\n\r\nhi\r\n",
			check: func(t *testing.T, m *Mail) {
				if !utf8.ValidString(m.CustomerName) || !strings.HasPrefix(m.CustomerName, "Müller") {
					t.Errorf("name %q", m.CustomerName)
				}
			}},
		{name: "empty", raw: "", defect: DefectEmpty},
		{name: "one byte", raw: "x", check: func(t *testing.T, m *Mail) {
			if m.Kind != KindOther {
				t.Errorf("kind %s", m.Kind)
			}
		}},
		{name: "no header, only body", raw: "\r\n\r\nOrganization ID: " + idA, check: func(t *testing.T, m *Mail) {
			if m.Kind != KindOther {
				t.Errorf("kind %s", m.Kind)
			}
		}},
		{name: "garbage header lines", raw: " leading continuation\r\nnot a header\r\nSubject: Please establish reseller connection to customer X\r\n\r\nbody", defect: DefectHeaderUnreadable,
			check: func(t *testing.T, m *Mail) {
				if m.CustomerName != "X" {
					t.Errorf("name %q: lenient reader must keep readable fields", m.CustomerName)
				}
			}},
		{name: "mbox From_ line", raw: "From someone@example Mon Jan  1 00:00:00 2026\nSubject: Please establish reseller connection to customer Mbox\n\nOrg ID: " + idA + "\n",
			check: func(t *testing.T, m *Mail) {
				if m.CustomerName != "Mbox" || m.OrgID != idA {
					t.Errorf("name %q org %q", m.CustomerName, m.OrgID)
				}
			}},
		{name: "multipart without boundary", raw: requestHead + "Content-Type: multipart/mixed\r\n\r\nOrganization ID: " + idA + "\r\n", defect: DefectMissingBoundary,
			check: func(t *testing.T, m *Mail) {
				if m.OrgID != idA {
					t.Errorf("OrgID %q", m.OrgID)
				}
			}},
		{name: "wrong boundary", raw: requestHead + "Content-Type: multipart/mixed; boundary=nope\r\n\r\n--other\r\n\r\nOrganization ID: " + idA + "\r\n--other--\r\n", defect: DefectMultipartBroken,
			check: func(t *testing.T, m *Mail) {
				if m.OrgID != idA {
					t.Errorf("OrgID %q: text of a broken multipart must not be lost", m.OrgID)
				}
			}},
		{name: "unknown transfer encoding", raw: requestHead + "Content-Transfer-Encoding: x-foo\r\n\r\nOrganization ID: " + idA + "\r\n", defect: DefectBadEncoding},
		{name: "deep message/rfc822", raw: strings.Repeat("Content-Type: message/rfc822\r\n\r\n", 5000) + "Subject: x\r\n\r\nhi", defect: DefectMIMEDepthExceeded},
		{name: "huge encoded word", raw: "Subject: =?utf-8?b?" + strings.Repeat("QUFB", 200000) + "?=\r\n\r\nx"},
		{name: "many encoded words", raw: "Subject: " + strings.Repeat("=?x-bad?q?a?= ", 100000) + "\r\n\r\nx"},
		{name: "huge From list", raw: "From: " + strings.Repeat("a@b.example, ", 200000) + "\r\n\r\nx"},
		{name: "unterminated html", raw: requestHead + "Content-Type: text/html\r\n\r\n<script>" + strings.Repeat("<div>", 100000)},
		{name: "deep blockquotes", raw: requestHead + "Content-Type: text/html\r\n\r\n" + strings.Repeat("<blockquote>", 100000) + idA},
		{name: "long line of UUIDs", raw: requestHead + "\r\n" + strings.Repeat("Organization ID: "+idA+" ", 50000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseBounded(t, []byte(tt.raw), 2*time.Second, 0)
			if tt.defect != "" {
				requireDefect(t, m, tt.defect)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}
