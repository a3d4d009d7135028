package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
)

// daemonConfig is writeConfig with the HTTP listener on a free loopback
// port and info logs (the tests read the listener's address from them).
func daemonConfig(t *testing.T, feedURL, smtpAddr string) string {
	t.Helper()
	path := writeConfig(t, feedURL, smtpAddr, "")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), `http: {listen: ""}`, `http: {listen: "127.0.0.1:0"}`, 1)
	s = strings.Replace(s, "level: warn", "level: info", 1)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// notifySocket is a fake systemd notification socket.
type notifySocket struct {
	path string
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	// A short path: unix socket names are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "cwsd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ns := &notifySocket{path: filepath.Join(dir, "notify"), msgs: make(chan string, 1024)}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ns.msgs)
				return
			}
			ns.msgs <- string(buf[:n])
		}
	}()
	return ns
}

// wait returns the first message containing want, failing after timeout.
// Messages before it are returned too, in order.
func (ns *notifySocket) wait(t *testing.T, want string, timeout time.Duration) []string {
	t.Helper()
	var seen []string
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-ns.msgs:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %q; got %q", want, seen)
			}
			seen = append(seen, m)
			if strings.Contains(m, want) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %q notification within %s; got %q", want, timeout, seen)
		}
	}
}

var httpAddrRE = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

// waitLog waits until the child's logs match re and returns the match.
func waitLog(t *testing.T, c *child, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(c.Logs()); m != nil {
			return m
		}
		select {
		case <-c.done:
			t.Fatalf("daemon exited (%v) before logging %q; logs:\n%s", c.err, re, c.Logs())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no log line matching %q within %s; logs:\n%s", re, timeout, c.Logs())
	return nil
}

func getReady(t *testing.T, base string) (int, service.Readiness) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var rep service.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("/readyz is not JSON: %v", err)
	}
	return resp.StatusCode, rep
}

func waitReady(t *testing.T, base string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var rep service.Readiness
	for time.Now().Before(deadline) {
		var code int
		if code, rep = getReady(t, base); code == http.StatusOK && rep.Status == "ready" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not ready within %s: %+v", timeout, rep)
}

// TestDaemonLifecycle runs the daemon as a separate process under a fake
// systemd: READY=1 once it runs, WATCHDOG=1 while healthy, RELOADING=1 and
// READY=1 around a SIGHUP, a broken config kept out by a second SIGHUP
// while /readyz still answers, then SIGTERM: STOPPING=1 and exit 0 within
// 10 s.
func TestDaemonLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := daemonConfig(t, feeds.URL, smtp.Addr)
	ns := newNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", ns.path)
	t.Setenv("WATCHDOG_USEC", "600000") // 0.6 s: pings every 0.2 s
	t.Setenv("WATCHDOG_PID", "")

	c := startChild(t, "run", "--config", cfg)
	ns.wait(t, "READY=1", 30*time.Second)
	base := "http://" + waitLog(t, c, httpAddrRE, 5*time.Second)[1]

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("/healthz = %d, want %d", got, want)
	}
	waitReady(t, base, 30*time.Second)
	ns.wait(t, "WATCHDOG=1", 5*time.Second)

	// The outage mails go out and show in /metrics.
	if !smtp.WaitCount(6, 30*time.Second) {
		t.Fatalf("%d mails sent, want 6; logs:\n%s", smtp.Count(), c.Logs())
	}
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for time.Now().Before(deadline) && !strings.Contains(body, `carrierwatch_mail_delivered_total{kind="outage"} 6`) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`carrierwatch_mail_delivered_total{kind="outage"} 6`,
		`carrierwatch_incidents_open{carrier="kddi"} 1`,
		`carrierwatch_outbox_messages{state="sent"} 6`,
		`carrierwatch_directory_users `,
		`carrierwatch_source_polls_total{source="kddi/127.0.0.1:`,
		`carrierwatch_signals_total{carrier="kddi",verdict="outage"}`,
		`carrierwatch_store_up 1`,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	// A good reload.
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	seen := ns.wait(t, "RELOADING=1", 10*time.Second)
	if !strings.Contains(seen[len(seen)-1], "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", seen[len(seen)-1])
	}
	ns.wait(t, "READY=1", 10*time.Second)
	waitLog(t, c, regexp.MustCompile(`config reloaded`), 5*time.Second)

	// A broken config is refused; the daemon keeps running on the old one.
	good, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte("carriers: [\n  bad yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ns.wait(t, "RELOADING=1", 10*time.Second)
	ns.wait(t, "READY=1", 10*time.Second)
	waitLog(t, c, regexp.MustCompile(`level=ERROR msg="reload failed; keeping the running config"`), 5*time.Second)
	if code, rep := getReady(t, base); code != http.StatusOK {
		t.Errorf("/readyz after a refused reload = %d %+v, want 200", code, rep)
	}
	ns.wait(t, "WATCHDOG=1", 5*time.Second)
	os.WriteFile(cfg, good, 0o600)

	// SIGTERM: STOPPING=1, exit 0, within 10 s.
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ns.wait(t, "STOPPING=1", 10*time.Second)
	select {
	case <-c.done:
	case <-time.After(10*time.Second - time.Since(start)):
		t.Fatalf("still running 10 s after SIGTERM; logs:\n%s", c.Logs())
	}
	if c.err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0; logs:\n%s", c.err, c.Logs())
	}
	if !strings.Contains(c.Logs(), "msg=stopped") {
		t.Errorf("no 'stopped' log line; logs:\n%s", c.Logs())
	}
	// The database was closed cleanly: it opens, and the WAL is folded in.
	db, err := store.Open(context.Background(), filepath.Join(filepath.Dir(cfg), "state", store.FileName))
	if err != nil {
		t.Fatalf("database after shutdown: %v", err)
	}
	db.Close()
}

