package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/store"
)

// BenchmarkPages measures every console page with 100,000 users and
// 100,000 messages (an au and a docomo incident, each mailing half the
// users; 40 % of the messages sent, some failed, some waiting for a
// retry). Each page must weigh under 200 KB (checked) and answer in under
// 300 ms (read ns/op):
//
//	go test ./console -run '^$' -bench Pages -benchtime 20x
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	f := newFixture(b, fixtureOptions{users: 100_000, requireApproval: true})
	_, kddi := f.openIncident(b)
	o, err := f.svc.OpenIncident(ctx, "docomo", "", "cli:bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.svc.ApproveCampaign(ctx, o.Plan.CampaignID, "cli:bench"); err != nil {
		b.Fatal(err)
	}
	// Mark 40 % of the docomo campaign sent, 1 % failed, 1 % retrying.
	var sent []int64
	after := int64(0)
	for {
		page, err := f.svc.CampaignMessages(ctx, store.MessagePage{CampaignID: o.Plan.CampaignID, AfterID: after, Limit: 5000})
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for i, m := range page {
			switch {
			case i%5 < 2:
				sent = append(sent, m.ID)
			case i%100 == 2:
				if err := f.db.MarkFailed(ctx, m.ID, "550 5.1.1 <"+m.UserID+"@example.ac.jp>: Recipient address rejected: User unknown"); err != nil {
					b.Fatal(err)
				}
			case i%100 == 3:
				if err := f.db.MarkRetry(ctx, m.ID, time.Now().Add(10*time.Minute), "451 4.7.1 Greylisted, try again later", 0); err != nil {
					b.Fatal(err)
				}
			}
		}
		after = page[len(page)-1].ID
	}
	for i := 0; i < len(sent); i += 2000 {
		if err := f.db.MarkSent(ctx, sent[i:min(i+2000, len(sent))]...); err != nil {
			b.Fatal(err)
		}
	}
	total, err := f.svc.OutboxCounts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if total.Total != 100_000 {
		b.Fatalf("%d messages, want 100,000", total.Total)
	}
	msgs, err := f.svc.CampaignMessages(ctx, store.MessagePage{CampaignID: o.Plan.CampaignID, Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: 100,000 users, %d messages (%d sent) in %s", total.Total, total.Sent, time.Since(start).Round(time.Second))
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"incidents", "/incidents"},
		{"campaigns", "/campaigns"},
		{"incident", "/incidents/" + id(o.Incident.ID)},
		{"campaign", "/campaigns/" + id(o.Plan.CampaignID)},
		{"campaign_page_900", "/campaigns/" + id(o.Plan.CampaignID) + "?after=" + id(msgs[0].ID+45000)},
		{"campaign_failed", "/campaigns/" + id(o.Plan.CampaignID) + "?state=failed"},
		{"confirm_approve", "/campaigns/" + id(kddi) + "/approve"},
		{"progress_json", "/campaigns/" + id(o.Plan.CampaignID) + "/progress"},
		{"search_upn_part", "/users?q=user0001"},
		{"search_address", "/users?q=private00014"},
		{"search_nothing", "/users?q=nobody-at-all"},
		{"user", "/users/u00014"},
		{"mail", "/messages/" + id(msgs[0].ID)},
		{"exposure", "/exposure"},
		{"preview", "/preview"},
	}
	h := f.srv.Config.Handler
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.RemoteAddr = "127.0.0.1:5000"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK && rec.Code != http.StatusSeeOther {
					b.Fatalf("%s: %d\n%s", p.path, rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			if size > 200<<10 {
				b.Fatalf("%s weighs %d bytes, over 200 KB", p.path, size)
			}
			b.ReportMetric(float64(size)/1024, "KB/page")
		})
	}
}
