package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/store"
)

// everyoneAffected writes a users.csv of n users whose only method is a
// covered phone into cfg's folder.
func everyoneAffected(t *testing.T, cfg string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods\n")
	for i := range n {
		lang := "ja-JP"
		if i%4 == 0 {
			lang = "en-US"
		}
		fmt.Fprintf(&b, "%05d,u%05d@example.ac.jp,User %d,u%05d@example.ac.jp,u%05d@mail.example.com,%s,mobile:+81 908%07d,mobilePhone\n", i, i, i, i, i, lang, i)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "users.csv"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func stateDir(cfg string) string { return filepath.Join(filepath.Dir(cfg), "state") }

func dbSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{store.FileName, store.FileName + "-wal"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += st.Size()
		}
	}
	return n
}

// assertNotReadableByOthers fails for every file or folder under root
// that others (neither owner nor group) may read.
func assertNotReadableByOthers(t *testing.T, roots ...string) {
	t.Helper()
	for _, root := range roots {
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			if fi.Mode().Perm()&0o007 != 0 {
				t.Errorf("%s has mode %04o: readable by others", p, fi.Mode().Perm())
			}
			return nil
		})
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCmd(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}

var listedMessage = regexp.MustCompile(`(?m)^\d+\s+\d{5}\s`)

// TestPruneEndToEnd: two campaigns are sent, retention.messages is a
// second; prune --dry-run changes nothing, prune deletes every per-user row
// and campaigns list shows the same counts; the file shrinks.
func TestPruneEndToEnd(t *testing.T) {
	const users = 1000
	defer syscall.Umask(syscall.Umask(0o022)) // the usual umask: modes must not depend on it
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{Discard: true})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "retention: {messages: 1s}\n")
	everyoneAffected(t, cfg, users)

	mustRun(t, "once", "--config", cfg)
	feeds.file.Store("docomo-network-recovered.rdf")
	mustRun(t, "once", "--config", cfg)
	if n := smtp.Count(); n != 2*users {
		t.Fatalf("%d mails sent, want %d", n, 2*users)
	}
	list := mustRun(t, "campaigns", "list", "--config", cfg)
	show := mustRun(t, "campaigns", "show", "1", "--config", cfg)
	if !strings.Contains(show, fmt.Sprintf("%d total: %d sent", users, users)) {
		t.Fatalf("campaign 1 before prune:\n%s", show)
	}
	if rows := listedMessage.FindAllString(mustRun(t, "campaigns", "show", "1", "--messages", "--config", cfg), -1); len(rows) != users {
		t.Fatalf("campaign 1 lists %d messages before prune, want %d", len(rows), users)
	}
	before := dbSize(t, stateDir(cfg))
	time.Sleep(1100 * time.Millisecond)

	out := mustRun(t, "prune", "--dry-run", "--config", cfg)
	if !strings.Contains(out, "DRY RUN") || !strings.Contains(out, fmt.Sprintf("would delete %d messages of 2 campaigns (1, 2)", 2*users)) {
		t.Fatalf("prune --dry-run:\n%s", out)
	}
	if rows := listedMessage.FindAllString(mustRun(t, "campaigns", "show", "1", "--messages", "--config", cfg), -1); len(rows) != users {
		t.Fatalf("dry run deleted messages: %d listed", len(rows))
	}

	out = mustRun(t, "prune", "--config", cfg)
	t.Logf("prune:\n%s", out)
	if !strings.Contains(out, fmt.Sprintf("deleted %d messages of 2 campaigns (1, 2)", 2*users)) {
		t.Fatalf("prune:\n%s", out)
	}
	if got := mustRun(t, "campaigns", "list", "--config", cfg); got != list {
		t.Errorf("campaigns list after prune:\n%s\nbefore:\n%s", got, list)
	}
	for _, want := range []string{fmt.Sprintf("%d total: %d sent", users, users), "phone-only  en  sent  250", "phone-only  ja  sent  750", "Per-user messages deleted by retention.messages"} {
		if got := mustRun(t, "campaigns", "show", "1", "--config", cfg); !strings.Contains(got, want) {
			t.Errorf("campaigns show 1 after prune lacks %q:\n%s", want, got)
		}
	}
	if got := mustRun(t, "campaigns", "show", "1", "--config", cfg); !strings.HasPrefix(got, show) {
		t.Errorf("campaigns show 1 after prune:\n%s\nbefore:\n%s", got, show)
	}
	if rows := listedMessage.FindAllString(mustRun(t, "campaigns", "show", "1", "--messages", "--config", cfg), -1); len(rows) != 0 {
		t.Errorf("campaign 1 still lists %d messages after prune", len(rows))
	}
	if got := mustRun(t, "campaigns", "messages", "--user", "u00001", "--config", cfg); !strings.Contains(got, "no messages") {
		t.Errorf("a user's messages after prune:\n%s", got)
	}
	after := dbSize(t, stateDir(cfg))
	t.Logf("database and WAL: %d bytes before, %d after", before, after)
	if after >= before/2 {
		t.Errorf("the file did not shrink: %d bytes before prune, %d after", before, after)
	}
	// Again: nothing left to do, the same counts.
	if out := mustRun(t, "prune", "--config", cfg); !strings.Contains(out, "deleted 0 messages of 0 campaigns") {
		t.Errorf("second prune:\n%s", out)
	}
	if got := mustRun(t, "campaigns", "list", "--config", cfg); got != list {
		t.Errorf("campaigns list after the second prune:\n%s", got)
	}
	assertNotReadableByOthers(t, stateDir(cfg))
}

