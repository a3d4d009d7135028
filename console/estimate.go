package console

import (
	"math"
	"time"

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

// estimate says how long n mails take at the relay's limits. It is the one
// place to swap for the mail path's own estimate.
func estimate(n int, r service.RelayStatus) sendEstimate {
	e := sendEstimate{Mails: n, RatePerSecond: r.RatePerSecond, RateLimit: r.RatePerSecond, DailyLimit: r.DailyLimit}
	if pm := r.RatePerMinute; pm > 0 && (e.RatePerSecond <= 0 || pm/60 < e.RatePerSecond) {
		e.RatePerSecond, e.PerMinute, e.RateLimit = pm/60, true, pm
	}
	if n <= 0 || e.RatePerSecond <= 0 {
		return e
	}
	days, today := 0, n
	if e.DailyLimit > 0 && n > e.DailyLimit {
		days = (n - 1) / e.DailyLimit
		today = n - days*e.DailyLimit
	}
	e.Duration = time.Duration(days)*24*time.Hour + time.Duration(math.Ceil(float64(today)/e.RatePerSecond))*time.Second
	return e
}
