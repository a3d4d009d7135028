package notifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// SendLimits are the configured limits an estimate assumes.
type SendLimits struct {
	RatePerSecond float64 // mail.rate_per_second; 0 = none
	RatePerMinute float64 // mail.rate_per_minute; 0 = none
	DailyLimit    int     // mail.daily_limit; 0 = none
	// SentLast24h are the mails already sent in the daily limit's window.
	SentLast24h int
}

// Rate is the effective rate in mails per second, 0 when nothing limits
// it.
func (l SendLimits) Rate() float64 {
	r := l.RatePerSecond
	if pm := l.RatePerMinute / 60; pm > 0 && (r <= 0 || pm < r) {
		r = pm
	}
	return max(r, 0)
}

// SegmentEstimate is when the last mail of a segment goes out, counted
// from the start, in the claim order (phone-only first).
type SegmentEstimate struct {
	Segment carrierwatch.Segment
	Count   int
	Done    time.Duration
	// Day is the day (1 the first) its last mail goes out.
	Day int
}

// Estimate says how long sending takes at the limits.
type Estimate struct {
	Segments []SegmentEstimate // phone-only, other-phone, app; empty ones left out
	Total    int
	Duration time.Duration // until the last mail
	Days     int           // the days the daily limit spreads the mails over (1 without it)
	Limits   SendLimits
}

// EstimateSend is how long sending counts (mails by segment) takes at
// limits, in the order the dispatcher claims them: phone-only users first,
// then other-phone, then app. Without a rate limit a mail takes no time;
// with a daily limit, the mails beyond what is left of today's wait for the
// next 24 hours.
func EstimateSend(counts map[carrierwatch.Segment]int, limits SendLimits) Estimate {
	e := Estimate{Limits: limits, Days: 1}
	rate := limits.Rate()
	if rate > 0 && rate*86400 <= float64(limits.DailyLimit) {
		limits.DailyLimit = 0 // the rate never lets the daily limit bind
	}
	at := func(n int) (time.Duration, int) { // when the n-th mail goes out
		if n <= 0 {
			return 0, 1
		}
		day := 1
		if d := limits.DailyLimit; d > 0 {
			room := max(d-limits.SentLast24h, 0)
			if n > room {
				over := n - room
				day = 1 + (over+d-1)/d
				n = over - (day-2)*d
			}
		}
		var within time.Duration
		if rate > 0 {
			within = time.Duration(float64(n) / rate * float64(time.Second))
		}
		return time.Duration(day-1)*24*time.Hour + within, day
	}
	cum := 0
	for _, s := range []carrierwatch.Segment{carrierwatch.SegmentPhoneOnly, carrierwatch.SegmentOtherPhone, carrierwatch.SegmentApp} {
		n := counts[s]
		if n == 0 {
			continue
		}
		cum += n
		done, day := at(cum)
		e.Segments = append(e.Segments, SegmentEstimate{Segment: s, Count: n, Done: done, Day: day})
	}
	// Mails without a segment (admin alerts) go first; they count in the
	// total only.
	for s, n := range counts {
		if !s.Valid() {
			cum += n
		}
	}
	e.Total = cum
	e.Duration, e.Days = at(cum)
	return e
}

// String says it in one line: "13,333 phone-only: 11 min; 13,334
// other-phone: 22 min; all 40,000: 33 min at 20/s", with a daily limit
// "…; 3 days at 10,000 a day (phone-only done on day 2)".
func (e Estimate) String() string {
	if e.Total == 0 {
		return "nothing to send"
	}
	var parts []string
	for _, s := range e.Segments {
		parts = append(parts, fmt.Sprintf("%s %s: %s", thousands(s.Count), s.Segment, Duration(s.Done)))
	}
	rate := "no rate limit"
	if r := e.Limits.Rate(); r > 0 {
		rate = "at " + strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", r), "0"), ".") + "/s"
	}
	parts = append(parts, fmt.Sprintf("all %s: %s %s", thousands(e.Total), Duration(e.Duration), rate))
	out := strings.Join(parts, "; ")
	if e.Limits.DailyLimit > 0 && e.Days > 1 {
		out += fmt.Sprintf("; %d days at %s a day", e.Days, thousands(e.Limits.DailyLimit))
		for _, s := range e.Segments {
			if s.Segment == carrierwatch.SegmentPhoneOnly {
				out += fmt.Sprintf(" (phone-only done on day %d)", s.Day)
			}
		}
	}
	return out
}

// Duration writes d for people: "0 s", "45 s", "11 min", "3 h 20 min",
// "2 d 4 h".
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int((d+30*time.Second)/time.Minute))
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
