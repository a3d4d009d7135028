package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/smtptest"
)

// BenchmarkOnce20k times one whole `carrierwatch once` for 20,000 users
// whose directory is already synced (the sync runs before the timer):
// poll the feed, open the incident, plan a mail for every affected user
// into the SQLite outbox, render and send each at mail.concurrency 2 to an
// SMTP sink, recording every message before and after it is sent. The sink
// is an in-process server, or the one at $CARRIERWATCH_BENCH_SMTP
// (host:port, plain SMTP), such as postfix's smtp-sink.
func BenchmarkOnce20k(b *testing.B) {
	const users = 20_000
	addr := os.Getenv("CARRIERWATCH_BENCH_SMTP")
	var srv *smtptest.Server
	if addr == "" {
		srv = smtptest.Start(b, smtptest.Options{Discard: true})
		addr = srv.Addr
	}
	feeds := newFeedServer(b, "docomo-network.rdf")
	var csv strings.Builder
	csv.WriteString("id,upn,display_name,mail,alternate_emails,preferred_language,phones,methods\n")
	for i := range users {
		methods := "mobilePhone"
		if i%3 != 0 { // two in three also have an app
			methods += ";microsoftAuthenticatorPush"
		}
		lang := "ja-JP"
		if i%5 == 0 {
			lang = "en-US"
		}
		fmt.Fprintf(&csv, "%05d,u%05d@example.ac.jp,利用者 %05d,u%05d@example.ac.jp,u%05d@mail.example.com,%s,mobile:+81 908%07d,%s\n",
			i, i, i, i, i, lang, i, methods)
	}
	var total time.Duration
	sent := 0
	ctx := context.Background()
	for i := range b.N {
		b.StopTimer()
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		host, port, _ := strings.Cut(addr, ":")
		cfg := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`state_dir: state
http: {listen: ""}
log: {format: text, level: warn}
carriers:
  - id: kddi
    name: au / UQ mobile / povo
    match: {prefixes: ["+81908"]}
    sources:
      - {type: feed, url: "%s/feed", max_age: 9000d} # the fixtures are of 2021
directory:
  provider: csv
  csv: {path: users.csv}
mail:
  transport: smtp
  from: "IT Help <mfa-noreply@example.ac.jp>"
  smtp: {host: %s, port: %s, tls: none}
  concurrency: 2
  rate_per_second: 0
notify:
  links: {support_form: "https://support.example.ac.jp/mfa"}
`, feeds.URL, host, port)), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := run(ctx, []string{"directory", "sync", "--config", cfg}, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
		before := 0
		if srv != nil {
			before = srv.Count()
		}
		var out strings.Builder
		b.StartTimer()
		start := time.Now()
		err := run(ctx, []string{"once", "--config", cfg}, &out, io.Discard)
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("once: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), fmt.Sprintf("%d mails planned, %d sent, 0 failed", users, users)) {
			b.Fatalf("run %d: want %d mails sent: %s", i, users, out.String())
		}
		if srv != nil && srv.Count()-before != users {
			b.Fatalf("sink received %d mails, want %d", srv.Count()-before, users)
		}
		sent += users
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/once")
	b.ReportMetric(float64(sent)/total.Seconds(), "msgs/s")
}
