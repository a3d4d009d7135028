package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// Retention says how long per-user data is kept; a zero duration keeps it
// for ever.
type Retention struct {
	// Messages: a finished campaign's messages (addresses, rendered data)
	// are deleted this long after its last activity, once its incident
	// has been resolved at least as long. Its counts by segment, language
	// and state are kept.
	Messages time.Duration
	// Incidents: a resolved incident, its history, campaigns and
	// messages are deleted this long after it was resolved.
	Incidents time.Duration
	// RemovedUsers: the messages of a user the directory no longer has
	// are deleted this long after the sync removed them.
	RemovedUsers time.Duration
}

// PruneOptions tune Prune; the zero value is what the daemon uses.
type PruneOptions struct {
	// DryRun counts what would be deleted and changes nothing.
	DryRun bool
	// BatchSize is how many messages one write transaction deletes
	// (0 = 1000): each transaction holds the database's write lock, and
	// with it the sending, only for as long as that takes.
	BatchSize int
	// VacuumStep is how many free pages one incremental_vacuum step
	// returns to the file system (0 = 256, 1 MiB of 4 KiB pages).
	VacuumStep int
}

// PruneResult says what Prune deleted (or, dry, would delete).
type PruneResult struct {
	DryRun bool
	// Campaigns whose messages went (retention.messages) and how many.
	Campaigns []int64
	Messages  int
	// Removed users whose messages went (retention.removed_users).
	RemovedUsers        int
	RemovedUserMessages int
	// Incidents deleted with everything of theirs (retention.incidents).
	Incidents        []int64
	IncidentMessages int

	// SizeBefore and SizeAfter are the bytes of the database file and its
	// write-ahead log.
	SizeBefore, SizeAfter int64
	// FreedPages went back to the file system.
	FreedPages int
	// LongestWrite is the longest write transaction Prune held.
	LongestWrite time.Duration
	// WriteTransactions counts them.
	WriteTransactions int
	// NeedsVacuum: the file predates incremental vacuum (auto_vacuum is
	// NONE), so freed pages stay in it until one full VACUUM (Vacuum).
	NeedsVacuum bool
	// FreePages is the number of free pages left in the file.
	FreePages int
}

// terminal lists the message states that nothing changes any more.
const terminal = `('sent', 'failed', 'cancelled')`

// Prune deletes the per-user rows that retention no longer keeps and
// gives the space back to the file system, in short transactions: the
// daemon's sending waits at most for one batch.
func (s *DB) Prune(ctx context.Context, r Retention, opts PruneOptions) (*PruneResult, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.VacuumStep <= 0 {
		opts.VacuumStep = 256
	}
	res := &PruneResult{DryRun: opts.DryRun, SizeBefore: s.fileSize()}
	now := s.now()
	p := &pruner{s: s, res: res, opts: opts}
	if r.Incidents > 0 {
		if err := p.incidents(ctx, ms(now.Add(-r.Incidents))); err != nil {
			return res, fmt.Errorf("prune incidents: %w", err)
		}
	}
	if r.Messages > 0 {
		if err := p.campaigns(ctx, ms(now.Add(-r.Messages))); err != nil {
			return res, fmt.Errorf("prune messages: %w", err)
		}
	}
	if r.RemovedUsers > 0 {
		if err := p.removedUsers(ctx, ms(now.Add(-r.RemovedUsers))); err != nil {
			return res, fmt.Errorf("prune removed users: %w", err)
		}
	}
	if !opts.DryRun {
		if err := p.vacuum(ctx); err != nil {
			return res, fmt.Errorf("prune: give space back: %w", err)
		}
	}
	res.SizeAfter = s.fileSize()
	return res, nil
}

type pruner struct {
	s    *DB
	res  *PruneResult
	opts PruneOptions
}

// write runs fn in one write transaction and records how long it held it.
func (p *pruner) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := p.s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	err = tx.Commit()
	p.held(time.Since(start))
	return err
}

func (p *pruner) held(d time.Duration) {
	p.res.WriteTransactions++
	p.res.LongestWrite = max(p.res.LongestWrite, d)
}

