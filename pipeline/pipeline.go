package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/directory"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

// Observer receives the pipeline's events for metrics. Every method must be
// cheap and safe for concurrent use. It may be nil.
type Observer interface {
	Polled(sourceID string, err error, notModified bool, d time.Duration)
	Signal(carrierID, verdict string)
	DirectorySynced(ok bool, users int)
}

// Deps are what an Engine works with. Store, Fetcher, Logger and Methods
// are required; Directory may be nil for commands that never sync, Sender
// for commands that never send, Observer when nothing records metrics.
type Deps struct {
	Store     *store.DB
	Fetcher   *detector.Fetcher
	Directory directory.Provider
	// Sender sends the outbox: Plan wakes it, Once drains it.
	Sender   Sender
	Logger   *slog.Logger
	Observer Observer
	Methods  *notifier.MethodLog
	// PollWorkers bounds concurrent source fetches (default 4).
	PollWorkers int
}

// Sender is what the Engine needs of the notifier's Dispatcher.
type Sender interface {
	Wake()
	Drain(ctx context.Context, wait time.Duration) (waiting int, err error)
	Progress() notifier.Progress
}

var (
	_ Sender             = (*notifier.Dispatcher)(nil)
	_ notifier.PlanStore = (*store.DB)(nil) // Planner's store
)

// Engine is one carrierwatch instance's pipeline. Create it with
// NewEngine. Its methods are safe for concurrent use; Poll and
// SyncDirectory each run one at a time.
type Engine struct {
	Deps

	cfg     atomic.Pointer[config.Config]
	pollMu  sync.Mutex
	syncMu  sync.Mutex
	planMu  sync.Mutex
	planned map[int64]bool // open incidents planned since the last change
	// followedUp is when each recently resolved incident's follow-ups were
	// last planned: again every 10 minutes (outage mails that were on the
	// wire at the resolution finish later), not on every poll.
	followedUp map[int64]time.Time
	lastPoll   atomic.Int64 // unix ms of the last poll cycle that reached a source
	publisher  atomic.Pointer[Publisher]
}

// NewEngine returns an engine for cfg working with d.
func NewEngine(cfg *config.Config, d Deps) *Engine {
	e := &Engine{Deps: d}
	e.cfg.Store(cfg)
	return e
}

// SetConfig installs cfg for the next cycle and marks every open incident
// for re-planning (the scope may have grown).
func (e *Engine) SetConfig(cfg *config.Config) {
	e.cfg.Store(cfg)
	e.invalidate()
}

// Config returns the config in use.
func (e *Engine) Config() *config.Config { return e.cfg.Load() }

func (e *Engine) invalidate() {
	e.planMu.Lock()
	e.planned = nil
	e.planMu.Unlock()
}

