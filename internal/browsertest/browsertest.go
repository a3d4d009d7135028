// Package browsertest starts a real headless Chromium (Debian's
// /usr/bin/chromium) for tests of the pages carrierwatch serves and hands
// out chromedp contexts driving it. It is for tests only.
//
// A missing browser fails the test rather than skipping it: a page test
// that silently did not run is not a passing one. CI installs the package
// (.ci/run); elsewhere set CARRIERWATCH_CHROMIUM to another binary.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// EnvPath names the environment variable that overrides DefaultPath.
const EnvPath = "CARRIERWATCH_CHROMIUM"

// Path returns the browser binary to run, or fails t when there is none.
func Path(t testing.TB) string {
	t.Helper()
	p := os.Getenv(EnvPath)
	if p == "" {
		p = DefaultPath
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("headless Chromium is needed for this test and %s is missing (%v): apt-get install chromium, or set %s", p, err, EnvPath)
	}
	return p
}

// Options tune New.
type Options struct {
	// Width and Height are the window size; 1280×900 when zero.
	Width, Height int
	// Timeout bounds everything done with the returned context; 2 minutes
	// when zero.
	Timeout time.Duration
}

// New starts a fresh headless Chromium (its own user-data dir under
// t.TempDir, no network services of its own) and returns a chromedp
// context for one tab. Everything is shut down when the test ends.
func New(t testing.TB, opts Options) context.Context {
	t.Helper()
	path := Path(t)
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 900
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, opts.Timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so a browser that cannot start fails here
	// with its own error rather than in the first action.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}
