package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
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
	// checkTimeout bounds the database ping of /readyz.
	checkTimeout = 2 * time.Second
)

// listenHTTP serves /healthz, /readyz and /metrics on addr.
func (d *daemon) listenHTTP(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.serveReady)
	mux.Handle("GET /metrics", d.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logger.Error("http server stopped", "err", err)
		}
	}()
	d.logger.Info("http listening", "addr", ln.Addr().String())
	return srv, nil
}

// check is one line of the /readyz report.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	// Last is when the thing checked last happened; Age how long ago,
	// Limit the largest age that is still ready.
	Last  *time.Time `json:"last,omitempty"`
	Age   string     `json:"age,omitempty"`
	Limit string     `json:"limit,omitempty"`
}

// readiness is the /readyz report.
type readiness struct {
	Status string  `json:"status"` // ready | not ready
	Checks []check `json:"checks"`
}

func (d *daemon) serveReady(w http.ResponseWriter, r *http.Request) {
	rep := d.readiness(r.Context(), time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// readiness checks the database, the last poll cycle and the last
// successful directory sync against limits derived from the schedules.
func (d *daemon) readiness(ctx context.Context, now time.Time) readiness {
	cfg := d.engine.Config()
	rep := readiness{Status: "ready"}
	add := func(c check) {
		if !c.OK {
			rep.Status = "not ready"
		}
		rep.Checks = append(rep.Checks, c)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := d.db.Ping(ctx); err != nil {
		add(check{Name: "database", Detail: err.Error()})
	} else {
		add(check{Name: "database", OK: true})
	}

	pollLimit, err := limitFor(cfg.Schedule.Poll, pollLimitFactor, pollGrace, now)
	if err != nil {
		add(check{Name: "poll", Detail: err.Error()})
	} else {
		add(ageCheck("poll", d.engine.LastPoll(), now, pollLimit, "no poll has reached a source yet"))
	}

	syncLimit, err := limitFor(cfg.Schedule.DirectorySync, syncLimitFactor, syncGrace, now)
	if err != nil {
		add(check{Name: "directory_sync", Detail: err.Error()})
	} else if lastOK, _, err := d.db.LastSyncs(ctx); err != nil {
		add(check{Name: "directory_sync", Detail: err.Error()})
	} else {
		add(ageCheck("directory_sync", lastOK.FinishedAt, now, syncLimit, "no directory sync has succeeded yet"))
	}
	return rep
}

func ageCheck(name string, last, now time.Time, limit time.Duration, never string) check {
	c := check{Name: name, Limit: limit.String()}
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

// healthy is the watchdog's test: the database answers and the scheduler
// is alive. It does not look at carriers or the directory: systemd must
// not restart the daemon because a carrier's site is down.
func (d *daemon) healthy(ctx context.Context) error {
	if err := d.db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	last := time.UnixMilli(d.lastBeat.Load())
	if age := time.Since(last); age > 3*d.heartbeat {
		return fmt.Errorf("scheduler: no heartbeat for %s", age.Round(time.Second))
	}
	return nil
}

// watchdog pings systemd every interval/3 while the daemon is healthy, so
// one failed check (a long database transaction) is tolerated and two in a
// row let systemd restart the service.
func (d *daemon) watchdog(ctx context.Context, interval time.Duration) {
	every := interval / 3
	d.logger.Info("systemd watchdog enabled", "watchdog_sec", interval, "ping_every", every)
	t := time.NewTicker(every)
	defer t.Stop()
	wasOK := true
	for {
		cctx, cancel := context.WithTimeout(ctx, interval/4)
		err := d.healthy(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			d.notify(sd.SdNotifyWatchdog)
			if !wasOK {
				d.logger.Info("healthy again; watchdog pings resumed")
				d.notify("STATUS=running")
			}
		case wasOK:
			d.logger.Error("unhealthy; not pinging the systemd watchdog", "err", err)
			d.notify("STATUS=unhealthy: " + err.Error())
		}
		wasOK = err == nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
