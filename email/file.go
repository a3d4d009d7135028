package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
)

// File is a transport that writes each message as an RFC 5322 .eml file
// into a directory, for a dry run, a demo or a mail system that picks files
// up. It is safe for concurrent use.
type File struct {
	dir    string
	from   string
	closed atomic.Bool
}

// NewFile returns a File writing into dir, which it creates (mode 0750)
// when missing. from is the From header value.
func NewFile(dir, from string) (*File, error) {
	if dir == "" {
		return nil, errors.New("new file transport: empty directory")
	}
	if err := checkAddress("from", from); err != nil {
		return nil, fmt.Errorf("new file transport: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("new file transport: %w", err)
	}
	return &File{dir: dir, from: from}, nil
}

// Send writes m to <dir>/<MessageID>.eml, atomically: readers see the
// whole file or none. A resend with the same Message-ID replaces the file.
// Every recipient of a written file is Accepted. A mail that cannot be
// built is a permanent *carrierwatch.SendError, a failed write a temporary
// one.
func (f *File) Send(ctx context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	if f.closed.Load() {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Err: errors.New("file transport: closed")}
	}
	if err := ctx.Err(); err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Err: fmt.Errorf("write eml: %w", err)}
	}
	msg, err := Build(f.from, m)
	if err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Permanent: true, Err: err}
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Permanent: true, Err: fmt.Errorf("write eml %s: %w", m.MessageID, err)}
	}
	if err := writeAtomic(f.dir, fileName(m.MessageID), buf.Bytes()); err != nil {
		return carrierwatch.Delivery{}, &carrierwatch.SendError{Err: fmt.Errorf("write eml %s: %w", m.MessageID, err)}
	}
	return carrierwatch.Everyone(m.To, carrierwatch.Accepted, "written to "+fileName(m.MessageID)), nil
}

// Close makes later Sends fail; it has nothing to release.
func (f *File) Close() error {
	f.closed.Store(true)
	return nil
}

// fileName maps a Message-ID to a safe file name: characters other than
// letters, digits and "@._+-" become "_", and a leading dot is replaced so
// that no name is hidden or points elsewhere.
func fileName(id string) string {
	b := []byte(id)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("@._+-", c) >= 0:
		default:
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] == '.' {
		b[0] = '_'
	}
	return string(b) + ".eml"
}

func writeAtomic(dir, name string, data []byte) (err error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o640); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	// Make the rename itself durable.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

var _ notifier.Transport = (*File)(nil)
