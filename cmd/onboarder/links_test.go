package main_test

import (
	"context"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/internal/clitest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/templates"
	"github.com/onboarder/onboarder/workflow"
)

// activeLinkThroughBinary takes Acme's request for Globex through intake
// and approval with the binary, and the administrator's acceptance as the
// invitation page does it; it returns the link's id.
func activeLinkThroughBinary(t *testing.T, h *harness, dbURL string) int64 {
	t.Helper()
	seedAcme(t, h)
	if _, err := h.imap.Append("INBOX", acmeRequest(1)); err != nil {
		t.Fatal(err)
	}
	h.run("poll", "--once")
	h.run("requests", "approve", "REQ-000001", "--by", "olga")
	st := storetest.Open(t, dbURL)
	tpl, err := templates.Load("")
	storetest.Must(t, err)
	wf, err := workflow.New(st, workflow.Options{From: mail.Address{Address: "partners@onboarding.example"}, Templates: tpl})
	storetest.Must(t, err)
	rows, err := st.Q(context.Background()).ListOutbox(store.OutboxFilter{RequestID: 1})
	storetest.Must(t, err)
	for _, r := range rows {
		if r.Kind == templates.KindInvitation {
			if _, err := wf.Accept(context.Background(), storetest.InvitationToken(t, st, r)); err != nil {
				t.Fatalf("accept: %v", err)
			}
		}
	}
	st.Close()
	var links []clitest.Link
	h.json(&links, "links", "list", "--json")
	if len(links) != 1 || links[0].Status != store.LinkActive {
		t.Fatalf("links %+v", links)
	}
	return links[0].ID
}

func (h *harness) links() []clitest.Link {
	h.t.Helper()
	var links []clitest.Link
	h.json(&links, "links", "list", "--json")
	return links
}

// outboxTo lists the outbox mails of kind as their bare recipients.
func (h *harness) outboxTo(kind string) []string {
	h.t.Helper()
	var rows []clitest.Outbox
	h.json(&rows, "outbox", "list", "--json")
	var out []string
	for _, r := range rows {
		if r.Kind == kind {
			out = append(out, strings.Join(r.To, ","))
		}
	}
	return out
}

// `links set-end` sets and clears a link's end date (shown by `links list`
// in JSON and text), refuses a past or malformed date; `links end` ends
// the link with a reason, both sides are told, and a second end is refused.
func TestLinksEndAndSetEndCommands(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			id := activeLinkThroughBinary(t, h, db.URL)
			ref := strconv.FormatInt(id, 10)

			for _, args := range [][]string{
				{"links", "set-end", ref, "--by", "olga"},                                 // neither --at nor --none
				{"links", "set-end", ref, "--at", "2099-01-01", "--none", "--by", "olga"}, // both
				{"links", "set-end", ref, "--at", "next week", "--by", "olga"},            // not a date
				{"links", "set-end", ref, "--at", "2099-01-01"},                           // --by missing
				{"links", "end", ref, "--by", "olga"},                                     // --reason missing
			} {
				_, stderr, code := h.exec("", args...)
				if code != 2 {
					t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
				}
				oneLine(t, stderr)
			}
			past := time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)
			_, stderr, code := h.exec("", "links", "set-end", ref, "--at", past, "--by", "olga")
			if code != 1 || !strings.Contains(stderr, "not in the future") {
				t.Errorf("a past date: exit %d %q", code, stderr)
			}
			oneLine(t, stderr)

			h.run("links", "set-end", ref, "--at", "2099-01-01", "--by", "olga")
			if l := h.links()[0]; l.EndsAt == nil || *l.EndsAt != "2099-01-01T00:00:00Z" {
				t.Fatalf("ends_at after set-end: %+v", l.EndsAt)
			}
			h.run("links", "set-end", ref, "--at", "2099-03-04T05:06:07+01:00", "--by", "olga")
			if l := h.links()[0]; l.EndsAt == nil || *l.EndsAt != "2099-03-04T04:06:07Z" {
				t.Fatalf("ends_at after an RFC 3339 set-end: %+v", l.EndsAt)
			}
			if out := h.run("links", "list"); !strings.Contains(out, "ENDS_AT") || !strings.Contains(out, "2099-03-04T04:06:07Z") {
				t.Errorf("links list does not show the end date:\n%s", out)
			}
			h.run("links", "set-end", ref, "--none", "--by", "olga")
			if l := h.links()[0]; l.EndsAt != nil {
				t.Fatalf("ends_at after --none: %v", *l.EndsAt)
			}

			out := h.run("links", "end", ref, "--by", "olga@provider.example", "--reason", "contract over")
			if !strings.Contains(out, "ended") {
				t.Errorf("links end printed %q", out)
			}
			l := h.links()[0]
			if l.Status != store.LinkEnded || l.EndedBy == nil || *l.EndedBy != "ops:olga@provider.example" ||
				l.EndReason == nil || *l.EndReason != "contract over" || l.EndedAt == nil {
				t.Fatalf("link after end: %+v", l)
			}
			if out := h.run("links", "list"); !strings.Contains(out, "ended") || !strings.Contains(out, "ops:olga@provider.example") ||
				!strings.Contains(out, "contract over") {
				t.Errorf("links list text:\n%s", out)
			}
			if got := strings.Join(h.outboxTo(templates.KindLinkEnded), " "); got != "ops@acme.example hank@globex.example" {
				t.Errorf("told %q", got)
			}
			_, stderr, code = h.exec("", "links", "end", ref, "--by", "olga", "--reason", "again")
			if code != 1 || !strings.Contains(stderr, "ended") {
				t.Errorf("ending twice: exit %d %q", code, stderr)
			}
			oneLine(t, stderr)
			_, stderr, code = h.exec("", "links", "set-end", ref, "--at", "2099-01-01", "--by", "olga")
			if code != 1 {
				t.Errorf("an end date on an ended link: exit %d %q", code, stderr)
			}
		})
	}
}

