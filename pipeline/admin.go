package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/mail"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/config"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

// Admin alert events.
const (
	alertOpened   = "opened"
	alertScope    = "scope"
	alertResolved = "resolved"
)

// adminAlert is what an alert to notify.admins says, frozen into its outbox
// message when it is planned.
type adminAlert struct {
	Event       string         `json:"event"`
	IncidentID  int64          `json:"incident_id"`
	Carrier     string         `json:"carrier"`
	CarrierName string         `json:"carrier_name"`
	Title       string         `json:"title"`
	Link        string         `json:"link,omitempty"`
	Rule        string         `json:"rule,omitempty"`
	Scope       string         `json:"scope"`
	Status      string         `json:"status"`
	StartedAt   time.Time      `json:"started_at,omitzero"`
	OpenedAt    time.Time      `json:"opened_at"`
	ResolvedAt  time.Time      `json:"resolved_at,omitzero"`
	Affected    int            `json:"affected"`
	Segments    map[string]int `json:"segments,omitempty"`
	CampaignID  int64          `json:"campaign_id,omitempty"`
	Campaign    string         `json:"campaign,omitempty"` // its state
	Held        string         `json:"held,omitempty"`     // why it waits for approval
	Approve     string         `json:"approve,omitempty"`  // the command that approves
}

// scopeText is an incident's scope as alerts name it: "national" or
// "regional: 宮崎県、鹿児島県".
func scopeText(inc *carrierwatch.Incident) string {
	if inc.Scope == carrierwatch.ScopeRegional && len(inc.Areas) > 0 {
		return "regional: " + strings.Join(inc.Areas, "、")
	}
	return string(inc.Scope)
}

func statusText(inc *carrierwatch.Incident) string {
	switch {
	case inc.State == carrierwatch.IncidentResolved:
		return "recovered"
	case inc.PartlyRecovered:
		return "partly recovered"
	}
	return "ongoing"
}

// releaseHold approves an outage campaign that carrierwatch itself held
// (a regional or data-only outage) once the reason is gone: the outage
// spread nationwide, reached a home region, or the carrier named voice or
// SMS. A campaign held by notify.require_approval stays held. It returns
// the campaign as it is now.
func (e *Engine) releaseHold(ctx context.Context, cfg *config.Config, inc *carrierwatch.Incident, campaignID int64) (*carrierwatch.Campaign, error) {
	if campaignID == 0 {
		return nil, nil
	}
	camp, err := e.Store.Campaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if camp.State != carrierwatch.CampaignAwaitingApproval || cfg.Notify.RequireApproval || HoldReason(cfg, inc) != "" {
		return camp, nil
	}
	camp, err = e.Store.ApproveCampaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	e.Logger.Warn("outage campaign released: the reason to hold it is gone", "incident_id", inc.ID, "campaign_id", campaignID, "scope", scopeText(inc))
	return camp, nil
}

// alertOpen tells the admins that an incident opened (with its segments
// and, when its campaign waits, the command that approves it), or that its
// scope changed since the last alert. It returns the messages planned.
func (e *Engine) alertOpen(ctx context.Context, cfg *config.Config, inc *carrierwatch.Incident, c *config.Carrier, r *notifier.PlanResult, camp *carrierwatch.Campaign) (int, error) {
	if len(cfg.Notify.Admins) == 0 {
		return 0, nil
	}
	prev, err := e.lastAlert(ctx, inc.ID)
	if err != nil {
		return 0, err
	}
	event, key := alertOpened, alertOpened
	switch {
	case prev == nil:
	case prev.Scope != scopeText(inc):
		event, key = alertScope, fmt.Sprintf("%s:%d", alertScope, inc.UpdatedAt.UnixMilli())
	default:
		return 0, nil
	}
	a := e.alertFor(ctx, inc, c, event)
	a.Affected = r.Affected
	a.Segments = map[string]int{}
	for s, n := range r.BySegment {
		a.Segments[string(s)] = n
	}
	if camp != nil {
		a.CampaignID, a.Campaign = camp.ID, string(camp.State)
		if camp.State == carrierwatch.CampaignAwaitingApproval {
			a.Held = HoldReason(cfg, inc)
			if a.Held == "" {
				a.Held = "notify.require_approval is on"
			}
			a.Approve = fmt.Sprintf("carrierwatch campaigns approve %d", camp.ID)
		}
	}
	return e.planAlert(ctx, cfg, inc, key, a)
}

