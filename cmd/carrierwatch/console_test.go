package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runDaemon runs "carrierwatch run" in-process until the test ends and
// returns the base URL of its HTTP listener.
func runDaemon(t *testing.T, cfg string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"run", "--config", cfg}, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := httpAddrRE.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("daemon stopped: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the daemon did not listen:\n%s", logs.String())
	return ""
}

func TestDaemonServesConsole(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := daemonConfig(t, feeds.URL, smtp.Addr)
	base := runDaemon(t, cfg)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<title>Overview · carrierwatch</title>") {
		t.Fatalf("GET / = %d:\n%s", resp.StatusCode, b)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz beside the console: %v %v", resp, err)
	}
}

func TestDaemonConsoleUsersFile(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := daemonConfig(t, feeds.URL, smtp.Addr)
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	users := filepath.Join(filepath.Dir(cfg), "console.htpasswd")
	if err := os.WriteFile(users, []byte("aoki:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(cfg)
	s := strings.Replace(string(raw), `http: {listen: "127.0.0.1:0"}`, `http: {listen: "127.0.0.1:0", auth: {users_file: console.htpasswd}}`, 1)
	os.WriteFile(cfg, []byte(s), 0o600)
	base := runDaemon(t, cfg)
	get := func(user, pw string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("aoki", "wrong"); got != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401 (users_file applies on loopback too)", got)
	}
	if got := get("aoki", "s3cret pass"); got != http.StatusOK {
		t.Errorf("right password: %d", got)
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz must stay open for monitoring: %v %v", resp, err)
	}
}

func TestCheckConfigRefusesOpenConsole(t *testing.T) {
	cfg := writeConfig(t, "http://127.0.0.1:1", "127.0.0.1:1", "")
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), `http: {listen: ""}`, `http: {listen: "0.0.0.0:9464"}`, 1)), 0o600)
	out, err := runCmd(t, "check-config", "--config", cfg)
	if err == nil || !strings.Contains(out, "http.auth: must be set") {
		t.Fatalf("check-config with an open non-loopback console: err %v\n%s", err, out)
	}
	if _, err := runCmd(t, "run", "--config", cfg); err == nil || !strings.Contains(err.Error(), "http.auth") {
		t.Fatalf("run with an open non-loopback console: %v", err)
	}
	// A users file that is not bcrypt is refused too.
	os.WriteFile(filepath.Join(filepath.Dir(cfg), "u.htpasswd"), []byte("aoki:plaintext\n"), 0o600)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), `http: {listen: ""}`, `http: {listen: "0.0.0.0:9464", auth: {users_file: u.htpasswd}}`, 1)), 0o600)
	out, err = runCmd(t, "check-config", "--config", cfg)
	if err == nil || !strings.Contains(out, "not a bcrypt hash") {
		t.Fatalf("check-config with a plaintext users file: err %v\n%s", err, out)
	}
}

// TestDaemonConsoleApprovalSends is the console as an admin uses it on a
// running daemon: the outage is held for approval, the console's
// confirmation page is fetched and its form posted, and the held mails
// reach the SMTP server. A cross-site post before it changes nothing.
func TestDaemonConsoleApprovalSends(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := daemonConfig(t, feeds.URL, smtp.Addr)
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), "notify:\n", "notify:\n  require_approval: true\n", 1)), 0o600)
	base := runDaemon(t, cfg)

	// Wait for the held campaign to show on the overview.
	var campaign string
	deadline := time.Now().Add(30 * time.Second)
	for campaign == "" {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := regexp.MustCompile(`action="/campaigns/(\d+)/approve"`).FindStringSubmatch(string(b)); m != nil {
			campaign = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no campaign awaiting approval on the overview:\n%s", b)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	resp, err := http.Get(base + "/campaigns/" + campaign + "/approve")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "6 mails will be sent") {
		t.Errorf("confirmation page:\n%s", b)
	}
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
	if token == nil {
		t.Fatal("no token on the confirmation page")
	}
	post := func(form url.Values, site string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/campaigns/"+campaign+"/approve", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(url.Values{}, "cross-site"); got != http.StatusForbidden {
		t.Fatalf("cross-site POST without the token: %d, want 403", got)
	}
	time.Sleep(300 * time.Millisecond)
	if smtp.Count() != 0 {
		t.Fatal("mail sent before approval")
	}
	if got := post(url.Values{"csrf": {token[1]}}, "same-origin"); got != http.StatusSeeOther {
		t.Fatalf("approve: %d, want 303", got)
	}
	if !smtp.WaitCount(6, 30*time.Second) {
		t.Fatalf("%d of 6 mails after approval", smtp.Count())
	}
}
