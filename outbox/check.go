package outbox

import "context"

// Check connects to the SMTP server (with TLS and authentication as
// configured) and says goodbye without sending anything: what `onboarder
// config check` runs to prove the settings work.
func (d *Dispatcher) Check(ctx context.Context) error {
	s, err := d.newSender(ctx)
	if err != nil {
		return err
	}
	if err := s.dial(ctx); err != nil {
		return err
	}
	s.quit()
	return nil
}
