package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

// ErrUnknownCarrier is returned for a carrier ID the config does not have.
var ErrUnknownCarrier = errors.New("no such carrier in the config")

// IncidentEvent is one entry of an incident's history.
type IncidentEvent = store.IncidentEvent

// IncidentDetail is everything known about one incident: its history, its
// campaigns and who acted on it.
type IncidentDetail struct {
	Incident  *carrierwatch.Incident
	Events    []IncidentEvent
	Campaigns []*carrierwatch.Campaign
	Audit     []carrierwatch.AuditEntry
}

// Incidents lists incidents, newest first; openOnly limits to open ones.
func (s *Service) Incidents(ctx context.Context, openOnly bool) ([]*carrierwatch.Incident, error) {
	return s.db.Incidents(ctx, openOnly)
}

// Incident returns one incident with its history, campaigns and audit
// trail.
func (s *Service) Incident(ctx context.Context, id int64) (*IncidentDetail, error) {
	inc, err := s.db.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &IncidentDetail{Incident: inc}
	if d.Events, err = s.db.IncidentEvents(ctx, id); err != nil {
		return nil, err
	}
	if d.Campaigns, err = s.db.IncidentCampaigns(ctx, id); err != nil {
		return nil, err
	}
	if d.Audit, err = s.db.Audit(ctx, store.AuditFilter{IncidentID: id}); err != nil {
		return nil, err
	}
	return d, nil
}

// OpenedIncident is the outcome of OpenIncident.
type OpenedIncident struct {
	Incident *carrierwatch.Incident
	// Created is false when the carrier already had an open incident,
	// which is returned instead; nothing was planned then.
	Created bool
	// Plan is what was planned for the new incident (nil if not Created).
	Plan *notifier.PlanResult
}

// OpenIncident declares an outage of a carrier by hand and plans its
// mails right away (sent by the daemon, or by "once").
func (s *Service) OpenIncident(ctx context.Context, carrierID, note, actor string) (*OpenedIncident, error) {
	cfg := s.Config()
	c := cfg.Carrier(carrierID)
	if c == nil {
		return nil, fmt.Errorf("open incident: %w: %q", ErrUnknownCarrier, carrierID)
	}
	title := fmt.Sprintf("%s: outage declared by an admin", c.Name)
	inc, created, err := s.db.OpenIncident(ctx, c.ID, title, note)
	if err != nil {
		return nil, err
	}
	out := &OpenedIncident{Incident: inc, Created: created}
	if !created {
		return out, nil
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: carrierwatch.AuditIncidentOpened, IncidentID: inc.ID, Detail: note})
	s.engine.Replan()
	if out.Plan, err = s.engine.Planner().PlanOutage(ctx, inc, pipeline.CarrierFor(c), false); err != nil {
		return out, err
	}
	s.wake()
	s.PublishPages(ctx)
	return out, nil
}

// ResolvedIncident is the outcome of ResolveIncident.
type ResolvedIncident struct {
	Incident *carrierwatch.Incident
	// Plan is the follow-up mails planned.
	Plan *notifier.PlanResult
}

// ResolveIncident resolves an open incident by hand and plans the
// follow-up mails.
func (s *Service) ResolveIncident(ctx context.Context, id int64, note, actor string) (*ResolvedIncident, error) {
	inc, err := s.db.ResolveIncident(ctx, id, note)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: carrierwatch.AuditIncidentResolved, IncidentID: id, Detail: note})
	out := &ResolvedIncident{Incident: inc}
	if out.Plan, err = s.engine.Planner().PlanResolved(ctx, inc); err != nil {
		return out, err
	}
	s.wake()
	s.PublishPages(ctx)
	return out, nil
}
