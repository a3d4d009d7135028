package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/store"
)

// sentCampaign plans n messages (of about 600 bytes each, like a real
// outage mail's data) in a new preparedness campaign and marks them sent.
func sentCampaign(t testing.TB, db *store.DB, prefix string, n int) *carrierwatch.Campaign {
	t.Helper()
	ctx := context.Background()
	c, _, err := db.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]carrierwatch.Message, n)
	data := []byte(`{"display_name":"` + strings.Repeat("x", 560) + `"}`)
	for i := range msgs {
		id := fmt.Sprintf("%s%06d", prefix, i)
		seg, lang := carrierwatch.SegmentPhoneOnly, "ja"
		if i%3 == 0 {
			seg, lang = carrierwatch.SegmentApp, "en"
		}
		msgs[i] = carrierwatch.Message{CampaignID: c.ID, Kind: carrierwatch.KindPreparedness, Segment: seg, Lang: lang,
			UserID: id, To: []string{id + "@mail.example.com"}, MessageID: id, Data: data}
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	for {
		claimed, err := db.ClaimMessages(ctx, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) == 0 {
			break
		}
		ids := make([]int64, len(claimed))
		for i, m := range claimed {
			ids[i] = m.ID
		}
		if len(ids) > 1 {
			// One failure per batch, so the counts have two states.
			if err := db.MarkFailed(ctx, ids[0], "550 no such user"); err != nil {
				t.Fatal(err)
			}
			ids = ids[1:]
		}
		if err := db.MarkSent(ctx, ids...); err != nil {
			t.Fatal(err)
		}
	}
	c, err = db.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

func TestPruneKeepsCountsAndShrinksTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	db.SetClock(func() time.Time { return now })
	old := sentCampaign(t, db, "old", 3000)
	breakdown, err := db.CampaignBreakdown(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * 24 * time.Hour)
	recent := sentCampaign(t, db, "new", 50)
	// An approved campaign still sending is never pruned, however old.
	waiting := planCampaign(t, db, carrierwatch.CampaignAwaitingApproval, "w1", "w2")

	now = now.Add(24 * time.Hour)
	keep := store.Retention{Messages: 5 * 24 * time.Hour}

	dry, err := db.Prune(ctx, keep, store.PruneOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(dry.Campaigns), fmt.Sprint([]int64{old.ID}); got != want || dry.Messages != 3000 {
		t.Fatalf("dry run: campaigns %s, %d messages; want %s, 3000", got, dry.Messages, want)
	}
	if n, _ := db.Messages(ctx, store.MessageFilter{CampaignID: old.ID}); len(n) != 3000 {
		t.Fatalf("dry run deleted messages: %d left", len(n))
	}

	before := fileSize(t, path)
	res, err := db.Prune(ctx, keep, store.PruneOptions{BatchSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 3000 || len(res.Campaigns) != 1 {
		t.Fatalf("prune: %+v", res)
	}
	if res.WriteTransactions < 3000/500 {
		t.Errorf("%d write transactions for 3000 messages in batches of 500", res.WriteTransactions)
	}
	if left, _ := db.Messages(ctx, store.MessageFilter{CampaignID: old.ID}); len(left) != 0 {
		t.Fatalf("%d messages of the pruned campaign left", len(left))
	}
	for _, c := range []*carrierwatch.Campaign{recent, waiting} {
		got, err := db.Campaign(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := db.Messages(ctx, store.MessageFilter{CampaignID: c.ID}); len(left) != got.Counts.Total || got.Counts.Total == 0 {
			t.Errorf("campaign %d lost messages: %d left of %+v", c.ID, len(left), got.Counts)
		}
	}
	after, err := db.Campaign(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Counts != old.Counts {
		t.Errorf("counts after prune %+v, before %+v", after.Counts, old.Counts)
	}
	if got, _ := db.CampaignBreakdown(ctx, old.ID); fmt.Sprint(got) != fmt.Sprint(breakdown) {
		t.Errorf("breakdown after prune %v, before %v", got, breakdown)
	}
	if at, _ := db.PrunedAt(ctx, old.ID); !at.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("pruned at %v, want %v", at, now)
	}
	total, err := db.OutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total.Total != 3000+50+2 {
		t.Errorf("outbox counts %+v, want 3052 in all", total)
	}
	if got := fileSize(t, path); got >= before*2/3 {
		t.Errorf("file %d bytes after prune, %d before: no space came back (freed %d pages, %d free)", got, before, res.FreedPages, res.FreePages)
	}
	if res.SizeAfter >= res.SizeBefore {
		t.Errorf("result sizes %d → %d", res.SizeBefore, res.SizeAfter)
	}
	// A second run finds nothing and changes no counts.
	res, err = db.Prune(ctx, keep, store.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 0 || len(res.Campaigns) != 0 {
		t.Errorf("second prune: %+v", res)
	}
	if got, _ := db.Campaign(ctx, old.ID); got.Counts != old.Counts {
		t.Errorf("counts after second prune %+v", got.Counts)
	}
}

func TestPruneWaitsForTheIncidentToBeResolved(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	now := time.Now()
	db.SetClock(func() time.Time { return now })
	inc, _, err := db.OpenIncident(ctx, "kddi", "down", "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	m := carrierwatch.Message{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage, UserID: "u1", To: []string{"u1@x"}, MessageID: "m1", Data: []byte("{}")}
	if _, err := db.PlanMessages(ctx, []carrierwatch.Message{m}); err != nil {
		t.Fatal(err)
	}
	claimed, _ := db.ClaimMessages(ctx, 10)
	if err := db.MarkSent(ctx, claimed[0].ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(48 * time.Hour)
	keep := store.Retention{Messages: time.Hour, Incidents: time.Hour}
	res, err := db.Prune(ctx, keep, store.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 0 || len(res.Incidents) != 0 {
		t.Fatalf("pruned the campaign of an open incident: %+v", res)
	}
	if _, err := db.ResolveIncident(ctx, inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Minute)
	if res, _ = db.Prune(ctx, store.Retention{Messages: time.Hour}, store.PruneOptions{}); res.Messages != 0 {
		t.Fatalf("pruned 30 minutes after the resolution with 1h retention: %+v", res)
	}
	// A follow-up still to send keeps the outage campaign whole.
	rc, _, err := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindResolved, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	fu := carrierwatch.Message{CampaignID: rc.ID, IncidentID: inc.ID, Kind: carrierwatch.KindResolved, UserID: "u1", To: []string{"u1@x"}, MessageID: "r1", Data: []byte("{}")}
	if _, err := db.PlanMessages(ctx, []carrierwatch.Message{fu}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if res, _ = db.Prune(ctx, store.Retention{Messages: time.Hour}, store.PruneOptions{}); res.Messages != 0 {
		t.Fatalf("pruned the outage campaign while its follow-up waits: %+v", res)
	}
	claimed, _ = db.ClaimMessages(ctx, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d follow-ups", len(claimed))
	}
	if err := db.MarkSent(ctx, claimed[0].ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	res, err = db.Prune(ctx, keep, store.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Incidents) != 1 || res.IncidentMessages != 2 {
		t.Fatalf("retention.incidents: %+v", res)
	}
	if _, err := db.Incident(ctx, inc.ID); err == nil {
		t.Fatal("incident still there")
	}
	if cs, _ := db.Campaigns(ctx); len(cs) != 0 {
		t.Fatalf("campaigns of a deleted incident: %v", cs)
	}
}

func TestPruneRemovedUsers(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if _, err := db.ApplyDirectory(ctx, users(4), store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	all, _ := db.Users(ctx)
	var ids []string
	for _, u := range all {
		ids = append(ids, u.ID)
	}
	c := planCampaign(t, db, carrierwatch.CampaignActive, ids...)
	claimed, _ := db.ClaimMessages(ctx, 10)
	for _, m := range claimed {
		if err := db.MarkSent(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	// The next sync no longer has the first user.
	u := users(4)
	gone := u.Users[0].ID
	u.Users, u.Auth = u.Users[1:], u.Auth[1:]
	if _, err := db.ApplyDirectory(ctx, u, store.ApplyOptions{MaxRemoveFraction: 1}); err != nil {
		t.Fatal(err)
	}
	keep := store.Retention{RemovedUsers: time.Hour}
	if res, _ := db.Prune(ctx, keep, store.PruneOptions{}); res.RemovedUserMessages != 0 {
		t.Fatalf("removed user's messages deleted before retention.removed_users: %+v", res)
	}
	db.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	res, err := db.Prune(ctx, keep, store.PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.RemovedUsers != 1 || res.RemovedUserMessages != 1 {
		t.Fatalf("prune: %+v", res)
	}
	if left, _ := db.Messages(ctx, store.MessageFilter{UserID: gone}); len(left) != 0 {
		t.Fatalf("messages of the removed user left: %d", len(left))
	}
	if left, _ := db.Messages(ctx, store.MessageFilter{CampaignID: c.ID}); len(left) != 3 {
		t.Fatalf("%d messages of the others left, want 3", len(left))
	}
	if got, _ := db.Campaign(ctx, c.ID); got.Counts.Sent != 4 || got.Counts.Total != 4 {
		t.Fatalf("campaign counts %+v, want 4 sent", got.Counts)
	}
	// A user who comes back loses the mark.
	if _, err := db.ApplyDirectory(ctx, users(4), store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, _ := db.Prune(ctx, keep, store.PruneOptions{}); res.RemovedUsers != 0 {
		t.Fatalf("returned user still marked removed: %+v", res)
	}
}
