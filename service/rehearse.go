package service

import (
	"context"
	"errors"
	"sort"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/pipeline"
	"github.com/carrierwatch/carrierwatch/store"
)

// Rehearse runs one cycle as if an admin had approved everything: every
// campaign awaiting approval is approved (audited as actor), then Once
// runs without waiting for retries; messages still waiting are no error.
// It is for a service on a throw-away copy of the state with a transport
// that records ("once --dry-run"): on the real state it would send.
func (s *Service) Rehearse(ctx context.Context, actor string) (*pipeline.OnceResult, error) {
	camps, err := s.db.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range camps {
		if c.State == carrierwatch.CampaignAwaitingApproval {
			if _, err := s.ApproveCampaign(ctx, c.ID, actor); err != nil {
				return nil, err
			}
		}
	}
	res, err := s.Once(ctx, 0)
	if errors.Is(err, pipeline.ErrUndelivered) {
		err = nil
	}
	return res, err
}

// Recipient is who one mail is for: the user of the outbox message it was
// rendered from.
type Recipient struct {
	Mail   *carrierwatch.Mail
	UserID string // "" when no message has the mail's Message-ID
	UPN    string
}

// Recipients says who each mail is for, ordered by incident (stable
// otherwise).
func (s *Service) Recipients(ctx context.Context, mails []*carrierwatch.Mail) ([]Recipient, error) {
	msgs, err := s.db.Messages(ctx, store.MessageFilter{})
	if err != nil {
		return nil, err
	}
	userOf := make(map[string]string, len(msgs))
	for _, m := range msgs {
		userOf[m.MessageID] = m.UserID
	}
	users, err := s.db.Users(ctx)
	if err != nil {
		return nil, err
	}
	upn := make(map[string]string, len(users))
	for _, u := range users {
		upn[u.ID] = u.UPN
	}
	out := make([]Recipient, len(mails))
	for i, m := range mails {
		id := userOf[m.MessageID]
		out[i] = Recipient{Mail: m, UserID: id, UPN: upn[id]}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Mail.IncidentID < out[j].Mail.IncidentID })
	return out, nil
}
