package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

// Observer receives the events of polling, syncing and sending (metrics).
// It may be nil.
type Observer interface {
	pipeline.Observer
	notifier.Observer
}

// The dispatcher New builds sends from the store's outbox.
var _ notifier.Outbox = (*store.DB)(nil)

// Deps are the adapters a Service works with.
type Deps struct {
	// Store is the state database (required).
	Store *store.DB
	// Templates render the mails (required).
	Templates *templates.Renderer
	// Logger receives the service's logs (required).
	Logger *slog.Logger
	// Fetcher polls the carriers' sources; nil for commands that never
	// poll.
	Fetcher *detector.Fetcher
	// Directory is the directory provider; nil for commands that never
	// sync. Reload may replace it.
	Directory directory.Provider
	// Transport sends mail; nil builds a service that plans but never
	// sends (admin commands: the daemon or "once" sends).
	Transport notifier.Transport
	// Observer records metrics; may be nil.
	Observer Observer
}

// Service is carrierwatch's core. Create it with New. It is safe for
// concurrent use.
type Service struct {
	db         *store.DB
	engine     *pipeline.Engine
	renderer   *pipeline.Renderer
	dispatcher *notifier.Dispatcher // nil without a transport
	directory  *swapProvider
	logger     *slog.Logger
}

// New returns a service for cfg working with d.
func New(cfg *config.Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Templates == nil || d.Logger == nil {
		return nil, errors.New("service: Store, Templates and Logger are required")
	}
	s := &Service{db: d.Store, logger: d.Logger}
	s.renderer = pipeline.NewRenderer(d.Store, d.Templates, cfg)
	deps := pipeline.Deps{
		Store:   d.Store,
		Fetcher: d.Fetcher,
		Logger:  d.Logger,
		Methods: &notifier.MethodLog{},
	}
	if d.Observer != nil {
		deps.Observer = d.Observer
	}
	if d.Directory != nil {
		s.directory = newSwapProvider(d.Directory)
		deps.Directory = s.directory
	}
	if d.Transport != nil {
		var obs notifier.Observer
		if d.Observer != nil {
			obs = d.Observer
		}
		s.dispatcher = notifier.NewDispatcher(d.Store, d.Transport, s.renderer.Render, dispatcherConfig(cfg), d.Logger, obs)
		deps.Sender = s.dispatcher
	}
	s.engine = pipeline.NewEngine(cfg, deps)
	return s, nil
}

// dispatcherConfig is the mail section of cfg as the dispatcher needs it.
// Rate and concurrency changes take effect on restart.
func dispatcherConfig(cfg *config.Config) notifier.DispatcherConfig {
	return notifier.DispatcherConfig{Workers: cfg.Mail.Concurrency, RatePerSecond: cfg.Mail.RatePerSecond,
		RatePerMinute: cfg.Mail.RatePerMinute, DailyLimit: cfg.Mail.DailyLimit}
}

// Config returns the config in use.
func (s *Service) Config() *config.Config { return s.engine.Config() }

// Reload installs a new config, directory provider (nil keeps the current
// one) and templates for everything that follows; work in progress
// finishes with the old ones. Mail transport settings take effect on
// restart.
func (s *Service) Reload(cfg *config.Config, provider directory.Provider, t *templates.Renderer) {
	if provider != nil && s.directory != nil {
		s.directory.set(provider)
	}
	s.renderer.Reload(t, cfg)
	s.engine.SetConfig(cfg)
}

// ErrNotSending is returned by the sending methods of a service built
// without a transport.
var ErrNotSending = errors.New("this carrierwatch process does not send mail")

// ResumeSending prepares the outbox for this process to send: messages
// left on the wire by a process that stopped are queued again (a user may
// get one of them twice). It returns how many.
func (s *Service) ResumeSending(ctx context.Context) (int, error) {
	if s.dispatcher == nil {
		return 0, ErrNotSending
	}
	n, err := s.db.RequeueSending(ctx)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.logger.Warn("messages were on the wire when carrierwatch last stopped; sending them again (a user may get one twice)", "messages", n)
	}
	return n, nil
}

