package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/store"
)

func TestExposureSnapshots(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.LatestExposure(ctx); err == nil {
		t.Fatal("no snapshot yet: want ErrNotFound")
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := db.RecordExposure(ctx, store.ExposureSnapshot{TakenAt: t0.Add(time.Duration(i) * time.Hour), Users: 100 + i,
			PrepMailed: 10, PrepRegistered: i,
			Carriers: []store.CarrierExposure{{CarrierID: "kddi", Name: "au", App: 1, OtherPhone: 2, PhoneOnly: 3 + i, NoAddress: 4}, {CarrierID: "docomo", Name: "docomo"}}}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := db.LatestExposure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := snap.Users, 102; got != want {
		t.Errorf("users = %d, want %d", got, want)
	}
	if len(snap.Carriers) != 2 || snap.Carriers[0].CarrierID != "kddi" || snap.Carriers[0].PhoneOnly != 5 {
		t.Errorf("carriers = %+v", snap.Carriers)
	}
	hist, err := db.PreparednessHistory(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Registered != 1 || hist[1].Registered != 2 || !hist[1].At.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("history = %+v", hist)
	}
}
