package e2e_test

import (
	"encoding/csv"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/mailtest"
)

// TestRecipientNamesThroughPostfix: administrators whose directory names
// hold commas, semicolons, quotes, angle brackets, non-ASCII letters,
// RFC 2047 look-alikes and 200 characters each get their invitation
// through Postfix, at the right address, with the name encoded so that it
// reads back the same.
func TestRecipientNamesThroughPostfix(t *testing.T) {
	need(t)
	srv := main1
	box := "names@onboarding.example"
	h := newHarness(t, srv, box, acmeWorld)
	h.Run("migrate")
	h.Run("partners", "add", "--name", "Acme", "--domain", "acme.example", "--locale", "en")
	var b strings.Builder
	b.WriteString(orgsHeader)
	w := csv.NewWriter(&b)
	addr := func(i int) string { return fmt.Sprintf("names-admin%d@customer.example", i) }
	for i, name := range mailtest.DisplayNames {
		w.Write([]string{fmt.Sprintf("9c3e4d6f-1a3c-4e5b-8d7f-%012d", i), fmt.Sprintf("Customer %d", i), "active", name, addr(i), "DE", "en"})
	}
	w.Flush()
	path := t.TempDir() + "/orgs.csv"
	writeFile(t, path, b.String())
	h.Run("orgs", "import", path)
	for i := range mailtest.DisplayNames {
		org := fmt.Sprintf("9c3e4d6f-1a3c-4e5b-8d7f-%012d", i)
		if err := srv.user(box).Append("INBOX", request(fmt.Sprintf("names-%d@acme.example", i), "ops@acme.example", org, i)); err != nil {
			t.Fatal(err)
		}
	}
	h.Run("poll", "--once")
	for i := range mailtest.DisplayNames {
		h.Run("requests", "approve", fmt.Sprint(i+1), "--by", "olga")
	}
	if out := strings.TrimSpace(h.Run("outbox", "flush")); !strings.HasSuffix(out, "failed 0") {
		t.Fatalf("flush: %s", out)
	}
	for _, row := range h.Outbox() {
		if row.Kind != "invitation" {
			continue
		}
		if len(row.To) != 1 || strings.ContainsAny(row.To[0], "<> ,") {
			t.Errorf("outbox list --json to = %q, want one bare address", row.To)
			continue
		}
		var i int
		fmt.Sscanf(row.To[0], "names-admin%d@", &i)
		m := srv.user(row.To[0]).waitMail(t, row.MessageID, deliveryTimeout)
		to, err := (&mail.AddressParser{WordDecoder: new(mime.WordDecoder)}).ParseList(m.Header.Get("To"))
		if err != nil || len(to) != 1 {
			t.Errorf("%s: To %q: %v", row.To[0], m.Header.Get("To"), err)
			continue
		}
		if to[0].Address != addr(i) || to[0].Name != mailtest.DisplayNames[i] {
			t.Errorf("To reads back as %q <%s>, want %q <%s>", to[0].Name, to[0].Address, mailtest.DisplayNames[i], addr(i))
		}
	}
}
