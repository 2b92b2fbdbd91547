package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// The answer counts behind the rate limits count answers not held within
// the window, per recipient and per partner, and stop at their caps.
func TestAnswersSinceCapped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		q := st.Q(ctx)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		p1, p2 := &store.Partner{Name: "P"}, &store.Partner{Name: "Q"}
		storetest.Must(t, q.CreatePartner(p1, nil, []string{"p.example"}))
		storetest.Must(t, q.CreatePartner(p2, nil, []string{"q.example"}))
		row := &store.OutboxMail{Kind: "request_received", FromAddr: "o@x", ToAddrs: "a@p.example", Subject: "s", TextBody: "b", MessageID: "m@x"}
		storetest.Must(t, q.InsertOutbox(row))
		add := func(to string, partner int64, held bool, at time.Time) {
			t.Helper()
			storetest.Must(t, q.LogAnswer(&store.AnswerLog{OutboxID: row.ID, PartnerID: partner, Recipient: to, Held: held, At: at}))
		}
		for i := 0; i < 5; i++ {
			add("a@p.example", p1.ID, false, t0.Add(time.Duration(i)*time.Minute))
		}
		add("b@p.example", p1.ID, false, t0)
		add("a@p.example", p1.ID, true, t0)                  // held: not counted
		add("a@p.example", p1.ID, false, t0.Add(-time.Hour)) // before the window
		add("c@q.example", p2.ID, false, t0)                 // another partner
		for _, tc := range []struct {
			capTo, capPartner int
			want              string
		}{
			{100, 100, "5 6"},
			{3, 4, "3 4"},
			{0, 0, "0 0"},
		} {
			to, partner, err := q.AnswersSince("a@p.example", p1.ID, t0, tc.capTo, tc.capPartner)
			storetest.Must(t, err)
			if diff := cmp.Diff(tc.want, fmt.Sprintf("%d %d", to, partner)); diff != "" {
				t.Errorf("caps %d/%d (-want +got):\n%s", tc.capTo, tc.capPartner, diff)
			}
		}
	})
}
