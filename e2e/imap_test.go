package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/onboarder/onboarder/internal/clitest"
)

// imapUser reads and writes one Dovecot account over IMAP, as a mail
// client would (BODY.PEEK: it changes no flag).
type imapUser struct {
	addr, name, password string
}

const imapTestTimeout = 20 * time.Second

func (u *imapUser) session(f func(c *imapclient.Client) error) error {
	conn, err := net.DialTimeout("tcp", u.addr, imapTestTimeout)
	if err != nil {
		return err
	}
	watchdog := time.AfterFunc(imapTestTimeout, func() { conn.Close() })
	defer watchdog.Stop()
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(u.name, u.password).Wait(); err != nil {
		return fmt.Errorf("login as %s: %w", u.name, err)
	}
	if err := f(c); err != nil {
		return err
	}
	return c.Logout().Wait()
}

// Append adds raw to folder (created if missing) and returns its UID.
func (u *imapUser) Append(folder string, raw []byte) error {
	_, err := u.append(folder, raw)
	return err
}

func (u *imapUser) append(folder string, raw []byte) (uint32, error) {
	var uid uint32
	err := u.session(func(c *imapclient.Client) error {
		if folder != "INBOX" {
			_ = c.Create(folder, nil).Wait()
		}
		cmd := c.Append(folder, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			return err
		}
		uid = uint32(data.UID)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("appending to %s of %s: %w", folder, u.name, err)
	}
	return uid, nil
}

// Messages returns every mail of folder (none when it does not exist).
func (u *imapUser) Messages(folder string) ([]clitest.StoredMail, error) {
	var out []clitest.StoredMail
	err := u.session(func(c *imapclient.Client) error {
		sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
				return nil // no such folder
			}
			return err
		}
		if sel.NumMessages == 0 {
			return nil
		}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}},
			&imap.FetchOptions{Flags: true, UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			sm := clitest.StoredMail{}
			for _, f := range m.Flags {
				sm.Flags = append(sm.Flags, string(f))
			}
			for _, b := range m.BodySection {
				sm.Raw = b.Bytes
			}
			out = append(out, sm)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s of %s: %w", folder, u.name, err)
	}
	return out, nil
}

// count returns how many mails of folder are not flagged \Deleted.
func (u *imapUser) count(t *testing.T, folder string) int {
	t.Helper()
	msgs, err := u.Messages(folder)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		deleted := false
		for _, f := range m.Flags {
			if strings.EqualFold(f, `\Deleted`) {
				deleted = true
			}
		}
		if !deleted {
			n++
		}
	}
	return n
}

// byMessageID returns the mails of folder with this Message-ID.
func (u *imapUser) byMessageID(folder, id string) ([]*mail.Message, error) {
	msgs, err := u.Messages(folder)
	if err != nil {
		return nil, err
	}
	var out []*mail.Message
	for _, m := range msgs {
		pm, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			continue
		}
		if strings.Trim(strings.TrimSpace(pm.Header.Get("Message-Id")), "<>") == id {
			out = append(out, pm)
		}
	}
	return out, nil
}

// waitMail waits until the account's INBOX holds the mail with this
// Message-ID (Postfix delivers asynchronously) and returns it.
func (u *imapUser) waitMail(t *testing.T, id string, timeout time.Duration) *mail.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := u.byMessageID("INBOX", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 1 {
			t.Errorf("%s received <%s> %d times", u.name, id, len(got))
		}
		if len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never received <%s> within %s", u.name, id, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
