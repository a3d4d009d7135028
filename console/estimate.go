package console

import (
	"math"
	"time"
)

// sendEstimate is how long sending takes at the relay's limit.
type sendEstimate struct {
	Mails         int
	Duration      time.Duration
	RatePerSecond float64
}

// Quick reports whether the mails go out within a minute at a limited
// rate.
func (e sendEstimate) Quick() bool { return e.RatePerSecond > 0 && e.Duration < time.Minute }

// estimate says how long n mails take at ratePerSecond (mail.rate_per_second;
// 0 means no limit). It is the one place to swap for a fuller estimate that
// knows per-minute and daily relay limits.
func estimate(n int, ratePerSecond float64) sendEstimate {
	e := sendEstimate{Mails: n, RatePerSecond: ratePerSecond}
	if ratePerSecond > 0 && n > 0 {
		e.Duration = time.Duration(math.Ceil(float64(n)/ratePerSecond)) * time.Second
	}
	return e
}
