package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	idA = "3f1c2a9e-6b7d-4c1e-9a2b-5d8e7f6a1b2c"
	idB = "9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f"
	idC = "c4a7e2b1-5d3f-4a6e-9b8c-7d1e2f3a4b5c"
)

// fixture is the projection of Mail that the fixture table checks.
type fixture struct {
	Kind       Kind
	Name       string
	IsRequest  bool
	Tag        string
	OrgStatus  OrgIDStatus
	OrgID      string
	Labelled   bool
	FromQuote  bool
	Candidates []string
	List       bool
	OwnLoop    bool
	Contact    string
	Note       string
	DSNOrigID  string
	Permanent  bool
	AuthFailed bool
	AuthCheck  bool
	ReportType string
}

func project(m *Mail) fixture {
	f := fixture{
		Kind: m.Kind, Name: m.CustomerName, IsRequest: m.IsRequestSubject, Tag: m.RequestTag,
		OrgStatus: m.OrgIDStatus, OrgID: m.OrgID, Labelled: m.OrgIDLabelled, FromQuote: m.OrgIDFromQuote,
		Candidates: m.OrgIDCandidates, List: m.List, OwnLoop: m.OwnLoop, Contact: m.ContactEmail, Note: m.Note,
		AuthFailed: m.Auth.Failed, AuthCheck: m.Auth.Checked, ReportType: m.ReportType,
	}
	if m.DSN != nil {
		f.DSNOrigID, f.Permanent = m.DSN.OriginalMessageID, m.DSN.Permanent
	}
	return f
}

