package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
)

func TestResetEmailIsFirstAlternate(t *testing.T) {
	ctx := context.Background()
	db := openDir(t, filepath.Join(t.TempDir(), "cw.db"))
	u := &directory.Update{Full: true, AuthFull: true,
		Users: []carrierwatch.User{
			{ID: "a", Mail: "a@example.ac.jp", AlternateEmails: []string{"a.home@mail.example.com", "a.reset@mail.example.com"}},
			{ID: "b", Mail: "b@example.ac.jp", AlternateEmails: []string{"b.home@mail.example.com"}},
			{ID: "c", Mail: "c@example.ac.jp"},
			{ID: "d", Mail: "d@example.ac.jp", AlternateEmails: []string{"d.home@mail.example.com"}},
		},
		Auth: []directory.Auth{
			{UserID: "a", Methods: []string{"mobilePhone", "email"}, ResetEmail: "A.Reset@mail.example.com"}, // also an otherMails entry
			{UserID: "b", Methods: []string{"mobilePhone", "email"}, ResetEmail: "b.reset@mail.example.com"},
			{UserID: "c", Methods: []string{"email"}, ResetEmail: "C@example.ac.jp"}, // the primary address
			{UserID: "d", Methods: []string{"mobilePhone"}},
			{UserID: "ghost", ResetEmail: "ghost@mail.example.com"}, // not a user: not stored
		},
	}
	if _, err := db.ApplyDirectory(ctx, u, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"a": {"A.Reset@mail.example.com", "a.home@mail.example.com"},
		"b": {"b.reset@mail.example.com", "b.home@mail.example.com"},
		"c": nil,
		"d": {"d.home@mail.example.com"},
	}
	check := func(want map[string][]string) {
		t.Helper()
		users, err := db.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, usr := range users {
			if got := usr.AlternateEmails; !reflect.DeepEqual(got, want[usr.ID]) {
				t.Errorf("user %s: alternates %q, want %q", usr.ID, got, want[usr.ID])
			}
		}
	}
	check(want)
	if n, err := db.ResetEmailUsers(ctx); err != nil || n != 3 {
		t.Errorf("ResetEmailUsers = %d, %v; want 3", n, err)
	}

	// An incremental update of b's auth replaces only b's reset e-mail.
	inc := &directory.Update{Auth: []directory.Auth{{UserID: "b", Methods: []string{"mobilePhone"}}}}
	if _, err := db.ApplyDirectory(ctx, inc, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	want["b"] = []string{"b.home@mail.example.com"}
	check(want)

	// A full auth update without reset e-mails removes them all.
	full := &directory.Update{Full: true, AuthFull: true, Users: u.Users, Auth: []directory.Auth{{UserID: "d", Methods: []string{"mobilePhone"}}}}
	if _, err := db.ApplyDirectory(ctx, full, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.ResetEmailUsers(ctx); n != 0 {
		t.Errorf("reset e-mails after a full update without them = %d", n)
	}
}

func TestSyncRecordKeepsMode(t *testing.T) {
	ctx := context.Background()
	db := openDir(t, filepath.Join(t.TempDir(), "cw.db"))
	now := time.Now()
	ok := SyncRecord{StartedAt: now, FinishedAt: now, OK: true, Full: true, Users: 3,
		Mode: "authentication_methods", ModeReason: "auto: the report answered 403"}
	if err := db.RecordSync(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSync(ctx, SyncRecord{StartedAt: now, FinishedAt: now, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	lastOK, lastTry, err := db.LastSyncs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lastOK.Mode != ok.Mode || lastOK.ModeReason != ok.ModeReason || lastTry.Mode != "" {
		t.Errorf("last good %q (%q), last attempt %q", lastOK.Mode, lastOK.ModeReason, lastTry.Mode)
	}
}
