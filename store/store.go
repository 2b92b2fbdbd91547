// Package store keeps onboarder's state in PostgreSQL (production, several
// workers) or an embedded SQLite database (the zero-setup default): the record
// types, the versioned per-dialect migrations, transactions, and the claim,
// lease and cursor queries the workers share.
//
// gorm lives here and nowhere else: other packages see *Store, *Q and the
// record types. Every state change is written with an explicit WHERE on the
// expected old state and checks RowsAffected, because gorm silently drops zero
// values from struct conditions and updates.
//
// Two handles serve the intake's speed, each made by its caller: a Chunk,
// whose handles remember lookups for one chunk of received mail, and a
// Deferred handle on a transaction, which keeps the rows a transition
// writes but never reads back until Flush.
//
// Each entity's record type, constants and queries live in the file named
// after its table: partners.go, organizations.go, requests.go, findings.go,
// messages.go, outbox.go, answer_log.go, audit.go, links.go, invitations.go,
// consent.go, approvals.go, ops_users.go, ops_sessions.go, oidc.go,
// login_limits.go, fraud_reports.go, webhooks.go, timer_runs.go and
// leases.go (leases and mailbox cursors). The machinery is in store.go
// (Open, Transact, migrations, Q), claim.go (claiming outbox and webhook
// rows), paging.go, batch.go (Chunk), deferred.go and tokens.go.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a conditional update found the record in
// another state than expected (someone else changed it meanwhile).
var ErrConflict = errors.New("changed meanwhile")

//go:embed migrations
var migrations embed.FS

// Store is the database handle shared by every part of the worker.
type Store struct {
	db      *gorm.DB
	dialect string
	log     *slog.Logger
}

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// MaxConns caps the PostgreSQL pool (default 8). SQLite always uses one
	// connection: it has one writer anyway, and one connection avoids
	// SQLITE_BUSY between our own goroutines.
	MaxConns int
}

// Open connects to a `postgres://…` (or `postgresql://…`) URL or a
// `sqlite:PATH` database. It does not migrate; call Migrate.
func Open(ctx context.Context, dbURL string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		Logger:                                   logger.Discard,
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction:                   true,
		DisableForeignKeyConstraintWhenMigrating: true,
	}
	var (
		dialector gorm.Dialector
		dialect   string
	)
	switch {
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		dialect = Postgres
		dialector = postgres.Open(dbURL)
	case strings.HasPrefix(dbURL, "sqlite:"):
		dialect = SQLite
		path := strings.TrimPrefix(dbURL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, fmt.Errorf("opening database: sqlite URL %q names no file: use sqlite:PATH", dbURL)
		}
		if err := privateFiles(path); err != nil {
			return nil, err
		}
		dialector = sqlite.Open(sqliteDSN(path))
	default:
		return nil, fmt.Errorf("opening database: unsupported URL %q: use postgres://… or sqlite:PATH", redactURL(dbURL))
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", dialect, err)
	}
	if dialect == SQLite {
		sqlDB.SetMaxOpenConns(1)
	} else {
		n := opts.MaxConns
		if n <= 0 {
			n = 8
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connecting to %s database %s: %w", dialect, redactURL(dbURL), err)
	}
	return &Store{db: db, dialect: dialect, log: log}, nil
}

// privateFiles creates the SQLite database file readable by its owner only
// (SQLite gives its -wal and -shm files the database file's mode) and
// narrows an existing database's files to that: they hold partners'
// mail and the console's sessions.
func privateFiles(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening sqlite database %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checking sqlite database file %s: %w", p, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("making sqlite database file %s private (mode 0600): %w", p, err)
			}
		}
	}
	return nil
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_time_format", "sqlite")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Dialect is Postgres or SQLite.
func (s *Store) Dialect() string { return s.dialect }

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Q is a query handle: either a plain connection or an open transaction.
// Every query method of the store hangs off it.
type Q struct {
	db      *gorm.DB
	dialect string
	memo    *lookupMemo // set on the handles of a Chunk: lookups remembered for it
}

// Q returns a handle that runs each statement on its own (autocommit).
func (s *Store) Q(ctx context.Context) *Q {
	return &Q{db: s.db.WithContext(ctx), dialect: s.dialect}
}

