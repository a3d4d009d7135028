package metrics

import (
	"context"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carrierwatch/carrierwatch"
)

// storeCollector reads the gauges that must survive restarts from the
// store at scrape time.
type storeCollector struct {
	st   Store
	opts Options

	up, incidents, messages, waiting                       *prometheus.Desc
	users, lastSyncOK, lastSyncTime, lastSyncAge, lastPoll *prometheus.Desc
}

func newStoreCollector(st Store, opts Options) *storeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	return &storeCollector{
		st: st, opts: opts,
		up:           d("store_up", "1 if the database answered this scrape's queries in time, else 0 (the other store gauges are then missing)."),
		incidents:    d("incidents_open", "Incidents currently open, by carrier.", "carrier"),
		messages:     d("outbox_messages", "Outbox messages by state (pending, sending, sent, failed, cancelled).", "state"),
		waiting:      d("outbox_messages_waiting_retry", "Pending messages that failed at least once and wait for a retry (a subset of state=\"pending\")."),
		users:        d("directory_users", "Users in the directory cache after the last successful sync."),
		lastSyncOK:   d("directory_last_sync_ok", "1 if the last directory sync attempt succeeded, 0 if it failed or none was made."),
		lastSyncTime: d("directory_last_sync_success_timestamp_seconds", "Unix time the last successful directory sync finished (0 if none)."),
		lastSyncAge:  d("directory_last_sync_success_age_seconds", "Seconds since the last successful directory sync finished (absent if none)."),
		lastPoll:     d("last_poll_timestamp_seconds", "Unix time the last poll cycle finished in this process (0 if none yet)."),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.incidents, c.messages, c.waiting, c.users, c.lastSyncOK, c.lastSyncTime, c.lastSyncAge, c.lastPoll} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.opts.LastPoll != nil {
		v := 0.0
		if t := c.opts.LastPoll(); !t.IsZero() {
			v = float64(t.UnixMilli()) / 1e3
		}
		gauge(c.lastPoll, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ScrapeTimeout)
	defer cancel()

	incs, err := c.st.Incidents(ctx, true)
	if err != nil {
		gauge(c.up, 0)
		return
	}
	counts, err := c.st.OutboxCounts(ctx)
	if err != nil {
		gauge(c.up, 0)
		return
	}
	lastOK, lastAttempt, err := c.st.LastSyncs(ctx)
	if err != nil {
		gauge(c.up, 0)
		return
	}
	gauge(c.up, 1)

	open := map[string]int{}
	if c.opts.Carriers != nil {
		for _, id := range c.opts.Carriers() {
			open[id] = 0
		}
	}
	for _, inc := range incs {
		if inc.State == carrierwatch.IncidentOpen {
			open[inc.CarrierID]++
		}
	}
	ids := make([]string, 0, len(open))
	for id := range open {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		gauge(c.incidents, float64(open[id]), id)
	}

	for _, s := range []struct {
		state carrierwatch.MessageState
		n     int
	}{
		{carrierwatch.MessagePending, counts.Pending}, {carrierwatch.MessageSending, counts.Sending},
		{carrierwatch.MessageSent, counts.Sent}, {carrierwatch.MessageFailed, counts.Failed},
		{carrierwatch.MessageCancelled, counts.Cancelled},
	} {
		gauge(c.messages, float64(s.n), string(s.state))
	}
	gauge(c.waiting, float64(counts.Waiting))

	gauge(c.users, float64(lastOK.Users))
	ok := 0.0
	if lastAttempt.OK {
		ok = 1
	}
	gauge(c.lastSyncOK, ok)
	if lastOK.FinishedAt.IsZero() {
		gauge(c.lastSyncTime, 0)
	} else {
		gauge(c.lastSyncTime, float64(lastOK.FinishedAt.UnixMilli())/1e3)
		gauge(c.lastSyncAge, max(0, c.opts.Now().Sub(lastOK.FinishedAt).Seconds()))
	}
}
