package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

// sendLimits are cfg's sending limits for an estimate, with sent mails
// already in the daily window.
func sendLimits(cfg *config.Config, sent int) notifier.SendLimits {
	return notifier.SendLimits{RatePerSecond: cfg.Mail.RatePerSecond, RatePerMinute: cfg.Mail.RatePerMinute,
		DailyLimit: cfg.Mail.DailyLimit, SentLast24h: sent}
}

// printEstimate says how long the unsent mails of campaign id take at
// cfg's limits.
func printEstimate(ctx context.Context, w io.Writer, db *store.DB, cfg *config.Config, id int64) error {
	counts, err := db.UnsentBySegment(ctx, id)
	if err != nil {
		return err
	}
	sent, _, err := db.SentWindow(ctx, time.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if len(counts) > 0 {
		fmt.Fprintf(w, "estimate: %s\n", notifier.EstimateSend(counts, sendLimits(cfg, sent)))
	}
	return nil
}

// printDailyLimit says how many mails went out in the last 24 hours
// against mail.daily_limit, and when sending resumes at the limit.
func printDailyLimit(ctx context.Context, w io.Writer, db *store.DB, cfg *config.Config) error {
	limit := cfg.Mail.DailyLimit
	if limit <= 0 {
		return nil
	}
	now := time.Now()
	sent, oldest, err := db.SentWindow(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "daily limit: %d of %d mails sent in the last 24 hours", sent, limit)
	if sent >= limit {
		fmt.Fprintf(w, "; sending paused, resumes %s", fmtTime(oldest.Add(24*time.Hour)))
	}
	fmt.Fprintln(w)
	return nil
}
