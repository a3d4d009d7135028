package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/metrics"
	"github.com/carrierwatch/carrierwatch/store"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// exercise feeds every observer hook once so every metric has a series.
func exercise(m *metrics.Metrics) {
	m.Polled("kddi-feed", nil, false, 300*time.Millisecond)
	m.Polled("kddi-feed", nil, true, 100*time.Millisecond)
	m.Polled("kddi-page", errors.New("boom"), false, 2*time.Second)
	m.Signal("kddi", "outage")
	m.Signal("kddi", "")
	m.DirectorySynced(true, 10)
	m.DirectorySynced(false, 0)
	m.Delivered(carrierwatch.KindOutage, 40*time.Millisecond)
	m.Failed(carrierwatch.KindOutage, false)
	m.Failed(carrierwatch.KindResolved, true)
}

func TestMetricNamesPassLint(t *testing.T) {
	m := metrics.New(openStore(t), metrics.Options{Version: "v1.2.3", LastPoll: time.Now, Carriers: func() []string { return []string{"kddi"} }})
	exercise(m)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Errorf("only %d series gathered; the store, go or process collectors are missing", n)
	}
}

func TestObserverCounters(t *testing.T) {
	m := metrics.New(nil, metrics.Options{})
	exercise(m)
	tests := []struct {
		name, metric string
		want         int
	}{
		{"polls per source", "carrierwatch_source_polls_total", 2},
		{"poll errors", "carrierwatch_source_poll_errors_total", 1},
		{"not modified", "carrierwatch_source_polls_not_modified_total", 1},
		{"poll durations", "carrierwatch_source_poll_duration_seconds", 2},
		{"last success only for good sources", "carrierwatch_source_last_success_timestamp_seconds", 1},
		{"signals by carrier and verdict", "carrierwatch_signals_total", 2},
		{"syncs ok and error", "carrierwatch_directory_syncs_total", 2},
		{"delivered per kind", "carrierwatch_mail_delivered_total", 3},
		{"failed per kind and failure", "carrierwatch_mail_failed_total", 6},
		{"send latency", "carrierwatch_mail_send_duration_seconds", 1},
		{"build info", "carrierwatch_build_info", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := testutil.GatherAndCount(m.Registry(), tt.metric)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := n, tt.want; got != want {
				t.Errorf("%s has %d series, want %d", tt.metric, got, want)
			}
		})
	}
	wantText := `
# HELP carrierwatch_mail_failed_total Delivery attempts that failed, by kind and failure (temporary: retried later; permanent: given up).
# TYPE carrierwatch_mail_failed_total counter
carrierwatch_mail_failed_total{failure="permanent",kind="outage"} 0
carrierwatch_mail_failed_total{failure="permanent",kind="preparedness"} 0
carrierwatch_mail_failed_total{failure="permanent",kind="resolved"} 1
carrierwatch_mail_failed_total{failure="temporary",kind="outage"} 1
carrierwatch_mail_failed_total{failure="temporary",kind="preparedness"} 0
carrierwatch_mail_failed_total{failure="temporary",kind="resolved"} 0
# HELP carrierwatch_source_poll_errors_total Fetches of a source that failed (network, HTTP status, parse); the source is retried with backoff.
# TYPE carrierwatch_source_poll_errors_total counter
carrierwatch_source_poll_errors_total{source="kddi-page"} 1
# HELP carrierwatch_signals_total New notices classified, by carrier and verdict (outage, not-resolved, resolved, ignored, no-match).
# TYPE carrierwatch_signals_total counter
carrierwatch_signals_total{carrier="kddi",verdict="none"} 1
carrierwatch_signals_total{carrier="kddi",verdict="outage"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(wantText),
		"carrierwatch_mail_failed_total", "carrierwatch_source_poll_errors_total", "carrierwatch_signals_total"); err != nil {
		t.Error(err)
	}
}

func TestStoreGauges(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	inc, _, err := db.OpenIncident(ctx, "kddi", "manual", "")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, carrierwatch.CampaignActive)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []carrierwatch.Message
	for _, u := range []string{"u1", "u2", "u3"} {
		msgs = append(msgs, carrierwatch.Message{CampaignID: c.ID, IncidentID: inc.ID, Kind: carrierwatch.KindOutage,
			UserID: u, To: []string{u + "@example.ac.jp"}, MessageID: u, Data: []byte("{}")})
	}
	if _, err := db.PlanMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimMessages(ctx, 2)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	if err := db.MarkSent(ctx, claimed[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkRetry(ctx, claimed[1].ID, time.Now().Add(time.Hour), "421 try later", 0); err != nil {
		t.Fatal(err)
	}
	synced := time.Unix(1_750_000_000, 0)
	if err := db.RecordSync(ctx, store.SyncRecord{StartedAt: synced.Add(-time.Minute), FinishedAt: synced, OK: true, Full: true, Users: 42}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSync(ctx, store.SyncRecord{StartedAt: synced.Add(time.Hour), FinishedAt: synced.Add(time.Hour), Error: "graph: 503"}); err != nil {
		t.Fatal(err)
	}
	polled := time.Unix(1_750_003_000, 500_000_000)
	m := metrics.New(db, metrics.Options{
		Carriers: func() []string { return []string{"docomo", "kddi"} },
		LastPoll: func() time.Time { return polled },
		Now:      func() time.Time { return synced.Add(2 * time.Hour) },
	})
	want := `
