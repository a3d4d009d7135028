package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the lock in state_dir that one sending process holds.
const lockFile = "carrierwatch.lock"

// errLocked says that another process sends from the same state_dir.
var errLocked = errors.New("another carrierwatch process is sending from this state_dir")

// lockState takes the exclusive lock that makes one process the sender of
// a state_dir: two senders would each hand the other's in-flight messages
// back to the outbox at start-up and send them again, and together exceed
// mail.rate_per_second. The lock goes with the process, also on SIGKILL.
func lockState(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock state_dir: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state_dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s is locked): the running daemon sends the mails; stop it to run 'once'", errLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
