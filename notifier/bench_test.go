package notifier_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

// university fills db with n users shaped like a university's directory:
// everyone has a mobile, a third on the affected carrier's range, 40% with
// an authenticator app, a tenth with a second phone.
func university(tb testing.TB, db *store.DB, n int) {
	tb.Helper()
	u := &directory.Update{Full: true, AuthFull: true}
	for i := range n {
		id := fmt.Sprintf("user%06d", i)
		prefix := "+81903"
		if i%3 == 0 {
			prefix = "+81908"
		}
		usr := carrierwatch.User{ID: id, UPN: id + "@example.ac.jp", DisplayName: "User " + id, Mail: id + "@example.ac.jp",
			AlternateEmails: []string{id + "@mail.example.com"}, PreferredLanguage: "ja-JP"}
		a := directory.Auth{UserID: id, Methods: []string{"mobilePhone"},
			Phones: []carrierwatch.Phone{{Type: carrierwatch.PhoneMobile, Raw: "x", E164: fmt.Sprintf("%s%07d", prefix, i)}}}
		if i%5 < 2 {
			a.Methods = append(a.Methods, "microsoftAuthenticatorPush")
		}
		if i%10 == 0 {
			a.Phones = append(a.Phones, carrierwatch.Phone{Type: carrierwatch.PhoneAlternateMobile, Raw: "x", E164: fmt.Sprintf("+81803%07d", i)})
		}
		u.Users = append(u.Users, usr)
		u.Auth = append(u.Auth, a)
	}
	if _, err := db.ApplyDirectory(context.Background(), u, store.ApplyOptions{}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPlanOutage100k plans the outage mails of one incident for a
// directory of 100,000 users (about 33,000 affected) into a real SQLite
// outbox. Each iteration uses a fresh incident.
func BenchmarkPlanOutage100k(b *testing.B) { benchPlan(b, coverPrefix("+81908"), 33_334) }

// BenchmarkPlanOutage100kAllAffected plans 100,000 messages: an outage
// whose rule covers every +81 mobile (all_mobile: JP).
func BenchmarkPlanOutage100kAllAffected(b *testing.B) { benchPlan(b, coverPrefix("+81"), 100_000) }

func benchPlan(b *testing.B, covers notifier.Coverage, want int) {
	ctx := context.Background()
	db := openStore(b)
	university(b, db, 100_000)
	p := &notifier.Planner{Store: db, Logger: discard, Methods: &notifier.MethodLog{},
		Config: notifier.PlannerConfig{DeliverTo: []string{"alternate", "primary"}, DefaultLanguage: "ja"}}
	c := notifier.Carrier{ID: "kddi", Name: "au", Covers: covers}
	peak, stop := samplePeakHeap()
	b.ResetTimer()
	for i := range b.N {
		inc, _, err := db.OpenIncident(ctx, fmt.Sprintf("c%d", i), "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		r, err := p.PlanOutage(ctx, inc, c, false)
		if err != nil {
			b.Fatal(err)
		}
		if r.New != want {
			b.Fatalf("planned %d, want %d", r.New, want)
		}
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(want), "msgs/op")
	b.ReportMetric(float64(*peak)/(1<<20), "peak-heapMB")
}

// samplePeakHeap samples the heap in use every 5ms until stop is called
// (the directory loaded for planning is included: it is what the daemon
// holds while planning).
func samplePeakHeap() (*uint64, func()) {
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return &peak, func() { close(done); <-finished }
}

// BenchmarkPlanMessages100k measures the outbox insert alone: 100,000
// messages in one call.
func BenchmarkPlanMessages100k(b *testing.B) {
	ctx := context.Background()
	db := openStore(b)
	for i := range b.N {
		inc, _, _ := db.OpenIncident(ctx, fmt.Sprintf("c%d", i), "bench", "")
		c, _, _ := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
		msgs := make([]carrierwatch.Message, 100_000)
		for j := range msgs {
			msgs[j] = carrierwatch.Message{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentApp,
				UserID: fmt.Sprintf("user%06d", j), Lang: "ja", To: []string{"a@example.com"}, MessageID: fmt.Sprintf("m%d.%d", i, j), Data: []byte(`{"display_name":"x"}`)}
		}
		if n, err := db.PlanMessages(ctx, msgs); err != nil || n != len(msgs) {
			b.Fatal(n, err)
		}
	}
}
