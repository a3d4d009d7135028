package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The database's files: the database, its write-ahead log and its
// shared-memory index. SQLite creates the last two with the mode of the
// first, so a database created 0600 keeps all three private.
func dbFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm"}
}

// prepareFiles creates the folder of path (0700) and an empty database
// file (0600) when they do not exist, setting the modes explicitly so the
// umask does not matter. Existing files are not touched here: a database
// from a newer binary must stay as it was.
func prepareFiles(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tightenModes takes the group and other bits off the database's files
// (a database created by an older carrierwatch was 0644). A file this
// process may not chmod is left alone: check-config reports it.
func tightenModes(path string) {
	for _, p := range dbFiles(path) {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o077 == 0 {
			continue
		}
		_ = os.Chmod(p, st.Mode().Perm()&0o700)
	}
}

// Exposure is a state file or folder that users other than the service's
// own may read.
type Exposure struct {
	Path string
	Mode fs.FileMode
	Dir  bool
}

// String says what is exposed and how to fix it.
func (e Exposure) String() string {
	want := "0600"
	if e.Dir {
		want = "0700"
	}
	return fmt.Sprintf("%s is readable by others (mode %04o): it holds users' phone numbers and addresses; chmod %s %s", e.Path, e.Mode.Perm(), want, e.Path)
}

// Exposed returns the state folder and database files under stateDir that
// others (not the owner, not the group) may read or enter. Files that do
// not exist are skipped.
func Exposed(stateDir string) ([]Exposure, error) {
	var out []Exposure
	st, err := os.Stat(stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o005 != 0 {
		out = append(out, Exposure{Path: stateDir, Mode: st.Mode(), Dir: true})
	}
	for _, p := range dbFiles(filepath.Join(stateDir, FileName)) {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.Mode().Perm()&0o004 != 0 {
			out = append(out, Exposure{Path: p, Mode: st.Mode()})
		}
	}
	return out, nil
}
