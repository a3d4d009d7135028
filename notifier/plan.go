package notifier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/phone"
	"github.com/carrierwatch/carrierwatch/templates"
)

// PlanStore is what the Planner needs of the database.
type PlanStore interface {
	Users(ctx context.Context) ([]carrierwatch.User, error)
	EnsureCampaign(ctx context.Context, incidentID int64, kind carrierwatch.Kind, state carrierwatch.CampaignState) (*carrierwatch.Campaign, bool, error)
	PlanMessages(ctx context.Context, msgs []carrierwatch.Message) (int, error)
	SentMessages(ctx context.Context, incidentID int64, kind carrierwatch.Kind) ([]*carrierwatch.Message, error)
	CancelPending(ctx context.Context, incidentID int64, kind carrierwatch.Kind, reason string) (int, error)
	UsersWithKindSince(ctx context.Context, kind carrierwatch.Kind, since time.Time) (map[string]bool, error)
	UsersNotifiedForCarrierSince(ctx context.Context, carrierID string, exceptIncident int64, since time.Time) (map[string]bool, error)
}

// PlannerConfig is the notify section of the config, as the planner needs it.
type PlannerConfig struct {
	DeliverTo            []string // "alternate", "primary"
	DefaultLanguage      string   // "ja" | "en"
	RequireApproval      bool
	SendResolved         bool
	PreparednessInterval time.Duration
	// RenotifyAfter skips users mailed about the same carrier's outage
	// within it; 0 = mail them for every incident.
	RenotifyAfter time.Duration
	// MailDomain is the right-hand side of generated Message-IDs.
	MailDomain string
}

// Carrier is what the planner knows of the carrier of an incident.
type Carrier struct {
	ID     string
	Name   string // "au / UQ mobile / povo"
	Covers Coverage
	// AllPhones says the carrier covers every phone (match.all_phones):
	// a telephony provider or the organisation's PBX, worded so in mails.
	AllPhones bool
}

// PlanResult counts what a planning pass found and did.
type PlanResult struct {
	CampaignID int64
	Affected   int // users the incident covers
	Planned    int // messages that exist for them after this pass
	New        int // messages added by this pass
	NoAddress  int // affected users with no address to mail: logged, skipped
	Recent     int // affected users skipped: mailed about this carrier within RenotifyAfter
	BySegment  map[carrierwatch.Segment]int
	Messages   []carrierwatch.Message // what was (or, dry, would be) planned
}

// Planner turns incidents into outbox messages. It is safe for use by one
// goroutine at a time.
type Planner struct {
	Store   PlanStore
	Config  PlannerConfig
	Logger  *slog.Logger
	Methods *MethodLog
	Now     func() time.Time
}

func (p *Planner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Planner) initialState() carrierwatch.CampaignState {
	if p.Config.RequireApproval {
		return carrierwatch.CampaignAwaitingApproval
	}
	return carrierwatch.CampaignActive
}

// NewMessageID returns a unique Message-ID (without angle brackets).
func NewMessageID(kind carrierwatch.Kind, incidentID int64, domain string) string {
	var b [10]byte
	rand.Read(b[:])
	if domain == "" {
		domain = "carrierwatch.invalid"
	}
	return fmt.Sprintf("cw-%s-%d-%s@%s", kind, incidentID, hex.EncodeToString(b[:]), domain)
}

func maskAll(ps []carrierwatch.Phone) []string {
	var out []string
	for _, p := range ps {
		out = append(out, phone.Mask(p.E164))
	}
	return out
}

// callOnly returns the phones of ps that take voice calls only: Entra
// sends text messages to the mobile phone method alone.
func callOnly(ps []carrierwatch.Phone) []carrierwatch.Phone {
	var out []carrierwatch.Phone
	for _, p := range ps {
		if p.Type == carrierwatch.PhoneAlternateMobile || p.Type == carrierwatch.PhoneOffice {
			out = append(out, p)
		}
	}
	return out
}

