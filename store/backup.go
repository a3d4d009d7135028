package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// BackupInfo describes a verified backup.
type BackupInfo struct {
	Path   string
	Size   int64
	Schema SchemaInfo
	// Incidents, Campaigns and Messages count the backup's rows.
	Incidents, Campaigns, Messages int
	Took                           time.Duration
}

// Backup writes a consistent copy of the database at src to dst with
// VACUUM INTO: one read transaction, so a daemon sending from src goes on
// writing meanwhile (WAL readers do not block writers). It takes no lock
// of carrierwatch's own and does not migrate src.
//
// The copy is written to a temporary file (mode 0600) beside dst, checked
// (integrity_check, the same schema as src) and renamed to dst only then:
// dst is either the whole verified copy or absent. An existing dst is
// refused.
func Backup(ctx context.Context, src, dst string) (*BackupInfo, error) {
	start := time.Now()
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("backup: %s exists; remove it or choose another name", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("backup: no database: %w", err)
	}
	srcDB, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", src, err)
	}
	defer srcDB.Close()
	srcDB.SetMaxOpenConns(1)
	want, err := readSchema(ctx, srcDB)
	if err != nil {
		return nil, fmt.Errorf("backup %s: read schema: %w", src, err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath) // after the rename, nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("backup: %w", err)
	}
	tmp.Close()
	// VACUUM INTO accepts an existing file only when it is empty, which
	// CreateTemp's is; it keeps the file's mode.
	if _, err := srcDB.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return nil, fmt.Errorf("backup %s: %w", src, err)
	}
	info, err := VerifyBackup(ctx, tmpPath)
	if err != nil {
		return nil, fmt.Errorf("backup: the copy does not check out: %w", err)
	}
	if info.Schema.Version != want.Version || len(info.Schema.Migrations) != len(want.Migrations) {
		return nil, fmt.Errorf("backup: the copy has schema version %d with %d migrations, the database %d with %d",
			info.Schema.Version, len(info.Schema.Migrations), want.Version, len(want.Migrations))
	}
	if err := syncFile(tmpPath); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	info.Path = dst
	info.Took = time.Since(start)
	return info, nil
}

// VerifyBackup opens a backup read-only and checks it: integrity_check
// passes and the carrierwatch tables can be read.
func VerifyBackup(ctx context.Context, path string) (*BackupInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// immutable: a backup is a finished file; reading it creates no
	// journal or -shm file beside it.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return nil, fmt.Errorf("integrity_check: %w", err)
	}
	if check != "ok" {
		return nil, fmt.Errorf("integrity_check: %s", check)
	}
	info := &BackupInfo{Path: path, Size: st.Size()}
	if info.Schema, err = readSchema(ctx, db); err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	if len(info.Schema.Migrations) == 0 {
		return nil, errors.New("not a carrierwatch database (no migrations recorded)")
	}
	for _, c := range []struct {
		n     *int
		table string
	}{{&info.Incidents, "incidents"}, {&info.Campaigns, "campaigns"}, {&info.Messages, "messages"}} {
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+c.table).Scan(c.n); err != nil {
			return nil, fmt.Errorf("count %s: %w", c.table, err)
		}
	}
	return info, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
