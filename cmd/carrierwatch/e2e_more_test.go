package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carrierwatch/carrierwatch/internal/fixtures"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

func kinds(srv *smtptest.Server) map[string]int {
	out := map[string]int{}
	for _, m := range srv.Messages() {
		out[m.Header.Get("X-Carrierwatch-Kind")]++
	}
	return out
}

func TestPageEditedInPlace(t *testing.T) {
	pages := newFeedServer(t, "kddi-notice-1-outage.html")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, pages.URL, smtp.Addr, "")
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), `{type: feed, url: "`+pages.URL+`/feed", max_age: 9000d}`,
		`{type: page, url: "`+pages.URL+`/feed", selector: "main"}`, 1)), 0o600)

	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if got := kinds(smtp); got["outage"] != 6 {
		t.Fatalf("after the outage notice: %v, want 6 outage mails", got)
	}
	pages.file.Store("kddi-notice-2-partial.html")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if got := smtp.Count(); got != 6 {
		t.Fatalf("ほぼ回復 sent %d more mails", got-6)
	}
	out, _ := runCmd(t, "incidents", "list", "--open", "--config", cfg)
	if !strings.Contains(out, "kddi") {
		t.Fatalf("ほぼ回復 resolved the incident:\n%s", out)
	}
	pages.file.Store("kddi-notice-3-recovered.html")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if got := kinds(smtp); got["resolved"] != 6 {
		t.Fatalf("after 【復旧】: %v, want 6 resolved mails", got)
	}
	out, _ = runCmd(t, "incidents", "show", "1", "--config", cfg)
	for _, want := range []string{"resolved", "open", "update", "resolve"} {
		if !strings.Contains(out, want) {
			t.Errorf("incidents show lacks %q:\n%s", want, out)
		}
	}
}

