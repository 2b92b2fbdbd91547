package clitest

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// StoredMail is one mail in a folder of the polled mailbox.
type StoredMail struct {
	Raw   []byte
	Flags []string
}

// Mailbox is the polled mailbox as the test reaches it.
type Mailbox interface {
	Append(folder string, raw []byte) error
	Messages(folder string) ([]StoredMail, error)
}

// Replay replays the request corpus through the binary: step 1's mails in
// one intake pass, then replies built from the program's own mails.
type Replay struct {
	H         *Harness
	Dir       string // the corpus's requests folder
	Mailbox   Mailbox
	Processed string // the processed folder (default Onboarder/Processed)
	// SentMail returns the mail of outbox row o as its recipient got it.
	SentMail func(o Outbox) *mail.Message
}

// Run replays the corpus, checks every expectation and where each mail
// ended up, and returns the outbox at the end.
func (r *Replay) Run() []Outbox {
	h, t := r.H, r.H.T
	t.Helper()
	if r.Processed == "" {
		r.Processed = "Onboarder/Processed"
	}
	var exp []Expectation
	ReadJSON(t, filepath.Join(r.Dir, "expected.json"), &exp)
	var w World
	ReadJSON(t, filepath.Join(r.Dir, "world.json"), &w)
	h.Setup(w, filepath.Join(r.Dir, "orgs.csv"))

	// Step 1: every step-1 mail delivered together, one intake pass.
	msgIDOf := map[string]string{}
	n := 0
	for _, e := range exp {
		if e.Step != 1 {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(r.Dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Mailbox.Append("INBOX", raw); err != nil {
			t.Fatal(err)
		}
		msgIDOf[e.File] = MessageIDOf(t, raw)
		n++
	}
	h.Run("poll", "--once")
	flush := h.Run("outbox", "flush")
	mails := 0
	for _, e := range exp {
		if e.Step == 1 {
			mails += len(e.Mails)
		}
	}
	if want := fmt.Sprintf("sent %d, deferred 0, failed 0", mails); strings.TrimSpace(flush) != want {
		t.Errorf("outbox flush printed %q, want %q", flush, want)
	}
	step1 := Check(h, exp, 1, msgIDOf, nil)
	r.checkPlaces(exp, msgIDOf, n)

	// Step 2: replies built from the program's own mails, as a mail client would.
	for _, e := range exp {
		if e.Step != 2 {
			continue
		}
		parent := step1[e.FollowOf.Case+".eml"]
		var ours *Outbox
		for i := range parent {
			if parent[i].Kind == e.FollowOf.Kind {
				ours = &parent[i]
			}
		}
		if ours == nil {
			t.Fatalf("%s: the program sent no %s for %s", e.File, e.FollowOf.Kind, e.FollowOf.Case)
		}
		sent := r.SentMail(*ours)
		raw, err := os.ReadFile(filepath.Join(r.Dir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		refs := strings.TrimSpace(sent.Header.Get("References") + " <" + ours.MessageID + ">")
		rp := strings.NewReplacer("{{SUBJECT}}", "Re: "+DecodeHeader(sent.Header.Get("Subject")),
			"{{IN_REPLY_TO}}", "<"+ours.MessageID+">", "{{REFERENCES}}", refs)
		reply := []byte(rp.Replace(string(raw)))
		if err := r.Mailbox.Append("INBOX", reply); err != nil {
			t.Fatal(err)
		}
		msgIDOf[e.File] = MessageIDOf(t, reply)
		msgIDOf[e.Resumes+".eml"] = msgIDOf[e.FollowOf.Case+".eml"]
	}
	h.Run("poll", "--once")
	h.Run("outbox", "flush")
	Check(h, exp, 2, msgIDOf, step1)

	all := h.Outbox()
	for _, m := range all {
		if m.Status != "sent" || m.Attempts != 1 {
			t.Errorf("outbox %d (%s): status %s after %d attempts", m.ID, m.Kind, m.Status, m.Attempts)
		}
	}
	return all
}

// checkPlaces checks where each step-1 mail ended up: left unflagged in
// INBOX, or in the processed folder. A mail copied to the processed folder
// by a server without MOVE and UIDPLUS stays in INBOX flagged \Deleted
// (hidden by mail clients, expunged by the next EXPUNGE): it counts as moved.
func (r *Replay) checkPlaces(exp []Expectation, msgIDOf map[string]string, n int) {
	t := r.H.T
	t.Helper()
	inbox, err := r.Mailbox.Messages("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	processed, err := r.Mailbox.Messages(r.Processed)
	if err != nil {
		t.Fatal(err)
	}
	inInbox := map[string]bool{}
	visible := 0
	for _, m := range inbox {
		if hasFlag(m.Flags, `\Deleted`) {
			continue
		}
		visible++
		inInbox[MessageIDOf(t, m.Raw)] = true
		if len(m.Flags) != 0 {
			t.Errorf("mail left in INBOX has flags %v", m.Flags)
		}
	}
	inProcessed := map[string]int{}
	for _, m := range processed {
		inProcessed[MessageIDOf(t, m.Raw)]++
	}
	for _, e := range exp {
		if e.Step != 1 {
			continue
		}
		id := msgIDOf[e.File]
		if got := inInbox[id]; got != e.StaysInInbox {
			t.Errorf("%s: in INBOX = %v, want %v", e.File, got, e.StaysInInbox)
		}
		if want := map[bool]int{true: 0, false: 1}[e.StaysInInbox]; inProcessed[id] != want {
			t.Errorf("%s: %d copies in %s, want %d", e.File, inProcessed[id], r.Processed, want)
		}
	}
	if visible+len(processed) != n {
		t.Errorf("INBOX %d + processed %d mails, want %d: a mail was lost or copied", visible, len(processed), n)
	}
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if strings.EqualFold(g, f) {
			return true
		}
	}
	return false
}

// Check compares the program's state with the expectations of one step and
// returns, per file, the outbox mails its request caused in that step.
func Check(h *Harness, exp []Expectation, step int, msgIDOf map[string]string, before map[string][]Outbox) map[string][]Outbox {
	t := h.T
	t.Helper()
	msgs := h.Messages()
	reqs := h.Requests()
	outbox := h.Outbox()
	byMsgID := map[string]Message{}
	for _, m := range msgs {
		if m.MessageID != nil {
			byMsgID[*m.MessageID] = m
		}
	}
	reqByID := map[int64]Request{}
	for _, r := range reqs {
		reqByID[r.ID] = r
	}
	seen := map[int64]bool{}
	for _, prev := range before {
		for _, m := range prev {
			seen[m.ID] = true
		}
	}
	caused := map[string][]Outbox{}
	for _, e := range exp {
		if e.Step != step {
			continue
		}
		checkOne(t, e, byMsgID, reqByID, msgIDOf, outbox, seen, caused)
	}
	// No mail for anything that did not expect one.
	total := 0
	for _, e := range exp {
		if e.Step == step {
			total += len(e.Mails)
		}
	}
	if n := len(outbox) - len(seen); n != total {
		t.Errorf("step %d: %d new outbox mails, want %d", step, n, total)
	}
	return caused
}

func checkOne(t testing.TB, e Expectation, byMsgID map[string]Message, reqByID map[int64]Request,
	msgIDOf map[string]string, outbox []Outbox, seen map[int64]bool, caused map[string][]Outbox) {
	t.Helper()
	name := e.File
	m, ok := byMsgID[msgIDOf[e.File]]
	if !ok {
		t.Errorf("%s: not in messages list", name)
		return
	}
	if m.Disposition != e.Disposition {
		t.Errorf("%s: disposition %s, want %s", name, m.Disposition, e.Disposition)
	}
	if e.State == "" {
		if len(e.Mails) > 0 {
			t.Errorf("%s: expectation without state lists mails", name)
		}
		if m.RequestID != nil && e.Disposition != "auto_reply" && e.Disposition != "bounce" {
			t.Errorf("%s: made request %d", name, *m.RequestID)
		}
		return
	}
	if m.RequestID == nil {
		t.Errorf("%s: no request", name)
		return
	}
	r := reqByID[*m.RequestID]
	if r.State != e.State {
		t.Errorf("%s: state %s, want %s (findings %v)", name, r.State, e.State, r.Findings)
	}
	if e.OrganizationID != nil && (r.OrganizationID == nil || *r.OrganizationID != *e.OrganizationID) {
		t.Errorf("%s: organization_id %v, want %s", name, Deref(r.OrganizationID), *e.OrganizationID)
	}
	if e.CustomerName != nil && r.CustomerName != *e.CustomerName {
		t.Errorf("%s: customer_name %q, want %q", name, r.CustomerName, *e.CustomerName)
	}
	if e.Partner != "" && (r.Partner == nil || r.Partner.Name != e.Partner) {
		t.Errorf("%s: partner %+v, want %s", name, r.Partner, e.Partner)
	}
	codes := map[string]bool{}
	for _, f := range r.Findings {
		codes[f.Code] = true
	}
	for _, f := range e.Findings {
		if !codes[f] {
			t.Errorf("%s: finding %s missing (have %v)", name, f, r.Findings)
		}
	}
	for _, f := range e.FindingsAbsent {
		if codes[f] {
			t.Errorf("%s: finding %s present", name, f)
		}
	}
	// Exactly the mails this step caused for the request.
	var got []string
	for _, o := range outbox {
		if o.RequestID != nil && *o.RequestID == r.ID && !seen[o.ID] {
			got = append(got, o.Kind+" "+strings.Join(LowerAddrs(o.To), ","))
			caused[name] = append(caused[name], o)
			if o.Status != "sent" {
				t.Errorf("%s: %s mail %s: %v", name, o.Kind, o.Status, Deref(o.LastError))
			}
			if !strings.Contains(o.Subject, r.Reference) && o.Kind != "invitation" {
				t.Errorf("%s: %s subject %q lacks %s", name, o.Kind, o.Subject, r.Reference)
			}
		}
	}
	var want []string
	for _, wm := range e.Mails {
		want = append(want, wm.Kind+" "+strings.Join(wm.To, ","))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("%s: mails %v, want %v", name, got, want)
	}
}
