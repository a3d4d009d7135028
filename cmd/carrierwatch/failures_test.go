package main

import (
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// TestCampaignShowGroupsFailures: "campaigns show ID" says why messages
// failed, grouped by the server's reply with counts, without --messages,
// and masks the recipients the replies name.
func TestCampaignShowGroupsFailures(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	smtp.RejectRcpt("aoki@example.ac.jp", 550, "5.1.1 <aoki@example.ac.jp>: Recipient address rejected: User unknown")
	smtp.RejectRcpt("ito@example.ac.jp", 550, "5.1.1 <ito@example.ac.jp>: Recipient address rejected: User unknown")
	smtp.RejectRcpt("ueda@example.ac.jp", 552, "5.2.2 mailbox full")
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "  deliver_to: [primary]\n")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "campaigns", "show", "1", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "3 failed") {
		t.Fatalf("campaign show:\n%s\nwant 3 failed", out)
	}
	_, groups, ok := strings.Cut(out, "Failed, by the server's reply:\n")
	if !ok {
		t.Fatalf("campaign show has no failure groups:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(groups), "\n")
	if len(lines) < 2 {
		t.Fatalf("failure groups:\n%s", groups)
	}
	if f := strings.Fields(lines[0]); f[0] != "2" || !strings.Contains(lines[0], "550") || !strings.Contains(lines[0], "<***@example.ac.jp>") {
		t.Errorf("first group %q, want the two 550 replies counted together", lines[0])
	}
	if f := strings.Fields(lines[1]); f[0] != "1" || !strings.Contains(lines[1], "552") || !strings.Contains(lines[1], "mailbox full") {
		t.Errorf("second group %q, want the 552 reply once", lines[1])
	}
	if strings.Contains(out, "aoki@") || strings.Contains(out, "ito@") {
		t.Errorf("campaign show names a recipient:\n%s", out)
	}
}