// LastPoll returns when a poll cycle last reached at least one source
// (zero if never): a cycle in which every source failed or was backing off
// does not count, so readiness shows that carrierwatch is blind.
func (e *Engine) LastPoll() time.Time {
	v := e.lastPoll.Load()
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// sourceState is what the store keeps per source: the detector's polling
// state and the hashes of the outage notices it currently publishes
// (confirm_polls asks whether they are still there).
type sourceState struct {
	detector.State
	Outage []string `json:"outage,omitempty"`
	// Fingerprint is the source's type, URL, selector and items when it
	// was last polled. When an admin changes them, every notice extracted
	// looks new; the first poll after the change records them without
	// acting on them.
	Fingerprint string `json:"fingerprint,omitempty"`
}

func fingerprint(s detector.Source) string {
	fp := s.Type + "\x1f" + s.URL + "\x1f" + s.Selector + "\x1f" + s.Items
	if len(s.Components) > 0 { // statuspage; other sources keep their fingerprint
		fp += "\x1f" + strings.Join(s.Components, "\x1e")
	}
	return fp
}

// PollResult summarises one poll cycle.
type PollResult struct {
	Polled, NotModified, Failed, Skipped int
	New                                  int // notices never seen before
	Opened, Updated, Resolved            []*carrierwatch.Incident
}

// Poll fetches every due source of every carrier and applies what is new.
// A failing source is logged and skipped; the others go on.
func (e *Engine) Poll(ctx context.Context) (*PollResult, error) {
	e.pollMu.Lock()
	defer e.pollMu.Unlock()
	cfg := e.Config()
	res := &PollResult{}
	raw, err := e.Store.SourceStates(ctx)
	if err != nil {
		return nil, err
	}
	states := make(map[string]sourceState, len(raw))
	for id, b := range raw {
		var st sourceState
		if len(b) > 0 {
			if err := json.Unmarshal(b, &st); err != nil {
				e.Logger.Warn("stored source state unreadable; starting afresh", "source", id, "err", err)
				st = sourceState{}
			}
		}
		states[id] = st
	}
	type job struct {
		carrier *config.Carrier
		src     detector.Source
		st      sourceState
		fresh   bool // never read successfully under this id
	}
	type done struct {
		job
		result detector.Result
		err    error
	}
	// Carriers with a source that was read successfully before, under any
	// id: a source of theirs that was never read (added, moved to another
	// URL, or stored under an id of an older version) starts by recording
	// what it lists without acting on it, instead of replaying it.
	monitored := map[string]bool{}
	for id, st := range states {
		if !st.LastSuccess.IsZero() {
			carrier, _, _ := strings.Cut(id, "/")
			monitored[carrier] = true
		}
	}
	var jobs []job
	now := time.Now()
	for i := range cfg.Carriers {
		c := &cfg.Carriers[i]
		for _, src := range c.DetectorSources() {
			st := states[src.ID]
			if st.Fingerprint != "" && st.Fingerprint != fingerprint(src) {
				// New settings: fetch in full, whatever the server's cache says.
				st.ETag, st.LastModified = "", ""
			}
			if !e.Fetcher.Due(st.State, now) {
				res.Skipped++
				continue
			}
			jobs = append(jobs, job{carrier: c, src: src, st: st, fresh: st.Fingerprint == "" && st.LastSuccess.IsZero()})
		}
	}
	workers := e.PollWorkers
	if workers <= 0 {
		workers = 4
	}
	srcs := make([]detector.Source, len(jobs))
	sts := make([]detector.State, len(jobs))
	for i, j := range jobs {
		srcs[i], sts[i] = j.src, j.st.State
	}
	results := make([]done, 0, len(jobs))
	for i, o := range e.Fetcher.PollAll(ctx, srcs, sts, workers) {
		if o.Skipped && o.Err == nil {
			res.Skipped++ // not due by the fetcher's clock after all
			continue
		}
		j := jobs[i]
		j.st.State = o.State
		results = append(results, done{job: j, result: o.Result, err: o.Err})
		if e.Observer != nil {
			e.Observer.Polled(j.src.ID, o.Err, o.Result.NotModified, o.Took)
		}
	}

	// present: the outage notices each carrier publishes now, by hash.
	present := map[string][]string{}
	for _, d := range results {
		c := d.carrier
		switch {
		case d.err != nil:
			res.Failed++
			e.Logger.Warn("source poll failed; will retry with backoff", "source", d.src.ID, "url", d.src.URL,
				"failures", d.st.Failures, "retry_at", d.st.RetryAt.Format(time.RFC3339), "err", d.err)
		case d.result.NotModified:
			res.NotModified++
		default:
			res.Polled++
			fp := fingerprint(d.src)
			changed := d.st.Fingerprint != "" && d.st.Fingerprint != fp
			added := d.fresh && monitored[c.ID]
			rebaseline := changed || added
			switch {
			case changed:
				e.Logger.Warn("source settings changed: recording its current notices without acting on them", "source", d.src.ID, "url", d.src.URL)
			case added:
				e.Logger.Warn("new source of a carrier already watched: recording its current notices without acting on them", "source", d.src.ID, "url", d.src.URL)
			}
			outage, err := e.applyNotices(ctx, c, d.src, d.result.Notices, rebaseline, d.fresh, res)
			if err != nil {
				return res, err
			}
			d.st.Outage = outage
			d.st.Fingerprint = fp
		}
		present[c.ID] = append(present[c.ID], d.st.Outage...)
		b, _ := json.Marshal(d.st)
		if err := e.Store.SaveSourceState(ctx, d.src.ID, c.ID, d.src.URL, b); err != nil {
			return res, err
		}
	}
	// Carriers that wait for confirmation count this cycle.
	polledCarrier := map[string]bool{}
	polledSource := map[string]bool{}
	for _, d := range results {
		polledSource[d.src.ID] = true
		if d.err == nil {
			polledCarrier[d.carrier.ID] = true
		}
	}
	for i := range cfg.Carriers {
		c := &cfg.Carriers[i]
		if c.ConfirmPolls <= 1 || !polledCarrier[c.ID] {
			continue
		}
		// Sources not polled this cycle keep their last view.
		for _, src := range c.DetectorSources() {
			if polledSource[src.ID] {
				continue
			}
			present[c.ID] = append(present[c.ID], states[src.ID].Outage...)
		}
		out, err := e.Store.ConfirmPoll(ctx, c.ID, present[c.ID], c.ConfirmPolls)
		if err != nil {
			return res, err
		}
		if out.Opened {
			e.Logger.Warn("incident opened after confirmation", "incident_id", out.Incident.ID, "carrier", c.ID, "polls", c.ConfirmPolls, "title", out.Incident.Title)
			res.Opened = append(res.Opened, out.Incident)
		}
	}
	if res.Polled+res.NotModified > 0 {
		e.lastPoll.Store(time.Now().UnixMilli())
	}
	e.Logger.Info("poll cycle done", "sources_polled", res.Polled, "not_modified", res.NotModified, "failed", res.Failed,
		"not_due", res.Skipped, "new_notices", res.New, "opened", len(res.Opened), "resolved", len(res.Resolved))
	return res, nil
}

// order sorts notices oldest first: feeds and index pages list the newest
// first, and a recovery must come after the outage it ends. Notices without
// a date keep the reversed document order.
func order(ns []detector.Notice) []detector.Notice {
	out := make([]detector.Notice, len(ns))
	for i, n := range ns {
		out[len(ns)-1-i] = n
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Published, out[j].Published
		return !a.IsZero() && !b.IsZero() && a.Before(b)
	})
	return out
}

