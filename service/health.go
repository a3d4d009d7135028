package service

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Readiness limits, derived from the schedules: a poll cycle must have
// finished within pollLimitFactor poll intervals plus pollGrace, and a
// directory sync must have succeeded within syncLimitFactor sync intervals
// plus syncGrace (a large Graph tenant takes minutes to sync).
const (
	pollLimitFactor = 3
	pollGrace       = time.Minute
	syncLimitFactor = 2
	syncGrace       = 15 * time.Minute
	// checkTimeout bounds the database ping of Readiness.
	checkTimeout = 2 * time.Second
)

// Check is one line of the readiness report.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	// Last is when the thing checked last happened; Age how long ago,
	// Limit the largest age that is still ready.
	Last  *time.Time `json:"last,omitempty"`
	Age   string     `json:"age,omitempty"`
	Limit string     `json:"limit,omitempty"`
}

// Readiness is the readiness report (/readyz).
type Readiness struct {
	Status string  `json:"status"` // ready | not ready
	Checks []Check `json:"checks"`
}

// Ready reports whether every check passed.
func (r Readiness) Ready() bool { return r.Status == "ready" }

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// Readiness checks the database, the last poll cycle and the last
// successful directory sync against limits derived from the schedules.
func (s *Service) Readiness(ctx context.Context, now time.Time) Readiness {
	cfg := s.Config()
	rep := Readiness{Status: "ready"}
	add := func(c Check) {
		if !c.OK {
			rep.Status = "not ready"
		}
		rep.Checks = append(rep.Checks, c)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		add(Check{Name: "database", Detail: err.Error()})
	} else {
		add(Check{Name: "database", OK: true})
	}

	pollLimit, err := limitFor(cfg.Schedule.Poll, pollLimitFactor, pollGrace, now)
	if err != nil {
		add(Check{Name: "poll", Detail: err.Error()})
	} else {
		add(ageCheck("poll", s.engine.LastPoll(), now, pollLimit, "no poll has reached a source yet"))
	}
	add(s.sourcesCheck(ctx))

	syncLimit, err := limitFor(cfg.Schedule.DirectorySync, syncLimitFactor, syncGrace, now)
	if err != nil {
		add(Check{Name: "directory_sync", Detail: err.Error()})
	} else if lastOK, _, err := s.db.LastSyncs(ctx); err != nil {
		add(Check{Name: "directory_sync", Detail: err.Error()})
	} else {
		add(ageCheck("directory_sync", lastOK.FinishedAt, now, syncLimit, "no directory sync has succeeded yet"))
	}
	return rep
}

func ageCheck(name string, last, now time.Time, limit time.Duration, never string) Check {
	c := Check{Name: name, Limit: limit.String()}
	if last.IsZero() {
		c.Detail = never
		return c
	}
	age := now.Sub(last).Round(time.Second)
	c.Last, c.Age = &last, age.String()
	c.OK = age <= limit
	if !c.OK {
		c.Detail = "older than the limit"
	}
	return c
}

// limitFor is factor times the longest gap between the next runs of the
// cron spec, plus grace.
func limitFor(spec string, factor int, grace time.Duration, now time.Time) (time.Duration, error) {
	iv, err := interval(spec, now)
	if err != nil {
		return 0, err
	}
	return time.Duration(factor)*iv + grace, nil
}

// interval is the longest gap between the next few runs of a cron spec
// ("@every 1m" → 1m; "0 9 * * 1-5" → the weekend gap).
func interval(spec string, now time.Time) (time.Duration, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return 0, fmt.Errorf("schedule %q: %w", spec, err)
	}
	var longest time.Duration
	t := sched.Next(now)
	for range 16 {
		next := sched.Next(t)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(t))
		t = next
	}
	if longest <= 0 {
		return 0, fmt.Errorf("schedule %q never runs", spec)
	}
	return longest, nil
}
