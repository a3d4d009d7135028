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
	// (A user told the first incident was over is mailed again: see
	// TestRenotifyAfterResolvedFollowUp.)
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

func TestRenotifyAfterResolvedFollowUp(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	university(t, db, 30) // 10 on +81908
	p := &notifier.Planner{Store: db, Logger: discard, Methods: &notifier.MethodLog{},
		Config: notifier.PlannerConfig{DeliverTo: []string{"primary"}, DefaultLanguage: "ja", RenotifyAfter: 24 * time.Hour, SendResolved: true}}
	kddi := notifier.Carrier{ID: "kddi", Name: "au", Covers: coverPrefix("+81908")}
	first, _, _ := db.OpenIncident(ctx, "kddi", "first", "")
	p.PlanOutage(ctx, first, kddi, false)
	// Send everything planned, then resolve: the follow-ups go out too.
	send := func() {
		for {
			ms, _ := db.ClaimMessages(ctx, 100)
			if len(ms) == 0 {
				return
			}
			for _, m := range ms {
				db.MarkSent(ctx, m.ID)
			}
		}
	}
	send()
	resolved, _ := db.ResolveIncident(ctx, first.ID, "")
	if r, err := p.PlanResolved(ctx, resolved); err != nil || r.New != 10 {
		t.Fatalf("follow-ups: %+v %v", r, err)
	}
	send()
	second, _, _ := db.OpenIncident(ctx, "kddi", "second", "")
	r, err := p.PlanOutage(ctx, second, kddi, false)
	if err != nil || r.New != 10 || r.Recent != 0 {
		t.Fatalf("recurrence after users were told it was over: new %d, skipped %d, err %v; want 10, 0", r.New, r.Recent, err)
	}
}
