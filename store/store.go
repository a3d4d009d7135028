// Package store is carrierwatch's SQLite database (modernc.org/sqlite, pure
// Go): source polling state, seen notices, incidents, the cached directory,
// campaigns and the outbox. Every stage of the pipeline persists its result
// here before the next stage reads it, so a restart at any point resumes
// without loss.
//
// Schema changes are embedded SQL migrations, each applied in a transaction.
// The database runs in WAL mode with one open connection, so writers never
// see "database is locked". It is not a general query layer: each method is
// one operation the pipeline needs.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// FileName is the database file inside state_dir.
const FileName = "carrierwatch.db"

// DB is an open carrierwatch database. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	now  func() time.Time
	path string

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // hot-path statements, prepared once
}

// Open opens (creating if needed) the database at path and applies pending
// migrations, each in its own transaction.
//
// A new database, its WAL and shared-memory files are created with mode
// 0600 whatever the umask, and a folder Open creates gets 0700. A database
// written by a newer carrierwatch (a migration this binary does not know,
// or a schema version above SchemaVersion) is refused with ErrNewerSchema
// before anything is written to it.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := prepareFiles(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := checkVersion(ctx, path, migrations); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	s := &DB{db: db, now: time.Now, path: path}
	if err := s.migrate(ctx, migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	tightenModes(path)
	return s, nil
}

// dsn is the read-write data source name of the database at path.
// auto_vacuum comes first: it only takes effect on a database that has no
// tables yet (an older file switches with one VACUUM, see Vacuum).
func dsn(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=auto_vacuum(incremental)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// SetClock replaces the clock (tests).
func (s *DB) SetClock(now func() time.Time) { s.now = now }

// Close closes the database.
func (s *DB) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// stmt returns query prepared once: the send path runs the same few
// statements tens of thousands of times, and parsing them is most of
// their cost.
func (s *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	var n int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// migrate applies the migrations of fsys (migrations/*.sql) that the
// database lacks, in name order, each with its schema_migrations row and
// the new schema version stamp in one transaction: a failing migration
// leaves the database as the previous one left it.
func (s *DB) migrate(ctx context.Context, fsys fs.FS) error {
	names, err := migrationNames(fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range names {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(b)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES (?)`, name); err != nil {
				return err
			}
			return stampVersion(ctx, tx, names)
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	// A database migrated by an older binary has no stamp yet.
	return s.tx(ctx, func(tx *sql.Tx) error { return stampVersion(ctx, tx, names) })
}

// tx runs fn in a transaction, committing if it returns nil.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// Meta returns the value stored under key, "" when absent.
func (s *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta stores value under key.
func (s *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}

// SourceState returns the stored polling state of a source as JSON ("" if
// never polled).
func (s *DB) SourceState(ctx context.Context, id string) ([]byte, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT state FROM sources WHERE id = ?`, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read source %s: %w", id, err)
	}
	return []byte(v), nil
}

// SaveSourceState stores a source's polling state.
func (s *DB) SaveSourceState(ctx context.Context, id, carrierID, rawURL string, state []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sources (id, carrier_id, url, state, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET carrier_id = excluded.carrier_id, url = excluded.url, state = excluded.state, updated_at = excluded.updated_at`,
		id, carrierID, rawURL, string(state), ms(s.now()))
	if err != nil {
		return fmt.Errorf("save source %s: %w", id, err)
	}
	return nil
}

// SourceStates returns every stored source state by id (JSON).
func (s *DB) SourceStates(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, state FROM sources`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = []byte(st)
	}
	return out, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// CopyFile writes a consistent copy of the database file src to dst
// (which must not exist) without changing src: it is opened read-only and
// not migrated. Dry runs work on such a copy.
func CopyFile(ctx context.Context, src, dst string) error {
	dsn := "file:" + (&url.URL{Path: src}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("copy database %s: %w", src, err)
	}
	defer db.Close()
	// An empty file of mode 0600 first: VACUUM INTO would create it
	// world-readable.
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copy database %s: %w", src, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("copy database %s: %w", src, err)
	}
	f.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("copy database %s to %s: %w", src, dst, err)
	}
	return nil
}
