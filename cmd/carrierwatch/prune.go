package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
)

// cmdPrune applies retention now: carrierwatch prune [--dry-run].
func cmdPrune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("prune", stderr)
	dry := fs.Bool("dry-run", false, "print what would be deleted; delete nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("prune takes no arguments")
	}
	return withApp(ctx, *path, stderr, func(a *app) error {
		r := service.Retention(a.cfg)
		fmt.Fprintf(stdout, "retention: messages %s, incidents %s, removed users %s\n", days(r.Messages), days(r.Incidents), days(r.RemovedUsers))
		res, err := a.svc.Prune(ctx, *dry, cliActor())
		if res != nil {
			printPrune(stdout, res)
		}
		if err != nil || *dry || !res.NeedsVacuum {
			return err
		}
		// A file from before incremental vacuum keeps its free pages until
		// one full VACUUM, which holds the write lock throughout: only with
		// the daemon stopped (its lock free), holding the lock meanwhile.
		lock, err := lockState(a.cfg.StateDir)
		if errors.Is(err, errLocked) {
			fmt.Fprintf(stdout, "the file predates incremental vacuum: %d free pages stay in it until 'carrierwatch prune' runs once with the daemon stopped\n", res.FreePages)
			return nil
		}
		if err != nil {
			return err
		}
		defer lock.Close()
		fmt.Fprintln(stdout, "switching the file to incremental vacuum (one full VACUUM)…")
		if err := a.svc.Vacuum(ctx); err != nil {
			return err
		}
		after, err := a.svc.Prune(ctx, true, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "file: %s after the VACUUM\n", megabytes(after.SizeAfter))
		return nil
	})
}

func printPrune(w io.Writer, res *store.PruneResult) {
	verb := "deleted"
	if res.DryRun {
		verb = "would delete"
		fmt.Fprintln(w, "DRY RUN: nothing is deleted.")
	}
	fmt.Fprintf(w, "retention.messages:      %s %d messages of %d campaigns%s (their counts stay)\n", verb, res.Messages, len(res.Campaigns), idList(res.Campaigns))
	fmt.Fprintf(w, "retention.removed_users: %s %d messages of %d users removed from the directory\n", verb, res.RemovedUserMessages, res.RemovedUsers)
	fmt.Fprintf(w, "retention.incidents:     %s %d incidents%s with their campaigns and %d messages\n", verb, len(res.Incidents), idList(res.Incidents), res.IncidentMessages)
	if res.DryRun {
		fmt.Fprintf(w, "file: %s\n", megabytes(res.SizeBefore))
		return
	}
	fmt.Fprintf(w, "file: %s → %s (%d pages given back); %d write transactions, the longest %s\n",
		megabytes(res.SizeBefore), megabytes(res.SizeAfter), res.FreedPages, res.WriteTransactions, res.LongestWrite.Round(100_000))
}

func idList(ids []int64) string {
	if len(ids) == 0 {
		return ""
	}
	var s []string
	for i, id := range ids {
		if i == 20 {
			s = append(s, "…")
			break
		}
		s = append(s, fmt.Sprint(id))
	}
	return " (" + strings.Join(s, ", ") + ")"
}

// pruneJob is the daemon's daily retention run (schedule.prune).
func (d *daemon) pruneJob(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	res, err := d.svc.Prune(ctx, false, "")
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("pruning failed", "err", err)
		}
		return
	}
	if res.Messages+res.RemovedUserMessages+len(res.Incidents) > 0 {
		d.logger.Info("pruned", "campaigns", len(res.Campaigns), "messages", res.Messages,
			"removed_users", res.RemovedUsers, "removed_user_messages", res.RemovedUserMessages,
			"incidents", len(res.Incidents), "incident_messages", res.IncidentMessages,
			"size_before", res.SizeBefore, "size_after", res.SizeAfter, "longest_write", res.LongestWrite)
	}
	if res.NeedsVacuum {
		d.logger.Warn("the database predates incremental vacuum: freed space stays in the file until 'carrierwatch prune' runs once with the daemon stopped", "free_pages", res.FreePages)
	}
}

// printBreakdown prints a campaign's counts by segment, language and
// state (campaigns show), and whether retention deleted its messages.
func printBreakdown(ctx context.Context, w io.Writer, a *app, id int64) error {
	counts, err := a.svc.CampaignBreakdown(ctx, id)
	if err != nil || len(counts) == 0 {
		return err
	}
	pruned, err := a.svc.PrunedAt(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nBy segment and language:")
	out := tw(w)
	for _, c := range counts {
		fmt.Fprintf(out, "  %s\t%s\t%s\t%d\n", c.Segment, c.Lang, c.State, c.N)
	}
	out.Flush()
	if !pruned.IsZero() {
		fmt.Fprintf(w, "Per-user messages deleted by retention.messages on %s; the counts stay.\n", fmtTime(pruned))
	}
	return nil
}