// PlanOutage plans the outage mail of an open incident for every affected
// user. Users already planned for this incident are skipped, so calling it
// again after the scope grew adds only the newly affected. With dry set,
// nothing is written and the messages are returned.
func (p *Planner) PlanOutage(ctx context.Context, inc *carrierwatch.Incident, c Carrier, dry bool) (*PlanResult, error) {
	users, err := p.Store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan outage mails for incident %d: %w", inc.ID, err)
	}
	res := &PlanResult{BySegment: map[carrierwatch.Segment]int{}}
	var campaign *carrierwatch.Campaign
	if !dry {
		campaign, _, err = p.Store.EnsureCampaign(ctx, inc.ID, carrierwatch.KindOutage, p.initialState())
		if err != nil {
			return nil, fmt.Errorf("plan outage mails for incident %d: %w", inc.ID, err)
		}
		res.CampaignID = campaign.ID
		if campaign.State == carrierwatch.CampaignCancelled {
			p.Logger.Info("outage campaign is cancelled; planning nothing more", "incident_id", inc.ID, "campaign_id", campaign.ID)
			return res, nil
		}
	}
	var recent map[string]bool
	if p.Config.RenotifyAfter > 0 {
		recent, err = p.Store.UsersNotifiedForCarrierSince(ctx, c.ID, inc.ID, p.now().Add(-p.Config.RenotifyAfter))
		if err != nil {
			return nil, fmt.Errorf("plan outage mails for incident %d: %w", inc.ID, err)
		}
	}
	for i := range users {
		u := &users[i]
		a := Assess(u, c.Covers, p.Methods, p.Logger)
		if !a.Affected {
			continue
		}
		res.Affected++
		if recent[u.ID] {
			res.Recent++
			continue
		}
		to := Addresses(u, p.Config.DeliverTo)
		if len(to) == 0 {
			res.NoAddress++
			p.Logger.Warn("affected user has no address to mail; add otherMails or mail in the directory", "user_id", u.ID, "segment", a.Segment)
			continue
		}
		data, _ := json.Marshal(templates.Recipient{
			DisplayName: u.DisplayName, UPN: u.UPN, CarrierName: c.Name, AllPhones: c.AllPhones,
			AffectedPhones: maskAll(a.Covered), OtherPhones: maskAll(a.Other), OtherCallOnly: maskAll(callOnly(a.Other)),
		})
		m := carrierwatch.Message{
			IncidentID: inc.ID, Kind: carrierwatch.KindOutage, Segment: a.Segment, UserID: u.ID,
			Lang: templates.Language(u.PreferredLanguage, p.Config.DefaultLanguage), To: to,
			MessageID: NewMessageID(carrierwatch.KindOutage, inc.ID, p.Config.MailDomain), Data: data,
		}
		if campaign != nil {
			m.CampaignID = campaign.ID
		}
		res.BySegment[a.Segment]++
		res.Messages = append(res.Messages, m)
	}
	res.Planned = len(res.Messages)
	if dry {
		return res, nil
	}
	if res.New, err = p.Store.PlanMessages(ctx, res.Messages); err != nil {
		return nil, fmt.Errorf("plan outage mails for incident %d: %w", inc.ID, err)
	}
	if res.New > 0 {
		p.Logger.Info("outage mails planned", "incident_id", inc.ID, "carrier", c.ID, "campaign_id", campaign.ID,
			"new", res.New, "affected", res.Affected, "app", res.BySegment[carrierwatch.SegmentApp],
			"other_phone", res.BySegment[carrierwatch.SegmentOtherPhone], "phone_only", res.BySegment[carrierwatch.SegmentPhoneOnly],
			"no_address", res.NoAddress, "mailed_recently", res.Recent, "campaign_state", campaign.State)
	}
	return res, nil
}

// PlanResolved plans the follow-up of a resolved incident: unsent outage
// mails are cancelled, and everyone who was sent one gets the resolved mail
// (when notify.send_resolved is on).
func (p *Planner) PlanResolved(ctx context.Context, inc *carrierwatch.Incident) (*PlanResult, error) {
	res := &PlanResult{BySegment: map[carrierwatch.Segment]int{}}
	n, err := p.Store.CancelPending(ctx, inc.ID, carrierwatch.KindOutage, "incident resolved before it was sent")
	if err != nil {
		return nil, err
	}
	if n > 0 {
		p.Logger.Info("unsent outage mails cancelled: the incident is resolved", "incident_id", inc.ID, "cancelled", n)
	}
	if !p.Config.SendResolved {
		return res, nil
	}
	sent, err := p.Store.SentMessages(ctx, inc.ID, carrierwatch.KindOutage)
	if err != nil {
		return nil, fmt.Errorf("plan resolved mails for incident %d: %w", inc.ID, err)
	}
	if len(sent) == 0 {
		return res, nil
	}
	campaign, _, err := p.Store.EnsureCampaign(ctx, inc.ID, carrierwatch.KindResolved, p.initialState())
	if err != nil {
		return nil, fmt.Errorf("plan resolved mails for incident %d: %w", inc.ID, err)
	}
	res.CampaignID = campaign.ID
	if campaign.State == carrierwatch.CampaignCancelled {
		return res, nil
	}
	for _, s := range sent {
		res.Messages = append(res.Messages, carrierwatch.Message{
			CampaignID: campaign.ID, IncidentID: inc.ID, Kind: carrierwatch.KindResolved, Segment: s.Segment,
			UserID: s.UserID, Lang: s.Lang, To: s.To, Data: s.Data,
			MessageID: NewMessageID(carrierwatch.KindResolved, inc.ID, p.Config.MailDomain),
		})
		res.BySegment[s.Segment]++
	}
	res.Affected, res.Planned = len(sent), len(res.Messages)
	if res.New, err = p.Store.PlanMessages(ctx, res.Messages); err != nil {
		return nil, fmt.Errorf("plan resolved mails for incident %d: %w", inc.ID, err)
	}
	if res.New > 0 {
		p.Logger.Info("resolved mails planned", "incident_id", inc.ID, "campaign_id", campaign.ID, "new", res.New)
	}
	return res, nil
}