// ids runs a query returning one integer column.
func (p *pruner) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := p.s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (p *pruner) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	err := p.s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// fold deletes the messages that match where (a condition on messages,
// with args) in batches, adding them to campaign_counts in the same
// transaction as their deletion, so a campaign's counts are right at every
// commit. keep=false deletes without counting (the campaign goes too).
func (p *pruner) fold(ctx context.Context, where string, keep bool, args ...any) (int, error) {
	total := 0
	batch := `SELECT id FROM messages WHERE ` + where + ` ORDER BY id LIMIT ` + fmt.Sprint(p.opts.BatchSize)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		err := p.write(ctx, func(tx *sql.Tx) error {
			if keep {
				if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_counts (campaign_id, segment, lang, state, n)
					SELECT campaign_id, segment, lang, state, count(*) FROM messages WHERE id IN (`+batch+`)
					GROUP BY campaign_id, segment, lang, state
					ON CONFLICT(campaign_id, segment, lang, state) DO UPDATE SET n = n + excluded.n`, args...); err != nil {
					return err
				}
			}
			r, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN (`+batch+`)`, args...)
			if err != nil {
				return err
			}
			n, _ = r.RowsAffected()
			return nil
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < int64(p.opts.BatchSize) {
			return total, nil
		}
	}
}

// campaigns prunes finished campaigns whose last activity, and whose
// incident's resolution, are older than cut, once no campaign of their
// incident has a message left to send.
func (p *pruner) campaigns(ctx context.Context, cut int64) error {
	ids, err := p.ids(ctx, `SELECT c.id FROM campaigns c LEFT JOIN incidents i ON i.id = c.incident_id
		WHERE c.pruned_at = 0
		AND (c.incident_id IS NULL OR (i.state = 'resolved' AND i.resolved_at < ?1))
		AND max(c.created_at, c.approved_at, c.cancelled_at) < ?1
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = c.id
			AND (m.state NOT IN `+terminal+` OR m.created_at >= ?1 OR m.sent_at >= ?1))
		-- While an incident's follow-ups are still going out, its outage
		-- campaign stays whole.
		AND (c.incident_id IS NULL OR NOT EXISTS (SELECT 1 FROM messages m JOIN campaigns o ON o.id = m.campaign_id
			WHERE o.incident_id = c.incident_id AND m.state NOT IN `+terminal+`))
		ORDER BY c.id`, cut)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if p.opts.DryRun {
			n, err := p.count(ctx, `SELECT count(*) FROM messages WHERE campaign_id = ?`, id)
			if err != nil {
				return err
			}
			p.res.Messages += n
			p.res.Campaigns = append(p.res.Campaigns, id)
			continue
		}
		n, err := p.fold(ctx, `campaign_id = ?`, true, id)
		p.res.Messages += n
		if err != nil {
			return err
		}
		err = p.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE campaigns SET pruned_at = ? WHERE id = ?`, ms(p.s.now()), id)
			return err
		})
		if err != nil {
			return err
		}
		p.res.Campaigns = append(p.res.Campaigns, id)
	}
	return nil
}

// removedUsers deletes the finished messages of users removed from the
// directory before cut, and then their marks.
func (p *pruner) removedUsers(ctx context.Context, cut int64) error {
	const gone = `user_id IN (SELECT id FROM removed_users WHERE removed_at < ?) AND state IN ` + terminal
	users, err := p.count(ctx, `SELECT count(*) FROM removed_users WHERE removed_at < ?`, cut)
	if err != nil {
		return err
	}
	p.res.RemovedUsers = users
	if p.opts.DryRun {
		n, err := p.count(ctx, `SELECT count(*) FROM messages WHERE `+gone, cut)
		p.res.RemovedUserMessages = n
		return err
	}
	n, err := p.fold(ctx, gone, true, cut)
	p.res.RemovedUserMessages = n
	if err != nil {
		return err
	}
	// A message still waiting to be sent keeps its user's mark.
	return p.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM removed_users WHERE removed_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.user_id = removed_users.id)`, cut)
		return err
	})
}

// incidents deletes incidents resolved before cut, with their events,
// campaigns and messages; notices they came from stay (they keep the
// same content from being a new signal) without the link.
func (p *pruner) incidents(ctx context.Context, cut int64) error {
	ids, err := p.ids(ctx, `SELECT i.id FROM incidents i WHERE i.state = 'resolved' AND i.resolved_at < ?
		AND NOT EXISTS (SELECT 1 FROM messages m JOIN campaigns c ON c.id = m.campaign_id
			WHERE c.incident_id = i.id AND m.state NOT IN `+terminal+`)
		ORDER BY i.id`, cut)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if p.opts.DryRun {
			n, err := p.count(ctx, `SELECT count(*) FROM messages WHERE campaign_id IN (SELECT id FROM campaigns WHERE incident_id = ?)`, id)
			if err != nil {
				return err
			}
			p.res.IncidentMessages += n
			p.res.Incidents = append(p.res.Incidents, id)
			continue
		}
		n, err := p.fold(ctx, `campaign_id IN (SELECT id FROM campaigns WHERE incident_id = ?)`, false, id)
		p.res.IncidentMessages += n
		if err != nil {
			return err
		}
		err = p.write(ctx, func(tx *sql.Tx) error {
			for _, q := range []string{
				`DELETE FROM messages WHERE campaign_id IN (SELECT id FROM campaigns WHERE incident_id = ?1)`,
				`DELETE FROM campaign_counts WHERE campaign_id IN (SELECT id FROM campaigns WHERE incident_id = ?1)`,
				`DELETE FROM campaigns WHERE incident_id = ?1`,
				`DELETE FROM incident_events WHERE incident_id = ?1`,
				`UPDATE notices SET incident_id = NULL WHERE incident_id = ?1`,
				`DELETE FROM incidents WHERE id = ?1`,
			} {
				if _, err := tx.ExecContext(ctx, q, id); err != nil {
					return fmt.Errorf("incident %d: %w", id, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		p.res.Incidents = append(p.res.Incidents, id)
	}
	return nil
}

// vacuum returns free pages to the file system in small steps, then
// checkpoints the write-ahead log so the file itself shrinks.
func (p *pruner) vacuum(ctx context.Context) error {
	var mode int
	if err := p.s.db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return err
	}
	free, err := p.count(ctx, `PRAGMA freelist_count`)
	if err != nil {
		return err
	}
	if mode != 2 {
		p.res.NeedsVacuum = free > 0
		p.res.FreePages = free
		return nil
	}
	for free > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		if _, err := p.s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, p.opts.VacuumStep)); err != nil {
			return err
		}
		p.held(time.Since(start))
		left, err := p.count(ctx, `PRAGMA freelist_count`)
		if err != nil {
			return err
		}
		if left >= free {
			break // no progress: leave the rest for the next run
		}
		p.res.FreedPages += free - left
		free = left
	}
	p.res.FreePages = free
	d, err := p.s.checkpoint(ctx)
	p.held(d)
	return err
}

