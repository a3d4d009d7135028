package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/robfig/cron/v3"

	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/console"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/publish"
	"github.com/carrierwatch/carrierwatch/templates"
)

// shutdownGrace bounds how long the daemon waits for running jobs and the
// message on the wire after SIGTERM. The unit's TimeoutStopSec is larger.
const shutdownGrace = 25 * time.Second

// heartbeatEvery is how often the scheduler proves it is alive; the
// watchdog stops pinging systemd when the last beat is older than three
// of these.
const heartbeatEvery = 10 * time.Second

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("run", stderr)
	logFormat := fs.String("log-format", "", "log `FORMAT`, text or json (overrides log.format)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run takes no arguments")
	}
	if f := *logFormat; f != "" && f != "text" && f != "json" {
		return usagef("--log-format %q: want text or json", f)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	format := cfg.Log.Format
	if *logFormat != "" {
		format = *logFormat
	}
	level := new(slog.LevelVar)
	setLevel(level, cfg.Log.Level)
	logger := newLevelLogger(stderr, format, level)
	a, err := openApp(ctx, cfg, logger, appOptions{send: true, metrics: true})
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			logger.Error("closing the database failed", "err", err)
		}
	}()
	d := &daemon{app: a, path: *path, logger: logger, level: level, heartbeat: heartbeatEvery}
	return d.run(ctx)
}

// newLevelLogger is newLogger with a level that a reload can change.
func newLevelLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func setLevel(v *slog.LevelVar, level string) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err == nil {
		v.Set(lv)
	}
}

// daemon is the long-running mode: cron-scheduled poll and sync jobs, the
// dispatcher, the HTTP endpoints, systemd notifications and SIGHUP reloads.
type daemon struct {
	*app
	path      string
	logger    *slog.Logger
	level     *slog.LevelVar
	heartbeat time.Duration
	console   *console.Server // nil without http.listen

	mu       sync.Mutex
	cron     *cron.Cron
	pollMu   sync.Mutex
	lastBeat atomic.Int64 // unix ms of the scheduler's last heartbeat
	started  time.Time
}

// cronLogger adapts slog to robfig/cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("scheduler: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("scheduler: "+msg, append(kv, "err", err)...)
}

// notify sends a state to systemd; without NOTIFY_SOCKET it does nothing.
func (d *daemon) notify(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		d.logger.Warn("could not notify systemd", "state", state, "err", err)
	}
}

func (d *daemon) run(ctx context.Context) error {
	d.started = time.Now()
	// Jobs stop at SIGTERM; the send in progress outlives it (the
	// dispatcher finishes the message on the wire).
	var wg sync.WaitGroup
	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.svc.RunSender(sendCtx)
	}()

	// SIGHUP's default action ends the process: catch it before systemd
	// hears READY and may send a reload.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv, err := d.serveHTTP()
	if err != nil {
		stopSending()
		wg.Wait()
		return err
	}

	pubSrv, err := d.servePublish()
	if err != nil {
		stopSending()
		wg.Wait()
		return err
	}
	if err := d.schedule(ctx, d.cfg); err != nil {
		stopSending()
		wg.Wait()
		return err
	}
	d.notify(sd.SdNotifyReady + "\nSTATUS=running")
	// The first cycle right away: sync if stale, poll, plan.
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.pollJob(ctx)
	}()
	watchdogCtx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	if interval, err := sd.SdWatchdogEnabled(false); err != nil {
		d.logger.Warn("systemd watchdog settings unreadable; not pinging", "err", err)
	} else if interval > 0 {
		go d.watchdog(watchdogCtx, interval)
	}
	d.logger.Info("carrierwatch running", "version", Version, "carriers", len(d.cfg.Carriers),
		"poll", d.cfg.Schedule.Poll, "directory_sync", d.cfg.Schedule.DirectorySync, "http", d.cfg.HTTP.Listen)

loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			d.notify(sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec())
			d.reload(ctx)
			d.notify(sd.SdNotifyReady + "\nSTATUS=running")
		}
	}

	d.notify(sd.SdNotifyStopping + "\nSTATUS=stopping")
	stopWatchdog()
	d.logger.Info("stopping: finishing running jobs and the mail on the wire", "grace", shutdownGrace)
	d.mu.Lock()
	stopped := d.cron.Stop()
	d.mu.Unlock()
	stopSending()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		<-stopped.Done()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		d.logger.Warn("jobs still running after the grace period; stopping anyway")
	}
	for _, srv := range []*http.Server{srv, pubSrv} {
		if srv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(sctx)
			cancel()
		}
	}
	d.logger.Info("stopped")
	return nil
}

