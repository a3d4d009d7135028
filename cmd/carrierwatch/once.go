package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

func cmdOnce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("once", stderr)
	dry := fs.Bool("dry-run", false, "print who would get what; change no state at all")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for retries of temporary send failures before giving up (they stay queued)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("once takes no arguments")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if *dry {
		return dryRun(ctx, cfg, logger, stdout)
	}
	a, err := openApp(ctx, cfg, logger, appOptions{send: true})
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.svc.Once(ctx, *wait)
	printOnce(stdout, res)
	return err
}

func printOnce(w io.Writer, res *pipeline.OnceResult) {
	if res == nil || res.Poll == nil {
		return
	}
	fmt.Fprintf(w, "polled %d sources (%d not modified, %d failed), %d new notices; incidents opened %d, resolved %d; %d mails planned, %d sent, %d failed, %d waiting for retry\n",
		res.Poll.Polled+res.Poll.NotModified+res.Poll.Failed, res.Poll.NotModified, res.Poll.Failed, res.Poll.New,
		len(res.Poll.Opened), len(res.Poll.Resolved), res.Planned, res.Sent.Sent, res.Sent.Failed, res.Waiting)
}

// recorder is a transport that keeps mails instead of sending them.
type recorder struct {
	mu    sync.Mutex
	mails []*carrierwatch.Mail
}

func (r *recorder) Send(_ context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mails = append(r.mails, m)
	return carrierwatch.Everyone(m.To, carrierwatch.Accepted, "recorded (dry run)"), nil
}

func (r *recorder) Close() error { return nil }

var _ notifier.Transport = (*recorder)(nil)

// dryRun runs the real cycle on a throw-away copy of the database with a
// transport that records instead of sending, then prints the recording.
// The real database, the outbox and the mail server are never touched.
func dryRun(ctx context.Context, cfg *config.Config, logger *slog.Logger, stdout io.Writer) error {
	tmp, err := os.MkdirTemp("", "carrierwatch-dry-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	real := filepath.Join(cfg.StateDir, store.FileName)
	copyCfg := *cfg
	copyCfg.StateDir = tmp
	copyCfg.Publish.Dir = "" // the public pages stay as they are
	if _, err := os.Stat(real); err == nil {
		// Read-only and unmigrated: even a newer binary leaves it as it is.
		if err := store.CopyFile(ctx, real, filepath.Join(tmp, store.FileName)); err != nil {
			return err
		}
	}
	// Approval is an admin's step: show what approval would release too,
	// for campaigns planned now and those already waiting. The copy sends
	// one at a time without a rate limit: nothing goes on the wire.
	copyCfg.Notify.RequireApproval = false
	copyCfg.Mail.Concurrency, copyCfg.Mail.RatePerSecond, copyCfg.Mail.RatePerMinute, copyCfg.Mail.DailyLimit = 1, 0, 0, 0
	rec := &recorder{}
	a, err := openApp(ctx, &copyCfg, logger, appOptions{transport: rec})
	if err != nil {
		return err
	}
	defer a.Close()
	// Mails already sent in the daily limit's window, before the dry run
	// "sends" into the copy.
	sentBefore, _, err := a.db.SentWindow(ctx, time.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	res, err := a.svc.Rehearse(ctx, "dry-run")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "DRY RUN: nothing was stored or sent.")
	printOnce(stdout, res)
	who, err := a.svc.Recipients(ctx, rec.mails)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tKIND\tSEGMENT\tUSER\tUPN\tTO\tSUBJECT")
	for _, r := range who {
		m := r.Mail
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.IncidentID, m.Kind, m.Segment, dash(r.UserID), dash(r.UPN), maskAddrs(m.To), m.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// How long it takes at the configured limits (cfg, not the copy's).
	counts := map[carrierwatch.Segment]int{}
	for _, m := range rec.mails {
		counts[m.Segment]++
	}
	fmt.Fprintf(stdout, "estimate: %s\n", notifier.EstimateSend(counts, sendLimits(cfg, sentBefore)))
	return nil
}

// dash is s, or "-" when s is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
