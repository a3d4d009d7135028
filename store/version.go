package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// ErrNewerSchema is returned by Open for a database that a newer
// carrierwatch has migrated: this binary would not know what its tables
// mean. The file is left as it was.
var ErrNewerSchema = errors.New("the database was written by a newer carrierwatch")

// SchemaVersion is the schema version this binary writes: the number of
// its newest migration (0006 for migrations/0006_x.sql). Open stamps it
// into the database header (PRAGMA user_version) and refuses a database
// stamped higher.
var SchemaVersion = mustSchemaVersion()

func mustSchemaVersion() int {
	names, err := migrationNames(migrations)
	if err != nil {
		panic(err)
	}
	return versionOf(names)
}

// migrationNames lists the migrations of fsys in the order they apply.
// The names are what schema_migrations records.
func migrationNames(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// versionOf is the number in the name of the newest migration that has one.
func versionOf(names []string) int {
	v := 0
	for _, n := range names {
		num, _, _ := strings.Cut(path.Base(n), "_")
		if i, err := strconv.Atoi(num); err == nil && i > v {
			v = i
		}
	}
	return v
}

// stampVersion writes the schema version of names into the header, unless
// it is there already (setting it would write a page at every open).
func stampVersion(ctx context.Context, tx *sql.Tx, names []string) error {
	var have int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return err
	}
	if want := versionOf(names); have != want {
		// PRAGMA takes no bound parameters; the value is an integer we computed.
		_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, want))
		return err
	}
	return nil
}

// SchemaInfo describes the schema of a database file.
type SchemaInfo struct {
	// Version is the stamp in the file's header (0 for a file written
	// before carrierwatch stamped one).
	Version int
	// Migrations are the applied migrations, in name order.
	Migrations []string
}

// readSchema reads the version stamp and the applied migrations.
func readSchema(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (SchemaInfo, error) {
	var info SchemaInfo
	if err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&info.Version); err != nil {
		return info, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return info, err
	}
	if n == 0 {
		return info, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return info, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return info, err
		}
		info.Migrations = append(info.Migrations, name)
	}
	return info, rows.Err()
}

// checkVersion refuses a database that a newer binary (with the
// migrations of fsys) wrote, before anything is written to it. A missing or empty file is new: fine.
func checkVersion(ctx context.Context, dbPath string, fsys fs.FS) error {
	if st, err := os.Stat(dbPath); err != nil || st.Size() == 0 {
		return nil
	}
	known, err := migrationNames(fsys)
	if err != nil {
		return err
	}
	// Read-write but without Open's pragmas: nothing is written, and the
	// last connection's close removes the -wal and -shm files a read-only
	// one would leave behind.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: dbPath}).EscapedPath()+"?mode=rw&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := readSchema(ctx, db)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	isKnown := map[string]bool{}
	for _, n := range known {
		isKnown[n] = true
	}
	var unknown []string
	for _, n := range info.Migrations {
		if !isKnown[n] {
			unknown = append(unknown, path.Base(n))
		}
	}
	mine := versionOf(known)
	if info.Version <= mine && len(unknown) == 0 {
		return nil
	}
	what := fmt.Sprintf("schema version %d; this carrierwatch knows up to %d", info.Version, mine)
	if len(unknown) > 0 {
		what += "; migrations this binary does not have: " + strings.Join(unknown, ", ")
	}
	return fmt.Errorf("%w (%s). Nothing was changed: run that carrierwatch version (or a newer one), or restore a backup taken before the upgrade into a fresh state_dir", ErrNewerSchema, what)
}