func TestApprovalAndCancel(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), "notify:\n", "notify:\n  require_approval: true\n", 1)), 0o600)

	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 0 {
		t.Fatalf("%d mails sent before approval", n)
	}
	out, _ := runCmd(t, "campaigns", "show", "1", "--config", cfg)
	if !strings.Contains(out, "awaiting_approval") || !strings.Contains(out, "6 total") {
		t.Fatalf("campaign before approval:\n%s", out)
	}
	// A dry run shows what approval would release, and touches nothing.
	before := stateFiles(t, cfg)
	out, err := runCmd(t, "once", "--dry-run", "--config", cfg)
	if err != nil || strings.Count(out, "outage") < 6 {
		t.Fatalf("dry run with a campaign awaiting approval: %v\n%s", err, out)
	}
	if after := stateFiles(t, cfg); after != before {
		t.Fatal("the dry run changed the state files")
	}
	if n := smtp.Count(); n != 0 {
		t.Fatalf("dry run sent %d mails", n)
	}
	if _, err := runCmd(t, "campaigns", "approve", "1", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 6 {
		t.Fatalf("%d mails after approval, want 6", n)
	}
	out, _ = runCmd(t, "campaigns", "show", "1", "--messages", "--user", "aoki", "--config", cfg)
	if !strings.Contains(out, "0001") || strings.Contains(out, "0002") || !strings.Contains(out, "sent") {
		t.Fatalf("history filtered by user:\n%s", out)
	}
	if strings.Contains(out, "hanako.aoki@") {
		t.Fatalf("addresses not masked:\n%s", out)
	}
	// Resolve by hand; cancel the follow-up before it goes.
	if _, err := runCmd(t, "incidents", "resolve", "1", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "campaigns", "cancel", "2", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 6 {
		t.Fatalf("cancelled follow-up sent %d mails", n-6)
	}
}

func TestScopeGrowsMailsOnlyNewlyAffected(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	raw, _ := os.ReadFile(cfg)
	narrow := strings.Replace(string(raw), `prefixes: ["+81908", "+81802"]`, `prefixes: ["+81908"]`, 1)
	os.WriteFile(cfg, []byte(narrow), 0o600)
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 4 { // 0001, 0002, 0005, 0010
		t.Fatalf("narrow scope: %d mails, want 4", n)
	}
	os.WriteFile(cfg, raw, 0o600) // +81802 added: 0003 and 0007 too
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 6 {
		t.Fatalf("after the scope grew: %d mails in all, want 6 (only the 2 newly affected)", n)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	out, err := runCmd(t, "once", "--dry-run", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 0 {
		t.Fatalf("dry run sent %d mails", n)
	}
	for _, want := range []string{"DRY RUN", "phone-only", "other-phone", "app", "USER", "UPN"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	// Who gets what: the user id and UPN on the line, the address masked.
	var aoki string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "aoki@example.ac.jp") {
			aoki = line
		}
	}
	if f := strings.Fields(aoki); len(f) < 6 || f[3] != "0001" || f[4] != "aoki@example.ac.jp" || !strings.Contains(aoki, "h***@mail.example.com") || strings.Contains(aoki, "hanako.aoki@") {
		t.Errorf("dry-run line of user 0001: %q, want its id, UPN and masked addresses\n%s", aoki, out)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "state", "carrierwatch.db")); err == nil {
		t.Fatal("dry run created the database")
	}
	// The real run afterwards still mails everyone.
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 6 {
		t.Fatalf("real run after dry run: %d mails, want 6", n)
	}
}

func TestPreparednessCampaign(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network-recovered.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	if _, err := runCmd(t, "directory", "sync", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "campaigns", "preparedness", "--dry-run", "--config", cfg)
	if err != nil || !strings.Contains(out, "DRY RUN") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "campaigns", "preparedness", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	// Phone-only users in the fixture: 0001, 0003 (two phones, no app),
	// 0004, 0005, 0006 (office), 0009, 0010.
	var got []string
	for _, m := range smtp.Messages() {
		if k := m.Header.Get("X-Carrierwatch-Kind"); k != "preparedness" {
			t.Fatalf("unexpected %s mail", k)
		}
		if m.Header.Get("X-Carrierwatch-Incident") != "" {
			t.Errorf("preparedness mail has an incident header")
		}
		got = append(got, m.To[len(m.To)-1])
	}
	if len(got) != 7 {
		t.Fatalf("preparedness mails to %v, want 7 phone-only users", got)
	}
	// Again within the interval: nobody twice.
	runCmd(t, "campaigns", "preparedness", "--config", cfg)
	runCmd(t, "once", "--config", cfg)
	if n := smtp.Count(); n != 7 {
		t.Fatalf("second preparedness round sent %d more", n-7)
	}
}

func TestRecipientRejectedPermanently(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	smtp.RejectRcpt("ito@example.ac.jp", 550, "5.1.1 no such user")
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if n := smtp.Count(); n != 5 {
		t.Fatalf("%d mails delivered, want 5", n)
	}
	out, _ := runCmd(t, "campaigns", "show", "1", "--state", "failed", "--config", cfg)
	if !strings.Contains(out, "0002") || !strings.Contains(out, "550") {
		t.Fatalf("failure not recorded with the server's reply:\n%s", out)
	}
	// Not retried.
	runCmd(t, "once", "--config", cfg)
	if n := smtp.Count(); n != 5 {
		t.Fatalf("permanent failure retried")
	}
}

func TestBadInputGoesOn(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	raw, _ := os.ReadFile(cfg)
	// A second carrier whose sources are garbage and unreachable.
	bad := strings.Replace(string(raw), "directory:", `  - id: broken
    name: Broken Mobile
    match: {prefixes: ["+8170"]}
    sources:
      - {type: feed, url: "`+feeds.URL+`/garbage"}
      - {type: feed, url: "`+feeds.URL+`/nope.rss"}
      - {type: feed, url: "http://127.0.0.1:1/unreachable"}
directory:`, 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	users, _ := os.ReadFile("testdata/users.csv")
	users = append(users, []byte("0011,bad@example.ac.jp,Bad Number,bad@example.ac.jp,,ja-JP,mobile:+81 90-12,mobilePhone\n"+
		"0012,,No Address,,,ja-JP,mobile:+81 9081230000,mobilePhone\n")...)
	os.WriteFile(filepath.Join(filepath.Dir(cfg), "users.csv"), users, 0o600)

	out, err := runCmd(t, "once", "--config", cfg)
	if err != nil {
		t.Fatalf("once failed on bad input: %v\n%s", err, out)
	}
	if n := smtp.Count(); n != 6 {
		t.Fatalf("%d mails, want the 6 good users", n)
	}
	for _, want := range []string{"source poll failed", "no address"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(out, "9081230000") {
		t.Error("log shows a full phone number")
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("state_dir: x\ncarriers: []\nmail: {from: nobody}\nbogus: 1\n"), 0o600)
	out, err := runCmd(t, "check-config", "--config", bad)
	if err == nil || !strings.Contains(out, "bogus") {
		t.Fatalf("bad config: err=%v\n%s", err, out)
	}
	if got := exitCode(err, &strings.Builder{}); got != 1 {
		t.Fatalf("exit code %d, want 1", got)
	}
	if got := exitCode(run(t.Context(), []string{"frobnicate"}, &strings.Builder{}, &strings.Builder{}), &strings.Builder{}); got != 2 {
		t.Fatalf("unknown command: exit %d, want 2", got)
	}
}

// TestDemo runs the README's first command.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out, err := runCmd(t, "demo", "--dir", dir)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"incident 1 opened for kddi", "still open", "incident 1 resolved", "outage", "resolved", "phone-only", "other-phone"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(emls) < 100 {
		t.Fatalf("%d .eml files, want the demo's mails", len(emls))
	}
	// Outage and resolved mails come in pairs: every user told of the
	// outage is told it is over.
	var outage, resolved int
	for _, f := range emls {
		b, _ := os.ReadFile(f)
		switch {
		case strings.Contains(string(b), "X-Carrierwatch-Kind: outage"):
			outage++
		case strings.Contains(string(b), "X-Carrierwatch-Kind: resolved"):
			resolved++
		}
	}
	if outage == 0 || outage != resolved {
		t.Fatalf("outage %d, resolved %d", outage, resolved)
	}
	// A second demo into the same folder refuses instead of mixing runs.
	if _, err := runCmd(t, "demo", "--dir", dir); err == nil {
		t.Fatal("demo reused a folder that holds a demo")
	}
}

func TestRulesTest(t *testing.T) {
	cfg := writeConfig(t, "http://127.0.0.1:1", "127.0.0.1:1", "")
	out, err := runCmd(t, "rules", "test", fixtures.Path(t, "docomo-network.rdf"), fixtures.Path(t, "kddi-notice-2-partial.html"), "--selector", "main", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"【お詫び】音声通話", "outage", "【一部回復】", "not-resolved", "設備工事のお知らせ", "ignored", "ほぼ回復",
		"SCOPE", "THREAD", "national",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules test output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCmd(t, "rules", "test", "testdata/nope.rss", "--config", cfg); err == nil {
		t.Error("a missing file is not an error")
	}
}

// TestOnceRefusesWhileDaemonSends: a second sender on the same state_dir
// would requeue the daemon's in-flight mails and send them again.
func TestOnceRefusesWhileDaemonSends(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	lock, err := lockState(filepath.Join(filepath.Dir(cfg), "state"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "once", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "another carrierwatch process") {
		t.Fatalf("once with the lock held: err = %v\n%s", err, out)
	}
	if n := smtp.Count(); n != 0 {
		t.Fatalf("%d mails sent by a second sender", n)
	}
	lock.Close()
	if _, err := runCmd(t, "once", "--config", cfg); err != nil {
		t.Fatalf("once after the lock was released: %v", err)
	}
	if n := smtp.Count(); n != 6 {
		t.Fatalf("%d mails, want 6", n)
	}
}

// stateFiles returns the contents of the database files, to compare.
func stateFiles(t *testing.T, cfg string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{"carrierwatch.db", "carrierwatch.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "state", name))
		b.Write(data)
	}
	return b.String()
}
