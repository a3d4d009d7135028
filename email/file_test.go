package email

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/carrierwatch/carrierwatch"
)

func TestFileSend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox", "new")
	f, err := NewFile(dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), os.FileMode(0o750); got != want {
		t.Errorf("directory mode = %v, want %v", got, want)
	}

	m := testMail(1)
	if _, err := f.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, m.MessageID+".eml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, data, m)

	// A resend replaces the file; no temporary files are left behind.
	m.Subject = "second"
	if _, err := f.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := parseMessage(t, data).subject, "second"; got != want {
		t.Errorf("subject after resend = %q, want %q", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(entries), 1; got != want {
		t.Errorf("%d files in the directory, want %d", got, want)
	}
}

func TestFileNameStaysInDirectory(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFile(dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m := testMail(1)
	m.MessageID = "../../etc/x@y"
	if _, err := f.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "_._.._etc_x@y.eml" {
		t.Errorf("directory holds %v, want only _._.._etc_x@y.eml", entries)
	}
}

func TestFileErrors(t *testing.T) {
	if _, err := NewFile("", testFrom); err == nil {
		t.Error("NewFile accepted an empty directory")
	}
	dir := t.TempDir()
	f, err := NewFile(dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m := testMail(1)
	m.To = nil
	if _, err := f.Send(t.Context(), m); !carrierwatch.IsPermanent(err) || !errors.Is(err, ErrInvalidMail) {
		t.Errorf("mail without recipients: %v, want a permanent ErrInvalidMail", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Send(ctx, testMail(2)); err == nil || carrierwatch.IsPermanent(err) {
		t.Errorf("cancelled: %v, want a temporary error", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Send(t.Context(), testMail(3)); err == nil {
		t.Error("send after Close succeeded")
	}
}
