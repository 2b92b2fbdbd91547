package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// TestInvitationGoneAfterPartnerCancels: the partner replies `cancel` to an
// invited request; the administrator's invitation page then answers 410.
func TestInvitationGoneAfterPartnerCancels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		id := f.deliver("jonas@alpenblick.example", "Northwind Traders", orgEN)
		token := f.approve(id)
		if r := c.get("/invite/" + token); r.Status != http.StatusOK {
			t.Fatalf("invitation before the cancel: %d", r.Status)
		}
		first := f.outbox(id)[0]
		raw := "From: Jonas Berger <jonas@alpenblick.example>\r\nTo: partners@onboarding.example\r\nMessage-ID: <cancel-1@alpenblick.example>\r\n" +
			"In-Reply-To: <" + first.MessageID + ">\r\nSubject: Re: " + first.Subject + "\r\n\r\nCancel\r\n"
		f.uid++
		if _, err := f.wf.HandleMail(context.Background(), workflowIncoming(raw, f.uid)); err != nil {
			t.Fatal(err)
		}
		if s := f.request(id).State; s != store.StateCancelled {
			t.Fatalf("state after the partner's cancel: %s", s)
		}
		for _, r := range []resp{c.get("/invite/" + token), c.post("/invite/"+token+"/accept", nil),
			c.post("/invite/"+token+"/decline", url.Values{"message": {"no"}})} {
			if r.Status != http.StatusGone {
				t.Errorf("invitation after the cancel: %d, want 410", r.Status)
			}
			contains(t, "gone page", r.Body, "no longer valid")
		}
		if s := f.request(id).State; s != store.StateCancelled {
			t.Fatalf("state after using the link: %s", s)
		}
	})
}