func TestRunRejectsBadLogFormat(t *testing.T) {
	_, err := runCmd(t, "run", "--log-format", "xml", "--config", "nonexistent.yaml")
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("run --log-format xml: %v, want a usage error", err)
	}
}

// testDaemon opens the app for a config in-process, without running it.
func testDaemon(t *testing.T) *daemon {
	t.Helper()
	return testDaemonFeed(t, "http://127.0.0.1:1")
}

// testDaemonFeed is testDaemon with its one feed at feedURL+"/feed".
func testDaemonFeed(t *testing.T, feedURL string) *daemon {
	t.Helper()
	path := writeConfig(t, feedURL, "127.0.0.1:1", "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(context.Background(), cfg, logger, appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &daemon{app: a, logger: logger, heartbeat: time.Second}
}

func TestReadiness(t *testing.T) {
	ctx := context.Background()
	feeds := newFeedServer(t, "docomo-network-recovered.rdf")
	d := testDaemonFeed(t, feeds.URL)
	now := time.Now()
	check := func(rep service.Readiness, name string) service.Check {
		for _, c := range rep.Checks {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %q check in %+v", name, rep)
		return service.Check{}
	}

	rep := d.svc.Readiness(ctx, now)
	if got, want := rep.Status, "not ready"; got != want {
		t.Errorf("fresh daemon: status %q, want %q", got, want)
	}
	if c := check(rep, "database"); !c.OK {
		t.Errorf("database check failed: %+v", c)
	}
	if c := check(rep, "poll"); c.OK || c.Detail != "no poll has reached a source yet" {
		t.Errorf("poll check before any poll: %+v", c)
	}
	if c := check(rep, "directory_sync"); c.OK || c.Limit != "12h15m0s" {
		t.Errorf("sync check before any sync: %+v (limit 2×6h+15m)", c)
	}

	// Default schedules: poll @every 1m → 4m; directory_sync @every 6h → 12h15m.
	tests := []struct {
		name      string
		syncAgo   time.Duration
		wantReady bool
	}{
		{"synced an hour ago", time.Hour, true},
		{"synced 12h ago, within 2×6h+15m", 12 * time.Hour, true},
		{"synced 13h ago", 13 * time.Hour, false},
	}
	// A cycle in which every source fails does not count as a poll.
	feeds.file.Store("missing.rdf")
	if _, err := d.svc.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if c := check(d.svc.Readiness(ctx, now), "poll"); c.OK {
		t.Errorf("poll check after a cycle where every source failed: %+v", c)
	}
	feeds.file.Store("docomo-network-recovered.rdf")
	// Forget the backoff the failure set, as if its retry time had come.
	src := d.cfg.Carrier("kddi").DetectorSources()[0]
	if err := d.db.SaveSourceState(ctx, src.ID, "kddi", src.URL, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now.Add(-tt.syncAgo)
			if err := d.db.RecordSync(ctx, store.SyncRecord{StartedAt: at, FinishedAt: at, OK: true, Users: 3}); err != nil {
				t.Fatal(err)
			}
			rep := d.svc.Readiness(ctx, now)
			if got := rep.Status == "ready"; got != tt.wantReady {
				t.Errorf("ready = %v, want %v: %+v", got, tt.wantReady, rep)
			}
			if c := check(rep, "poll"); !c.OK {
				t.Errorf("poll check after a cycle: %+v", c)
			}
		})
	}
	if c := check(d.svc.Readiness(ctx, now.Add(5*time.Minute)), "poll"); c.OK || c.Limit != "4m0s" {
		t.Errorf("poll check 5 min after the last cycle: %+v, want failed with limit 4m", c)
	}

	d.db.Close()
	if c := check(d.svc.Readiness(ctx, now), "database"); c.OK {
		t.Errorf("database check with a closed database: %+v", c)
	}
}

func TestWatchdogHealth(t *testing.T) {
	ctx := context.Background()
	d := testDaemon(t)
	d.beat()
	if err := d.healthy(ctx); err != nil {
		t.Fatalf("fresh heartbeat: %v", err)
	}
	d.lastBeat.Store(time.Now().Add(-4 * d.heartbeat).UnixMilli())
	if err := d.healthy(ctx); err == nil || !strings.Contains(err.Error(), "scheduler") {
		t.Errorf("stale heartbeat: %v, want a scheduler error", err)
	}
	d.beat()
	d.db.Close()
	if err := d.healthy(ctx); err == nil || !strings.Contains(err.Error(), "database") {
		t.Errorf("closed database: %v, want a database error", err)
	}
}