// applyNotices analyses a source's notices and applies the new ones. It
// returns the hashes of the outage notices the source currently publishes.
// recordOnly records every notice without acting on it; first is the
// source's first successful read: it acts only on dated notices within
// max_age (a single notice page, which carries no date, is read as
// current).
func (e *Engine) applyNotices(ctx context.Context, c *config.Carrier, src detector.Source, notices []detector.Notice, recordOnly, first bool, res *PollResult) ([]string, error) {
	var outage []string
	cfg := e.Config()
	rules := c.CompiledRules()
	now := time.Now()
	list := src.Type == detector.TypeFeed || src.Items != ""
	for _, n := range order(notices) {
		ref := n.Published
		if ref.IsZero() {
			ref = now
		}
		a := rules.Analyze(n, ref)
		verdict := string(a.Verdict)
		stale := !n.Published.IsZero() && src.MaxAge > 0 && now.Sub(n.Published) > src.MaxAge
		undatedFirst := first && list && n.Published.IsZero()
		record := recordOnly || stale || undatedFirst
		link := n.Link
		if link != "" && !detector.SameSite(src.URL, link) {
			// A spoofed or hijacked feed must not put its link into
			// official mails.
			e.Logger.Warn("notice link leaves the source's site: kept out of mails", "source", src.ID, "source_url", src.URL, "link", carrierwatch.OneLine(link, 200))
			link = ""
		}
		homeNational := a.Scope == detector.ScopeRegional && detector.Overlaps(a.Areas, cfg.Notify.HomeRegions)
		noOpen := a.AfterTheFact || a.Scope == detector.ScopeRegional && !homeNational && cfg.Notify.Regional == config.RegionalIgnore
		acting := !record && (a.Verdict == detector.VerdictOutage || a.Verdict == detector.VerdictNotResolved)
		if acting && !noOpen {
			outage = append(outage, n.Hash)
		}
		out, err := e.Store.ApplySignal(ctx, store.Signal{
			CarrierID: c.ID, SourceID: src.ID, Hash: n.Hash, Key: n.Key, Title: n.Title, Link: link,
			Published: n.Published, Verdict: verdict, Rule: a.Rule, RecordOnly: record,
			Scope: carrierwatch.Scope(a.Scope), Areas: a.Areas, StartedAt: a.StartedAt,
			Thread: n.Key, ThreadTitle: a.Thread, Partial: a.Partial, NoOpen: noOpen,
			DataOnly: a.Service == detector.ServiceData,
		}, c.ConfirmPolls > 1)
		if err != nil {
			return outage, err
		}
		if out.Duplicate {
			continue
		}
		res.New++
		if e.Observer != nil {
			e.Observer.Signal(c.ID, verdict)
		}
		log := e.Logger.With("carrier", c.ID, "source", src.ID, "verdict", verdict, "rule", a.Rule, "scope", a.Scope,
			"areas", strings.Join(a.Areas, ","), "title", carrierwatch.OneLine(n.Title, 160))
		switch {
		case out.Opened:
			log.Warn("incident opened", "incident_id", out.Incident.ID, "link", link)
			res.Opened = append(res.Opened, out.Incident)
		case out.Resolved:
			log.Warn("incident resolved", "incident_id", out.Incident.ID)
			res.Resolved = append(res.Resolved, out.Incident)
			for _, also := range out.AlsoResolved {
				log.Warn("incident resolved by a carrier-wide recovery", "incident_id", also.ID)
				res.Resolved = append(res.Resolved, also)
			}
		case out.Updated:
			log.Info("incident updated", "incident_id", out.Incident.ID, "scope_changed", out.ScopeChanged)
			res.Updated = append(res.Updated, out.Incident)
			if out.ScopeChanged {
				e.invalidate() // plan again: the hold for approval may end
			}
		case out.Pending:
			log.Info("outage signal waiting for confirmation", "confirm_polls", c.ConfirmPolls)
		case record && stale:
			log.Info("notice older than max_age recorded, not acted on", "published", n.Published.Format(time.DateOnly), "max_age", src.MaxAge)
		case record && undatedFirst:
			log.Info("undated notice on a source's first read recorded, not acted on")
		case noOpen && acting:
			log.Info("notice recorded: it opens nothing", "after_the_fact", a.AfterTheFact, "regional", cfg.Notify.Regional)
		default:
			log.Debug("notice recorded")
		}
	}
	return outage, nil
}

