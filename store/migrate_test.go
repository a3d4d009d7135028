package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// migrationsUpTo is an fs.FS with the first n embedded migrations.
func migrationsUpTo(t *testing.T, n int) fs.FS {
	t.Helper()
	names, err := migrationNames(migrations)
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	for _, name := range names[:n] {
		b, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: b}
	}
	return m
}

// openWith opens path the way Open does, but migrates with fsys.
func openWith(t *testing.T, path string, fsys fs.FS) *DB {
	t.Helper()
	if err := prepareFiles(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	s := &DB{db: db, now: time.Now, path: path}
	if err := s.migrate(context.Background(), fsys); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return s
}

// schema is the database's schema as text, to compare.
func schema(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		b.WriteString(typ + " " + name + ": " + text + "\n")
	}
	return b.String()
}

// TestMigrateFromEveryEarlierVersion builds a database at each earlier
// migration step (every embedded migration, whoever added it), with data
// written by the first schema, and opens it with this binary: every step
// must migrate to the same schema as a new database, keep the data and
// stamp the version.
func TestMigrateFromEveryEarlierVersion(t *testing.T) {
	ctx := context.Background()
	names, err := migrationNames(migrations)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 2 {
		t.Fatalf("%d migrations embedded", len(names))
	}
	fresh, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	want := schema(t, fresh.db)
	fresh.Close()

	for step := 1; step < len(names); step++ {
		t.Run(filepath.Base(names[step-1]), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			old := openWith(t, path, migrationsUpTo(t, 1))
			// Rows as the first schema has them: an incident, a sent
			// campaign, a user.
			for _, q := range []string{
				`INSERT INTO incidents (id, carrier_id, state, title, url, note, manual, opened_at, updated_at) VALUES (1, 'kddi', 'open', 't', 'u', '', 0, 1, 1)`,
				`INSERT INTO campaigns (id, incident_id, kind, state, created_at) VALUES (1, 1, 'outage', 'active', 1)`,
				`INSERT INTO messages (campaign_id, incident_id, kind, segment, user_id, lang, addresses, message_id, dedupe_key, state, created_at, data)
					VALUES (1, 1, 'outage', 'phone-only', 'u1', 'ja', '["a@x"]', 'm1', 'outage:1:u1', 'sent', 1, x'7b7d')`,
				`INSERT INTO users (id, upn, display_name, mail, alternate_emails, preferred_language, updated_at) VALUES ('u1', 'u1@x', 'U', 'u1@x', '[]', 'ja', 1)`,
			} {
				if _, err := old.db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()
			if step > 1 {
				openWith(t, path, migrationsUpTo(t, step)).Close()
			}

			db, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("open a database at %s: %v", names[step-1], err)
			}
			defer db.Close()
			if got := schema(t, db.db); got != want {
				t.Errorf("schema after migrating from %s differs from a new database's:\n%s\nwant\n%s", names[step-1], got, want)
			}
			info, err := readSchema(ctx, db.db)
			if err != nil {
				t.Fatal(err)
			}
			if info.Version != SchemaVersion || len(info.Migrations) != len(names) {
				t.Errorf("after migrating: version %d, %d migrations; want %d, %d", info.Version, len(info.Migrations), SchemaVersion, len(names))
			}
			c, err := db.Campaign(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if c.Counts.Sent != 1 {
				t.Errorf("campaign counts after migrating: %+v", c.Counts)
			}
			if u, err := db.Users(ctx); err != nil || len(u) != 1 {
				t.Errorf("users after migrating: %v, %v", u, err)
			}
		})
	}
}

// TestFailedMigrationChangesNothing: a migration that fails half-way
// leaves the database at the version before it.
func TestFailedMigrationChangesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	broken := migrationsUpTo(t, len(mustNames(t))).(fstest.MapFS)
	broken["migrations/9998_half.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE half (x); INSERT INTO nope VALUES (1);`)}
	if err := prepareFiles(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := sql.Open("sqlite", dsn(path))
	raw.SetMaxOpenConns(1)
	s := &DB{db: raw, now: time.Now, path: path}
	if err := s.migrate(ctx, broken); err == nil {
		t.Fatal("a broken migration applied")
	}
	info, err := readSchema(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n)
	raw.Close()
	if n != 0 || info.Version != SchemaVersion || len(info.Migrations) != len(mustNames(t)) {
		t.Fatalf("after a failed migration: table half %d, %+v", n, info)
	}
}

func mustNames(t *testing.T) []string {
	names, err := migrationNames(migrations)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func digest(t *testing.T, dir string) map[string][sha256.Size]byte {
	t.Helper()
	out := map[string][sha256.Size]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

// TestNewerDatabaseRefused: a database from a newer carrierwatch, by its
// version stamp or by a migration this binary lacks, is refused and left
// byte for byte as it was.
func TestNewerDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	for name, q := range map[string]string{
		"stamp":     `PRAGMA user_version = 9999`,
		"migration": `INSERT INTO schema_migrations (name) VALUES ('migrations/0099_from_the_future.sql')`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.db.Exec(q); err != nil {
				t.Fatal(err)
			}
			db.Close()
			before := digest(t, dir)
			_, err = Open(ctx, path)
			if !errors.Is(err, ErrNewerSchema) {
				t.Fatalf("open: %v, want ErrNewerSchema", err)
			}
			if !strings.Contains(err.Error(), "Nothing was changed") {
				t.Errorf("message does not say the file is unchanged: %v", err)
			}
			after := digest(t, dir)
			if len(after) != len(before) {
				t.Errorf("files before %d, after %d", len(before), len(after))
			}
			for f, h := range before {
				if !bytes.Equal(h[:], func() []byte { a := after[f]; return a[:] }()) {
					t.Errorf("%s changed", f)
				}
			}
		})
	}
}
