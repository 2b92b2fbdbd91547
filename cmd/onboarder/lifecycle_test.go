package main_test

// A reseller relation's whole life through the binary: the partner asks,
// ops approve, the administrator accepts on the invitation page, ops give
// the link an end date, the administrator ends it on the "manage your
// partners" page, the partner is told and asks for the status by mail.

import (
	"bytes"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onboarder/onboarder/store/storetest"
)

type lifecycleLink struct {
	ID        int64   `json:"id"`
	Status    string  `json:"status"`
	EndsAt    *string `json:"ends_at"`
	EndedAt   *string `json:"ended_at"`
	EndedBy   *string `json:"ended_by"`
	EndReason *string `json:"end_reason"`
}

var (
	inviteLinkRe = regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`)
	manageLinkRe = regexp.MustCompile(`/manage/([A-Za-z0-9_-]{43})`)
)

// nextTo waits until the SMTP server got a further mail to addr (more than
// before), flushing the outbox meanwhile, and returns its decoded text.
func (s *story) nextTo(addr string, before int) string {
	s.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); s.mailsTo(addr) <= before; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("no further mail to %s", addr)
		}
		s.run("outbox", "flush")
	}
	msgs := s.smtp.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Join(msgs[i].To, ",") == addr {
			m, err := mail.ReadMessage(bytes.NewReader(msgs[i].Data))
			if err != nil {
				s.t.Fatal(err)
			}
			return textOf(s.t, m)
		}
	}
	return ""
}

func TestStoryLifecycle(t *testing.T) {
	for _, db := range storetest.URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			s := newStory(t, db.URL)
			s.run("partners", "add", "--name", "Acme Cloud", "--ref", "MPN-100", "--email", "ops@acme.example", "--locale", "en")

			// The partner asks; ops approve; the administrator is invited.
			s.mailIn("From: Sarah <ops@acme.example>\r\nTo: partners@onboarding.example\r\nMessage-ID: <life-1@acme.example>\r\n" +
				"Subject: Please establish reseller connection to customer Kite Drachenbau GmbH\r\n\r\nOrganization ID: " + orgKite + "\r\n")
			if r := s.state("REQ-000001"); r.State != "pending_approval" {
				t.Fatalf("intake: %+v", r)
			}
			received, _ := s.sent("ops@acme.example", "REQ-000001")
			s.run("requests", "approve", "REQ-000001", "--by", "olga@ops.example")
			_, inv := s.sent("kim@kite.example", "REQ-000001")
			if !manageLinkRe.MatchString(inv) {
				t.Errorf("the invitation carries no manage link:\n%s", inv)
			}

			// The administrator accepts on the invitation page.
			token := s.linkIn(inv, inviteLinkRe)
			if code, page := s.http("GET", "/invite/"+token, nil); code != 200 || !strings.Contains(page, "Acme Cloud") {
				t.Fatalf("invitation page: %d\n%s", code, page)
			}
			adminBefore := s.mailsTo("kim@kite.example")
			if code, page := s.http("POST", "/invite/"+token+"/accept", url.Values{}); code != 200 {
				t.Fatalf("accept: %d\n%s", code, page)
			}
			if r := s.state("REQ-000001"); r.State != "completed" {
				t.Fatalf("after accepting: %+v", r)
			}
			established := s.nextTo("kim@kite.example", adminBefore)
			manage := s.linkIn(established, manageLinkRe)

			// Ops give the link an end date; the clock cannot move in the
			// binary, so the reminders are the workflow tests' part.
			var links []lifecycleLink
			s.json(&links, "links", "list", "--json")
			if len(links) != 1 || links[0].Status != "active" {
				t.Fatalf("links after accepting: %+v", links)
			}
			id := strconv.FormatInt(links[0].ID, 10)
			s.run("links", "set-end", id, "--at", "2099-06-30", "--by", "olga@ops.example")
			s.json(&links, "links", "list", "--json")
			if links[0].EndsAt == nil || *links[0].EndsAt != "2099-06-30T00:00:00Z" {
				t.Fatalf("ends_at after set-end: %+v", links[0])
			}

			// The administrator ends it on the manage page, with a reason.
			code, page := s.http("GET", "/manage/"+manage, nil)
			if code != 200 || !strings.Contains(page, "Acme Cloud") || !strings.Contains(page, `name="link_id" value="`+id+`"`) {
				t.Fatalf("manage page: %d\n%s", code, page)
			}
			partnerBefore := s.mailsTo("ops@acme.example")
			code, page = s.http("POST", "/manage/"+manage+"/end", url.Values{"link_id": {id}, "reason": {"Wir kaufen jetzt direkt."}})
			if code != 200 || !strings.Contains(page, `id="ended"`) {
				t.Fatalf("ending: %d\n%s", code, page)
			}
			s.json(&links, "links", "list", "--json")
			l := links[0]
			if l.Status != "ended" || l.EndedAt == nil || l.EndedBy == nil || *l.EndedBy != "customer:kim@kite.example" ||
				l.EndReason == nil || *l.EndReason != "Wir kaufen jetzt direkt." {
				t.Fatalf("link after the administrator ended it: %+v", l)
			}
			told := strings.Join(strings.Fields(s.nextTo("ops@acme.example", partnerBefore)), " ")
			if !strings.Contains(told, "Kite Drachenbau GmbH") || !strings.Contains(told, "Wir kaufen jetzt direkt.") {
				t.Errorf("the partner's link_ended mail:\n%s", told)
			}
			var rows []cliOutbox
			s.json(&rows, "outbox", "list", "--json")
			ended := 0
			for _, r := range rows {
				if r.Kind == "link_ended" {
					ended++
					if strings.Join(r.To, ",") != "ops@acme.example" {
						t.Errorf("link_ended to %v: the administrator ended it", r.To)
					}
				}
			}
			if ended != 1 {
				t.Errorf("%d link_ended mails, want 1 (to the partner)", ended)
			}

			// The partner asks for the status in its thread: answered.
			partnerBefore = s.mailsTo("ops@acme.example")
			s.mailIn("From: ops@acme.example\r\nTo: partners@onboarding.example\r\nMessage-ID: <life-2@acme.example>\r\n" +
				"In-Reply-To: " + received + "\r\nSubject: Re: Please establish reseller connection to customer Kite Drachenbau GmbH [REQ-000001]\r\n\r\nstatus\r\n")
			status := strings.Join(strings.Fields(s.nextTo("ops@acme.example", partnerBefore)), " ")
			if !strings.Contains(status, "REQ-000001") || !strings.Contains(status, "has since been ended") {
				t.Errorf("status answer:\n%s", status)
			}
		})
	}
}
