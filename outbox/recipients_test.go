package outbox

import (
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/mailtest"
	"github.com/onboarder/onboarder/store"
	"github.com/onboarder/onboarder/store/storetest"
)

// Every name reaches the server in a To header that parses back to the
// same name and address, and the envelope holds the bare address.
func TestRecipientsWithNamesAsDirectoriesWriteThem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := newClock()
		var rows []*store.OutboxMail
		for i, name := range mailtest.DisplayNames {
			row := newRow("")
			row.SetRecipients(store.Recipient{Name: name, Addr: fmt.Sprintf("admin%d@customer.example", i)})
			rows = append(rows, &row)
		}
		insert(t, st, clk, rows...)
		if res := flush(t, New(st, testConfig(t, srv.Addr(), clk))); res.Sent != len(rows) {
			t.Fatalf("flush: %+v, want %d sent", res, len(rows))
		}
		got := map[string]string{}
		for _, m := range srv.Messages() {
			p := parseReceived(t, m)
			to, err := (&netmail.AddressParser{WordDecoder: new(mime.WordDecoder)}).ParseList(p.header.Get("To"))
			if err != nil || len(to) != 1 {
				t.Errorf("To %q: %v", p.header.Get("To"), err)
				continue
			}
			if len(p.envTo) != 1 || p.envTo[0] != to[0].Address {
				t.Errorf("envelope %v, header %s", p.envTo, to[0].Address)
			}
			got[to[0].Address] = to[0].Name
			for _, line := range strings.Split(p.rawHead, "\r\n") {
				if len(line) > 998 {
					t.Errorf("header line of %d bytes", len(line))
				}
			}
		}
		for i, name := range mailtest.DisplayNames {
			addr := fmt.Sprintf("admin%d@customer.example", i)
			if got[addr] != name {
				t.Errorf("%s: name %q, want %q", addr, got[addr], name)
			}
		}
	})
}

// Rows written before recipients were stored as JSON keep working, names
// with commas included.
func TestLegacyRecipientList(t *testing.T) {
	m := store.OutboxMail{ToAddrs: `"Doe, Jane" <jane@x.example>, bob@y.example`}
	if got := fmt.Sprint(m.To()); got != "[jane@x.example bob@y.example]" {
		t.Errorf("To() = %s", got)
	}
}
