package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/store"
)

// sender stands in for the daemon's dispatcher while a prune or a backup
// runs: every 5 ms it marks one message of another campaign sent (a
// write, as the dispatcher's are) and records the longest it had to wait.
type sender struct {
	stop    chan struct{}
	done    sync.WaitGroup
	writes  atomic.Int64
	longest atomic.Int64 // ns
}

func startSender(b *testing.B, db *store.DB, ids []int64) *sender {
	s := &sender{stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			start := time.Now()
			if err := db.MarkSent(context.Background(), ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			if d := int64(time.Since(start)); d > s.longest.Load() {
				s.longest.Store(d)
			}
			s.writes.Add(1)
		}
	}()
	return s
}

func (s *sender) Stop() time.Duration {
	close(s.stop)
	s.done.Wait()
	return time.Duration(s.longest.Load())
}

// BenchmarkPrune100k prunes a sent campaign of 100,000 messages (about
// 600 bytes of mail data each, like a real outage mail's) while a sender
// keeps writing, after taking a backup of the same file. Run it alone:
//
//	go test ./store -run '^$' -bench Prune100k -benchtime 1x
func BenchmarkPrune100k(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		path := filepath.Join(dir, store.FileName)
		db, err := store.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		db.SetClock(func() time.Time { return now })
		old := sentCampaign(b, db, "u", 100_000)
		now = now.Add(500 * 24 * time.Hour)
		// The campaign the sender works on meanwhile: recent, not pruned.
		busy, _, err := db.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, carrierwatch.CampaignActive)
		if err != nil {
			b.Fatal(err)
		}
		var pending []carrierwatch.Message
		for _, id := range []string{"s1", "s2", "s3", "s4"} {
			pending = append(pending, carrierwatch.Message{CampaignID: busy.ID, Kind: carrierwatch.KindPreparedness, UserID: id,
				To: []string{id + "@x"}, MessageID: id, Data: []byte("{}")})
		}
		if _, err := db.PlanMessages(ctx, pending); err != nil {
			b.Fatal(err)
		}
		msgs, err := db.Messages(ctx, store.MessageFilter{CampaignID: busy.ID})
		if err != nil {
			b.Fatal(err)
		}
		var ids []int64
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
		before := fileSize(b, path)

		snd := startSender(b, db, ids)
		start := time.Now()
		info, err := store.Backup(ctx, path, filepath.Join(dir, "backup.db"))
		if err != nil {
			b.Fatal(err)
		}
		backupTook, backupWait := time.Since(start), snd.Stop()

		snd = startSender(b, db, ids)
		b.StartTimer()
		start = time.Now()
		res, err := db.Prune(ctx, store.Retention{Messages: 400 * 24 * time.Hour}, store.PruneOptions{})
		took := time.Since(start)
		b.StopTimer()
		pruneWait := snd.Stop()
		if err != nil {
			b.Fatal(err)
		}
		if res.Messages != 100_000 {
			b.Fatalf("pruned %d messages", res.Messages)
		}
		if c, _ := db.Campaign(ctx, old.ID); c.Counts != old.Counts {
			b.Fatalf("counts %+v, want %+v", c.Counts, old.Counts)
		}
		after := fileSize(b, path)
		db.Close()
		b.ReportMetric(took.Seconds(), "prune-s")
		b.ReportMetric(float64(res.LongestWrite.Microseconds())/1000, "longest-tx-ms")
		b.ReportMetric(float64(res.WriteTransactions), "write-txs")
		b.ReportMetric(float64(pruneWait.Microseconds())/1000, "sender-max-wait-ms")
		b.ReportMetric(float64(before)/1e6, "MB-before")
		b.ReportMetric(float64(after)/1e6, "MB-after")
		b.ReportMetric(backupTook.Seconds(), "backup-s")
		b.ReportMetric(float64(info.Size)/1e6, "backup-MB")
		b.ReportMetric(float64(backupWait.Microseconds())/1000, "backup-sender-max-wait-ms")
	}
}
