package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// TestRefusalsMigration: migration 0004 moves a "[relay refused Nx] "
// prefix of last_error into the refusals column, and MarkRetry keeps the
// count there.
func TestRefusalsMigration(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, _, err := db.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []carrierwatch.Message
	for _, id := range []string{"a", "b"} {
		msgs = append(msgs, carrierwatch.Message{CampaignID: c.ID, Kind: carrierwatch.KindPreparedness, UserID: id,
			To: []string{id + "@example.org"}, MessageID: id, Data: []byte("{}")})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	// As a version before 0004 recorded them.
	if _, err := db.db.ExecContext(ctx, `UPDATE messages SET last_error = CASE user_id
		WHEN 'a' THEN '[relay refused 3x] message refused by the relay, server said "554 5.7.1 no"'
		ELSE '451 4.3.0 try later [relay refused 2x] not a prefix' END`); err != nil {
		t.Fatal(err)
	}
	sqlText, err := os.ReadFile(filepath.Join("migrations", "0004_message_refusals.sql"))
	if err != nil {
		t.Fatal(err)
	}
	update := string(sqlText)[strings.Index(string(sqlText), "UPDATE"):]
	if _, err := db.db.ExecContext(ctx, update); err != nil {
		t.Fatalf("migration's UPDATE: %v", err)
	}
	got, err := db.Messages(ctx, MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		refusals int
		errText  string
	}{
		"a": {3, `message refused by the relay, server said "554 5.7.1 no"`},
		"b": {0, "451 4.3.0 try later [relay refused 2x] not a prefix"},
	}
	for _, m := range got {
		if w := want[m.UserID]; m.Refusals != w.refusals || m.LastError != w.errText {
			t.Errorf("message %s: refusals %d, last error %q; want %d, %q", m.UserID, m.Refusals, m.LastError, w.refusals, w.errText)
		}
	}

	claimed, err := db.ClaimMessages(ctx, 2)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v, %d", err, len(claimed))
	}
	if err := db.MarkRetry(ctx, claimed[0].ID, time.Now(), "refused again", claimed[0].Refusals+1); err != nil {
		t.Fatal(err)
	}
	again, err := db.Messages(ctx, MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range again {
		if m.ID == claimed[0].ID && m.Refusals != claimed[0].Refusals+1 {
			t.Errorf("after MarkRetry refusals = %d, want %d", m.Refusals, claimed[0].Refusals+1)
		}
	}
}
