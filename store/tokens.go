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

// byTokenHash finds the row of a token table (invitations, consent
// tokens, manage links) whose token has hash; what names the table in the
// not-found error.
func byTokenHash[T any](q *Q, hash, what string) (T, error) {
	var row T
	err := q.db.Where("token_hash = ?", hash).First(&row).Error
	return row, notFound(err, what)
}

// carries says whether either body of outbox mail m holds placeholder.
func carries(m OutboxMail, placeholder string) bool {
	return strings.Contains(m.TextBody, placeholder) || strings.Contains(m.HTMLBody, placeholder)
}

// mintToken returns outbox mail m with a fresh token in place of
// placeholder once save has stored its hash (the stored row keeps the
// placeholder), or with a dead link when save finds no row to take it.
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
