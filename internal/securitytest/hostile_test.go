package securitytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// allowedHeaders are the only header fields onboarder's mails may have.
var allowedHeaders = map[string]bool{
	"From": true, "To": true, "Reply-To": true, "Subject": true, "Date": true, "Message-Id": true,
	"In-Reply-To": true, "References": true, "Auto-Submitted": true, "X-Auto-Response-Suppress": true,
	"X-Onboarder-Loop": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
}

// TestHostileValuesInSMTPData sends requests whose names, notes and
// contacts carry CR/LF (raw, folded and RFC 2047-encoded), header and
// recipient injections and markup through the whole pipeline (IMAP, parser,
// workflow, approval, outbox, SMTP) and reads the raw SMTP data: every mail
// has one recipient, only onboarder's own header fields, one-line header
// values, and no live markup in its HTML.
func TestHostileValuesInSMTPData(t *testing.T) {
	ctx := context.Background()
	a := newInstance(t, "partners@a.example", nil)
	a.partner("Acme <b>Resellers</b>", nil, []string{"acme.example"})
	subjects := []string{
		"=?utf-8?q?Evil=0D=0ABcc:_victim1@x.example=0D=0AX-Injected:_1?=",
		"Folded\r\n Bcc: victim2@x.example",
		"=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte("B64\r\nTo: victim3@x.example\r\n\r\n<script>alert(1)</script>")) + "?=",
		`<img src=x onerror=alert(1)> "Quote" & Co` + " \u202eevil",
		"=?utf-8?q?Null=00Byte=0A=0A<a_href=3D=22javascript:alert(1)=22>x</a>?=",
	}
	for i, subj := range subjects {
		org := fmt.Sprintf("5e6f7a8b-0000-4000-8000-%012d", i+1)
		storetest.Must(t, a.st.Q(ctx).UpsertOrganization(&store.Organization{ID: org, Name: "Globex " + fmt.Sprint(i),
			Status: store.OrgActive, AdminName: "Hank\r\nBcc: victim4@x.example", AdminEmail: fmt.Sprintf("admin%d@globex.example", i), Locale: "en"}))
		a.deliver(fmt.Sprintf("From: Sarah <ops%d@acme.example>\r\nTo: partners@a.example\r\nMessage-ID: <h%d@acme.example>\r\n"+
			"Subject: Please establish reseller connection to customer %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"Organization ID: %s\r\nNote: <script>alert('note')</script>\r\nContact: admin@globex.example\r\nBcc: victim5@x.example\r\n",
			i, i, subj, org))
	}
	out := a.step(ctx)
	reqs, err := a.st.Q(ctx).ListRequests(store.RequestFilter{State: store.StatePendingApproval})
	storetest.Must(t, err)
	if len(reqs) != len(subjects) {
		t.Fatalf("%d pending requests, want %d", len(reqs), len(subjects))
	}
	for _, r := range reqs {
		if strings.ContainsAny(r.CustomerName+r.Note, "\r\n\x00\u202e") {
			t.Errorf("stored name %q note %q keep control characters", r.CustomerName, r.Note)
		}
		// The names differ from the directory's (name_mismatch): four eyes.
		storetest.Must(t, a.wf.Approve(ctx, r.ID, "olga", "ok\r\nBcc: victim6@x.example <script>x</script>"))
		storetest.Must(t, a.wf.Approve(ctx, r.ID, "piet", "ok\r\nBcc: victim6@x.example <script>x</script>"))
	}
	out = append(out, a.step(ctx)...)
	// Per request: request_received, request_approved, invitation.
	if len(out) != 3*len(subjects) {
		t.Fatalf("%d mails sent, want %d", len(out), 3*len(subjects))
	}
	var seen sentFacts
	for _, m := range out {
		checkSent(t, m.To, m.Data, &seen)
	}
	// The hostile values did arrive, as harmless text.
	if !seen.escapedMarkup || !seen.injectionText {
		t.Errorf("escaped markup seen %v, injection text in a header value seen %v: the test lost its inputs",
			seen.escapedMarkup, seen.injectionText)
	}
}

type sentFacts struct{ escapedMarkup, injectionText bool }

func checkSent(t *testing.T, envelope []string, data []byte, seen *sentFacts) {
	t.Helper()
	if len(envelope) != 1 || !(strings.HasSuffix(envelope[0], "@acme.example") || strings.HasSuffix(envelope[0], "@globex.example")) {
		t.Errorf("envelope recipients %v", envelope)
	}
	if bytes.Contains(data, []byte("victim")) && bytes.Contains(bytes.ToLower(headerBlock(data)), []byte("\nbcc:")) {
		t.Errorf("a Bcc header field in:\n%s", headerBlock(data))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading the sent mail: %v\n%s", err, data)
	}
	for k := range msg.Header {
		if !allowedHeaders[k] {
			t.Errorf("header field %q in a sent mail:\n%s", k, headerBlock(data))
		}
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != envelope[0] {
		t.Errorf("To %v (%v), envelope %v", to, err, envelope)
	}
	dec := new(mime.WordDecoder)
	for _, k := range []string{"Subject", "To", "From"} {
		v, err := dec.DecodeHeader(msg.Header.Get(k))
		if err != nil || strings.ContainsAny(v, "\r\n\x00") {
			t.Errorf("%s decodes to %q (%v)", k, v, err)
		}
		if strings.Contains(v, "Bcc: victim") || strings.Contains(v, "To: victim") {
			seen.injectionText = true
		}
	}
	// The HTML alternative has no live markup from mail or ops.
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading parts: %v", err)
		}
		var r io.Reader = p // mime/multipart decodes quoted-printable itself
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, p)
		} else if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("decoding a part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			low := strings.ToLower(string(body))
			if strings.Contains(low, "&lt;script&gt;") || strings.Contains(low, "&lt;img") {
				seen.escapedMarkup = true
			}
			for _, bad := range []string{"<script", "<img", "<a href=\"javascript", "<b>resellers", "\u202e"} {
				if strings.Contains(low, bad) {
					t.Errorf("HTML part contains %q", bad)
				}
			}
		}
	}
}

func headerBlock(data []byte) []byte {
	h, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	return append([]byte("\n"), h...)
}
