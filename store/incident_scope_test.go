package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/store"
)

// TestIncidentScopeRoundTrip: scope, areas, stated start, thread and partial
// recovery are stored with the incident and read back; a later notice of the
// thread updates them.
func TestIncidentScopeRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	started := time.Date(2024, 1, 1, 16, 10, 0, 0, time.FixedZone("JST", 9*3600))
	out, err := db.ApplySignal(ctx, store.Signal{
		CarrierID: "kddi", SourceID: "kddi/0", Hash: "h1", Key: "k", Title: "石川県の一部エリアでご利用しづらい状況",
		Verdict: store.VerdictOutage, Scope: carrierwatch.ScopeRegional, Areas: []string{"石川県", "富山県"},
		StartedAt: started, Thread: "https://www.au.com/information/topic/mobile/2024-001/",
	}, false)
	if err != nil || !out.Opened {
		t.Fatalf("open: %+v %v", out, err)
	}
	inc, err := db.Incident(ctx, out.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inc.Scope, carrierwatch.ScopeRegional; got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
	if got, want := inc.Areas, []string{"石川県", "富山県"}; !slices.Equal(got, want) {
		t.Errorf("areas = %q, want %q", got, want)
	}
	if !inc.StartedAt.Equal(started) {
		t.Errorf("started = %v, want %v", inc.StartedAt, started)
	}
	if got, want := inc.Thread, "https://www.au.com/information/topic/mobile/2024-001/"; got != want {
		t.Errorf("thread = %q, want %q", got, want)
	}
	if inc.PartlyRecovered {
		t.Error("partly recovered before any recovery")
	}

	out, err = db.ApplySignal(ctx, store.Signal{
		CarrierID: "kddi", SourceID: "kddi/0", Hash: "h2", Key: "k", Title: "一部回復",
		Verdict: store.VerdictNotResolved, Partial: true, Scope: carrierwatch.ScopeNational, Thread: inc.Thread,
	}, false)
	if err != nil || !out.Updated {
		t.Fatalf("update: %+v %v", out, err)
	}
	inc, _ = db.Incident(ctx, inc.ID)
	if !inc.PartlyRecovered || inc.Scope != carrierwatch.ScopeNational || inc.Areas != nil || !inc.StartedAt.Equal(started) {
		t.Errorf("after partial recovery: partly=%v scope=%q areas=%q started=%v", inc.PartlyRecovered, inc.Scope, inc.Areas, inc.StartedAt)
	}

	manual, _, err := db.OpenIncident(ctx, "docomo", "manual", "")
	if err != nil {
		t.Fatal(err)
	}
	if manual.Scope != carrierwatch.ScopeNational || manual.Areas != nil || !manual.StartedAt.IsZero() || manual.Thread != "" {
		t.Errorf("manual incident: %+v", manual)
	}
}

// TestOldIncidentsAreNational: rows written before scopes existed read back
// as national with no areas, thread or stated start.
func TestOldIncidentsAreNational(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// As a version-1 daemon wrote it: only the old columns.
	if _, err := raw.Exec(`INSERT INTO incidents (carrier_id, state, title, url, note, manual, opened_at, updated_at) VALUES ('kddi', 'open', 'old', '', '', 0, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.Incidents(ctx, true)
	if err != nil || len(all) != 1 {
		t.Fatalf("incidents: %v %v", all, err)
	}
	if inc := all[0]; inc.Scope != carrierwatch.ScopeNational || inc.Areas != nil || inc.Thread != "" || !inc.StartedAt.IsZero() || inc.PartlyRecovered {
		t.Errorf("old incident: %+v", inc)
	}
}
