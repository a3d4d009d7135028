package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// envChildArgs makes the test binary act as the carrierwatch binary: the
// subprocess tests start os.Args[0] with the command line in this variable
// (separated by U+001F), so they need no separate build.
const envChildArgs = "CARRIERWATCH_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(envChildArgs); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, strings.Split(args, "\x1f"), os.Stdout, os.Stderr)
		stop()
		os.Exit(exitCode(err, os.Stderr))
	}
	os.Exit(m.Run())
}

// child is a carrierwatch process started by a test.
type child struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
	err  error
}

// startChild starts carrierwatch with args as a separate process. Its
// stderr is collected for Logs; it is killed at test end if still running.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildArgs+"="+strings.Join(args, "\x1f"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			fmt.Fprintln(&c.logs, sc.Text())
			c.mu.Unlock()
		}
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// Logs returns what the child wrote to stderr so far.
func (c *child) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}
