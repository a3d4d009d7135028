package notifier_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

// segmentRecorder accepts every mail and records each one's segment in
// the order sent.
type segmentRecorder struct {
	mu    sync.Mutex
	order []carrierwatch.Segment
}

func (r *segmentRecorder) Send(_ context.Context, m *carrierwatch.Mail) (carrierwatch.Delivery, error) {
	r.mu.Lock()
	r.order = append(r.order, m.Segment)
	r.mu.Unlock()
	return answer(m, nil)
}

// TestDailyLimitPhoneOnlyFirst: with mail.daily_limit 100 and 300 affected
// users, exactly 100 mails go out, all to phone-only users; the rest wait
// until the oldest sent mail is 24 hours old, and then other-phone users
// come next, app users last.
func TestDailyLimitPhoneOnlyFirst(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db.SetClock(clock)
	inc, _, err := db.OpenIncident(ctx, "kddi", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	segs := []carrierwatch.Segment{carrierwatch.SegmentApp, carrierwatch.SegmentOtherPhone, carrierwatch.SegmentPhoneOnly}
	var msgs []carrierwatch.Message
	for i := range 300 {
		msgs = append(msgs, carrierwatch.Message{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, Segment: segs[i%3],
			UserID: fmt.Sprint(i), To: []string{fmt.Sprintf("u%d@example.com", i)}, MessageID: fmt.Sprint(i), Data: []byte("{}")})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	tr := &segmentRecorder{}
	var logs syncBuffer
	withSegment := func(ctx context.Context, m *carrierwatch.Message) (*carrierwatch.Mail, error) {
		mail, err := render(ctx, m)
		mail.Segment = m.Segment
		return mail, err
	}
	d := notifier.NewDispatcher(db, tr, withSegment, notifier.DispatcherConfig{Workers: 2, DailyLimit: 100}, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	d.SetClock(clock)
	waiting, err := d.Drain(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	count := func(seg carrierwatch.Segment) int {
		n := 0
		for _, s := range tr.order {
			if s == seg {
				n++
			}
		}
		return n
	}
	if got := len(tr.order); got != 100 {
		t.Fatalf("sent %d mails under a daily limit of 100", got)
	}
	if got := count(carrierwatch.SegmentPhoneOnly); got != 100 {
		t.Errorf("%d of the first 100 went to phone-only users, want all", got)
	}
	if waiting != 200 {
		t.Errorf("waiting = %d, want 200", waiting)
	}
	if got, want := d.LimitedUntil(), now.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("limited until %v, want %v", got, want)
	}
	if out := logs.String(); !strings.Contains(out, "daily mail limit reached") {
		t.Errorf("the limit is not in the log:\n%s", out)
	}
	if got, _ := db.Campaign(ctx, c.ID); got.Counts.Sent != 100 || got.Counts.Pending != 200 {
		t.Errorf("counts %+v, want 100 sent, 200 pending", got.Counts)
	}

	// A day later the next 100: other-phone users.
	now = now.Add(24*time.Hour + time.Second)
	if _, err := d.Drain(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := len(tr.order); got != 200 {
		t.Fatalf("sent %d mails after a day, want 200", got)
	}
	if got := count(carrierwatch.SegmentOtherPhone); got != 100 {
		t.Errorf("the second day sent %d other-phone mails, want 100", got)
	}
	if !strings.Contains(logs.String(), "sending resumes") {
		t.Errorf("the resumption is not in the log")
	}
}

// TestClaimOrder: phone-only users first, national incidents before
// regional ones, resolved follow-ups after every outage mail.
func TestClaimOrder(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	inc, _, err := db.OpenIncident(ctx, "kddi", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	res, _, _ := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindResolved, carrierwatch.CampaignActive)
	msgs := []carrierwatch.Message{
		{CampaignID: res.ID, IncidentID: inc.ID, Kind: carrierwatch.KindResolved, Segment: carrierwatch.SegmentPhoneOnly, UserID: "r1"},
		{CampaignID: out.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentApp, UserID: "a1"},
		{CampaignID: out.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentOtherPhone, UserID: "o1"},
		{CampaignID: out.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, Segment: carrierwatch.SegmentPhoneOnly, UserID: "p1"},
	}
	for i := range msgs {
		msgs[i].To, msgs[i].MessageID, msgs[i].Data = []string{msgs[i].UserID + "@example.com"}, msgs[i].UserID, []byte("{}")
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimMessages(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range got {
		order = append(order, m.UserID)
	}
	if want := "p1 o1 a1 r1"; strings.Join(order, " ") != want {
		t.Errorf("claim order %v, want %s", order, want)
	}
	if a, b := store.Priority(carrierwatch.KindOutage, carrierwatch.SegmentApp, false), store.Priority(carrierwatch.KindOutage, carrierwatch.SegmentPhoneOnly, true); a >= b {
		t.Errorf("a national app mail (%d) should come before a regional phone-only one (%d)", a, b)
	}
}
