package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// session is one logged-in IMAP connection whose every command runs under
// a deadline and the caller's context.
type session struct {
	c       *imapclient.Client
	nc      net.Conn
	addr    string
	timeout time.Duration
}

// do runs f, the sending of one IMAP command and the wait for its answer.
// When the deadline passes or ctx ends first, the connection is closed,
// which makes f return, and the error says so.
func (s *session) do(ctx context.Context, what string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	const (
		firedTimeout = 1
		firedCtx     = 2
	)
	var fired atomic.Int32
	timer := time.AfterFunc(s.timeout, func() {
		if fired.CompareAndSwap(0, firedTimeout) {
			s.nc.Close()
		}
	})
	stopCtx := context.AfterFunc(ctx, func() {
		if fired.CompareAndSwap(0, firedCtx) {
			s.nc.Close()
		}
	})
	err := f()
	timer.Stop()
	stopCtx()
	switch fired.Load() {
	case firedTimeout:
		return fmt.Errorf("%s: no answer from %s within %s, connection closed: %w", what, s.addr, s.timeout, ErrCommandTimeout)
	case firedCtx:
		return fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// close drops the connection at once.
func (s *session) close() {
	s.c.Close()
}

// logout says goodbye politely, then closes.
func (s *session) logout(ctx context.Context) error {
	defer s.close()
	return s.do(ctx, "LOGOUT", func() error { return s.c.Logout().Wait() })
}

// caps returns the server's capabilities (cached by the client after login).
func (s *session) caps(ctx context.Context) (imap.CapSet, error) {
	var caps imap.CapSet
	err := s.do(ctx, "CAPABILITY", func() error {
		caps = s.c.Caps()
		if caps == nil {
			return errors.New("no capability list")
		}
		return nil
	})
	return caps, err
}

// dial connects per cfg.TLS, waits for the greeting and logs in.
func dial(ctx context.Context, cfg Config, handler *imapclient.UnilateralDataHandler) (*session, error) {
	d := net.Dialer{Timeout: cfg.CommandTimeout}
	dialCtx, cancel := context.WithTimeout(ctx, cfg.CommandTimeout)
	defer cancel()
	nc, err := d.DialContext(dialCtx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Addr, err)
	}

	tlsCfg := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
			tlsCfg.ServerName = host
		}
	}
	opts := &imapclient.Options{TLSConfig: tlsCfg, UnilateralDataHandler: handler}

	s := &session{nc: nc, addr: cfg.Addr, timeout: cfg.CommandTimeout}
	switch cfg.TLS {
	case TLSImplicit:
		if tlsCfg.NextProtos == nil {
			tlsCfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(nc, tlsCfg)
		err := s.do(ctx, "TLS handshake", func() error { return tc.HandshakeContext(ctx) })
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("connecting to %s: %w", cfg.Addr, err)
		}
		s.nc = tc
		s.c = imapclient.New(tc, opts)
	case TLSStartTLS:
		// NewStartTLS reads the greeting and runs STARTTLS; it closes the
		// connection on error.
		err := s.do(ctx, "STARTTLS", func() error {
			c, err := imapclient.NewStartTLS(nc, opts)
			s.c = c
			return err
		})
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("connecting to %s: %w", cfg.Addr, err)
		}
	case TLSNone:
		s.c = imapclient.New(nc, opts)
	default:
		nc.Close()
		return nil, fmt.Errorf("connecting to %s: unknown TLS mode %q", cfg.Addr, cfg.TLS)
	}

	if err := s.do(ctx, "greeting", s.c.WaitGreeting); err != nil {
		s.close()
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Addr, err)
	}
	if cfg.Token != nil {
		if err := s.authenticate(ctx, cfg); err != nil {
			s.close()
			return nil, err
		}
		return s, nil
	}
	if err := s.do(ctx, "LOGIN", func() error { return s.c.Login(cfg.Username, cfg.Password).Wait() }); err != nil {
		s.close()
		return nil, fmt.Errorf("logging in to %s as %q: %w", cfg.Addr, cfg.Username, err)
	}
	return s, nil
}

// selectMailbox selects name read-write (moving needs write access).
func (s *session) selectMailbox(ctx context.Context, name string) (*imap.SelectData, error) {
	var data *imap.SelectData
	err := s.do(ctx, "SELECT "+name, func() error {
		var err error
		data, err = s.c.Select(name, nil).Wait()
		return err
	})
	return data, err
}