func req(name string, status OrgIDStatus, id string, labelled bool, cands ...string) fixture {
	return fixture{Kind: KindRequest, Name: name, IsRequest: true, OrgStatus: status, OrgID: id, Labelled: labelled, Candidates: cands}
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file string
		want fixture
		// Text must contain / must not contain these.
		text, notText []string
		defects       []string
		autoReason    string
	}{
		// Subject forms.
		{file: "prefix-chain.eml", want: withTag(req("Acme Brötchen GmbH", OrgIDFound, idA, true, idA), "REQ-000042")},
		{file: "ew-latin1-q.eml", want: req("Müller & Söhne GmbH", OrgIDFound, idA, true, idA)},
		{file: "ew-utf8-b.eml", want: req("Zoë Ltd", OrgIDFound, idB, true, idB)},
		{file: "ew-mixed-charsets.eml", want: req("Café Crème", OrgIDFound, idB, true, idB)},
		{file: "name-injection.eml", want: req("A Bcc: x@evil", OrgIDFound, idA, true, idA)},
		{file: "name-markup-bidi.eml", want: req("<b>Evil</b> Corp Ltd", OrgIDFound, idA, true, idA)},
		// Bodies: encodings and charsets.
		{file: "body-base64.eml", want: withTag(req("Initech AG", OrgIDFound, idC, true, idC), "REQ-000007"), text: []string{"please connect us."}},
		{file: "body-qp-latin1.eml", want: req("Köln Büro", OrgIDFound, idB, true, idB), text: []string{"Grüße aus Köln", "Ärger"}},
		{file: "body-windows-1252.eml", want: req("Smart Quotes Inc", OrgIDFound, idA, true, idA), text: []string{"“Organization ID”", "5€"}},
		{file: "body-iso-2022-jp.eml", want: req("Nihon KK", OrgIDFound, idC, true, idC), text: []string{"お世話になっております。"}},
		{file: "body-bad-charset.eml", want: req("Unknown Charset GmbH", OrgIDFound, idA, true, idA), text: []string{"Grüße"}, defects: []string{DefectBadCharset}},
		{file: "html-only-table.eml", want: req("Table Corp", OrgIDFound, idC, true, idC), text: []string{"Dear team,", "Sarah"}, notText: []string{idB, "content:"}},
		{file: "alternative-4k.eml", want: req("Benchmark GmbH", OrgIDFound, idA, true, idA), notText: []string{idB, "<p>"}},
		// Forwards count as new text.
		{file: "fwd-inline-gmail.eml", want: req("Stark Industries Ltd", OrgIDFound, idA, true, idA)},
		{file: "fwd-apple.eml", want: req("Apple Forward AG", OrgIDFound, idB, true, idB)},
		{file: "fwd-thunderbird-de.eml", want: req("Weiter GmbH", OrgIDFound, idC, false, idC)},
		{file: "fwd-outlook-fw.eml", want: req("Outlook Forward Ltd", OrgIDFound, idA, true, idA), text: []string{"Sent: Monday"}},
		// The attached mail's own quote ("> Organization ID: A") stays quoted.
		{file: "fwd-rfc822.eml", want: req("Attached Forward Inc", OrgIDFound, idB, true, idB), text: []string{"Forwarding the customer mail", "Hi Jens,"}, notText: []string{idA}},
		// Quoted text.
		{file: "reply-quoted-ignored.eml", want: withTag(req("Stark Industries Ltd", OrgIDFound, idA, true, idA), "REQ-000003"), notText: []string{idB, "wrote:"}},
		{file: "reply-quoted-used.eml", want: fromQuote(req("Stark Industries Ltd", OrgIDFound, idB, true, idB)), notText: []string{idB, "schrieb"}},
		{file: "reply-gmail-wrapped.eml", want: req("Wrapped Corp", OrgIDFound, idA, false, idA), notText: []string{idB, "wrote:"}},
		{file: "reply-outlook-quoted.eml", want: req("Outlook Reply GmbH", OrgIDFound, idC, false, idC), notText: []string{idB, "Sent:"}},
		{file: "reply-outlook-de-quoted-used.eml", want: fromQuote(req("Outlook Antwort GmbH", OrgIDFound, idC, true, idC)), notText: []string{"Gesendet:"}},
		{file: "reply-original-message.eml", want: req("Original Message Corp", OrgIDFound, idA, false, idA), notText: []string{idB}},
		{file: "reply-html-blockquote.eml", want: req("Blockquote Ltd", OrgIDFound, idA, false, idA), notText: []string{idB}},
		{file: "reply-html-blockquote-used.eml", want: fromQuote(req("Blockquote Ltd", OrgIDFound, idC, true, idC))},
		// Organization ID rules.
		{file: "unlabelled-single.eml", want: req("Single Ltd", OrgIDFound, idB, false, idB)},
		{file: "labelled-next-line.eml", want: req("Next Line Ltd", OrgIDFound, idC, true, idA, idC)},
		{file: "two-labelled.eml", want: req("Two Labels Ltd", OrgIDAmbiguous, "", true, idA, idB)},
		{file: "two-unlabelled-plus-same.eml", want: req("Same Twice Ltd", OrgIDFound, idA, false, idA)},
		{file: "urn-uuid.eml", want: req("Urn Ltd", OrgIDFound, idB, true, idB)},
		{file: "braces-label-upper.eml", want: req("Braces Ltd", OrgIDFound, idC, true, idC)},
		{file: "malformed-labelled.eml", want: req("Broken Id Ltd", OrgIDMalformed, "", true, idB, idA[:len(idA)-1])},
		{file: "malformed-words-not-value.eml", want: req("Words Ltd", OrgIDFound, idA, false, idA)},
		{file: "missing-na.eml", want: req("Unknown Yet Ltd", OrgIDMissing, "", false)},
		{file: "uuid-in-longer-token.eml", want: req("Token Ltd", OrgIDMissing, "", false)},
		{file: "contact-note.eml", want: func() fixture {
			f := req("Contact Ltd", OrgIDFound, idA, true, idA)
			f.Contact, f.Note = "jane.admin@customer.example", "please connect before Friday"
			return f
		}()},
		// Automatic replies win over a request subject.
		{file: "ooo-exchange.eml", want: fixture{Kind: KindAutoReply, OrgStatus: OrgIDMissing}, autoReason: "exchange_out_of_office"},
		{file: "ooo-abwesenheit.eml", want: fixture{Kind: KindAutoReply, OrgStatus: OrgIDMissing}, autoReason: "out_of_office_subject"},
		{file: "precedence-bulk.eml", want: kind(req("Bulk Ltd", OrgIDFound, idA, true, idA), KindAutoReply), autoReason: "precedence: bulk"},
		{file: "return-path-null.eml", want: kind(req("Null Sender Ltd", OrgIDFound, idA, true, idA), KindAutoReply), autoReason: "null_return_path"},
		{file: "x-autorespond.eml", want: kind(req("Auto Ltd", OrgIDMissing, "", false), KindAutoReply), autoReason: "x-autorespond"},
		{file: "mdn.eml", want: fixture{Kind: KindAutoReply, OrgStatus: OrgIDMissing, ReportType: "disposition-notification"}, autoReason: "mdn"},
		// Our own loop header never makes a request.
		{file: "own-loop.eml", want: func() fixture {
			f := kind(req("Loop Ltd", OrgIDFound, idA, true, idA), KindOther)
			f.OwnLoop = true
			return f
		}()},
		// Mailing lists: List is a flag; Precedence: list makes an auto-reply.
		{file: "mailing-list.eml", want: fixture{Kind: KindOther, OrgStatus: OrgIDMissing, List: true}},
		{file: "mailing-list-precedence.eml", want: fixture{Kind: KindAutoReply, OrgStatus: OrgIDMissing, List: true}, autoReason: "precedence: list"},
		{file: "mailing-list-request.eml", want: func() fixture {
			f := req("Via List Ltd", OrgIDFound, idA, true, idA)
			f.List = true
			return f
		}()},
		// Bounces.
		{file: "bounce-gmail.eml", want: fixture{Kind: KindBounce, OrgStatus: OrgIDFound, OrgID: idA, Labelled: true, FromQuote: true, Candidates: []string{idA}, DSNOrigID: "out-42@onboarding.example", Permanent: true}},
		{file: "bounce-exchange-ndr.eml", want: fixture{Kind: KindBounce, OrgStatus: OrgIDMissing, DSNOrigID: "out-43@onboarding.example"}},
		{file: "bounce-qmail.eml", want: fixture{Kind: KindBounce, OrgStatus: OrgIDMissing, DSNOrigID: "out-44@onboarding.example", Permanent: true}},
		{file: "bounce-report-request-subject.eml", want: fixture{Kind: KindBounce, Name: "Should Not Be Request", IsRequest: true, OrgStatus: OrgIDMissing, DSNOrigID: "out-45@onboarding.example", ReportType: "delivery-status"}},
		// ARF is not a bounce and not an auto-reply, even with Precedence: list.
		{file: "arf-feedback.eml", want: fixture{Kind: KindOther, OrgStatus: OrgIDFound, OrgID: idA, Labelled: true, Candidates: []string{idA}, List: true, ReportType: "feedback-report"}},
		// Authentication results.
		{file: "auth-topmost.eml", want: func() fixture {
			f := req("Auth Ltd", OrgIDFound, idA, true, idA)
			f.AuthCheck = true
			return f
		}()},
		{file: "auth-dkim-spf-fail.eml", want: func() fixture {
			f := req("Auth Fail Ltd", OrgIDFound, idA, true, idA)
			f.AuthCheck, f.AuthFailed = true, true
			return f
		}()},
		{file: "auth-untrusted-only.eml", want: req("Auth Other Ltd", OrgIDFound, idA, true, idA)},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw, Options{TrustedAuthServID: trustedID})
			if diff := cmp.Diff(tt.want, project(m)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			for _, s := range tt.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("Text lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tt.notText {
				if strings.Contains(strings.ToLower(m.Text), strings.ToLower(s)) {
					t.Errorf("Text has %q:\n%s", s, m.Text)
				}
			}
			if tt.defects == nil {
				tt.defects = []string{}
			}
			got := m.Defects
			if got == nil {
				got = []string{}
			}
			if diff := cmp.Diff(tt.defects, got); diff != "" {
				t.Errorf("defects (-want +got):\n%s", diff)
			}
			if tt.autoReason != m.AutoReason {
				t.Errorf("AutoReason = %q, want %q", m.AutoReason, tt.autoReason)
			}
		})
	}
	// Every fixture is in the table.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, f := range files {
		// neworg-*.eml: TestNewOrgFixtures checks their fields.
		if !seen[filepath.Base(f)] && !strings.HasPrefix(filepath.Base(f), "neworg-") {
			t.Errorf("testdata/%s is not checked by TestFixtures", filepath.Base(f))
		}
	}
}

