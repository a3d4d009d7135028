package service

import (
	"context"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/publish"
)

var _ publish.Source = (*Service)(nil)

// SetPublisher makes the service rewrite the public notice pages after
// every planning round and every admin change of an incident or campaign;
// nil stops it. Safe while the service runs.
func (s *Service) SetPublisher(p pipeline.Publisher) { s.engine.SetPublisher(p) }

// PublishPages rewrites the notice pages now (when a publisher is set). A
// failure is logged and retried on the next cycle; it never stops mail.
func (s *Service) PublishPages(ctx context.Context) { s.engine.PublishPages(ctx) }

// Notices implements publish.Source: every incident, with its carrier's
// name and whether its outage campaign holds it back from the public
// page: a campaign awaiting approval (or cancelled without ever being
// approved), or, with notify.require_approval, an open incident not yet
// planned.
func (s *Service) Notices(ctx context.Context) ([]publish.Notice, error) {
	cfg := s.Config()
	incs, err := s.db.Incidents(ctx, false)
	if err != nil {
		return nil, err
	}
	camps, err := s.db.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	outage := map[int64]*carrierwatch.Campaign{}
	for _, c := range camps {
		if c.Kind == carrierwatch.KindOutage && c.IncidentID != 0 {
			if old, ok := outage[c.IncidentID]; !ok || released(c) && !released(old) {
				outage[c.IncidentID] = c
			}
		}
	}
	out := make([]publish.Notice, 0, len(incs))
	for _, inc := range incs {
		n := publish.Notice{Incident: inc, CarrierName: inc.CarrierID}
		if c := cfg.Carrier(inc.CarrierID); c != nil {
			if c.Name != "" {
				n.CarrierName = c.Name
			}
			n.AllPhones = c.Match.AllPhones
		}
		if c, ok := outage[inc.ID]; ok {
			n.Held = !released(c)
		} else {
			n.Held = cfg.Notify.RequireApproval && inc.State == carrierwatch.IncidentOpen
		}
		out = append(out, n)
	}
	return out, nil
}

// released reports whether a campaign was let out: active, or approved
// before it was cancelled.
func released(c *carrierwatch.Campaign) bool {
	return c.State == carrierwatch.CampaignActive || !c.ApprovedAt.IsZero()
}
