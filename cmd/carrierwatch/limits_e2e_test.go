package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// TestDailyLimitEndToEnd: with mail.daily_limit 100 and 300 affected users,
// once sends exactly 100 mails, all to phone-only users, the rest wait; the
// dry run and campaigns show print the estimate at the configured limits.
func TestDailyLimitEndToEnd(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	srv := smtptest.Start(t, smtptest.Options{Discard: true})
	var csv strings.Builder
	csv.WriteString("id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods\n")
	for i := range 300 {
		methods := "mobilePhone"
		if i%3 != 0 {
			methods += ";microsoftAuthenticatorPush"
		}
		fmt.Fprintf(&csv, "%05d,u%05d@example.ac.jp,User %05d,u%05d@example.ac.jp,,ja-JP,mobile:+81 908%07d,%s\n", i, i, i, i, i, methods)
	}
	cfg := writeConfig(t, feeds.URL, srv.Addr, "")
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "users.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "  rate_per_second: 0\n", "  rate_per_second: 0\n  daily_limit: 100\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := runCmd(t, "once", "--dry-run", "--config", cfg)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if want := "estimate: 100 phone-only: 0 s; 200 app: 2 d 0 h; all 300: 2 d 0 h no rate limit; 3 days at 100 a day (phone-only done on day 1)"; !strings.Contains(out, want) {
		t.Errorf("dry run does not print %q:\n%s", want, out)
	}

	out, _ = runCmd(t, "once", "--wait", "0s", "--config", cfg)
	if got := srv.Count(); got != 100 {
		t.Fatalf("sent %d mails under daily_limit 100\n%s", got, out)
	}
	// Discard keeps no bodies: the segments are in the outbox.
	list, err := runCmd(t, "campaigns", "show", "1", "--messages", "--state", "sent", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, "@example.ac.jp") {
			continue
		}
		rows++
		if !strings.Contains(line, "phone-only") {
			t.Errorf("sent before the phone-only users were done: %s", line)
		}
	}
	if rows != 100 {
		t.Errorf("%d sent messages listed, want 100:\n%s", rows, list)
	}
	show, err := runCmd(t, "campaigns", "show", "1", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"daily limit: 100 of 100 mails sent in the last 24 hours; sending paused, resumes", "estimate: 200 app: 2 d 0 h; all 200: 2 d 0 h no rate limit"} {
		if !strings.Contains(show, want) {
			t.Errorf("campaigns show lacks %q:\n%s", want, show)
		}
	}
}
