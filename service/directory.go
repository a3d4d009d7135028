package service

import (
	"context"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

// SyncRecord is one directory sync attempt.
type SyncRecord = store.SyncRecord

// DirectoryStats are the figures of the cached directory: how many users,
// how prepared they are, and who an outage of each carrier would hit.
type DirectoryStats struct {
	Provider string
	// LastOK is the last successful sync, LastAttempt the last one at all.
	LastOK, LastAttempt SyncRecord
	Users               int
	WithPhone           int // users with at least one phone
	InvalidNumbers      int // phone numbers that could not be parsed
	NoAddress           int // users with no address to mail
	ResetEmails         int // users with a self-service reset e-mail (mailed first)
	WayIn               int // users with an app, passkey or other non-phone method
	PhoneOnly           int // the preparedness campaign's audience
	Exposure            []CarrierExposure
}

// CarrierExposure is who an outage of one carrier would affect, by
// segment. Match rules are hints (number portability).
type CarrierExposure struct {
	CarrierID, Name string
	Affected        int
	BySegment       map[carrierwatch.Segment]int
	NoAddress       int // affected users with no address to mail
}

// DirectoryStats computes the directory figures and the exposure of each
// configured carrier from the cache.
func (s *Service) DirectoryStats(ctx context.Context) (*DirectoryStats, error) {
	cfg := s.Config()
	users, err := s.db.Users(ctx)
	if err != nil {
		return nil, err
	}
	st := &DirectoryStats{Provider: cfg.Directory.Provider, Users: len(users)}
	if st.LastOK, st.LastAttempt, err = s.db.LastSyncs(ctx); err != nil {
		return nil, err
	}
	if st.ResetEmails, err = s.db.ResetEmailUsers(ctx); err != nil {
		return nil, err
	}
	methods, logger := s.engine.Methods, s.logger
	for i := range users {
		u := &users[i]
		if len(u.Phones) > 0 {
			st.WithPhone++
		}
		for _, p := range u.Phones {
			if p.E164 == "" {
				st.InvalidNumbers++
			}
		}
		if len(notifier.Addresses(u, cfg.Notify.DeliverTo)) == 0 {
			st.NoAddress++
		}
		if notifier.HasWayIn(u, methods, logger) {
			st.WayIn++
		} else if notifier.PhoneOnly(u, methods, logger) {
			st.PhoneOnly++
		}
	}
	st.Exposure = s.exposure(users)
	return st, nil
}

// Exposure returns who an outage of each configured carrier would affect
// (the preparedness figures), from the cache.
func (s *Service) Exposure(ctx context.Context) ([]CarrierExposure, error) {
	users, err := s.db.Users(ctx)
	if err != nil {
		return nil, err
	}
	return s.exposure(users), nil
}

func (s *Service) exposure(users []carrierwatch.User) []CarrierExposure {
	cfg := s.Config()
	out := make([]CarrierExposure, 0, len(cfg.Carriers))
	for i := range cfg.Carriers {
		c := &cfg.Carriers[i]
		cov := pipeline.CarrierFor(c).Covers
		e := CarrierExposure{CarrierID: c.ID, Name: c.Name, BySegment: map[carrierwatch.Segment]int{}}
		for j := range users {
			as := notifier.Assess(&users[j], cov, s.engine.Methods, s.logger)
			if !as.Affected {
				continue
			}
			e.Affected++
			e.BySegment[as.Segment]++
			if len(notifier.Addresses(&users[j], cfg.Notify.DeliverTo)) == 0 {
				e.NoAddress++
			}
		}
		out = append(out, e)
	}
	return out
}

// Users returns every cached user with phones and methods, by ID.
func (s *Service) Users(ctx context.Context) ([]carrierwatch.User, error) {
	return s.db.Users(ctx)
}
