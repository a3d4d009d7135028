package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/publish"
	"github.com/carrierwatch/carrierwatch/store"
	"github.com/carrierwatch/carrierwatch/templates"
)

// Incidents is what the Renderer needs of the store.
type Incidents interface {
	Incident(ctx context.Context, id int64) (*carrierwatch.Incident, error)
}

var _ Incidents = (*store.DB)(nil)

// Renderer turns outbox messages into mails with the current templates,
// links and incident facts. Create it with NewRenderer. It is safe for
// concurrent use.
type Renderer struct {
	store     Incidents
	cfg       atomic.Pointer[config.Config]
	tmpl      atomic.Pointer[templates.Renderer]
	mu        sync.Mutex
	incidents map[int64]*carrierwatch.Incident
}

// NewRenderer returns a renderer reading incidents from st, rendering with
// t and taking links and carrier names from cfg.
func NewRenderer(st Incidents, t *templates.Renderer, cfg *config.Config) *Renderer {
	r := &Renderer{store: st}
	r.tmpl.Store(t)
	r.cfg.Store(cfg)
	return r
}

// Render implements notifier.RenderFunc.
func (r *Renderer) Render(ctx context.Context, m *carrierwatch.Message) (*carrierwatch.Mail, error) {
	if m.Kind == carrierwatch.KindAdmin {
		return renderAdmin(m, r.cfg.Load())
	}
	d, err := templates.MessageData(m)
	if err != nil {
		return nil, err
	}
	cfg := r.cfg.Load()
	d.Links = templates.Links{
		SupportForm:              cfg.Notify.Links.SupportForm,
		SupportFormWithoutSignIn: cfg.Notify.Links.SupportFormWithoutSignIn,
		MFASetup:                 cfg.Notify.Links.MFASetup,
		Notice:                   cfg.Notify.Links.Notice,
	}
	if m.IncidentID != 0 {
		inc, err := r.incident(ctx, m.IncidentID, m.Kind == carrierwatch.KindResolved)
		if err != nil {
			return nil, err
		}
		if d.Links.Notice == "" {
			// The incident's page on the published notice, when there is one.
			d.Links.Notice = publish.IncidentURL(cfg.Publish.BaseURL, inc.ID, m.Lang)
		}
		var carrierName string
		if c := cfg.Carrier(inc.CarrierID); c != nil {
			carrierName = c.Name
		}
		d.SetIncident(inc, carrierName)
	}
	subject, text, html, err := r.tmpl.Load().Render(d)
	if err != nil {
		return nil, err
	}
	return &carrierwatch.Mail{
		MessageID: m.MessageID, To: m.To, Subject: subject, Text: text, HTML: html, Lang: m.Lang,
		ReplyTo: cfg.Mail.ReplyTo, ReturnPath: cfg.Mail.ReturnPath,
		Kind: m.Kind, Segment: m.Segment, IncidentID: m.IncidentID, Date: time.Now(),
	}, nil
}

// Reload makes later renders use t and cfg (a reload with new templates or
// links). Safe while rendering.
func (r *Renderer) Reload(t *templates.Renderer, cfg *config.Config) {
	r.tmpl.Store(t)
	r.cfg.Store(cfg)
}

// Templates returns the templates in use.
func (r *Renderer) Templates() *templates.Renderer { return r.tmpl.Load() }

// incident returns an incident, cached; fresh forces a reload (a resolved
// mail needs the resolution time).
func (r *Renderer) incident(ctx context.Context, id int64, fresh bool) (*carrierwatch.Incident, error) {
	r.mu.Lock()
	inc, ok := r.incidents[id]
	r.mu.Unlock()
	if ok && (!fresh || inc.State == carrierwatch.IncidentResolved) {
		return inc, nil
	}
	inc, err := r.store.Incident(ctx, id)
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
