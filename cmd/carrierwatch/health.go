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
)

// listenHTTP serves /healthz, /readyz, /metrics and the web console on addr.
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
	con, err := d.newConsole()
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux.Handle("/", con)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logger.Error("http server stopped", "err", err)
		}
	}()
	d.logger.Info("http listening", "addr", ln.Addr().String())
	return srv, nil
}

func (d *daemon) serveReady(w http.ResponseWriter, r *http.Request) {
	rep := d.svc.Readiness(r.Context(), time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rep.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// healthy is the watchdog's test: the database answers and the scheduler
// is alive. It does not look at carriers or the directory: systemd must
// not restart the daemon because a carrier's site is down.
func (d *daemon) healthy(ctx context.Context) error {
	if err := d.svc.Ping(ctx); err != nil {
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