// Transact runs fn in one transaction, committing when fn returns nil. A
// serialization failure or deadlock (PostgreSQL) or a busy database (SQLite)
// is retried a few times with the whole fn, so fn must not have effects
// outside the transaction.
func (s *Store) Transact(ctx context.Context, fn func(q *Q) error) error {
	return s.transact(ctx, nil, fn)
}

// transact is Transact with handles that remember lookups in memo (nil:
// none).
func (s *Store) transact(ctx context.Context, memo *lookupMemo, fn func(q *Q) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(&Q{db: tx, dialect: s.dialect, memo: memo})
		})
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		s.log.Warn("retrying transaction", "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	return err
}

func retryable(err error) bool {
	msg := err.Error()
	for _, s := range []string{"SQLSTATE 40001", "SQLSTATE 40P01", "database is locked", "SQLITE_BUSY"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed")
}

// goMigrations are the steps of a migration version that SQL alone cannot
// do on both dialects; each runs after its version's SQL, in the same
// transaction.
var goMigrations = map[int]func(tx *gorm.DB) error{
	6: convertInvitationBodies,
}

// Migrate creates or upgrades the schema. Several workers may start at once:
// on PostgreSQL an advisory lock makes them take turns.
func (s *Store) Migrate(ctx context.Context) error {
	files, err := fs.ReadDir(migrations, "migrations/"+s.dialect)
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	type mig struct {
		version int
		name    string
	}
	var migs []mig
	for _, f := range files {
		v, err := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", f.Name())
		}
		migs = append(migs, mig{v, f.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })

	return s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if s.dialect == Postgres {
			if err := conn.Exec("SELECT pg_advisory_lock(7310001)").Error; err != nil {
				return fmt.Errorf("taking migration lock: %w", err)
			}
			defer conn.Exec("SELECT pg_advisory_unlock(7310001)")
		}
		if err := conn.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`).Error; err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var applied []int
		if err := conn.Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
			return fmt.Errorf("reading schema_migrations: %w", err)
		}
		done := map[int]bool{}
		for _, v := range applied {
			done[v] = true
		}
		for _, m := range migs {
			if done[m.version] {
				continue
			}
			body, err := migrations.ReadFile("migrations/" + s.dialect + "/" + m.name)
			if err != nil {
				return err
			}
			err = conn.Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec(string(body)).Error; err != nil {
					return err
				}
				if step := goMigrations[m.version]; step != nil {
					if err := step(tx); err != nil {
						return err
					}
				}
				return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
					m.version, m.name, time.Now().UTC().Format(time.RFC3339)).Error
			})
			if err != nil {
				return fmt.Errorf("applying migration %s/%s: %w", s.dialect, m.name, err)
			}
			s.log.Info("applied migration", "dialect", s.dialect, "migration", m.name)
		}
		return nil
	})
}

// SchemaVersion returns the highest applied migration version (0 if none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	err := s.db.WithContext(ctx).Raw("SELECT MAX(version) FROM schema_migrations").Scan(&v).Error
	if err != nil || v == nil {
		return 0, err
	}
	return *v, nil
}

func now() time.Time { return time.Now().UTC() }

// oneRow is the outcome of a conditional write that must change one row,
// described by format and args: ErrConflict when the expected old state no
// longer held.
func oneRow(res *gorm.DB, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if res.Error != nil {
		return fmt.Errorf("%s: %w", what, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return nil
}

// notFound maps gorm's record-not-found to ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

// Exec runs one raw statement (administration: tests, `config check`).
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	return s.db.WithContext(ctx).Exec(sql, args...).Error
}

// escapeLike escapes LIKE's wildcards with a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func clampLimit(n int) int {
	if n <= 0 || n > 1000 {
		return 500
	}
	return n
}

// CountBy counts the rows of table grouped by column: the gauges of
// requests by state, outbox mails and webhook events by status. table and
// column must be one of the fixed pairs below.
func (s *Store) CountBy(ctx context.Context, table, column string) (map[string]int64, error) {
	switch table + "." + column {
	case "requests.state", "outbox_mails.status", "webhook_events.status", "links.status", "fraud_reports.status":
	default:
		return nil, fmt.Errorf("counting %s by %s: not allowed", table, column)
	}
	var rows []struct {
		K string
		N int64
	}
	err := s.db.WithContext(ctx).Table(table).Select(column + " AS k, COUNT(*) AS n").Group(column).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("counting %s by %s: %w", table, column, err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.K] = r.N
	}
	return out, nil
}
