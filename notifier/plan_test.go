package notifier_test

import (
	"context"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/notifier"
)

func TestRenotifyAfter(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		window   time.Duration
		wantNew  int
		wantSkip int
	}{
		{"off: a new incident mails everyone again", 0, 100, 0},
		{"within the window: nobody twice", 24 * time.Hour, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openStore(t)
			university(t, db, 300) // 100 on +81908
			p := &notifier.Planner{Store: db, Logger: discard, Methods: &notifier.MethodLog{},
				Config: notifier.PlannerConfig{DeliverTo: []string{"alternate", "primary"}, DefaultLanguage: "ja", RenotifyAfter: tt.window}}
			kddi := notifier.Carrier{ID: "kddi", Name: "au", Covers: coverPrefix("+81908")}
			first, _, _ := db.OpenIncident(ctx, "kddi", "first", "")
			if r, err := p.PlanOutage(ctx, first, kddi, false); err != nil || r.New != 100 {
				t.Fatalf("first incident: %+v %v", r, err)
			}
			if _, err := db.ResolveIncident(ctx, first.ID, ""); err != nil {
				t.Fatal(err)
			}
			second, _, _ := db.OpenIncident(ctx, "kddi", "second", "")
			r, err := p.PlanOutage(ctx, second, kddi, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.New != tt.wantNew || r.Recent != tt.wantSkip {
				t.Fatalf("second incident: new %d, skipped %d; want %d, %d", r.New, r.Recent, tt.wantNew, tt.wantSkip)
			}
			// Another carrier's outage is not held back by the window.
			other, _, _ := db.OpenIncident(ctx, "docomo", "other", "")
			r, err = p.PlanOutage(ctx, other, notifier.Carrier{ID: "docomo", Name: "docomo", Covers: coverPrefix("+81908")}, false)
			if err != nil || r.New != 100 {
				t.Fatalf("another carrier: %+v %v", r, err)
			}
		})
	}
}