// campaignRow is one line of campaigns list.
type campaignRow struct {
	id, incident, kind, state               string
	total, sent, pending, failed, cancelled int
}

func campaignRows(t *testing.T, out string) []campaignRow {
	t.Helper()
	var rows []campaignRow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 11 {
			t.Fatalf("campaigns list line %q", line)
		}
		n := func(s string) int { i, _ := strconv.Atoi(s); return i }
		rows = append(rows, campaignRow{f[0], f[1], f[2], f[3], n(f[6]), n(f[7]), n(f[8]), n(f[9]), n(f[10])})
	}
	return rows
}

// restore copies a backup into a fresh state_dir of a copy of cfg, the
// documented way (stop, copy, start), and returns that config.
func restore(t *testing.T, cfg, backup, name string) string {
	t.Helper()
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(filepath.Dir(cfg), name+".yaml")
	if err := os.WriteFile(restored, bytes.Replace(raw, []byte("state_dir: state"), []byte("state_dir: "+name), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(cfg), name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, store.FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return restored
}

// TestBackupWhileDaemonSends takes a backup while run sends a campaign (and
// holds the state lock); the backup opens cleanly and, restored into a
// fresh state_dir, gives the same incidents and campaigns.
func TestBackupWhileDaemonSends(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	const users = 300
	defer syscall.Umask(syscall.Umask(0o022))
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{Discard: true})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	everyoneAffected(t, cfg, users)
	raw, _ := os.ReadFile(cfg)
	slowed := strings.Replace(string(raw), "rate_per_second: 0", "rate_per_second: 40", 1)
	if err := os.WriteFile(cfg, []byte(slowed), 0o600); err != nil {
		t.Fatal(err)
	}

	daemon := startChild(t, "run", "--config", cfg)
	if !smtp.WaitCount(50, 60*time.Second) {
		t.Fatalf("daemon sent %d mails in 60s; logs:\n%s", smtp.Count(), daemon.Logs())
	}
	listBefore := campaignRows(t, mustRun(t, "campaigns", "list", "--config", cfg))
	backupDir := t.TempDir()
	os.Chmod(backupDir, 0o700) // the admin's backup folder
	backup := filepath.Join(backupDir, "during.db")
	out := mustRun(t, "backup", backup, "--config", cfg)
	if !strings.Contains(out, "integrity ok") || !strings.Contains(out, fmt.Sprintf("schema version %d", store.SchemaVersion)) {
		t.Fatalf("backup output:\n%s", out)
	}
	listAfter := campaignRows(t, mustRun(t, "campaigns", "list", "--config", cfg))
	incidents := mustRun(t, "incidents", "list", "--config", cfg)
	if n := smtp.Count(); n >= users {
		t.Fatalf("the campaign (%d mails) was over before the backup finished; slow it down", n)
	}

	restored := restore(t, cfg, backup, "restored")
	if got := mustRun(t, "incidents", "list", "--config", restored); got != incidents {
		t.Errorf("incidents list of the restored backup:\n%s\nlive:\n%s", got, incidents)
	}
	got := campaignRows(t, mustRun(t, "campaigns", "list", "--config", restored))
	if len(got) != 1 || len(listBefore) != 1 || len(listAfter) != 1 {
		t.Fatalf("campaigns: restored %v, live %v / %v", got, listBefore, listAfter)
	}
	g, b, a := got[0], listBefore[0], listAfter[0]
	if g.id != b.id || g.kind != b.kind || g.state != b.state || g.total != users || b.total != users {
		t.Errorf("restored campaign %+v, live %+v", g, b)
	}
	if g.sent < b.sent || g.sent > a.sent {
		t.Errorf("restored campaign has %d sent; the live one had %d before the backup and %d after", g.sent, b.sent, a.sent)
	}
	t.Logf("sent before the backup %d, in it %d, after it %d", b.sent, g.sent, a.sent)

	// Stopped, the backup is exactly the live state.
	daemon.cmd.Process.Signal(os.Interrupt)
	<-daemon.done
	final := filepath.Join(backupDir, "stopped.db")
	mustRun(t, "backup", final, "--config", cfg)
	restored = restore(t, cfg, final, "restored2")
	for _, args := range [][]string{{"incidents", "list"}, {"campaigns", "list"}} {
		live := mustRun(t, append(args, "--config", cfg)...)
		if got := mustRun(t, append(args, "--config", restored)...); got != live {
			t.Errorf("%v of the restored backup:\n%s\nlive:\n%s", args, got, live)
		}
	}
	assertNotReadableByOthers(t, stateDir(cfg), backupDir, filepath.Join(filepath.Dir(cfg), "restored"))

	// A backup into a folder gets a dated name; an existing file is kept.
	out = mustRun(t, "backup", backupDir, "--config", cfg)
	if !regexp.MustCompile(`carrierwatch-\d{8}T\d{6}Z\.db`).MatchString(out) {
		t.Errorf("backup into a folder:\n%s", out)
	}
	if out, err := runCmd(t, "backup", final, "--config", cfg); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v\n%s", err, out)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// TestFutureSchemaRefused: a database stamped by a newer carrierwatch is
// refused with exit status 1 and left byte for byte as it was.
func TestFutureSchemaRefused(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	mustRun(t, "once", "--config", cfg)
	db, err := sql.Open("sqlite", filepath.Join(stateDir(cfg), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, store.SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := snapshot(t, stateDir(cfg))
	for _, args := range [][]string{{"incidents", "list"}, {"run"}, {"once"}, {"prune"}} {
		var stderr bytes.Buffer
		err := run(context.Background(), append(args, "--config", cfg), io.Discard, &stderr)
		if code := exitCode(err, &stderr); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
		if !strings.Contains(stderr.String(), "written by a newer carrierwatch") || !strings.Contains(stderr.String(), "Nothing was changed") {
			t.Errorf("%v: stderr %q", args, stderr.String())
		}
	}
	after := snapshot(t, stateDir(cfg))
	if len(after) != len(before) {
		t.Errorf("state_dir had %d files, now %d", len(before), len(after))
	}
	for name, data := range before {
		if after[name] != data {
			t.Errorf("%s changed", name)
		}
	}
}

// TestCheckConfigWarnsAboutReadableState: check-config passes but warns
// when others may read state_dir or the database.
func TestCheckConfigWarnsAboutReadableState(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "")
	mustRun(t, "once", "--config", cfg)
	if out := mustRun(t, "check-config", "--config", cfg); strings.Contains(out, "warning") {
		t.Fatalf("warnings for a private state_dir:\n%s", out)
	}
	os.Chmod(stateDir(cfg), 0o755)
	os.Chmod(filepath.Join(stateDir(cfg), store.FileName), 0o644)
	out := mustRun(t, "check-config", "--config", cfg)
	for _, want := range []string{"warning: " + stateDir(cfg) + " is readable by others (mode 0755)", store.FileName + " is readable by others (mode 0644)", "chmod 0700"} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config lacks %q:\n%s", want, out)
		}
	}
}

// TestDaemonPrunesOnSchedule: the daemon applies retention on
// schedule.prune; the campaign's counts stay.
func TestDaemonPrunesOnSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	feeds := newFeedServer(t, "docomo-network-recovered.rdf")
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := daemonConfig(t, feeds.URL, smtp.Addr)
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(raw, []byte("retention: {messages: 1s}\nschedule: {prune: \"@every 2s\"}\n")...), 0o600)
	mustRun(t, "directory", "sync", "--config", cfg)
	mustRun(t, "campaigns", "preparedness", "--config", cfg)
	mustRun(t, "once", "--config", cfg)
	list := mustRun(t, "campaigns", "list", "--config", cfg)
	if rows := campaignRows(t, list); len(rows) != 1 || rows[0].sent != 7 {
		t.Fatalf("campaigns:\n%s", list)
	}
	daemon := startChild(t, "run", "--config", cfg)
	waitLog(t, daemon, regexp.MustCompile(`msg=pruned campaigns=1 messages=7`), 30*time.Second)
	daemon.cmd.Process.Signal(os.Interrupt)
	<-daemon.done
	if got := mustRun(t, "campaigns", "list", "--config", cfg); got != list {
		t.Errorf("campaigns list after the daemon pruned:\n%s\nbefore:\n%s", got, list)
	}
	if got := mustRun(t, "campaigns", "messages", "--user", "aoki", "--config", cfg); !strings.Contains(got, "no messages") {
		t.Errorf("messages after the daemon pruned:\n%s", got)
	}
}