// HoldReason says why an open incident's outage campaign waits for an
// admin's approval under cfg, or "" when it does not: a regional outage
// outside notify.home_regions under notify.regional: approve, or a
// data-only outage (the mail would tell phone users their SMS may not
// arrive, which a data outage does not say).
func HoldReason(cfg *config.Config, inc *carrierwatch.Incident) string {
	if inc.Manual {
		return ""
	}
	if inc.Scope == carrierwatch.ScopeRegional && !detector.Overlaps(inc.Areas, cfg.Notify.HomeRegions) && cfg.Notify.Regional != config.RegionalNotify {
		return "regional outage (" + strings.Join(inc.Areas, ", ") + ") outside notify.home_regions"
	}
	if inc.DataOnly {
		return "the carrier names data service only, not voice or SMS"
	}
	return ""
}

// Planner returns a planner for the current config.
func (e *Engine) Planner() *notifier.Planner {
	cfg := e.Config()
	domain := ""
	if a, err := mail.ParseAddress(cfg.Mail.From); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			domain = a.Address[at+1:]
		}
	}
	return &notifier.Planner{
		Store: e.Store,
		Config: notifier.PlannerConfig{
			DeliverTo: cfg.Notify.DeliverTo, DefaultLanguage: cfg.Notify.DefaultLanguage,
			RequireApproval: cfg.Notify.RequireApproval, SendResolved: cfg.Notify.SendResolved,
			PreparednessInterval: time.Duration(cfg.Notify.PreparednessInterval), MailDomain: domain,
			RenotifyAfter: time.Duration(cfg.Notify.RenotifyAfter),
		},
		Logger:  e.Logger,
		Methods: e.Methods,
	}
}

// CarrierFor returns the notifier's view of a configured carrier.
func CarrierFor(c *config.Carrier) notifier.Carrier {
	m := c.Matcher()
	return notifier.Carrier{ID: c.ID, Name: c.Name, AllPhones: c.Match.AllPhones, Covers: func(e164 string) bool {
		ok, _ := m.Match(e164)
		return ok
	}}
}

