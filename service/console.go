package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/detector"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/phone"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

// This file holds what the web console reads beyond the admin commands:
// the daemon's status at a glance, one user for the help desk, one page
// of a campaign's messages, counts by segment and language, and the
// exposure measured at each directory sync. Every read here is bounded so
// a page stays fast with 100,000 users and messages.

// CarrierInfo is one configured carrier.
type CarrierInfo struct {
	ID, Name string
}

// SourceStatus is one source's polling state.
type SourceStatus struct {
	CarrierID, ID, URL, Type string
	LastPoll, LastSuccess    time.Time
	// NextPoll is the next scheduled poll, or the end of the back-off
	// after failures when that is later.
	NextPoll  time.Time
	Failures  int    // consecutive failed polls
	LastError string // of the last failed poll
}

// Failing reports whether the source's last poll failed.
func (s SourceStatus) Failing() bool { return s.Failures > 0 }

// DirectoryStatus is the freshness of the cached directory.
type DirectoryStatus struct {
	Provider    string
	Users       int
	LastOK      time.Time // end of the last successful sync
	LastAttempt time.Time
	LastError   string // of the last attempt when it failed
	// Stale is true when the last good sync is older than the
	// directory_sync schedule allows.
	Stale         bool
	NextScheduled time.Time
}

// RelayStatus is the mail relay as this process's sender sees it.
type RelayStatus struct {
	// PausedUntil is when sending resumes after the relay kept failing;
	// zero while sending (and in a process that does not send).
	PausedUntil time.Time
	// SentLastMinute counts messages sent in the last minute.
	SentLastMinute int
	// CurrentRate is the messages sent per second over the last
	// rateWindow: what the relay takes now.
	CurrentRate float64
	// RatePerSecond, RatePerMinute and DailyLimit are the configured
	// limits (mail.rate_per_second, rate_per_minute, daily_limit; 0 for
	// none).
	RatePerSecond, RatePerMinute float64
	DailyLimit                   int
}

// Status is what the daemon is doing: the console's overview.
type Status struct {
	Now       time.Time
	Carriers  []CarrierInfo
	Sources   []SourceStatus
	Directory DirectoryStatus
	Relay     RelayStatus
}

// rateWindow is how far back the current sending rate is measured: long
// enough to smooth the sender's batches, short enough to show a change.
const rateWindow = 10 * time.Second

