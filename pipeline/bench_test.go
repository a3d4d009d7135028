package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

const benchConfig = `
state_dir: /tmp/unused
carriers:
  - id: kddi
    name: au / UQ mobile / povo
    match: {prefixes: ["+81908"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]
mail: {from: "IT Help <mfa-noreply@example.ac.jp>", rate_per_second: 0}
notify: {links: {support_form: "https://support.example.ac.jp/mfa", mfa_setup: "https://aka.ms/mfasetup"}}
`

// BenchmarkSendSMTP plans and sends mails to an SMTP sink the way the
// daemon does: personal templates rendered per message, every message
// recorded in the SQLite outbox before and after it is sent, SMTP
// connections reused, no rate limit. The sink is an in-process server,
// or the one at $CARRIERWATCH_BENCH_SMTP (host:port), which is how
// scripts/bench-send.sh compares with postfix's smtp-source on one sink.
// $CARRIERWATCH_BENCH_MESSAGES (default 2000) and
// $CARRIERWATCH_BENCH_WORKERS (default 4) size the run.
func BenchmarkSendSMTP(b *testing.B) {
	n := envInt("CARRIERWATCH_BENCH_MESSAGES", 2000)
	workers := envInt("CARRIERWATCH_BENCH_WORKERS", 4)
	addr := os.Getenv("CARRIERWATCH_BENCH_SMTP")
	if addr == "" {
		srv := smtptest.Start(b, smtptest.Options{Discard: true})
		addr = srv.Addr
	}
	host, portS, _ := cut(addr)
	port, _ := strconv.Atoi(portS)
	cfg, err := config.Parse([]byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := templates.New("")
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprint(i)+".db"))
		if err != nil {
			b.Fatal(err)
		}
		u := &directory.Update{Full: true, AuthFull: true}
		for j := range n {
			id := fmt.Sprintf("u%06d", j)
			u.Users = append(u.Users, carrierwatch.User{ID: id, UPN: id + "@example.ac.jp", DisplayName: "利用者 " + id, Mail: id + "@example.ac.jp", PreferredLanguage: "ja-JP"})
			u.Auth = append(u.Auth, directory.Auth{UserID: id, Methods: []string{"mobilePhone"},
				Phones: []carrierwatch.Phone{{Type: "mobile", Raw: "x", E164: fmt.Sprintf("+81908%07d", j)}}})
		}
		if _, err := db.ApplyDirectory(ctx, u, store.ApplyOptions{}); err != nil {
			b.Fatal(err)
		}
		e := pipeline.NewEngine(cfg, pipeline.Deps{Store: db, Logger: logger, Methods: &notifier.MethodLog{}})
		inc, _, _ := db.OpenIncident(ctx, "kddi", "au 通信障害", "")
		r, err := e.Planner().PlanOutage(ctx, inc, pipeline.CarrierFor(cfg.Carrier("kddi")), false)
		if err != nil || r.New != n {
			b.Fatalf("planned %v, %v", r, err)
		}
		tr, err := email.NewSMTP(email.SMTPConfig{Host: host, Port: port, TLS: "none", Timeout: 30 * time.Second}, cfg.Mail.From, workers, logger)
		if err != nil {
			b.Fatal(err)
		}
		rd := pipeline.NewRenderer(db, tmpl, cfg)
		d := notifier.NewDispatcher(db, tr, rd.Render, notifier.DispatcherConfig{Workers: workers}, logger, nil)
		b.StartTimer()
		start := time.Now()
		if _, err := d.Drain(ctx, 0); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if p := d.Progress(); p.Sent != n {
			b.Fatalf("sent %d of %d", p.Sent, n)
		}
		tr.Close()
		db.Close()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func cut(addr string) (host, port string, ok bool) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:], true
		}
	}
	return addr, "", false
}