var manageURLRe = regexp.MustCompile(`/manage/([A-Za-z0-9_-]{43})\b`)

// The partner's end mail, through poll: the link ends, the partner gets
// the answer, the administrator the news with a working manage link.
func TestPartnerEndMailThroughBinary(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, db.URL, world{Mailbox: "partners@onboarding.example"})
			activeLinkThroughBinary(t, h, db.URL)
			end := "From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <end-1@acme.example>\r\n" +
				"Subject: Re: [EXTERNAL] Please end reseller connection to customer \"Globex\"\r\n\r\n" +
				"Organization ID: 9b2e4d6f-1a3c-4e5b-8d7f-0c1b2a3d4e5f\r\n"
			if _, err := h.imap.Append("INBOX", []byte(end)); err != nil {
				t.Fatal(err)
			}
			h.run("poll", "--once")
			l := h.links()[0]
			if l.Status != store.LinkEnded || l.EndedBy == nil || *l.EndedBy != "partner:ops@acme.example" {
				t.Fatalf("link after the end mail: %+v", l)
			}
			var msgs []clitest.Message
			h.json(&msgs, "messages", "list", "--json")
			var disps []string
			for _, m := range msgs {
				disps = append(disps, m.Disposition)
			}
			if !slices.Contains(disps, store.DispEndLink) {
				t.Errorf("dispositions %v", disps)
			}
			if got := h.outboxTo(templates.KindLinkEndAnswer); len(got) != 1 || got[0] != "ops@acme.example" {
				t.Errorf("answer to %v", got)
			}
			if got := h.outboxTo(templates.KindLinkEnded); len(got) != 1 || got[0] != "hank@globex.example" {
				t.Errorf("administrator told: %v", got)
			}
			h.run("outbox", "flush")
			found := false
			for _, r := range h.smtp.Messages() {
				body := string(r.Data)
				if !strings.Contains(body, "hank@globex.example") || !strings.Contains(body, "Reseller connection ended") {
					continue
				}
				found = true
				if strings.Contains(body, store.ManageTokenPlaceholder) || !manageURLRe.MatchString(body) {
					t.Errorf("the administrator's mail has no live manage link:\n%s", body)
				}
			}
			if !found {
				t.Error("the administrator's mail was not sent")
			}
		})
	}
}
