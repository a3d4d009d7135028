package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// TestVacuumSwitchesAnOlderFile: a database created before carrierwatch
// set auto_vacuum keeps freed pages; Prune says so, and one Vacuum makes
// the file incremental and gives the space back.
func TestVacuumSwitchesAnOlderFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	// The DSN carrierwatch used before: no auto_vacuum.
	old, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	s := &DB{db: old, now: time.Now, path: path}
	if err := s.migrate(ctx, migrationsUpTo(t, 1)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if inc, _ := db.AutoVacuum(ctx); inc {
		t.Fatal("an older file reports incremental vacuum before a VACUUM")
	}
	now := time.Now()
	db.SetClock(func() time.Time { return now })
	c, _, err := db.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []carrierwatch.Message
	for i := range 2000 {
		id := fmt.Sprintf("u%05d", i)
		msgs = append(msgs, carrierwatch.Message{CampaignID: c.ID, Kind: carrierwatch.KindPreparedness, UserID: id,
			To: []string{id + "@x"}, MessageID: id, Data: []byte(strings.Repeat("x", 600))})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CancelCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(48 * time.Hour)
	res, err := db.Prune(ctx, Retention{Messages: time.Hour}, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 2000 || !res.NeedsVacuum || res.FreePages == 0 {
		t.Fatalf("prune of an older file: %+v", res)
	}
	before := db.fileSize()
	if err := db.Vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	if inc, _ := db.AutoVacuum(ctx); !inc {
		t.Fatal("still not incremental after Vacuum")
	}
	if after := db.fileSize(); after >= before/2 {
		t.Fatalf("file %d bytes after Vacuum, %d before", after, before)
	}
	if got, _ := db.Campaign(ctx, c.ID); got.Counts.Cancelled != 2000 {
		t.Fatalf("counts after Vacuum: %+v", got.Counts)
	}
}
