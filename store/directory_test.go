package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

// openDir opens a database at path, closed at test end.
func openDir(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// directoryOf returns a full update of n users, the first withPhone of
// them with a mobile phone, every one with methods.
func directoryOf(n, withPhone int) *directory.Update {
	u := &directory.Update{Full: true, AuthFull: true}
	for i := range n {
		id := fmt.Sprintf("user-%03d", i)
		u.Users = append(u.Users, carrierwatch.User{ID: id, UPN: id + "@example.ac.jp", Mail: id + "@example.ac.jp"})
		a := directory.Auth{UserID: id, Methods: []string{"microsoftAuthenticatorPush"}}
		if i < withPhone {
			a.Methods = append(a.Methods, "mobilePhone")
			a.Phones = []carrierwatch.Phone{{Type: carrierwatch.PhoneMobile, Raw: "090-1234-5678", E164: "+819012345678"}}
		}
		u.Auth = append(u.Auth, a)
	}
	return u
}

func phoneUsers(t *testing.T, db *DB) int {
	t.Helper()
	users, err := db.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range users {
		if len(u.Phones) > 0 {
			n++
		}
	}
	return n
}

func TestApplyDirectoryRefusesPhoneShrink(t *testing.T) {
	tests := []struct {
		name      string
		cached    int // users with a phone before; 40 users in all
		update    *directory.Update
		opts      ApplyOptions
		wantErr   string // "" = applied
		wantAfter int    // users with a phone after
	}{
		{"every phone gone", 40, directoryOf(40, 0), ApplyOptions{}, "users with a phone: 40 → 0", 40},
		{"every phone gone, allowed", 40, directoryOf(40, 0), ApplyOptions{MaxRemoveFraction: 1}, "", 0},
		{"half gone is the limit", 40, directoryOf(40, 20), ApplyOptions{}, "", 20},
		{"one more than half gone", 40, directoryOf(40, 19), ApplyOptions{}, "users with a phone: 40 → 19", 40},
		{"stricter limit", 40, directoryOf(40, 29), ApplyOptions{MaxRemoveFraction: 0.25}, "users with a phone: 40 → 29", 40},
		{"too few cached to judge", minPhoneUsersGuarded - 1, directoryOf(40, 0), ApplyOptions{}, "", 0},
		{"incremental auth is not complete", 40, &directory.Update{Auth: directoryOf(40, 0).Auth}, ApplyOptions{}, "", 0},
		{"more phones", 30, directoryOf(40, 40), ApplyOptions{}, "", 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDir(t, filepath.Join(t.TempDir(), FileName))
			if _, err := db.ApplyDirectory(ctx, directoryOf(40, tt.cached), ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			_, err := db.ApplyDirectory(ctx, tt.update, tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ApplyDirectory: %v", err)
			case tt.wantErr != "" && !errors.Is(err, ErrShrink):
				t.Fatalf("ApplyDirectory err = %v, want ErrShrink", err)
			case tt.wantErr != "" && (!strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--allow-shrink")):
				t.Errorf("ApplyDirectory err = %v, want it to say %q and --allow-shrink", err, tt.wantErr)
			}
			if got, want := phoneUsers(t, db), tt.wantAfter; got != want {
				t.Errorf("users with a phone after = %d, want %d", got, want)
			}
		})
	}
}

// TestUsersDoesNotBlockWriters: a long Users() in one process (directory
// stats) must not hold the write lock against another process (the daemon
// writing its outbox), and must still read one consistent snapshot.
func TestUsersDoesNotBlockWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	reader := openDir(t, path)
	writer := openDir(t, path)
	if _, err := writer.ApplyDirectory(ctx, directoryOf(30, 30), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}

	second := []carrierwatch.Phone{
		{Type: carrierwatch.PhoneMobile, Raw: "090-1234-5678", E164: "+819012345678"},
		{Type: carrierwatch.PhoneOffice, Raw: "03-1234-5678", E164: "+81312345678"},
	}
	var writeErr error
	var writeTook time.Duration
	ran := false
	usersReadHook = func() {
		if ran {
			return
		}
		ran = true
		// The reader is between its queries, inside its transaction.
		start := time.Now()
		_, writeErr = writer.ApplyDirectory(ctx, &directory.Update{Auth: []directory.Auth{{UserID: "user-000", Phones: second}}}, ApplyOptions{})
		if writeErr == nil {
			writeErr = writer.SetMeta(ctx, "directory.cursor", "next")
		}
		writeTook = time.Since(start)
	}
	t.Cleanup(func() { usersReadHook = nil })

	got, err := reader.Users(ctx)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if !ran {
		t.Fatal("the read hook did not run")
	}
	if writeErr != nil {
		t.Fatalf("write during a read failed after %v: %v", writeTook, writeErr)
	}
	if got, want := len(got[0].Phones), 1; got != want {
		t.Errorf("phones of the first user in the snapshot = %d, want %d (the write came after the snapshot began)", got, want)
	}
	usersReadHook = nil
	after, err := reader.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(after[0].Phones), 2; got != want {
		t.Errorf("phones of the first user after the write = %d, want %d", got, want)
	}
	if v, _ := reader.Meta(ctx, "directory.cursor"); v != "next" {
		t.Errorf("meta written during the read = %q, want next", v)
	}
}