// alertResolved tells the admins that an incident resolved.
func (e *Engine) alertResolved(ctx context.Context, cfg *config.Config, inc *carrierwatch.Incident) (int, error) {
	if len(cfg.Notify.Admins) == 0 {
		return 0, nil
	}
	prev, err := e.lastAlert(ctx, inc.ID)
	if err != nil || prev == nil {
		// Never alerted as open (admins configured since): no news now.
		return 0, err
	}
	a := e.alertFor(ctx, inc, cfg.Carrier(inc.CarrierID), alertResolved)
	return e.planAlert(ctx, cfg, inc, alertResolved, a)
}

// lastAlert returns the newest alert planned for an incident, nil if none.
func (e *Engine) lastAlert(ctx context.Context, incidentID int64) (*adminAlert, error) {
	msgs, err := e.Store.Messages(ctx, storeFilterAdmin(incidentID))
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	var a adminAlert
	if err := json.Unmarshal(msgs[len(msgs)-1].Data, &a); err != nil {
		return nil, fmt.Errorf("admin alert of incident %d: %w", incidentID, err)
	}
	return &a, nil
}

// alertFor fills what every alert says about an incident.
func (e *Engine) alertFor(ctx context.Context, inc *carrierwatch.Incident, c *config.Carrier, event string) adminAlert {
	a := adminAlert{
		Event: event, IncidentID: inc.ID, Carrier: inc.CarrierID, CarrierName: inc.CarrierID,
		Title: inc.Title, Link: inc.URL, Scope: scopeText(inc), Status: statusText(inc),
		StartedAt: inc.StartedAt, OpenedAt: inc.OpenedAt, ResolvedAt: inc.ResolvedAt,
	}
	if c != nil {
		a.CarrierName = c.Name
	}
	if inc.Manual {
		a.Rule = "declared by an admin"
	}
	if evs, err := e.Store.IncidentEvents(ctx, inc.ID); err == nil {
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Rule != "" {
				a.Rule = evs[i].Rule
				if evs[i].Title != "" && event != alertOpened {
					a.Title = evs[i].Title // the notice that moved it
				}
				break
			}
		}
	}
	return a
}

// planAlert puts one alert per admin into the outbox, under the incident's
// admin campaign; key makes it once per event.
func (e *Engine) planAlert(ctx context.Context, cfg *config.Config, inc *carrierwatch.Incident, key string, a adminAlert) (int, error) {
	camp, _, err := e.Store.EnsureCampaign(ctx, inc.ID, carrierwatch.KindAdmin, carrierwatch.CampaignActive)
	if err != nil {
		return 0, err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	domain := ""
	if addr, err := mail.ParseAddress(cfg.Mail.From); err == nil {
		if at := strings.LastIndexByte(addr.Address, '@'); at >= 0 {
			domain = addr.Address[at+1:]
		}
	}
	var msgs []carrierwatch.Message
	for _, admin := range cfg.Notify.Admins {
		addr := admin
		if pa, err := mail.ParseAddress(admin); err == nil {
			addr = pa.Address
		}
		msgs = append(msgs, carrierwatch.Message{
			CampaignID: camp.ID, IncidentID: inc.ID, Kind: carrierwatch.KindAdmin,
			UserID: "admin:" + key + ":" + addr, Lang: cfg.Notify.DefaultLanguage, To: []string{addr},
			MessageID: notifier.NewMessageID(carrierwatch.KindAdmin, inc.ID, domain), Data: data,
		})
	}
	n, err := e.Store.PlanMessages(ctx, msgs)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		e.Logger.Info("admin alert planned", "incident_id", inc.ID, "event", a.Event, "admins", n, "scope", a.Scope, "campaign_id", a.CampaignID, "held", a.Held)
	}
	return n, nil
}