func withTag(f fixture, tag string) fixture { f.Tag = tag; return f }
func fromQuote(f fixture) fixture           { f.FromQuote = true; return f }
func kind(f fixture, k Kind) fixture        { f.Kind = k; return f }

func TestFixtureDetails(t *testing.T) {
	read := func(name string) *Mail {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return Parse(raw, Options{TrustedAuthServID: trustedID})
	}
	t.Run("auth topmost trusted header wins", func(t *testing.T) {
		want := AuthResult{Checked: true, DMARC: "pass", DKIM: "pass", SPF: "pass"}
		if diff := cmp.Diff(want, read("auth-topmost.eml").Auth); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("auth comments and folding", func(t *testing.T) {
		want := AuthResult{Checked: true, DMARC: "none", DKIM: "fail", SPF: "fail", Failed: true}
		if diff := cmp.Diff(want, read("auth-dkim-spf-fail.eml").Auth); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("name injection never keeps a line break", func(t *testing.T) {
		m := read("name-injection.eml")
		if strings.ContainsAny(m.CustomerName+m.Subject, "\r\n") {
			t.Errorf("CR/LF survived: name %q subject %q", m.CustomerName, m.Subject)
		}
	})
	t.Run("bidi overrides removed", func(t *testing.T) {
		m := read("name-markup-bidi.eml")
		if strings.ContainsAny(m.CustomerName, "\u202e\u2066\t") {
			t.Errorf("name %q keeps bidi/control characters", m.CustomerName)
		}
	})
	t.Run("bounce DSN recipients from X-Failed-Recipients", func(t *testing.T) {
		m := read("bounce-gmail.eml")
		want := []DSNRecipient{{FinalRecipient: "admin@customer.example", Action: "failed"}}
		if m.DSN == nil {
			t.Fatal("no DSN")
		}
		if diff := cmp.Diff(want, m.DSN.Recipients); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("envelope of a reply", func(t *testing.T) {
		m := read("reply-quoted-ignored.eml")
		if diff := cmp.Diff([]string{"out-1@onboarding.example"}, m.InReplyTo); diff != "" {
			t.Errorf("InReplyTo (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"req-1@bluebird.example", "out-1@onboarding.example"}, m.References); diff != "" {
			t.Errorf("References (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"partners@onboarding.example"}, m.To); diff != "" {
			t.Errorf("To (-want +got):\n%s", diff)
		}
	})
}
