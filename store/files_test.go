package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/store"
)

// withUmask runs fn with the process umask set to mask (0 leaves
// everything to the code under test).
func withUmask(t *testing.T, mask int, fn func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	fn()
}

func assertPrivate(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o: others or the group may read it", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "state")
	withUmask(t, 0, func() {
		db, err := store.Open(ctx, filepath.Join(state, store.FileName))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		planCampaign(t, db, carrierwatch.CampaignActive, "u1", "u2")
		if _, err := os.Stat(filepath.Join(state, store.FileName+"-wal")); err != nil {
			t.Fatalf("no WAL while open: %v", err)
		}
		assertPrivate(t, state)
		if st, _ := os.Stat(state); st.Mode().Perm() != 0o700 {
			t.Errorf("state_dir mode %04o, want 0700", st.Mode().Perm())
		}
		backup := filepath.Join(t.TempDir(), "backup.db")
		if _, err := store.Backup(ctx, filepath.Join(state, store.FileName), backup); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(backup); st.Mode().Perm() != 0o600 {
			t.Errorf("backup mode %04o, want 0600", st.Mode().Perm())
		}
		copy := filepath.Join(t.TempDir(), "copy.db")
		if err := store.CopyFile(ctx, filepath.Join(state, store.FileName), copy); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(copy); st.Mode().Perm() != 0o600 {
			t.Errorf("dry-run copy mode %04o, want 0600", st.Mode().Perm())
		}
	})
}

func TestOpenTightensAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(dir, 0o755)
	os.Chmod(path, 0o644)
	exp, err := store.Exposed(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 2 {
		t.Fatalf("exposed = %v, want the folder and the database", exp)
	}
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	exp, _ = store.Exposed(dir)
	if len(exp) != 1 || !exp[0].Dir {
		t.Fatalf("after Open: exposed = %v, want only the folder (Open does not chmod a folder it did not make)", exp)
	}
}

// TestBackupWhileWriting takes a backup while another connection keeps
// writing: the copy is one consistent snapshot and the writer is not held up.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := sentCampaign(t, db, "u", 5000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var writes int
	var slowest time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if err := db.SetMeta(ctx, "tick", time.Now().String()); err != nil {
				t.Error(err)
				return
			}
			slowest = max(slowest, time.Since(start))
			writes++
		}
	}()
	dst := filepath.Join(t.TempDir(), "b.db")
	info, err := store.Backup(ctx, path, dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != c.Counts.Total || info.Campaigns != 1 || info.Schema.Version != store.SchemaVersion {
		t.Fatalf("backup info %+v", info)
	}
	if _, err := store.Backup(ctx, path, dst); err == nil {
		t.Fatal("backup over an existing file")
	}
	t.Logf("%d writes during the backup, slowest %s", writes, slowest)
	restored, err := store.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	got, err := restored.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Counts != c.Counts {
		t.Fatalf("restored counts %+v, want %+v", got.Counts, c.Counts)
	}
}