// schedule (re)arms the cron jobs for cfg; jobs get ctx, which ends at
// shutdown. A heartbeat job shows the scheduler is alive.
func (d *daemon) schedule(ctx context.Context, cfg *config.Config) error {
	cl := cronLogger{d.logger}
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)), cron.WithLogger(cl))
	if _, err := c.AddFunc(cfg.Schedule.Poll, func() { d.pollJob(ctx) }); err != nil {
		return fmt.Errorf("schedule.poll: %w", err)
	}
	if _, err := c.AddFunc(cfg.Schedule.DirectorySync, func() { d.syncJob(ctx) }); err != nil {
		return fmt.Errorf("schedule.directory_sync: %w", err)
	}
	if _, err := c.AddFunc(cfg.Schedule.Prune, func() { d.pruneJob(ctx) }); err != nil {
		return fmt.Errorf("schedule.prune: %w", err)
	}
	c.Schedule(cron.Every(d.heartbeat), cron.FuncJob(d.beat))
	d.mu.Lock()
	old := d.cron
	d.cron = c
	d.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	d.beat()
	c.Start()
	return nil
}

func (d *daemon) beat() { d.lastBeat.Store(time.Now().UnixMilli()) }

// pollJob syncs the directory if it is stale, polls and plans.
func (d *daemon) pollJob(ctx context.Context) {
	if !d.pollMu.TryLock() {
		return
	}
	defer d.pollMu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if stale, err := d.svc.DirectoryStale(ctx); err == nil && stale {
		d.syncJob(ctx)
	}
	if _, err := d.svc.Poll(ctx); err != nil && ctx.Err() == nil {
		d.logger.Error("poll cycle failed", "err", err)
	}
	if _, err := d.svc.Plan(ctx); err != nil && ctx.Err() == nil {
		d.logger.Error("planning failed", "err", err)
	}
}

func (d *daemon) syncJob(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if _, err := d.svc.SyncDirectory(ctx, pipeline.SyncOptions{}, ""); err != nil {
		return // logged by the engine
	}
	if _, err := d.svc.Plan(ctx); err != nil && ctx.Err() == nil {
		d.logger.Error("planning failed", "err", err)
	}
}

// reload loads the config again; on any error the old one stays in use.
func (d *daemon) reload(ctx context.Context) {
	cfg, err := config.Load(d.path)
	if err != nil {
		d.logger.Error("reload failed; keeping the running config", "config", d.path, "err", err)
		return
	}
	if cfg.StateDir != d.cfg.StateDir || !config.Equal(cfg.HTTP, d.cfg.HTTP) || cfg.Log.Format != d.cfg.Log.Format {
		d.logger.Warn("state_dir, http and log.format changes take effect on restart")
	}
	if cfg.Publish.Listen != d.cfg.Publish.Listen || cfg.Publish.Dir != d.cfg.Publish.Dir {
		d.logger.Warn("publish.listen takes effect on restart; the notice pages are written with the new publish settings")
	}
	// reply_to and return_path are read per mail by the renderer: at once.
	oldMail, newMail := d.cfg.Mail, cfg.Mail
	oldMail.ReplyTo, oldMail.ReturnPath, newMail.ReplyTo, newMail.ReturnPath = "", "", "", ""
	if !config.Equal(newMail, oldMail) {
		d.logger.Warn("mail.* changes (transport, from, smtp, rate, concurrency) take effect on restart")
	}
	provider, err := newProvider(cfg, d.logger)
	if err != nil {
		d.logger.Error("reload failed; keeping the running config", "config", d.path, "err", err)
		return
	}
	tmpl, err := templates.New(cfg.Notify.TemplatesDir)
	if err != nil {
		d.logger.Error("reload failed; keeping the running config", "config", d.path, "err", err)
		return
	}
	if cfg.Publish.Dir != "" {
		if _, err := publish.LoadTemplates(cfg.Publish.TemplatesDir); err != nil {
			d.logger.Error("reload failed; keeping the running config", "config", d.path, "err", err)
			return
		}
	}
	if err := d.schedule(ctx, cfg); err != nil {
		d.logger.Error("reload failed; keeping the running config", "config", d.path, "err", err)
		return
	}
	d.svc.Reload(cfg, provider, tmpl)
	if err := setPublisher(cfg, d.svc, d.logger); err != nil {
		d.logger.Error("notice pages: new settings not used", "err", err)
	}
	d.cfg = cfg
	d.reloadConsoleUsers()
	setLevel(d.level, cfg.Log.Level)
	d.logger.Info("config reloaded", "config", d.path, "carriers", len(cfg.Carriers))
	go func() {
		if _, err := d.svc.Plan(ctx); err != nil && ctx.Err() == nil {
			d.logger.Error("planning after reload failed", "err", err)
		}
	}()
}

// serveHTTP starts /healthz, /readyz and /metrics on http.listen.
func (d *daemon) serveHTTP() (*http.Server, error) {
	if d.cfg.HTTP.Listen == "" {
		return nil, nil
	}
	return d.listenHTTP(d.cfg.HTTP.Listen)
}
