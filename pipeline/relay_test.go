package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/email"
	"github.com/carrierwatch/carrierwatch/internal/smtptest"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

// TestRelayGoesAwayAndComesBack runs the real sending stack (outbox,
// renderer, go-mail SMTP) against a relay that is down when the campaign
// starts, answers 451 for one recipient for a while, then recovers: every
// user gets exactly one mail, without anyone restarting anything.
func TestRelayGoesAwayAndComesBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Stop()
	srv.RejectRcpt("1@example.ac.jp", 451, "4.7.1 greylisted, try again")

	host, port, _ := strings.Cut(srv.Addr, ":")
	p, _ := strconv.Atoi(port)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := email.NewSMTP(email.SMTPConfig{Host: host, Port: p, TLS: "none", Timeout: 2 * time.Second}, "IT <it@example.ac.jp>", 2, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var d *notifier.Dispatcher
	e := engineWith(t, `  - id: kddi
    name: au
    match: {prefixes: ["+81908"]}
    sources: [{type: feed, url: "https://example.jp/rss"}]`, func(db *store.DB, render notifier.RenderFunc) pipeline.Sender {
		d = notifier.NewDispatcher(db, tr, render, notifier.DispatcherConfig{
			Workers: 2, BaseBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		}, logger, nil)
		return d
	})

	inc, _, err := e.Store.OpenIncident(ctx, "kddi", "au 通信障害", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Plan(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()

	time.Sleep(300 * time.Millisecond)
	if n := srv.Count(); n != 0 {
		t.Fatalf("%d mails while the relay was down", n)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if !srv.WaitCount(2, 10*time.Second) {
		t.Fatalf("relay back: %d mails delivered, want the 2 not greylisted", srv.Count())
	}
	srv.RejectRcpt("1@example.ac.jp", 0, "") // greylisting over
	if !srv.WaitCount(3, 10*time.Second) {
		t.Fatalf("greylisted mail never delivered: %d", srv.Count())
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	cancel()
	<-done

	per := map[string]int{}
	for _, m := range srv.Messages() {
		per[strings.Join(m.To, ",")]++
		if got := m.Header.Get("X-Carrierwatch-Incident"); got != strconv.FormatInt(inc.ID, 10) {
			t.Errorf("incident header %q", got)
		}
	}
	if len(per) != 3 {
		t.Fatalf("recipients = %v, want 3 users", per)
	}
	for to, n := range per {
		if n != 1 {
			t.Errorf("%s got %d mails", to, n)
		}
	}
	c, err := e.Store.Campaign(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := (carrierwatch.MessageCounts{Total: 3, Sent: 3}); c.Counts != want {
		t.Fatalf("outbox = %+v, want %+v", c.Counts, want)
	}
}
