package e2e_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestIMAPServerDifferences records what each server offers after login
// (the README's compatibility table) and what the product relies on:
//   - Dovecot (as configured here): MOVE, UIDPLUS, IDLE; folders at the
//     top, "/" between levels.
//   - Cyrus 3.6 (Debian's altnamespace: no, unixhierarchysep: no): MOVE,
//     UIDPLUS, IDLE; personal folders under "INBOX.", "." between levels.
//   - Courier 5.0: UIDPLUS and IDLE but no MOVE (the worker copies, flags
//     \Deleted and UID EXPUNGEs); personal folders under "INBOX.", ".".
//
// Cyrus and Courier refuse CREATE "Onboarder/Processed" (the default
// setting as such): the worker asks NAMESPACE and creates
// INBOX.Onboarder.Processed instead.
func TestIMAPServerDifferences(t *testing.T) {
	need(t)
	want := map[string]struct {
		move, uidplus, idle bool
		prefix              string
		delim               rune
		refusesSlashName    bool
	}{
		"dovecot": {true, true, true, "", '/', false},
		"cyrus":   {true, true, true, "INBOX.", '.', true},
		"courier": {false, true, true, "INBOX.", '.', true},
	}
	for _, srv := range imapServers() {
		t.Run(srv.kind, func(t *testing.T) {
			w := want[srv.kind]
			err := srv.user("caps@onboarding.example").session(func(c *imapclient.Client) error {
				caps := c.Caps()
				got := fmt.Sprintf("MOVE %v, UIDPLUS %v, IDLE %v", caps.Has(imap.CapMove), caps.Has(imap.CapUIDPlus), caps.Has(imap.CapIdle))
				if exp := fmt.Sprintf("MOVE %v, UIDPLUS %v, IDLE %v", w.move, w.uidplus, w.idle); got != exp {
					t.Errorf("capabilities: %s, want %s", got, exp)
				}
				ns, err := c.Namespace().Wait()
				if err != nil {
					return fmt.Errorf("NAMESPACE: %w", err)
				}
				if len(ns.Personal) == 0 || ns.Personal[0].Prefix != w.prefix || ns.Personal[0].Delim != w.delim {
					t.Errorf("personal namespace %+v, want prefix %q delimiter %q", ns.Personal, w.prefix, string(w.delim))
				}
				err = c.Create("Onboarder/Processed", nil).Wait()
				var ie *imap.Error
				refused := errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo
				if err != nil && !refused {
					return err
				}
				if refused != w.refusesSlashName {
					t.Errorf("CREATE \"Onboarder/Processed\" refused: %v (%v), want refused: %v", refused, err, w.refusesSlashName)
				}
				var names []string
				for c := range caps {
					names = append(names, string(c))
				}
				t.Logf("%s: %s; personal namespace %q %q; CREATE Onboarder/Processed: %v; capabilities: %s",
					srv.kind, got, ns.Personal[0].Prefix, string(ns.Personal[0].Delim), err, strings.Join(names, " "))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
