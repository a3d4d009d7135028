package metrics

import (
	"context"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

// Namespace prefixes every carrierwatch metric name.
const Namespace = "carrierwatch"

var (
	_ pipeline.Observer    = (*Metrics)(nil)
	_ notifier.Observer    = (*Metrics)(nil)
	_ prometheus.Collector = (*storeCollector)(nil)
)

// Store is what the scrape-time gauges read. *store.DB implements it.
type Store interface {
	Incidents(ctx context.Context, openOnly bool) ([]*carrierwatch.Incident, error)
	OutboxCounts(ctx context.Context) (carrierwatch.MessageCounts, error)
	LastSyncs(ctx context.Context) (lastOK, lastAttempt store.SyncRecord, err error)
}

var _ Store = (*store.DB)(nil)

// Options tune New. The zero value is usable.
type Options struct {
	// Version is reported by carrierwatch_build_info.
	Version string
	// Carriers, when set, returns the configured carrier IDs so that
	// carrierwatch_incidents_open is 0, not absent, for a carrier
	// without an open incident.
	Carriers func() []string
	// LastPoll, when set, returns when the last poll cycle finished
	// (zero if none yet).
	LastPoll func() time.Time
	// ScrapeTimeout bounds the store queries of one scrape (default 5s).
	ScrapeTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Metrics holds carrierwatch's metrics and their registry. Its methods are
// safe for concurrent use. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	polls           *prometheus.CounterVec
	pollErrors      *prometheus.CounterVec
	pollNotModified *prometheus.CounterVec
	pollDuration    *prometheus.HistogramVec
	sourceLastOK    *prometheus.GaugeVec
	signals         *prometheus.CounterVec
	syncs           *prometheus.CounterVec
	delivered       *prometheus.CounterVec
	failed          *prometheus.CounterVec
	limitUntil      *prometheus.GaugeVec // see limits.go
	sendDuration    *prometheus.HistogramVec
}

// New returns metrics reading st at scrape time; st may be nil, in which
// case the store gauges are left out.
func New(st Store, opts Options) *Metrics {
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "unknown"
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.polls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "source", Name: "polls_total",
		Help: "Fetches of a carrier's notice source, whatever their outcome.",
	}, []string{"source"})
	m.pollErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "source", Name: "poll_errors_total",
		Help: "Fetches of a source that failed (network, HTTP status, parse); the source is retried with backoff.",
	}, []string{"source"})
	m.pollNotModified = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "source", Name: "polls_not_modified_total",
		Help: "Fetches of a source answered 304 Not Modified or with an unchanged body.",
	}, []string{"source"})
	m.pollDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "source", Name: "poll_duration_seconds",
		Help:    "Time one fetch of a source took, including failures.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"source"})
	m.sourceLastOK = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "source", Name: "last_success_timestamp_seconds",
		Help: "Unix time of the last successful fetch of a source since the process started.",
	}, []string{"source"})
	m.signals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "signals_total",
		Help: "New notices classified, by carrier and verdict (outage, not-resolved, resolved, ignored, no-match).",
	}, []string{"carrier", "verdict"})
	m.syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "directory", Name: "syncs_total",
		Help: "Directory sync attempts, by result (ok or error).",
	}, []string{"result"})
	m.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "mail", Name: "delivered_total",
		Help: "Mails the relay accepted, by kind (outage, resolved, preparedness).",
	}, []string{"kind"})
	m.failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "mail", Name: "failed_total",
		Help: "Delivery attempts that failed, by kind and failure (temporary: retried later; permanent: given up).",
	}, []string{"kind", "failure"})
	m.sendDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "mail", Name: "send_duration_seconds",
		Help:    "Time the relay took to accept one mail, for successful deliveries.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"kind"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels tell the carrierwatch version and the Go version it was built with.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(opts.Version, runtime.Version()).Set(1)
	// Series that alerts compare must exist before the first event.
	for _, k := range []carrierwatch.Kind{carrierwatch.KindOutage, carrierwatch.KindResolved, carrierwatch.KindPreparedness} {
		m.delivered.WithLabelValues(string(k))
		m.failed.WithLabelValues(string(k), "temporary")
		m.failed.WithLabelValues(string(k), "permanent")
	}
	m.syncs.WithLabelValues("ok")
	m.syncs.WithLabelValues("error")
	// Series that alerts compare must exist before the first event.
	for _, k := range []carrierwatch.Kind{carrierwatch.KindOutage, carrierwatch.KindResolved, carrierwatch.KindPreparedness} {
		m.delivered.WithLabelValues(string(k))
		m.failed.WithLabelValues(string(k), "temporary")
		m.failed.WithLabelValues(string(k), "permanent")
	}
	m.syncs.WithLabelValues("ok")
	m.syncs.WithLabelValues("error")

	m.limitUntil = newLimitGauge()
	m.reg.MustRegister(m.limitUntil)
	m.reg.MustRegister(
		m.polls, m.pollErrors, m.pollNotModified, m.pollDuration, m.sourceLastOK,
		m.signals, m.syncs, m.delivered, m.failed, m.sendDuration, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if st != nil {
		m.reg.MustRegister(newStoreCollector(st, opts))
	}
	return m
}

// Registry returns the registry holding every metric, for tests and for
// adding more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:            m.reg,
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// Polled records one fetch of a source (pipeline.Observer).
func (m *Metrics) Polled(sourceID string, err error, notModified bool, d time.Duration) {
	m.polls.WithLabelValues(sourceID).Inc()
	m.pollDuration.WithLabelValues(sourceID).Observe(d.Seconds())
	switch {
	case err != nil:
		m.pollErrors.WithLabelValues(sourceID).Inc()
		return
	case notModified:
		m.pollNotModified.WithLabelValues(sourceID).Inc()
	}
	m.sourceLastOK.WithLabelValues(sourceID).SetToCurrentTime()
}

// Signal records one new classified notice (pipeline.Observer).
func (m *Metrics) Signal(carrierID, verdict string) {
	if verdict == "" {
		verdict = "none"
	}
	m.signals.WithLabelValues(carrierID, verdict).Inc()
}

// DirectorySynced records one directory sync attempt (pipeline.Observer).
// The user count and the last sync's time are read from the store at
// scrape time, so they survive restarts.
func (m *Metrics) DirectorySynced(ok bool, users int) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.syncs.WithLabelValues(result).Inc()
}

// Delivered records a mail the relay accepted (notifier.Observer).
func (m *Metrics) Delivered(kind carrierwatch.Kind, latency time.Duration) {
	m.delivered.WithLabelValues(string(kind)).Inc()
	m.sendDuration.WithLabelValues(string(kind)).Observe(latency.Seconds())
}

// Failed records a failed delivery attempt (notifier.Observer).
func (m *Metrics) Failed(kind carrierwatch.Kind, permanent bool) {
	failure := "temporary"
	if permanent {
		failure = "permanent"
	}
	m.failed.WithLabelValues(string(kind), failure).Inc()
}
