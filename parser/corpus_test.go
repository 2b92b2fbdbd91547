package parser

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// corpusDir finds the shared example corpus: $ONBOARDER_CORPUS_DIR, else
// ../shared/corpus next to the repository root. Without it the test is
// skipped, except in CI where a missing corpus is a failure.
func corpusDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ONBOARDER_CORPUS_DIR"); d != "" {
		if _, err := os.Stat(d); err == nil {
			return d
		}
		missingCorpus(t, "ONBOARDER_CORPUS_DIR="+d+" does not exist")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "corpus")
			if _, err := os.Stat(d); err == nil {
				return d
			}
			break
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	missingCorpus(t, "corpus not found (set ONBOARDER_CORPUS_DIR or place it at ../shared/corpus)")
	return ""
}

func missingCorpus(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

const trustedID = "mx.partners.example"

// requestCase is what the tests check for one corpus request mail.
type requestCase struct {
	Kind         Kind
	CustomerName string
	IsRequest    bool
	OrgStatus    OrgIDStatus
	OrgID        string
	RequestTag   string
}

func TestRequestsCorpus(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "requests")
	var expected []struct {
		File           string  `json:"file"`
		Disposition    string  `json:"disposition"`
		State          string  `json:"state"`
		CustomerName   *string `json:"customer_name"`
		OrganizationID *string `json:"organization_id"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatalf("reading expected.json: %v", err)
	}
	if err := json.Unmarshal(b, &expected); err != nil {
		t.Fatalf("decoding expected.json: %v", err)
	}
	if len(expected) < 16 {
		t.Fatalf("expected.json lists %d mails, want at least 16", len(expected))
	}
	// What expected.json leaves implicit, read from the mails themselves.
	extra := map[string]requestCase{
		"03-gmail-missing-id.eml":   {OrgStatus: OrgIDMissing},
		"04-reply-with-id.eml":      {CustomerName: "Stark Industries Ltd", RequestTag: "REQ-000003"},
		"06-unknown-sender.eml":     {CustomerName: "Globex Corporation", OrgID: "9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f"},
		"07-suspended-org.eml":      {CustomerName: "Initech AG", OrgID: "0d9c8b7a-6f5e-4d3c-8b1a-0f9e8d7c6b5a"},
		"08-duplicate.eml":          {CustomerName: "Müller & Söhne GmbH", OrgID: "3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c"},
		"13-spoofed-dmarc-fail.eml": {CustomerName: "Hooli, Inc.", OrgID: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"},
		"14-two-unlabelled-ids.eml": {CustomerName: "Umbrella Services SE", OrgStatus: OrgIDAmbiguous},
		"05-unknown-org.eml":        {CustomerName: "Wayne Enterprises"},
		"11-unrelated-invoice.eml":  {OrgStatus: OrgIDMissing},
		"09-out-of-office.eml":      {OrgStatus: OrgIDMissing},
		"10-bounce-unmatched.eml":   {OrgStatus: OrgIDMissing},
	}
	for _, e := range expected {
		t.Run(e.File, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatalf("reading %s: %v", e.File, err)
			}
			if e.File == "04-reply-with-id.eml" {
				raw = bytes.ReplaceAll(raw, []byte("{{SUBJECT}}"), []byte("Re: Please establish reseller connection to customer Stark Industries Ltd [REQ-000003]"))
				raw = bytes.ReplaceAll(raw, []byte("{{IN_REPLY_TO}}"), []byte("<x@y>"))
				raw = bytes.ReplaceAll(raw, []byte("{{REFERENCES}}"), []byte("<x@y>"))
			}
			var want requestCase
			x := extra[e.File]
			switch e.Disposition {
			case "request", "reply":
				want.Kind, want.IsRequest = KindRequest, true
			case "auto_reply":
				want.Kind = KindAutoReply
			case "bounce":
				want.Kind = KindBounce
			default:
				want.Kind = KindOther
			}
			want.CustomerName = x.CustomerName
			if e.CustomerName != nil {
				want.CustomerName = *e.CustomerName
			}
			want.OrgStatus, want.OrgID = x.OrgStatus, x.OrgID
			if e.OrganizationID != nil {
				want.OrgStatus, want.OrgID = OrgIDFound, *e.OrganizationID
			}
			if want.OrgID != "" {
				want.OrgStatus = OrgIDFound
			}
			if e.State == "needs_info" && want.OrgStatus == "" {
				t.Fatalf("needs_info case %s has no expected OrgIDStatus in the test table", e.File)
			}
			want.RequestTag = x.RequestTag

			m := Parse(raw, Options{TrustedAuthServID: trustedID})
			got := requestCase{
				Kind: m.Kind, CustomerName: m.CustomerName, IsRequest: m.IsRequestSubject,
				OrgStatus: m.OrgIDStatus, OrgID: m.OrgID, RequestTag: m.RequestTag,
			}
			if want.OrgStatus == "" { // not stated: only the kind-independent fields
				want.OrgStatus, want.OrgID = got.OrgStatus, got.OrgID
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", e.File, diff)
			}
			if len(m.Defects) != 0 {
				t.Errorf("Parse(%s) defects = %v, want none", e.File, m.Defects)
			}

			switch e.File {
			case "13-spoofed-dmarc-fail.eml":
				wantAuth := AuthResult{Checked: true, DMARC: "fail", DKIM: "fail", SPF: "fail", Failed: true}
				if diff := cmp.Diff(wantAuth, m.Auth); diff != "" {
					t.Errorf("auth with trusted id (-want +got):\n%s", diff)
				}
				if a := Parse(raw, Options{}).Auth; a.Checked || a.Failed {
					t.Errorf("auth without trusted id = %+v, want not checked", a)
				}
				if a := Parse(raw, Options{TrustedAuthServID: "mx.other.example"}).Auth; a.Checked || a.Failed {
					t.Errorf("auth with another trusted id = %+v, want not checked", a)
				}
			case "10-bounce-unmatched.eml":
				want := &DSN{
					OriginalMessageID: "not-ours-1234@elsewhere.example",
					Recipients: []DSNRecipient{{
						FinalRecipient: "nobody@customer.example", Action: "failed", Status: "5.1.1",
						DiagnosticCode: "smtp; 550 5.1.1 <nobody@customer.example>: Recipient address rejected: User unknown",
					}},
					Permanent: true,
				}
				if diff := cmp.Diff(want, m.DSN); diff != "" {
					t.Errorf("DSN (-want +got):\n%s", diff)
				}
			case "09-out-of-office.eml":
				if m.AutoReason == "" {
					t.Error("auto-reply without AutoReason")
				}
				if !m.HasReturnPath || m.ReturnPath != "" {
					t.Errorf("Return-Path <> read as HasReturnPath=%v ReturnPath=%q", m.HasReturnPath, m.ReturnPath)
				}
			case "04-reply-with-id.eml":
				if diff := cmp.Diff([]string{"x@y"}, m.InReplyTo); diff != "" {
					t.Errorf("InReplyTo (-want +got):\n%s", diff)
				}
				if strings.Contains(m.Text, "We could not find") {
					t.Errorf("quoted text leaked into Text: %q", m.Text)
				}
			case "01-thunderbird-plain.eml":
				if m.From != (Address{Name: "Jens Vogel", Addr: "vertrieb@nordwind-it.example"}) || m.MessageID != "a1b2c3d4-0001@nordwind-it.example" || m.FromCount != 1 {
					t.Errorf("envelope: From=%+v MessageID=%q FromCount=%d", m.From, m.MessageID, m.FromCount)
				}
				if m.Date.IsZero() || !m.Date.Equal(time.Date(2026, 11, 16, 8, 12, 3, 0, time.UTC)) {
					t.Errorf("Date = %v", m.Date)
				}
			}
		})
	}
}

// realworldFloor is the classification rate reached on the real-world corpus;
// a change that lowers it fails the test.
const (
	bounceFloor    = 60 // of 60 files tagged bounce
	autoReplyFloor = 9  // of 9 files tagged autoreply
)

func TestRealWorldSurvival(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "realworld")
	tags := map[string]string{}
	f, err := os.Open(filepath.Join(dir, "index.tsv"))
	if err != nil {
		t.Fatalf("opening index.tsv: %v", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 2 && !strings.HasPrefix(cols[0], "#") {
			tags[filepath.ToSlash(cols[0])] = cols[1]
		}
	}
	f.Close()

	var files []string
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == "index.tsv" || rel == "SOURCES.md" {
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	sort.Strings(files)
	if len(files) < 300 {
		t.Fatalf("found %d files under %s, want the whole corpus", len(files), dir)
	}

	var bounces, bouncesOK, autos, autosOK int
	var missed []string
	var slowest time.Duration
	for _, rel := range files {
		raw, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatalf("reading %s: %v", rel, err)
		}
		start := time.Now()
		m := Parse(raw, Options{TrustedAuthServID: trustedID})
		el := time.Since(start)
		if el > slowest {
			slowest = el
		}
		if el > 2*time.Second {
			t.Errorf("%s: Parse took %v", rel, el)
		}
		if m == nil {
			t.Fatalf("%s: Parse returned nil", rel)
		}
		if m.HasDefect(DefectInternal) {
			t.Errorf("%s: internal error: %v", rel, m.Defects)
		}
		if m.Kind == KindRequest {
			t.Errorf("%s: classified as request (subject %q)", rel, m.Subject)
		}
		switch tags[rel] {
		case "bounce":
			bounces++
			if m.Kind == KindBounce {
				bouncesOK++
			} else {
				missed = append(missed, rel+" (bounce -> "+string(m.Kind)+")")
			}
		case "autoreply":
			autos++
			if m.Kind == KindAutoReply {
				autosOK++
			} else {
				missed = append(missed, rel+" (autoreply -> "+string(m.Kind)+")")
			}
		}
	}
	t.Logf("%d files, slowest parse %v", len(files), slowest)
	t.Logf("bounce: %d/%d classified KindBounce", bouncesOK, bounces)
	t.Logf("autoreply: %d/%d classified KindAutoReply", autosOK, autos)
	for _, m := range missed {
		t.Logf("misclassified: %s", m)
	}
	if bouncesOK < bounceFloor {
		t.Errorf("bounce rate fell to %d/%d, floor is %d", bouncesOK, bounces, bounceFloor)
	}
	if autosOK < autoReplyFloor {
		t.Errorf("autoreply rate fell to %d/%d, floor is %d", autosOK, autos, autoReplyFloor)
	}
}