// renderAdmin renders an admin alert: a short text, the same as escaped
// HTML. Admin alerts are in English and Japanese at once: they go to the
// people who run carrierwatch, not to users.
func renderAdmin(m *carrierwatch.Message, cfg *config.Config) (*carrierwatch.Mail, error) {
	var a adminAlert
	if err := json.Unmarshal(m.Data, &a); err != nil {
		return nil, fmt.Errorf("admin alert %d: %w", m.ID, err)
	}
	what := map[string]string{alertOpened: "opened", alertScope: "changed scope", alertResolved: "resolved"}[a.Event]
	subject := fmt.Sprintf("[carrierwatch] incident %d %s: %s (%s)", a.IncidentID, what, a.CarrierName, a.Scope)
	if a.Approve != "" {
		subject += " — campaign waits for approval"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Incident %d of %s %s / インシデント %d (%s)\n\n", a.IncidentID, a.CarrierName, what, a.IncidentID, a.Status)
	fmt.Fprintf(&b, "Notice:   %s\n", a.Title)
	if a.Link != "" {
		fmt.Fprintf(&b, "Link:     %s\n", a.Link)
	}
	if a.Rule != "" {
		fmt.Fprintf(&b, "Rule:     %s\n", a.Rule)
	}
	fmt.Fprintf(&b, "Scope:    %s\n", a.Scope)
	fmt.Fprintf(&b, "Status:   %s\n", a.Status)
	jst := time.FixedZone("JST", 9*3600)
	if !a.StartedAt.IsZero() {
		fmt.Fprintf(&b, "Started:  %s (as the carrier states it)\n", a.StartedAt.In(jst).Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintf(&b, "Detected: %s\n", a.OpenedAt.In(jst).Format("2006-01-02 15:04 MST"))
	if !a.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, "Resolved: %s\n", a.ResolvedAt.In(jst).Format("2006-01-02 15:04 MST"))
	}
	if a.Event != alertResolved {
		fmt.Fprintf(&b, "\nUsers affected: %d (app %d, other-phone %d, phone-only %d)\n", a.Affected,
			a.Segments[string(carrierwatch.SegmentApp)], a.Segments[string(carrierwatch.SegmentOtherPhone)], a.Segments[string(carrierwatch.SegmentPhoneOnly)])
		if a.CampaignID != 0 {
			fmt.Fprintf(&b, "Campaign %d: %s\n", a.CampaignID, a.Campaign)
		}
	}
	if a.Approve != "" {
		fmt.Fprintf(&b, "\nThe outage mails wait for approval: %s.\nTo send them:\n\n    %s\n\nTo drop them: carrierwatch campaigns cancel %d\n", a.Held, a.Approve, a.CampaignID)
	}
	fmt.Fprintf(&b, "\nDetails: carrierwatch incidents show %d\n", a.IncidentID)
	text := b.String()
	htmlBody := "<!DOCTYPE html><html><body><pre style=\"font-family: monospace; white-space: pre-wrap;\">" + html.EscapeString(text) + "</pre></body></html>"
	return &carrierwatch.Mail{
		MessageID: m.MessageID, To: m.To, Subject: subject, Text: text, HTML: htmlBody, Lang: m.Lang,
		ReplyTo: cfg.Mail.ReplyTo, ReturnPath: cfg.Mail.ReturnPath,
		Kind: m.Kind, IncidentID: m.IncidentID, Date: time.Now(),
	}, nil
}

func storeFilterAdmin(incidentID int64) store.MessageFilter {
	return store.MessageFilter{IncidentID: incidentID, Kind: carrierwatch.KindAdmin}
}
