// Package browsertest starts a real headless Chromium for tests that look
// at pages the way a user's browser shows them (github.com/chromedp/chromedp
// with Debian's chromium).
//
// A test that needs the browser fails, never skips, when no Chromium is
// installed: CI installs it, and a browser check that silently does not run
// proves nothing. $CHROMIUM_PATH names another binary.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Phone is a phone-sized viewport (CSS pixels), about an iPhone 14's.
const (
	PhoneWidth  = 390
	PhoneHeight = 844
)

// Path returns the Chromium binary the tests use: $CHROMIUM_PATH, else
// /usr/bin/chromium, else chromium or chromium-browser on $PATH. It fails
// the test when there is none.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found (install Debian's chromium, or set CHROMIUM_PATH): this test needs a real browser")
	return ""
}

// New starts a headless Chromium with a width×height window and returns a
// chromedp context for it; the browser stops when the test ends. Every
// action run in the context is bounded by timeout.
func New(t testing.TB, width, height int, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so that a missing or broken binary fails here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// A phone's viewport, whatever the window manager gives.
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("set the viewport: %v", err)
	}
	return tctx
}
