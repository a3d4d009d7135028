package service

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/notifier"
	"github.com/carrierwatch/carrierwatch/store"
)

// MessageFilter selects messages for the message history.
type MessageFilter = store.MessageFilter

// Campaigns lists every campaign, newest first.
func (s *Service) Campaigns(ctx context.Context) ([]*carrierwatch.Campaign, error) {
	return s.db.Campaigns(ctx)
}

// FailureGroup is the failed messages of a campaign that got the same
// reply from the mail server.
type FailureGroup struct {
	// Reply is the server's reply (or the reason carrierwatch gave up),
	// on one line, the local part of addresses hidden.
	Reply string
	Count int
}

// CampaignDetail is one campaign with why its failed messages failed and
// who acted on it.
type CampaignDetail struct {
	Campaign *carrierwatch.Campaign
	// Failures groups the failed messages by reply, most frequent first.
	Failures []FailureGroup
	Audit    []carrierwatch.AuditEntry
}

// Campaign returns one campaign with its failures grouped by the server's
// reply and its audit trail.
func (s *Service) Campaign(ctx context.Context, id int64) (*CampaignDetail, error) {
	c, err := s.db.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &CampaignDetail{Campaign: c}
	if c.Counts.Failed > 0 {
		failed, err := s.db.Messages(ctx, store.MessageFilter{CampaignID: id, State: carrierwatch.MessageFailed})
		if err != nil {
			return nil, err
		}
		d.Failures = GroupFailures(failed)
	}
	if d.Audit, err = s.db.Audit(ctx, store.AuditFilter{CampaignID: id}); err != nil {
		return nil, err
	}
	return d, nil
}

// localPart matches an address, keeping its domain: a reply names the
// recipient it refused, and the same reply for two users is one group.
var localPart = regexp.MustCompile(`[^\s<>"'(),;:\[\]@]+@([A-Za-z0-9.-]+)`)

// refusalPrefix is the dispatcher's count of whole-message refusals in
// front of a reply ("[relay refused 2x] "): not part of the reply.
var refusalPrefix = regexp.MustCompile(`^\[relay refused \d+x\]\s*`)

// GroupFailures groups messages by their last error, the local part of
// every address in it hidden (so "550 5.1.1 <a@x>: unknown" and
// "550 5.1.1 <b@x>: unknown" count together as "550 5.1.1 <***@x>:
// unknown"), most frequent first.
func GroupFailures(msgs []*carrierwatch.Message) []FailureGroup {
	count := map[string]int{}
	for _, m := range msgs {
		reply := refusalPrefix.ReplaceAllString(m.LastError, "")
		reply = carrierwatch.OneLine(localPart.ReplaceAllString(reply, "***@$1"), 200)
		if reply == "" {
			reply = "(no reply recorded)"
		}
		count[reply]++
	}
	out := make([]FailureGroup, 0, len(count))
	for r, n := range count {
		out = append(out, FailureGroup{Reply: r, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return strings.Compare(out[i].Reply, out[j].Reply) < 0
	})
	return out
}

// ApproveCampaign releases a campaign awaiting approval for sending.
func (s *Service) ApproveCampaign(ctx context.Context, id int64, actor string) (*carrierwatch.Campaign, error) {
	c, err := s.db.ApproveCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: carrierwatch.AuditCampaignApproved, IncidentID: c.IncidentID, CampaignID: c.ID})
	s.wake()
	s.PublishPages(ctx)
	return c, nil
}

// CancelCampaign cancels every message of a campaign not sent yet.
func (s *Service) CancelCampaign(ctx context.Context, id int64, actor string) (*carrierwatch.Campaign, error) {
	c, err := s.db.CancelCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: carrierwatch.AuditCampaignCancelled, IncidentID: c.IncidentID, CampaignID: c.ID})
	s.PublishPages(ctx)
	return c, nil
}

// PlanPreparedness plans the preparedness campaign: phone-only users not
// mailed within notify.preparedness_interval. With dry, it only counts and
// lists them (and records nothing).
func (s *Service) PlanPreparedness(ctx context.Context, dry bool, actor string) (*notifier.PlanResult, error) {
	r, err := s.engine.Planner().PlanPreparedness(ctx, dry)
	if err != nil || dry {
		return r, err
	}
	s.audit(ctx, carrierwatch.AuditEntry{Actor: actor, Action: carrierwatch.AuditPreparedness, CampaignID: r.CampaignID})
	s.wake()
	return r, nil
}

// Messages returns the messages matching f, oldest first: the help desk's
// "did this user get a mail, and which?".
func (s *Service) Messages(ctx context.Context, f MessageFilter) ([]*carrierwatch.Message, error) {
	return s.db.Messages(ctx, f)
}

// OutboxCounts counts every message in the outbox by state.
func (s *Service) OutboxCounts(ctx context.Context) (carrierwatch.MessageCounts, error) {
	return s.db.OutboxCounts(ctx)
}