# HELP carrierwatch_directory_last_sync_ok 1 if the last directory sync attempt succeeded, 0 if it failed or none was made.
# TYPE carrierwatch_directory_last_sync_ok gauge
carrierwatch_directory_last_sync_ok 0
# HELP carrierwatch_directory_last_sync_success_age_seconds Seconds since the last successful directory sync finished (absent if none).
# TYPE carrierwatch_directory_last_sync_success_age_seconds gauge
carrierwatch_directory_last_sync_success_age_seconds 7200
# HELP carrierwatch_directory_last_sync_success_timestamp_seconds Unix time the last successful directory sync finished (0 if none).
# TYPE carrierwatch_directory_last_sync_success_timestamp_seconds gauge
carrierwatch_directory_last_sync_success_timestamp_seconds 1.75e+09
# HELP carrierwatch_directory_users Users in the directory cache after the last successful sync.
# TYPE carrierwatch_directory_users gauge
carrierwatch_directory_users 42
# HELP carrierwatch_incidents_open Incidents currently open, by carrier.
# TYPE carrierwatch_incidents_open gauge
carrierwatch_incidents_open{carrier="docomo"} 0
carrierwatch_incidents_open{carrier="kddi"} 1
# HELP carrierwatch_last_poll_timestamp_seconds Unix time the last poll cycle finished in this process (0 if none yet).
# TYPE carrierwatch_last_poll_timestamp_seconds gauge
carrierwatch_last_poll_timestamp_seconds 1.7500030005e+09
# HELP carrierwatch_outbox_messages Outbox messages by state (pending, sending, sent, failed, cancelled).
# TYPE carrierwatch_outbox_messages gauge
carrierwatch_outbox_messages{state="cancelled"} 0
carrierwatch_outbox_messages{state="failed"} 0
carrierwatch_outbox_messages{state="pending"} 2
carrierwatch_outbox_messages{state="sending"} 0
carrierwatch_outbox_messages{state="sent"} 1
# HELP carrierwatch_outbox_messages_waiting_retry Pending messages that failed at least once and wait for a retry (a subset of state="pending").
# TYPE carrierwatch_outbox_messages_waiting_retry gauge
carrierwatch_outbox_messages_waiting_retry 1
# HELP carrierwatch_store_up 1 if the database answered this scrape's queries in time, else 0 (the other store gauges are then missing).
# TYPE carrierwatch_store_up gauge
carrierwatch_store_up 1
`
	names := []string{"carrierwatch_directory_last_sync_ok", "carrierwatch_directory_last_sync_success_age_seconds",
		"carrierwatch_directory_last_sync_success_timestamp_seconds", "carrierwatch_directory_users",
		"carrierwatch_incidents_open", "carrierwatch_last_poll_timestamp_seconds", "carrierwatch_outbox_messages",
		"carrierwatch_outbox_messages_waiting_retry", "carrierwatch_store_up"}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// The store is read at every scrape: resolving the incident shows.
	if _, err := db.ResolveIncident(ctx, inc.ID, "over"); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP carrierwatch_incidents_open Incidents currently open, by carrier.
# TYPE carrierwatch_incidents_open gauge
carrierwatch_incidents_open{carrier="docomo"} 0
carrierwatch_incidents_open{carrier="kddi"} 0
`), "carrierwatch_incidents_open"); err != nil {
		t.Error(err)
	}
}

func TestStoreDown(t *testing.T) {
	db := openStore(t)
	m := metrics.New(db, metrics.Options{})
	db.Close()
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP carrierwatch_store_up 1 if the database answered this scrape's queries in time, else 0 (the other store gauges are then missing).
# TYPE carrierwatch_store_up gauge
carrierwatch_store_up 0
`), "carrierwatch_store_up", "carrierwatch_outbox_messages"); err != nil {
		t.Error(err)
	}
}

func TestHandler(t *testing.T) {
	m := metrics.New(openStore(t), metrics.Options{Version: "v9.9.9"})
	exercise(m)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d:\n%s", got, want, body)
	}
	for _, want := range []string{
		`carrierwatch_build_info{goversion="go`, `version="v9.9.9"} 1`,
		"carrierwatch_store_up 1", "go_goroutines ", "process_start_time_seconds ",
		"carrierwatch_mail_send_duration_seconds_bucket{kind=\"outage\",le=\"0.05\"} 1",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
