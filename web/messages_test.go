package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
	"github.com/onboarder/onboarder/workflow"
)

// A mail over the size limit shows ops whose it was, how large, the limit,
// and whether the partner was answered.
func TestConsoleShowsTooLargeMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, "")
		c := f.client()
		c.login()
		env := func(from, id, subject string) *workflow.Envelope {
			return &workflow.Envelope{MessageID: id, Subject: subject, From: []string{from}}
		}
		var ids []int64
		for i, e := range []*workflow.Envelope{
			env("jonas@alpenblick.example", "scan-1@alpenblick.example", "Contract for Northwind"),
			env("mallory@stranger.example", "scan-2@stranger.example", "Big file"),
		} {
			res, err := f.wf.HandleMail(context.Background(), workflow.Incoming{Mailbox: "INBOX", UIDValidity: 1,
				UID: uint32(700 + i), Size: 13002342, TooLarge: true, Envelope: e, ReceivedAt: f.clock.Now()})
			storetest.Must(t, err)
			ids = append(ids, res.MessageID)
		}
		r := c.get("/ops/messages?disposition=" + store.DispTooLarge)
		if r.Status != http.StatusOK {
			t.Fatalf("messages: %d", r.Status)
		}
		contains(t, "messages", r.Body, "jonas@alpenblick.example", "Contract for Northwind", "mallory@stranger.example",
			"Big file", "12.4 MB", "over the size limit of 10 MB")
		r = c.get(fmt.Sprintf("/ops/messages/%d", ids[0]))
		contains(t, "partner's mail", r.Body, "jonas@alpenblick.example", "Contract for Northwind", "scan-1@alpenblick.example",
			"12.4 MB", "10 MB", "partner Alpenblick IT GmbH answered at jonas@alpenblick.example")
		r = c.get(fmt.Sprintf("/ops/messages/%d", ids[1]))
		contains(t, "stranger's mail", r.Body, "scan-2@stranger.example",
			"not answered: mallory@stranger.example matches no partner&#39;s sender rules")
	})
}
