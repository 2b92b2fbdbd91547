package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// HashToken is what is stored of a token: its SHA-256, in hex.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a fresh random token (256 bits, base64url).
func NewToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("making a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// carries says whether either body of outbox mail m holds placeholder.
func carries(m OutboxMail, placeholder string) bool {
	return strings.Contains(m.TextBody, placeholder) || strings.Contains(m.HTMLBody, placeholder)
}

// mintToken makes a fresh token for the link that outbox mail m carries,
// has save store its hash, and returns m with the token in place of
// placeholder; the stored row keeps the placeholder. When save finds no
// row to take the hash, the mail gets a dead link.
func mintToken(m OutboxMail, placeholder string, save func(hash string) (bool, error)) (OutboxMail, error) {
	token, err := NewToken()
	if err != nil {
		return m, err
	}
	ok, err := save(HashToken(token))
	if err != nil {
		return m, err
	}
	if !ok {
		token = "unavailable"
	}
	m.TextBody = strings.ReplaceAll(m.TextBody, placeholder, token)
	m.HTMLBody = strings.ReplaceAll(m.HTMLBody, placeholder, token)
	return m, nil
}