// PlanPreparedness plans one preparedness mail to every phone-only user
// who has not had one, nor a resolved follow-up, within
// notify.preparedness_interval. With dry set, nothing is written.
func (p *Planner) PlanPreparedness(ctx context.Context, dry bool) (*PlanResult, error) {
	users, err := p.Store.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan preparedness mails: %w", err)
	}
	since := p.now().Add(-p.Config.PreparednessInterval)
	recent, err := p.Store.UsersWithKindSince(ctx, carrierwatch.KindPreparedness, since)
	if err != nil {
		return nil, fmt.Errorf("plan preparedness mails: %w", err)
	}
	// A resolved follow-up already asked them to register an app or
	// passkey now: it counts as their preparedness mail.
	followedUp, err := p.Store.UsersWithKindSince(ctx, carrierwatch.KindResolved, since)
	if err != nil {
		return nil, fmt.Errorf("plan preparedness mails: %w", err)
	}
	for id := range followedUp {
		recent[id] = true
	}
	res := &PlanResult{BySegment: map[carrierwatch.Segment]int{}}
	var skippedRecent int
	for i := range users {
		u := &users[i]
		if !PhoneOnly(u, p.Methods, p.Logger) {
			continue
		}
		res.Affected++
		if recent[u.ID] {
			skippedRecent++
			continue
		}
		to := Addresses(u, p.Config.DeliverTo)
		if len(to) == 0 {
			res.NoAddress++
			p.Logger.Warn("phone-only user has no address to mail", "user_id", u.ID)
			continue
		}
		var phones []string
		for _, ph := range u.Phones {
			if ph.E164 != "" {
				phones = append(phones, phone.Mask(ph.E164))
			}
		}
		data, _ := json.Marshal(templates.Recipient{DisplayName: u.DisplayName, UPN: u.UPN, AffectedPhones: phones})
		res.Messages = append(res.Messages, carrierwatch.Message{
			Kind: carrierwatch.KindPreparedness, Segment: carrierwatch.SegmentPhoneOnly, UserID: u.ID,
			Lang: templates.Language(u.PreferredLanguage, p.Config.DefaultLanguage), To: to, Data: data,
			MessageID: NewMessageID(carrierwatch.KindPreparedness, 0, p.Config.MailDomain),
		})
		res.BySegment[carrierwatch.SegmentPhoneOnly]++
	}
	res.Planned = len(res.Messages)
	if dry || len(res.Messages) == 0 {
		p.Logger.Info("preparedness planning", "dry_run", dry, "phone_only_users", res.Affected, "to_mail", res.Planned,
			"mailed_within_interval", skippedRecent, "no_address", res.NoAddress)
		return res, nil
	}
	campaign, _, err := p.Store.EnsureCampaign(ctx, 0, carrierwatch.KindPreparedness, p.initialState())
	if err != nil {
		return nil, fmt.Errorf("plan preparedness mails: %w", err)
	}
	res.CampaignID = campaign.ID
	for i := range res.Messages {
		res.Messages[i].CampaignID = campaign.ID
	}
	if res.New, err = p.Store.PlanMessages(ctx, res.Messages); err != nil {
		return nil, fmt.Errorf("plan preparedness mails: %w", err)
	}
	p.Logger.Info("preparedness mails planned", "campaign_id", campaign.ID, "new", res.New, "phone_only_users", res.Affected,
		"mailed_within_interval", skippedRecent, "no_address", res.NoAddress, "campaign_state", campaign.State)
	return res, nil
}
