package workflow_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/testcorpus"
	"github.com/onboarder/onboarder/parser"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// realWorld reads the real-world corpus: file names (sorted), contents and
// index.tsv's tag of each.
func realWorld(t *testing.T) (files []string, raw map[string][]byte, tags map[string]string) {
	t.Helper()
	dir := testcorpus.RealWorld(t)
	tags = map[string]string{}
	idx, err := os.ReadFile(filepath.Join(dir, "index.tsv"))
	if err != nil {
		t.Fatalf("reading index.tsv: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(idx))
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 2 && !strings.HasPrefix(cols[0], "#") {
			tags[filepath.ToSlash(cols[0])] = cols[1]
		}
	}
	raw = map[string][]byte{}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if rel == "index.tsv" || rel == "SOURCES.md" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, rel)
		raw[rel] = b
		return nil
	})
	if err != nil {
		t.Fatalf("reading the real-world corpus: %v", err)
	}
	sort.Strings(files)
	if len(files) < 300 {
		t.Fatalf("found %d real-world mails, want the whole corpus", len(files))
	}
	return files, raw, tags
}

// TestRealWorldThroughWorkflow hands every real-world mail to the workflow
// on a real database, with every sender domain of the corpus registered as
// a partner, so that a mail taken for a request would be answered: none
// may become a request or a reply, none may be answered, each is handled in
// bounded time, and bounces and automatic replies are recognised as such.
func TestRealWorldThroughWorkflow(t *testing.T) {
	files, raw, tags := realWorld(t)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, nil)
		ctx := context.Background()
		domains := map[string]bool{}
		for _, rel := range files {
			p := parser.Parse(raw[rel], parser.Options{})
			if at := strings.LastIndexByte(p.From.Addr, '@'); at > 0 && p.From.Addr[at+1:] != "" {
				domains[p.From.Addr[at+1:]] = true
			}
		}
		delete(domains, "acme.example")
		delete(domains, "bluebird.example")
		var ds []string
		for d := range domains {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		storetest.Must(t, st.Q(ctx).CreatePartner(&store.Partner{Name: "Everyone in the corpus", Trusted: true}, nil, ds))

		var bounces, bouncesOK, autos, autosOK int
		var missed []string
		var slowest time.Duration
		count := map[string]int{}
		for _, rel := range files {
			start := time.Now()
			res := f.deliver(string(raw[rel]))
			el := time.Since(start)
			slowest = max(slowest, el)
			if el > 5*time.Second {
				t.Errorf("%s: handled in %v", rel, el)
			}
			count[res.Disposition]++
			if res.Disposition == store.DispDuplicate {
				// The corpus holds some mails twice (the same Message-ID and
				// sender in two projects): the workflow recognises the copy
				// and does not act twice. It counts as what the first was.
				m, err := st.Q(ctx).Message(res.MessageID)
				storetest.Must(t, err)
				var first int64
				if _, err := fmt.Sscanf(m.Detail, "same mail as message %d", &first); err != nil {
					t.Fatalf("%s: duplicate without its original: %q", rel, m.Detail)
				}
				orig, err := st.Q(ctx).Message(first)
				storetest.Must(t, err)
				res.Disposition = orig.Disposition
			}
			switch res.Disposition {
			case store.DispRequest, store.DispReply, store.DispPending, store.DispUnparseable:
				t.Errorf("%s: disposition %s", rel, res.Disposition)
			}
			switch tags[rel] {
			case "bounce":
				bounces++
				if res.Disposition == store.DispBounce {
					bouncesOK++
				} else {
					missed = append(missed, rel+" (bounce -> "+res.Disposition+")")
				}
			case "autoreply":
				autos++
				if res.Disposition == store.DispAutoReply {
					autosOK++
				} else {
					missed = append(missed, rel+" (autoreply -> "+res.Disposition+")")
				}
			}
		}
		reqs, err := st.Q(ctx).ListRequests(store.RequestFilter{})
		storetest.Must(t, err)
		if len(reqs) != 0 {
			t.Errorf("%d requests made from the real-world corpus", len(reqs))
		}
		if rows := f.allOutbox(); len(rows) != 0 {
			t.Errorf("%d mails queued in answer to the real-world corpus, first to %s", len(rows), rows[0].ToAddrs)
		}
		t.Logf("%d mails, slowest %v, dispositions %v", len(files), slowest, count)
		t.Logf("bounce: %d/%d recognised; autoreply: %d/%d recognised", bouncesOK, bounces, autosOK, autos)
		for _, m := range missed {
			t.Logf("misclassified: %s", m)
		}
		if bouncesOK != bounces || autosOK != autos {
			t.Errorf("bounces %d/%d, automatic replies %d/%d: every tagged mail must be recognised", bouncesOK, bounces, autosOK, autos)
		}
	})
}

