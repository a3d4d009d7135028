package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carrierwatch/carrierwatch/notifier"
)

var _ notifier.LimitObserver = (*Metrics)(nil)

func newLimitGauge() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "mail", Name: "limit_resumes_timestamp_seconds",
		Help: "While a sending limit (daily: mail.daily_limit) holds sending, the Unix time it lets sending resume; 0 when it does not.",
	}, []string{"limit"})
}

// LimitReached records that a sending limit holds sending until until
// (zero: it no longer does) (notifier.LimitObserver).
func (m *Metrics) LimitReached(limit string, until time.Time) {
	v := 0.0
	if !until.IsZero() {
		v = float64(until.Unix())
	}
	m.limitUntil.WithLabelValues(limit).Set(v)
}
