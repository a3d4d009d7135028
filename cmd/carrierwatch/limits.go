package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/store"
)

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
