package service

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/store"
)

// AuditPruned is the audit action of a prune an admin ran.
const AuditPruned carrierwatch.AuditAction = "retention.prune"

// Retention converts the config's retention for the store.
func Retention(cfg *config.Config) store.Retention {
	r := cfg.Retention
	return store.Retention{
		Messages:     time.Duration(r.Messages),
		Incidents:    time.Duration(r.Incidents),
		RemovedUsers: time.Duration(r.RemovedUsers),
	}
}

// Prune applies the config's retention now: per-user rows past it go (the
// campaigns' counts stay) and the space returns to the file system; dry
// only counts. actor is recorded in the audit trail when it is set and
// the run was not dry (the daemon's daily run passes "").
func (s *Service) Prune(ctx context.Context, dry bool, actor string) (*store.PruneResult, error) {
	res, err := s.db.Prune(ctx, Retention(s.Config()), store.PruneOptions{DryRun: dry})
	if err != nil || dry || actor == "" {
		return res, err
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: AuditPruned,
		Detail: fmt.Sprintf("%d messages of %d campaigns, %d messages of %d removed users, %d incidents",
			res.Messages, len(res.Campaigns), res.RemovedUserMessages, res.RemovedUsers, len(res.Incidents))})
	return res, nil
}

// Vacuum rewrites the database once so that it gives freed space back
// incrementally (a file from before that was the default). It blocks
// every writer meanwhile: the caller makes sure the daemon is stopped.
func (s *Service) Vacuum(ctx context.Context) error { return s.db.Vacuum(ctx) }

// Backup writes a verified copy of cfg's database to dst (see
// store.Backup). It needs no Service: it neither migrates the database
// nor takes the sender's lock, so it runs beside the daemon.
func Backup(ctx context.Context, cfg *config.Config, dst string) (*store.BackupInfo, error) {
	return store.Backup(ctx, filepath.Join(cfg.StateDir, store.FileName), dst)
}

// PrunedAt says when retention deleted a campaign's per-user messages
// (zero: it did not); CampaignBreakdown still counts them.
func (s *Service) PrunedAt(ctx context.Context, id int64) (time.Time, error) {
	return s.db.PrunedAt(ctx, id)
}
