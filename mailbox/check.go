package mailbox

import (
	"context"
	"fmt"
)

// Check connects, logs in and selects the mailbox, then logs out: what
// `onboarder config check` runs to prove the settings work. It needs no
// cursor store or handler.
func (p *Poller) Check(ctx context.Context) error {
	s, err := dial(ctx, p.cfg, nil)
	if err != nil {
		return err
	}
	defer s.close()
	sel, err := s.selectMailbox(ctx, p.cfg.Mailbox)
	if err != nil {
		return fmt.Errorf("selecting %q: %w", p.cfg.Mailbox, err)
	}
	p.log.Debug("IMAP check ok", "mailbox", p.cfg.Mailbox, "messages", sel.NumMessages, "uid_validity", sel.UIDValidity)
	return s.logout(ctx)
}