// Plan plans outage mails for open incidents not planned since the last
// change, and follow-ups for incidents resolved in the last two days
// (idempotent: nobody is planned twice).
func (e *Engine) Plan(ctx context.Context) (planned int, err error) {
	e.planMu.Lock()
	defer e.planMu.Unlock()
	defer e.PublishPages(ctx) // after planning: campaigns say what awaits approval
	if e.planned == nil {
		e.planned = map[int64]bool{}
	}
	cfg := e.Config()
	incs, err := e.Store.Incidents(ctx, false)
	if err != nil {
		return 0, err
	}
	p := e.Planner()
	for _, inc := range incs {
		switch inc.State {
		case carrierwatch.IncidentOpen:
			if e.planned[inc.ID] {
				continue
			}
			c := cfg.Carrier(inc.CarrierID)
			if c == nil {
				e.Logger.Error("open incident of a carrier that is no longer configured; resolve it or restore the carrier", "incident_id", inc.ID, "carrier", inc.CarrierID)
				continue
			}
			pl := p
			if reason := HoldReason(cfg, inc); reason != "" {
				held := *p
				held.Config.RequireApproval = true
				pl = &held
				e.Logger.Warn("outage campaign held for approval", "incident_id", inc.ID, "carrier", inc.CarrierID, "reason", reason,
					"approve", "carrierwatch campaigns approve ID (see carrierwatch campaigns list)")
			}
			r, err := pl.PlanOutage(ctx, inc, CarrierFor(c), false)
			if err != nil {
				return planned, err
			}
			planned += r.New
			e.planned[inc.ID] = true
			camp, err := e.releaseHold(ctx, cfg, inc, r.CampaignID)
			if err != nil {
				return planned, err
			}
			n, err := e.alertOpen(ctx, cfg, inc, c, r, camp)
			if err != nil {
				return planned, err
			}
			planned += n
		case carrierwatch.IncidentResolved:
			if time.Since(inc.ResolvedAt) > 48*time.Hour {
				continue
			}
			if e.followedUp == nil {
				e.followedUp = map[int64]time.Time{}
			}
			if last, ok := e.followedUp[inc.ID]; ok && time.Since(last) < 10*time.Minute {
				continue
			}
			r, err := p.PlanResolved(ctx, inc)
			if err != nil {
				return planned, err
			}
			e.followedUp[inc.ID] = time.Now()
			planned += r.New
			n, err := e.alertResolved(ctx, cfg, inc)
			if err != nil {
				return planned, err
			}
			planned += n
		}
	}
	if planned > 0 && e.Sender != nil {
		e.Sender.Wake()
	}
	return planned, nil
}

// Replan marks every open incident for planning in the next Plan (after a
// directory sync or an admin's change).
func (e *Engine) Replan() { e.invalidate() }

// DirectoryStale reports whether the last successful sync is older than the
// directory_sync schedule allows (or there was none).
func (e *Engine) DirectoryStale(ctx context.Context) (bool, error) {
	ok, _, err := e.Store.LastSyncs(ctx)
	if err != nil {
		return false, err
	}
	if ok.FinishedAt.IsZero() {
		return true, nil
	}
	sched, err := cron.ParseStandard(e.Config().Schedule.DirectorySync)
	if err != nil {
		return true, nil
	}
	return !sched.Next(ok.FinishedAt).After(time.Now()), nil
}

// SyncOptions tune one directory sync.
type SyncOptions struct {
	// Progress is told how the sync goes; nil logs every few seconds.
	Progress func(directory.Progress)
	// AllowShrink lets this sync remove any share of the cached users.
	AllowShrink bool
}

