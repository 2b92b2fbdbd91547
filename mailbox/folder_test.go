package mailbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/onboarder/onboarder/mailtest"
)

func TestServerFolder(t *testing.T) {
	tests := []struct {
		name, prefix string
		delim        rune
		want         string
	}{
		// Dovecot's default, Gmail, Microsoft 365: no prefix, "/".
		{"Onboarder/Processed", "", '/', "Onboarder/Processed"},
		// Cyrus and Courier as Debian ships them.
		{"Onboarder/Processed", "INBOX.", '.', "INBOX.Onboarder.Processed"},
		{"Processed", "INBOX.", '.', "INBOX.Processed"},
		// Set by hand in the server's terms: kept.
		{"INBOX.Onboarder.Processed", "INBOX.", '.', "INBOX.Onboarder.Processed"},
		{"inbox.Onboarder.Processed", "INBOX.", '.', "inbox.Onboarder.Processed"},
		// Rooted at INBOX in the user's terms.
		{"INBOX/Onboarder/Processed", "INBOX.", '.', "INBOX.Onboarder.Processed"},
		// Dovecot with a prefix and "/".
		{"Onboarder/Processed", "INBOX/", '/', "INBOX/Onboarder/Processed"},
		{"INBOX/Onboarder/Processed", "INBOX/", '/', "INBOX/Onboarder/Processed"},
		// Dovecot with "." and no prefix.
		{"Onboarder/Processed", "", '.', "Onboarder.Processed"},
		// A flat server keeps the name.
		{"Onboarder/Processed", "", 0, "Onboarder/Processed"},
	}
	for _, tt := range tests {
		if got := serverFolder(tt.name, tt.prefix, tt.delim); got != tt.want {
			t.Errorf("serverFolder(%q, %q, %q) = %q, want %q", tt.name, tt.prefix, string(tt.delim), got, tt.want)
		}
	}
}

// TestProcessedFolderUnderNamespace: on a server whose folders live under a
// personal namespace prefix (Cyrus's and Courier's INBOX., here INBOX/) and
// that refuses to create any other folder, handled mail goes to the
// setting under that prefix, with MOVE and with COPY; a setting that
// already names the prefix is used as it is.
func TestProcessedFolderUnderNamespace(t *testing.T) {
	tests := []struct {
		name, setting, want string
		disable             []imap.Cap
	}{
		{"MOVE", processed, "INBOX/" + processed, nil},
		{"COPY", processed, "INBOX/" + processed, []imap.Cap{imap.CapMove}},
		{"prefixed setting", "INBOX/Done", "INBOX/Done", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := mailtest.StartIMAP(mailtest.IMAPOptions{DisableCaps: tt.disable, PersonalNamespace: "INBOX/", Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			appendMails(t, s, 1, 2)
			cfg := testConfig(t, s)
			cfg.ProcessedFolder = tt.setting
			p := NewPoller(cfg, &memCursors{}, &recorder{decide: always(ActionMove)})
			st, err := p.RunOnce(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Moved != 2 {
				t.Errorf("moved %d, want 2", st.Moved)
			}
			if diff := cmp.Diff(mailRaws(1, 2), raws(listMailbox(t, s, tt.want))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.want, diff)
			}
		})
	}
}

// TestProcessedFolderRefused: when the server refuses to create the folder,
// the error is a *FolderError that names the folder, the setting and the
// server's naming, and carries the server's answer.
func TestProcessedFolderRefused(t *testing.T) {
	s, err := mailtest.StartIMAP(mailtest.IMAPOptions{PersonalNamespace: "INBOX/", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	appendMails(t, s, 1, 1)
	p := NewPoller(testConfig(t, s), &memCursors{}, &recorder{decide: always(ActionMove)})
	// As if the name had been taken without asking the server.
	p.folder, p.naming = processed, folderNaming{prefix: "INBOX/", delim: '/'}
	_, err = p.RunOnce(t.Context())
	var fe *FolderError
	if !errors.As(err, &fe) {
		t.Fatalf("RunOnce error %v, want a *FolderError", err)
	}
	for _, want := range []string{`processed folder "Onboarder/Processed"`, `"INBOX/"`, "Invalid mailbox name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
}
