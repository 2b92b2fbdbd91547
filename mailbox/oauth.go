package mailbox

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// SASL mechanism names of the OAuth sign-in.
const (
	MechXOAuth2     = "XOAUTH2"
	MechOAuthBearer = sasl.OAuthBearer
)

// authenticate signs in with an OAuth 2.0 access token: OAUTHBEARER when
// the server advertises it, otherwise XOAUTH2 (which Microsoft 365 and Gmail
// accept without advertising every mechanism before TLS).
func (s *session) authenticate(ctx context.Context, cfg Config) error {
	token, err := cfg.Token(ctx)
	if err != nil {
		return fmt.Errorf("signing in to %s as %q: %w", cfg.Addr, cfg.Username, err)
	}
	var caps imap.CapSet
	if err := s.do(ctx, "CAPABILITY", func() error { caps = s.c.Caps(); return nil }); err != nil {
		return fmt.Errorf("signing in to %s as %q: %w", cfg.Addr, cfg.Username, err)
	}
	mech := MechXOAuth2
	var client sasl.Client = &xoauth2Client{user: cfg.Username, token: token}
	if caps.Has(imap.Cap("AUTH=" + MechOAuthBearer)) {
		mech = MechOAuthBearer
		host, port, _ := net.SplitHostPort(cfg.Addr)
		p, _ := strconv.Atoi(port)
		client = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: cfg.Username, Token: token, Host: host, Port: p})
	}
	if err := s.do(ctx, "AUTHENTICATE "+mech, func() error { return s.c.Authenticate(client) }); err != nil {
		return fmt.Errorf("signing in to %s as %q with %s: %w", cfg.Addr, cfg.Username, mech, err)
	}
	return nil
}

// xoauth2Client is the client side of XOAUTH2: one initial response
// "user=U^Aauth=Bearer T^A^A"; a challenge is the server's JSON error,
// answered with an empty line so that the server finishes with NO.
type xoauth2Client struct {
	user, token string
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return MechXOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	return []byte{}, nil
}