// SyncDirectory fetches the directory and applies it to the cache in one
// transaction. On any error the cache keeps its last good data and the
// failure is recorded.
func (e *Engine) SyncDirectory(ctx context.Context, o SyncOptions) (store.ApplyResult, error) {
	progress := o.Progress
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	start := time.Now()
	rec := store.SyncRecord{StartedAt: start}
	fail := func(err error) (store.ApplyResult, error) {
		// One line: identity-library errors span several.
		rec.FinishedAt, rec.Error = time.Now(), carrierwatch.OneLine(err.Error(), 4000)
		if rerr := e.Store.RecordSync(context.WithoutCancel(ctx), rec); rerr != nil {
			e.Logger.Error("could not record the failed sync", "err", rerr)
		}
		if e.Observer != nil {
			e.Observer.DirectorySynced(false, 0)
		}
		e.Logger.Error("directory sync failed; the cache keeps its last good data", "err", err)
		return store.ApplyResult{}, err
	}
	cursor, err := e.Store.Meta(ctx, "directory.cursor")
	if err != nil {
		return fail(err)
	}
	if provider, _ := e.Store.Meta(ctx, "directory.provider"); provider != e.Config().Directory.Provider {
		cursor = "" // a new provider starts afresh
	}
	if progress == nil {
		last := time.Now()
		progress = func(p directory.Progress) {
			if time.Since(last) > 5*time.Second {
				last = time.Now()
				e.Logger.Info("directory sync progress", "stage", p.Stage, "done", p.Done, "total", p.Total)
			}
		}
	}
	u, err := e.Directory.Fetch(ctx, cursor, progress)
	if err != nil {
		return fail(fmt.Errorf("directory sync: %w", err))
	}
	opts := store.ApplyOptions{}
	if o.AllowShrink {
		opts.MaxRemoveFraction = 1
	}
	res, err := e.Store.ApplyDirectory(ctx, u, opts)
	if err != nil {
		return fail(err)
	}
	for i, p := range u.Problems {
		if i == 50 {
			e.Logger.Warn("more directory problems not shown", "count", len(u.Problems)-50)
			break
		}
		e.Logger.Warn("directory record skipped or repaired", "problem", p)
	}
	if err := e.Store.SetMeta(ctx, "directory.cursor", u.Cursor); err != nil {
		return fail(err)
	}
	if err := e.Store.SetMeta(ctx, "directory.provider", e.Config().Directory.Provider); err != nil {
		return fail(err)
	}
	rec.OK, rec.Full, rec.Users, rec.Problems, rec.FinishedAt = true, u.Full, res.Users, len(u.Problems), time.Now()
	rec.Mode, rec.ModeReason = u.Mode, u.ModeReason
	if err := e.Store.RecordSync(ctx, rec); err != nil {
		return res, err
	}
	if e.Observer != nil {
		e.Observer.DirectorySynced(true, res.Users)
	}
	e.Logger.Info("directory synced", "users", res.Users, "upserted", res.Upserted, "removed", res.Removed,
		"full", u.Full, "problems", len(u.Problems), "took", time.Since(start).Round(time.Millisecond))
	e.invalidate()
	return res, nil
}

// OnceResult summarises a one-shot cycle.
type OnceResult struct {
	Synced  bool
	Poll    *PollResult
	Planned int
	Sent    notifier.Progress
	Waiting int // messages left waiting for a retry
}

// ErrUndelivered is returned by Once when messages are still waiting for a
// retry after the allowed wait.
var ErrUndelivered = errors.New("some messages are still waiting for a retry")

// Once runs one cycle: sync if stale, poll, plan, and send until the outbox
// is drained (waiting up to wait for retries).
func (e *Engine) Once(ctx context.Context, wait time.Duration) (*OnceResult, error) {
	res := &OnceResult{}
	stale, err := e.DirectoryStale(ctx)
	if err != nil {
		return res, err
	}
	if stale {
		if _, err := e.SyncDirectory(ctx, SyncOptions{}); err != nil {
			// A cache from an earlier good sync is better than nothing.
			lastOK, _, lerr := e.Store.LastSyncs(ctx)
			if lerr != nil || lastOK.FinishedAt.IsZero() || lastOK.Users == 0 {
				return res, err
			}
			e.Logger.Warn("going on with the cached directory", "users", lastOK.Users, "synced_at", lastOK.FinishedAt.Format(time.RFC3339))
		} else {
			res.Synced = true
		}
	}
	if res.Poll, err = e.Poll(ctx); err != nil {
		return res, err
	}
	if res.Planned, err = e.Plan(ctx); err != nil {
		return res, err
	}
	if e.Sender != nil {
		res.Waiting, err = e.Sender.Drain(ctx, wait)
		res.Sent = e.Sender.Progress()
		if err != nil {
			return res, err
		}
		if res.Waiting > 0 {
			return res, fmt.Errorf("%w: %d (they are sent by the next run)", ErrUndelivered, res.Waiting)
		}
	}
	return res, nil
}