// TestHostileShapesThroughWorkflow hands the hostile shapes to the whole
// intake path (parse, check, record) as the mailbox would: each gets a clear
// disposition in bounded time, and nothing but a too-large record for what
// is over the size limit.
func TestHostileShapesThroughWorkflow(t *testing.T) {
	const head = "From: Sarah <ops@acme.example>\r\nTo: partners@onboarding.example\r\n" +
		"Subject: Please establish reseller connection to customer Hostile Ltd\r\nMIME-Version: 1.0\r\n"
	org := "Organization ID: " + orgGlobex + "\r\n"
	nested := func() []byte {
		var b bytes.Buffer
		b.WriteString(head + "Message-ID: <h-nested@acme.example>\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
		}
		fmt.Fprintf(&b, "--b10000\r\nContent-Type: text/plain\r\n\r\n%s", org)
		return b.Bytes()
	}
	manyParts := func() []byte {
		var b bytes.Buffer
		b.WriteString(head + "Message-ID: <h-parts@acme.example>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
		b.WriteString("--x\r\nContent-Type: text/plain\r\n\r\n" + org)
		for i := 0; i < 100000; i++ {
			b.WriteString("--x\r\n\r\nhi\r\n")
		}
		b.WriteString("--x--\r\n")
		return b.Bytes()
	}
	hugeHeader := func() []byte {
		var b bytes.Buffer
		b.WriteString(head + "Message-ID: <h-header@acme.example>\r\nX-Big: ")
		b.Write(bytes.Repeat([]byte("a"), 50<<20))
		b.WriteString("\r\n\r\n" + org)
		return b.Bytes()
	}
	bomb := func() []byte { // 6 MiB of base64 that decodes to 4.5 MiB of zeros per part, many times over
		enc := base64.StdEncoding.EncodeToString(make([]byte, 3<<20))
		var b bytes.Buffer
		b.WriteString(head + "Message-ID: <h-bomb@acme.example>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n" + org)
		b.WriteString("--x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc + "\r\n--x--\r\n")
		return b.Bytes()
	}
	tests := []struct {
		name  string
		raw   []byte
		disps []string
	}{
		{"10,000 nested multiparts", nested(), []string{store.DispRequest}},
		{"100,000 parts", manyParts(), []string{store.DispRequest}},
		{"50 MB header", hugeHeader(), []string{store.DispTooLarge}},
		{"base64 that expands", bomb(), []string{store.DispRequest}},
		{"NUL bytes", []byte(head + "Message-ID: <h-nul@acme.example>\r\n\r\n\x00\x00" + org + "\x00"), []string{store.DispRequest}},
		{"CR-only lines", []byte(strings.ReplaceAll(head+"Message-ID: <h-cr@acme.example>\r\n\r\n"+org, "\r\n", "\r")), []string{store.DispRequest}},
		{"invalid UTF-8 in headers", []byte("From: \xff\xfe <ops@acme.example>\r\nSubject: Please establish reseller connection to customer \xc3\x28\xa0\xa1\r\n" +
			"Message-ID: <h-utf8@acme.example>\r\nX-Bad: \xed\xa0\x80\r\n\r\n" + org), []string{store.DispRequest}},
		{"garbage", bytes.Repeat([]byte("\x00\xff:\r\n--\r\n"), 100000), []string{store.DispIgnored}},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const limit = 10 << 20 // ONBOARDER_MAX_MESSAGE_BYTES: what the mailbox fetches
		f := newFixture(t, st, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.uid++
				in := workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1, UID: f.uid, Raw: tt.raw,
					Size: int64(len(tt.raw)), TooLarge: len(tt.raw) > limit, ReceivedAt: f.now}
				if in.TooLarge {
					in.Raw = nil
				}
				start := time.Now()
				res, err := f.wf.HandleMail(context.Background(), in)
				el := time.Since(start)
				if err != nil {
					t.Fatalf("HandleMail: %v", err)
				}
				t.Logf("%d bytes: %s in %v", len(tt.raw), res.Disposition, el)
				if el > 10*time.Second {
					t.Errorf("took %v", el)
				}
				ok := false
				for _, d := range tt.disps {
					ok = ok || res.Disposition == d
				}
				if !ok {
					t.Errorf("disposition %s, want one of %v", res.Disposition, tt.disps)
				}
				m, err := st.Q(context.Background()).Message(res.MessageID)
				storetest.Must(t, err)
				if !in.TooLarge && len(m.Raw) != len(tt.raw) {
					t.Errorf("raw source kept %d of %d bytes", len(m.Raw), len(tt.raw))
				}
				if res.RequestID != 0 {
					r := f.request(res.RequestID)
					if strings.ContainsAny(r.CustomerName, "\r\n\x00") || len(r.CustomerName) > 1000 {
						t.Errorf("customer name %q", r.CustomerName)
					}
				}
			})
		}
	})
}
