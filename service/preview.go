package service

import (
	"context"
	"fmt"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/templates"
)

// PreviewRequest says which mail to preview.
type PreviewRequest struct {
	Kind    carrierwatch.Kind
	Segment carrierwatch.Segment
	Lang    string // "ja" | "en"
	// CarrierID is the carrier whose name the mail uses; "" is the first
	// configured carrier.
	CarrierID string
	// Now is the clock of the sample incident; zero is time.Now.
	Now time.Time
}

// Preview is a rendered sample mail.
type Preview struct {
	Subject, Text, HTML string
}

// Preview renders a sample mail with the templates and links in use.
func (s *Service) Preview(_ context.Context, r PreviewRequest) (*Preview, error) {
	return RenderPreview(s.renderer.Templates(), s.Config(), r)
}

// RenderPreview renders a sample mail with t and the links and carriers of
// cfg, for a sample user ("render" needs no database).
func RenderPreview(t *templates.Renderer, cfg *config.Config, r PreviewRequest) (*Preview, error) {
	if !r.Kind.Valid() {
		return nil, fmt.Errorf("preview: kind %q: want outage, resolved or preparedness", r.Kind)
	}
	if !r.Segment.Valid() {
		return nil, fmt.Errorf("preview: segment %q: want app, other-phone or phone-only", r.Segment)
	}
	if len(cfg.Carriers) == 0 {
		return nil, fmt.Errorf("preview: no carriers in the config")
	}
	c := &cfg.Carriers[0]
	if r.CarrierID != "" {
		if c = cfg.Carrier(r.CarrierID); c == nil {
			return nil, fmt.Errorf("preview: %w: %q", ErrUnknownCarrier, r.CarrierID)
		}
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	d := templates.Data{
		Recipient: templates.Recipient{
			DisplayName: "青木 花子", UPN: "aoki@example.ac.jp", CarrierName: c.Name, AllPhones: c.Match.AllPhones,
			AffectedPhones: []string{"+81 90-****-5678"},
		},
		Kind: r.Kind, Segment: r.Segment, Lang: r.Lang,
		Links: templates.Links{SupportForm: cfg.Notify.Links.SupportForm, SupportFormWithoutSignIn: cfg.Notify.Links.SupportFormWithoutSignIn,
			MFASetup: cfg.Notify.Links.MFASetup, Notice: cfg.Notify.Links.Notice},
	}
	if r.Lang == "en" {
		d.DisplayName, d.UPN = "Alex Smith", "smith@example.ac.jp"
	}
	if d.Segment == carrierwatch.SegmentOtherPhone {
		d.OtherPhones = []string{"+81 80-****-2222"}
	}
	if d.Kind != carrierwatch.KindPreparedness {
		d.IncidentID, d.IncidentTitle, d.IncidentURL, d.OpenedAt = 1, c.Name+": 通信障害 (example)", cfg.Notify.Links.Notice, now.Add(-3*time.Hour)
		if d.Kind == carrierwatch.KindResolved {
			d.ResolvedAt = now
		}
	}
	subject, text, html, err := t.Render(d)
	if err != nil {
		return nil, err
	}
	return &Preview{Subject: subject, Text: text, HTML: html}, nil
}
