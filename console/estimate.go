package console

import (
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/service"
)

// sendEstimate is how long sending takes at the relay's limits.
type sendEstimate struct {
	Mails    int
	Duration time.Duration
	// RatePerSecond is the binding rate: mail.rate_per_second, or
	// mail.rate_per_minute / 60 when that is lower; 0 for no limit.
	RatePerSecond float64
	// PerMinute is true when mail.rate_per_minute is the binding limit.
	PerMinute  bool
	RateLimit  float64 // the binding limit as configured (per second or per minute)
	DailyLimit int     // mail.daily_limit; 0 for none
}

// Quick reports whether the mails go out within a minute at a limited
// rate.
func (e sendEstimate) Quick() bool { return e.RatePerSecond > 0 && e.Duration < time.Minute }

// OverDailyLimit reports whether the daily limit holds some mails for the
// following days.
func (e sendEstimate) OverDailyLimit() bool { return e.DailyLimit > 0 && e.Mails > e.DailyLimit }

// estimate says how long n mails take at the relay's limits, by the mail
// path's own estimate (notifier.EstimateSend), so the console and the CLI
// never disagree.
func estimate(n int, r service.RelayStatus) sendEstimate {
	limits := notifier.SendLimits{RatePerSecond: r.RatePerSecond, RatePerMinute: r.RatePerMinute, DailyLimit: r.DailyLimit}
	e := sendEstimate{Mails: n, RatePerSecond: limits.Rate(), RateLimit: r.RatePerSecond, DailyLimit: r.DailyLimit}
	if pm := r.RatePerMinute; pm > 0 && e.RatePerSecond == pm/60 && (r.RatePerSecond <= 0 || pm/60 < r.RatePerSecond) {
		e.PerMinute, e.RateLimit = true, pm
	}
	if n <= 0 || e.RatePerSecond <= 0 {
		return e
	}
	// The count carries no segment: only the total's time is wanted.
	e.Duration = notifier.EstimateSend(map[carrierwatch.Segment]int{"": n}, limits).Duration
	return e
}
