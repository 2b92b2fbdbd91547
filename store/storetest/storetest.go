// Package storetest gives tests a fresh, migrated database on every dialect:
// a temporary SQLite file always, and a throw-away PostgreSQL database when
// one is reachable. In CI (CI set) an unreachable PostgreSQL fails the test
// instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/onboarder/onboarder/store"
)

// DefaultPostgresURL is used when ONBOARDER_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DB names one database for a test.
type DB struct {
	Name string // "sqlite" or "postgres"
	URL  string
}

// URLs returns fresh database URLs for t: SQLite, and PostgreSQL when
// reachable. Each database is dropped when t ends.
func URLs(t testing.TB) []DB {
	t.Helper()
	dbs := []DB{{Name: store.SQLite, URL: SQLiteURL(t)}}
	if u, ok := PostgresURL(t); ok {
		dbs = append(dbs, DB{Name: store.Postgres, URL: u})
	}
	return dbs
}

// SQLiteURL returns a fresh SQLite database URL in t's temp dir.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "onboarder.db")
}

// PostgresURL creates a fresh PostgreSQL database and returns its URL; ok is
// false (after t.Skip-like logging) when PostgreSQL is not reachable outside CI.
func PostgresURL(t testing.TB) (string, bool) {
	t.Helper()
	admin := os.Getenv("ONBOARDER_TEST_POSTGRES_URL")
	if admin == "" {
		admin = DefaultPostgresURL
	}
	ctx := context.Background()
	st, err := store.Open(ctx, admin, store.Options{MaxConns: 1})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Logf("PostgreSQL not reachable, running on SQLite only: %v", err)
		return "", false
	}
	defer st.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "onb_test_" + hex.EncodeToString(b)
	if err := st.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		st, err := store.Open(context.Background(), admin, store.Options{MaxConns: 1})
		if err != nil {
			return
		}
		defer st.Close()
		_ = st.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String(), true
}

// Open opens and migrates the database at url, closing it when t ends.
func Open(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	return st
}

// Each runs fn as a subtest on a fresh, migrated database of every dialect.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, db := range URLs(t) {
		t.Run(db.Name, func(t *testing.T) {
			fn(t, Open(t, db.URL))
		})
	}
}

// Must fails t on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Sprint(err))
	}
}

// minted keeps the token made for each invitation mail, per store, so that a
// test reading the same invitation twice gets the same link.
var minted sync.Map // mintKey -> string

type mintKey struct {
	st *store.Store
	id int64
}

var inviteTokenRe = regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`)

// InvitationToken makes the token of invitation mail m as the outbox does
// when it sends it (store.MintInvitationToken), once per mail, and returns
// it: what the administrator finds in the mail.
func InvitationToken(t testing.TB, st *store.Store, m store.OutboxMail) string {
	t.Helper()
	return mintedToken(t, st, m, inviteTokenRe, "invitation")
}

var consentTokenRe = regexp.MustCompile(`/consent/([A-Za-z0-9_-]{43})`)

// ConsentToken makes the token of consent mail m as the outbox does when
// it sends it, once per mail, and returns it: what the partner's contact
// finds in the mail.
func ConsentToken(t testing.TB, st *store.Store, m store.OutboxMail) string {
	t.Helper()
	return mintedToken(t, st, m, consentTokenRe, "consent")
}

// mintedToken mints mail m's link once, as the dispatcher does, and returns
// the token link finds in its text.
func mintedToken(t testing.TB, st *store.Store, m store.OutboxMail, link *regexp.Regexp, what string) string {
	t.Helper()
	k := mintKey{st, m.ID}
	if tok, ok := minted.Load(k); ok {
		return tok.(string)
	}
	sent, err := st.MintInvitationToken(context.Background(), m)
	Must(t, err)
	match := link.FindStringSubmatch(sent.TextBody)
	if match == nil {
		t.Fatalf("%s mail %d has no link", what, m.ID)
	}
	minted.Store(k, match[1])
	return match[1]
}
