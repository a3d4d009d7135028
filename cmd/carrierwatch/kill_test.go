package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// TestKillDuringCampaign kills the daemon with SIGKILL in the middle of a
// campaign, starts it again, and counts the mails each recipient got:
// everyone exactly once, except at most mail.concurrency messages that were
// on the wire at the kill.
func TestKillDuringCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	const users, concurrency = 150, 2
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	// A directory where everyone is affected, and a slow rate so the kill
	// lands mid-campaign.
	var b strings.Builder
	b.WriteString("id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods\n")
	for i := range users {
		fmt.Fprintf(&b, "%04d,u%04d@example.ac.jp,User %d,u%04d@example.ac.jp,,ja-JP,mobile:+81 908%07d,mobilePhone\n", i, i, i, i, i)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "users.csv"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(cfg)
	slowed := strings.Replace(string(raw), "rate_per_second: 0", fmt.Sprintf("rate_per_second: 40\n  concurrency: %d", concurrency), 1)
	if err := os.WriteFile(cfg, []byte(slowed), 0o600); err != nil {
		t.Fatal(err)
	}

	first := startChild(t, "run", "--config", cfg)
	if !smtp.WaitCount(users/3, 60*time.Second) {
		t.Fatalf("daemon sent %d mails in 60s; logs:\n%s", smtp.Count(), first.Logs())
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done
	atKill := smtp.Count()
	if atKill >= users {
		t.Fatalf("campaign finished (%d mails) before the kill; slow it down", atKill)
	}

	second := startChild(t, "run", "--config", cfg)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && distinct(smtp) < users {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything still coming would be a duplicate
	second.cmd.Process.Signal(os.Interrupt)
	<-second.done

	if got := distinct(smtp); got != users {
		t.Fatalf("%d of %d users got their mail after the restart; logs:\n%s", got, users, second.Logs())
	}
	dups := smtp.Count() - users
	if dups > concurrency {
		t.Fatalf("%d duplicate mails; at most %d (the messages on the wire) are allowed", dups, concurrency)
	}
	t.Logf("killed after %d mails; %d duplicates after restart (limit %d)", atKill, dups, concurrency)
}

func distinct(s *smtptest.Server) int {
	seen := map[string]bool{}
	for _, m := range s.Messages() {
		seen[strings.Join(m.To, ",")] = true
	}
	return len(seen)
}