// Status reports the sources, the directory cache and the relay.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	cfg := s.Config()
	now := time.Now()
	st := &Status{Now: now}
	raw, err := s.db.SourceStates(ctx)
	if err != nil {
		return nil, err
	}
	var nextPoll time.Time
	if sched, err := cron.ParseStandard(cfg.Schedule.Poll); err == nil {
		nextPoll = sched.Next(now)
	}
	for i := range cfg.Carriers {
		c := &cfg.Carriers[i]
		st.Carriers = append(st.Carriers, CarrierInfo{ID: c.ID, Name: c.Name})
		for _, src := range c.DetectorSources() {
			var ds detector.State
			if b := raw[src.ID]; len(b) > 0 {
				_ = json.Unmarshal(b, &ds) // unreadable: shown as never polled
			}
			ss := SourceStatus{CarrierID: c.ID, ID: src.ID, URL: src.URL, Type: src.Type,
				LastPoll: ds.LastPoll, LastSuccess: ds.LastSuccess, NextPoll: nextPoll,
				Failures: ds.Failures, LastError: carrierwatch.OneLine(ds.LastError, 200)}
			if ds.RetryAt.After(ss.NextPoll) {
				ss.NextPoll = ds.RetryAt
			}
			st.Sources = append(st.Sources, ss)
		}
	}
	d := &st.Directory
	d.Provider = cfg.Directory.Provider
	if d.Users, err = s.db.CountUsers(ctx); err != nil {
		return nil, err
	}
	lastOK, lastTry, err := s.db.LastSyncs(ctx)
	if err != nil {
		return nil, err
	}
	d.LastOK, d.LastAttempt = lastOK.FinishedAt, lastTry.FinishedAt
	if !lastTry.OK && !lastTry.FinishedAt.IsZero() {
		d.LastError = carrierwatch.OneLine(carrierwatch.MaskAddressesIn(lastTry.Error), 300)
	}
	if d.Stale, err = s.engine.DirectoryStale(ctx); err != nil {
		return nil, err
	}
	if sched, err := cron.ParseStandard(cfg.Schedule.DirectorySync); err == nil {
		d.NextScheduled = sched.Next(now)
	}
	if st.Relay, err = s.Relay(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// Relay reports the relay as this process's sender sees it, and the rate
// of the last minute and of the last rateWindow.
func (s *Service) Relay(ctx context.Context) (RelayStatus, error) {
	now := time.Now()
	m := s.Config().Mail
	r := RelayStatus{RatePerSecond: m.RatePerSecond, RatePerMinute: m.RatePerMinute, DailyLimit: m.DailyLimit}
	if s.dispatcher != nil {
		r.PausedUntil = s.dispatcher.PausedUntil()
	}
	sent, err := s.db.SentSince(ctx, now.Add(-time.Minute), now.Add(-rateWindow))
	if err != nil {
		return r, err
	}
	r.SentLastMinute = sent[0]
	r.CurrentRate = float64(sent[1]) / rateWindow.Seconds()
	return r, nil
}

// CampaignProgress returns one campaign with its counts and nothing else:
// what a progress bar polls.
func (s *Service) CampaignProgress(ctx context.Context, id int64) (*carrierwatch.Campaign, error) {
	return s.db.Campaign(ctx, id)
}

// IncidentEvents returns an incident's history, oldest first, without
// the rest of Incident's detail.
func (s *Service) IncidentEvents(ctx context.Context, id int64) ([]IncidentEvent, error) {
	return s.db.IncidentEvents(ctx, id)
}

// CampaignMessages returns one page of a campaign's messages (or its
// retry queue).
func (s *Service) CampaignMessages(ctx context.Context, p store.MessagePage) ([]*carrierwatch.Message, error) {
	return s.db.CampaignMessages(ctx, p)
}

// CampaignBreakdown counts a campaign's messages by segment, language and
// state, those deleted by retention included.
func (s *Service) CampaignBreakdown(ctx context.Context, id int64) ([]store.SegmentCount, error) {
	return s.db.CampaignBreakdown(ctx, id)
}

// FindUsers returns at most limit cached users whose id is q, whose UPN,
// name or an address contains q, or, when q is a phone number (as a user
// writes it on the support form: "090-1234-5678"), who registered it.
func (s *Service) FindUsers(ctx context.Context, q string, limit int) ([]carrierwatch.User, error) {
	e164, _, err := phone.Normalize(q, s.Config().Directory.DefaultRegion)
	if err != nil {
		e164 = ""
	}
	return s.db.FindUsers(ctx, q, e164, limit)
}

// CarrierSegment says what a user would be told in an outage of a carrier.
type CarrierSegment struct {
	Carrier  CarrierInfo
	Affected bool
	Segment  carrierwatch.Segment
}

// UserDetail is one user for the help desk: what each carrier's outage
// would tell them and every message planned for them.
type UserDetail struct {
	User     *carrierwatch.User
	Segments []CarrierSegment
	Messages []*carrierwatch.Message // oldest first
}

// maxUserMessages bounds one user's message history.
const maxUserMessages = 200

// User returns one cached user with their segment per carrier and their
// messages; the error wraps store.ErrNotFound for an unknown id.
func (s *Service) User(ctx context.Context, id string) (*UserDetail, error) {
	u, err := s.db.User(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &UserDetail{User: u}
	cfg := s.Config()
	for i := range cfg.Carriers {
		c := &cfg.Carriers[i]
		as := notifier.Assess(u, pipeline.CarrierFor(c).Covers, s.engine.Methods, s.logger)
		d.Segments = append(d.Segments, CarrierSegment{Carrier: CarrierInfo{ID: c.ID, Name: c.Name}, Affected: as.Affected, Segment: as.Segment})
	}
	if d.Messages, err = s.db.Messages(ctx, store.MessageFilter{UserID: id, Limit: maxUserMessages}); err != nil {
		return nil, err
	}
	return d, nil
}

// RenderMessage renders one outbox message as its user received it (or
// will): the help desk's "what exactly did I get?".
func (s *Service) RenderMessage(ctx context.Context, id int64) (*carrierwatch.Message, *carrierwatch.Mail, error) {
	m, err := s.db.Message(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	mail, err := s.renderer.Render(ctx, m)
	if err != nil {
		return m, nil, err
	}
	mail.Date = m.SentAt
	return m, mail, nil
}

// ExposureHistory is the latest exposure snapshot and the preparedness
// figures of the snapshots before it.
type ExposureHistory struct {
	Latest       *store.ExposureSnapshot // nil before the first sync
	Preparedness []store.PreparednessPoint
}

// preparednessPoints bounds the preparedness line.
const preparednessPoints = 400

// ExposureHistory returns what RecordExposure measured.
func (s *Service) ExposureHistory(ctx context.Context) (*ExposureHistory, error) {
	h := &ExposureHistory{}
	snap, err := s.db.LatestExposure(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return h, nil
	case err != nil:
		return nil, err
	}
	h.Latest = snap
	if h.Preparedness, err = s.db.PreparednessHistory(ctx, preparednessPoints); err != nil {
		return nil, err
	}
	return h, nil
}

// RecordExposure measures, from the cache, who an outage of each carrier
// would hit (users without an address apart) and how many phone-only users
// sent a preparedness mail have since registered a way in without a
// phone, and stores it. SyncDirectory calls it after each successful sync.
func (s *Service) RecordExposure(ctx context.Context) error {
	cfg := s.Config()
	users, err := s.db.Users(ctx)
	if err != nil {
		return err
	}
	mailed, err := s.db.PreparednessMailed(ctx)
	if err != nil {
		return err
	}
	snap := store.ExposureSnapshot{TakenAt: time.Now(), Users: len(users)}
	methods, logger := s.engine.Methods, s.logger
	for i := range users {
		u := &users[i]
		if mailed[u.ID] {
			snap.PrepMailed++
			if notifier.HasWayIn(u, methods, logger) {
				snap.PrepRegistered++
			}
		}
	}
	for i := range cfg.Carriers {
		c := &cfg.Carriers[i]
		cov := pipeline.CarrierFor(c).Covers
		e := store.CarrierExposure{CarrierID: c.ID, Name: c.Name}
		for j := range users {
			as := notifier.Assess(&users[j], cov, methods, logger)
			switch {
			case !as.Affected:
			case len(notifier.Addresses(&users[j], cfg.Notify.DeliverTo)) == 0:
				e.NoAddress++
			case as.Segment == carrierwatch.SegmentApp:
				e.App++
			case as.Segment == carrierwatch.SegmentOtherPhone:
				e.OtherPhone++
			default:
				e.PhoneOnly++
			}
		}
		snap.Carriers = append(snap.Carriers, e)
	}
	return s.db.RecordExposure(ctx, snap)
}
