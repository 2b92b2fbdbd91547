package outbox

import (
	"net/url"
	"testing"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// TestSentIsRecordedAfterTheDatabaseConnectionDrops: the server accepted
// the mail and the database connection breaks under the UPDATE that
// records it. The dispatcher retries the record instead of leaving the row
// to be sent a second time after its lease (PostgreSQL, through a proxy
// that cuts the connection).
func TestSentIsRecordedAfterTheDatabaseConnectionDrops(t *testing.T) {
	pg, ok := storetest.PostgresURL(t)
	if !ok {
		t.Skip("needs PostgreSQL")
	}
	storetest.Open(t, pg) // migrate
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := mailtest.StartProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	st := storetest.Open(t, u.String())

	srv := startSMTP(t)
	clk := newClock()
	row := newRow("partner@example.com")
	insert(t, st, clk, &row)

	hit := proxy.StallOn("sent_at")
	go func() {
		<-hit
		proxy.CutAll() // the connection drops under the UPDATE
		proxy.Resume()
	}()
	d := New(st, testConfig(t, srv.Addr(), clk))
	res := flush(t, d)
	if res.Sent != 1 {
		t.Fatalf("flush: %+v, want one sent", res)
	}
	got := getRow(t, st, row.ID)
	if got.Status != store.OutboxSent {
		t.Errorf("row is %s after the database came back, want sent (it would be sent again after its lease)", got.Status)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("SMTP server received %d mails, want 1", n)
	}
}