// TestPruneSwitchesAnOlderFileOnce: a database without incremental vacuum
// (as carrierwatch created them before) is rewritten by prune once, and
// only while no daemon holds the state_dir.
func TestPruneSwitchesAnOlderFileOnce(t *testing.T) {
	feeds := newFeedServer(t, "docomo-network.rdf")
	smtp := smtptest.Start(t, smtptest.Options{Discard: true})
	cfg := writeConfig(t, feeds.URL, smtp.Addr, "retention: {messages: 1s}\n")
	everyoneAffected(t, cfg, 200)
	mustRun(t, "once", "--config", cfg)
	feeds.file.Store("docomo-network-recovered.rdf")
	mustRun(t, "once", "--config", cfg)
	db, err := sql.Open("sqlite", filepath.Join(stateDir(cfg), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA auto_vacuum = NONE`, `VACUUM`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	time.Sleep(1100 * time.Millisecond)

	lock, err := lockState(stateDir(cfg))
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "prune", "--config", cfg)
	if !strings.Contains(out, "deleted 400 messages") || !strings.Contains(out, "until 'carrierwatch prune' runs once with the daemon stopped") {
		t.Fatalf("prune while the state_dir is locked:\n%s", out)
	}
	lock.Close()
	before := dbSize(t, stateDir(cfg))
	out = mustRun(t, "prune", "--config", cfg)
	if !strings.Contains(out, "switching the file to incremental vacuum") {
		t.Fatalf("prune with the daemon stopped:\n%s", out)
	}
	if after := dbSize(t, stateDir(cfg)); after >= before {
		t.Errorf("file %d bytes after the VACUUM, %d before", after, before)
	}
	if out := mustRun(t, "prune", "--config", cfg); strings.Contains(out, "incremental vacuum") {
		t.Errorf("third prune still wants a VACUUM:\n%s", out)
	}
}