// checkpoint copies the write-ahead log into the database file, which
// lets SQLite cut the file to its new size, and empties the log. It gives
// readers of other processes a quarter of a second to finish (their
// snapshot pins the log) and otherwise leaves the log for the next
// automatic checkpoint: writers wait for it, so it must not wait long.
func (s *DB) checkpoint(ctx context.Context) (time.Duration, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 250`); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA busy_timeout = 5000`)
	start := time.Now()
	var busy, logged, done int
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done)
	return time.Since(start), err
}

// Vacuum rewrites the whole file once with incremental auto-vacuum on: a
// database created before carrierwatch used it keeps its free pages until
// then. It holds the write lock for the whole rewrite (seconds for a large
// file): run it while the daemon is stopped.
func (s *DB) Vacuum(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	if _, err := s.checkpoint(ctx); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// AutoVacuum reports whether the file gives freed pages back
// incrementally (false for a file that needs one Vacuum).
func (s *DB) AutoVacuum(ctx context.Context) (bool, error) {
	var mode int
	if err := s.db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return false, fmt.Errorf("read auto_vacuum: %w", err)
	}
	return mode == 2, nil
}

// fileSize is the size of the database file and its write-ahead log.
func (s *DB) fileSize() int64 {
	var n int64
	for _, p := range dbFiles(s.path)[:2] {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// SegmentCount is how many messages of a campaign had one segment,
// language and state; pruned messages count too.
type SegmentCount struct {
	Segment carrierwatch.Segment
	Lang    string
	State   carrierwatch.MessageState
	N       int
}

// CampaignBreakdown counts a campaign's messages by segment, language and
// state: the remaining ones and those retention deleted.
func (s *DB) CampaignBreakdown(ctx context.Context, id int64) ([]SegmentCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT segment, lang, state, sum(n) FROM (
			SELECT segment, lang, state, count(*) AS n FROM messages WHERE campaign_id = ?1 GROUP BY 1, 2, 3
			UNION ALL SELECT segment, lang, state, n FROM campaign_counts WHERE campaign_id = ?1)
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign %d breakdown: %w", id, err)
	}
	defer rows.Close()
	var out []SegmentCount
	for rows.Next() {
		var c SegmentCount
		if err := rows.Scan(&c.Segment, &c.Lang, &c.State, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PrunedAt says when retention deleted a campaign's messages (zero: it
// did not).
func (s *DB) PrunedAt(ctx context.Context, id int64) (time.Time, error) {
	var at int64
	if err := s.db.QueryRowContext(ctx, `SELECT pruned_at FROM campaigns WHERE id = ?`, id).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("campaign %d: %w", id, err)
	}
	return fromMS(at), nil
}

// addPruned adds the counts of deleted messages (campaign_counts) to c;
// where is counts' condition on campaign_id.
func (s *DB) addPruned(ctx context.Context, c *carrierwatch.MessageCounts, where string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, `SELECT state, sum(n) FROM campaign_counts `+where+` GROUP BY 1`, args...)
	if err != nil {
		return fmt.Errorf("count pruned messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		c.Total += n
		switch carrierwatch.MessageState(st) {
		case carrierwatch.MessageSent:
			c.Sent += n
		case carrierwatch.MessageFailed:
			c.Failed += n
		case carrierwatch.MessageCancelled:
			c.Cancelled += n
		case carrierwatch.MessagePending:
			c.Pending += n
		case carrierwatch.MessageSending:
			c.Sending += n
		}
	}
	return rows.Err()
}