// RunSender sends the outbox until ctx ends (the daemon's sender).
func (s *Service) RunSender(ctx context.Context) error {
	if s.dispatcher == nil {
		return ErrNotSending
	}
	return s.dispatcher.Run(ctx)
}

// Poll polls every due source and applies what is new.
func (s *Service) Poll(ctx context.Context) (*pipeline.PollResult, error) { return s.engine.Poll(ctx) }

// Plan plans the mails of open and freshly resolved incidents that are not
// planned yet and wakes the sender.
func (s *Service) Plan(ctx context.Context) (int, error) { return s.engine.Plan(ctx) }

// LastPoll returns when a poll cycle last reached a source (zero if never).
func (s *Service) LastPoll() time.Time { return s.engine.LastPoll() }

// DirectoryStale reports whether the directory cache is older than the
// directory_sync schedule allows.
func (s *Service) DirectoryStale(ctx context.Context) (bool, error) {
	return s.engine.DirectoryStale(ctx)
}

// SyncDirectory syncs the directory cache now. actor is recorded in the
// audit trail when it is not empty (a sync an admin asked for).
func (s *Service) SyncDirectory(ctx context.Context, o pipeline.SyncOptions, actor string) (store.ApplyResult, error) {
	if s.directory == nil {
		return store.ApplyResult{}, errors.New("directory sync: no directory provider")
	}
	res, err := s.engine.SyncDirectory(ctx, o)
	if err != nil {
		return res, err
	}
	if err := s.RecordExposure(ctx); err != nil && ctx.Err() == nil {
		s.logger.Error("could not record the exposure after the sync", "err", err)
	}
	if actor == "" {
		return res, nil
	}
	detail := fmt.Sprintf("%d users (%d added or changed, %d removed)", res.Users, res.Upserted, res.Removed)
	if o.AllowShrink {
		detail += ", shrinking allowed"
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: carrierwatch.AuditDirectorySynced, Detail: detail})
	return res, nil
}

// Once runs one cycle: sync if stale, poll, plan, and (with a transport)
// send until the outbox is drained, waiting up to wait for retries.
func (s *Service) Once(ctx context.Context, wait time.Duration) (*pipeline.OnceResult, error) {
	res, err := s.engine.Once(ctx, wait)
	if res != nil && res.Synced {
		if err := s.RecordExposure(context.WithoutCancel(ctx)); err != nil {
			s.logger.Error("could not record the exposure after the sync", "err", err)
		}
	}
	return res, err
}

// audit records e; a failure to record is logged, not returned: the
// action it describes has happened.
func (s *Service) audit(ctx context.Context, e carrierwatch.AuditEntry) {
	if _, err := s.db.RecordAudit(context.WithoutCancel(ctx), e); err != nil {
		s.logger.Error("could not record the audit entry", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// Audit returns the audit trail matching f, oldest first.
func (s *Service) Audit(ctx context.Context, f store.AuditFilter) ([]carrierwatch.AuditEntry, error) {
	return s.db.Audit(ctx, f)
}

// wake tells the sender that messages may be due.
func (s *Service) wake() {
	if s.dispatcher != nil {
		s.dispatcher.Wake()
	}
}

// swapProvider lets a reload replace the directory provider while a sync
// may be reading it: a running sync finishes with the old one.
type swapProvider struct {
	p atomic.Pointer[directory.Provider]
}

func newSwapProvider(p directory.Provider) *swapProvider {
	s := &swapProvider{}
	s.set(p)
	return s
}

func (s *swapProvider) set(p directory.Provider) { s.p.Store(&p) }

// Fetch implements directory.Provider with the current provider.
func (s *swapProvider) Fetch(ctx context.Context, cursor string, progress func(directory.Progress)) (*directory.Update, error) {
	return (*s.p.Load()).Fetch(ctx, cursor, progress)
}

var _ directory.Provider = (*swapProvider)(nil)
