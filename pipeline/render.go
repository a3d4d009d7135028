package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/templates"
)

// RetirementDate is when Microsoft-provided SMS and voice stop being MFA
// methods in Entra ID.
const RetirementDate = "2027-02-01"

// Renderer turns outbox messages into mails with the current templates,
// links and incident facts. It is safe for concurrent use.
type Renderer struct {
	Engine    *Engine
	Templates *templates.Renderer // until SetTemplates replaces them

	swapped   atomic.Pointer[templates.Renderer]
	mu        sync.Mutex
	incidents map[int64]*carrierwatch.Incident
}

// Render implements notifier.RenderFunc.
func (r *Renderer) Render(ctx context.Context, m *carrierwatch.Message) (*carrierwatch.Mail, error) {
	var md notifier.MessageData
	if err := json.Unmarshal(m.Data, &md); err != nil {
		return nil, fmt.Errorf("message %d data: %w", m.ID, err)
	}
	cfg := r.Engine.Config()
	d := templates.Data{
		Kind: m.Kind, Segment: m.Segment, Lang: m.Lang,
		DisplayName: md.DisplayName, UPN: md.UPN, CarrierName: md.CarrierName,
		AffectedPhones: md.AffectedPhones, OtherPhones: md.OtherPhones,
		Links: templates.Links{
			SupportForm: cfg.Notify.Links.SupportForm,
			MFASetup:    cfg.Notify.Links.MFASetup,
			Notice:      cfg.Notify.Links.Notice,
		},
		RetirementDate: RetirementDate,
	}
	if m.IncidentID != 0 {
		inc, err := r.incident(ctx, m.IncidentID, m.Kind == carrierwatch.KindResolved)
		if err != nil {
			return nil, err
		}
		d.IncidentID, d.IncidentTitle, d.IncidentURL = inc.ID, inc.Title, inc.URL
		d.OpenedAt, d.ResolvedAt = inc.OpenedAt, inc.ResolvedAt
		if c := cfg.Carrier(inc.CarrierID); c != nil && d.CarrierName == "" {
			d.CarrierName = c.Name
		}
	}
	tmpl := r.Templates
	if t := r.swapped.Load(); t != nil {
		tmpl = t
	}
	subject, text, html, err := tmpl.Render(d)
	if err != nil {
		return nil, err
	}
	return &carrierwatch.Mail{
		MessageID: m.MessageID, To: m.To, Subject: subject, Text: text, HTML: html, Lang: m.Lang,
		Kind: m.Kind, Segment: m.Segment, IncidentID: m.IncidentID, Date: time.Now(),
	}, nil
}

// SetTemplates makes later renders use t (a reload with new templates).
// Safe while rendering.
func (r *Renderer) SetTemplates(t *templates.Renderer) { r.swapped.Store(t) }

// incident returns an incident, cached; fresh forces a reload (a resolved
// mail needs the resolution time).
func (r *Renderer) incident(ctx context.Context, id int64, fresh bool) (*carrierwatch.Incident, error) {
	r.mu.Lock()
	inc, ok := r.incidents[id]
	r.mu.Unlock()
	if ok && (!fresh || inc.State == carrierwatch.IncidentResolved) {
		return inc, nil
	}
	inc, err := r.Engine.Store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.incidents == nil {
		r.incidents = map[int64]*carrierwatch.Incident{}
	}
	r.incidents[id] = inc
	r.mu.Unlock()
	return inc, nil
}
