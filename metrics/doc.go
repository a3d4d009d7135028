// Package metrics is carrierwatch's Prometheus instrumentation: counters
// and histograms fed by the pipeline's and the dispatcher's Observer hooks,
// gauges read from the store when Prometheus scrapes (open incidents, the
// outbox by state, the directory cache), the Go and process collectors and
// build information, all in one private *prometheus.Registry served by
// Handler.
//
// It is not a health check (the daemon's /readyz decides readiness) and it
// keeps no state of its own that a restart would lose: everything that
// matters after a restart is read from the store at scrape time.
package metrics
