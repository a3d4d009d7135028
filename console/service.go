package console

import (
	"context"

	"github.com/carrierwatch/carrierwatch"
	"github.com/carrierwatch/carrierwatch/service"
	"github.com/carrierwatch/carrierwatch/store"
)

// Service is everything the console asks of the service layer; a
// *service.Service satisfies it. Actions take the signed-in actor for the
// audit trail.
type Service interface {
	StatusReader
	IncidentService
	CampaignService
	HelpDesk
	ExposureReader
	Previewer
}

var _ Service = (*service.Service)(nil)

// StatusReader tells what the daemon is doing: sources, directory sync,
// relay and the configured carriers.
type StatusReader interface {
	Status(ctx context.Context) (*service.Status, error)
	Relay(ctx context.Context) (service.RelayStatus, error)
}

// IncidentService reads and changes incidents.
type IncidentService interface {
	Incidents(ctx context.Context, openOnly bool) ([]*carrierwatch.Incident, error)
	Incident(ctx context.Context, id int64) (*service.IncidentDetail, error)
	IncidentEvents(ctx context.Context, id int64) ([]service.IncidentEvent, error)
	OpenIncident(ctx context.Context, carrierID, note, actor string) (*service.OpenedIncident, error)
	ResolveIncident(ctx context.Context, id int64, note, actor string) (*service.ResolvedIncident, error)
}

// CampaignService reads campaigns and approves or cancels them.
type CampaignService interface {
	Campaigns(ctx context.Context) ([]*carrierwatch.Campaign, error)
	Campaign(ctx context.Context, id int64) (*service.CampaignDetail, error)
	CampaignProgress(ctx context.Context, id int64) (*carrierwatch.Campaign, error)
	CampaignMessages(ctx context.Context, p store.MessagePage) ([]*carrierwatch.Message, error)
	CampaignBreakdown(ctx context.Context, id int64) ([]store.SegmentCount, error)
	ApproveCampaign(ctx context.Context, id int64, actor string) (*carrierwatch.Campaign, error)
	CancelCampaign(ctx context.Context, id int64, actor string) (*carrierwatch.Campaign, error)
}

// HelpDesk finds users and shows what they were sent.
type HelpDesk interface {
	FindUsers(ctx context.Context, q string, limit int) ([]carrierwatch.User, error)
	User(ctx context.Context, id string) (*service.UserDetail, error)
	RenderMessage(ctx context.Context, id int64) (*carrierwatch.Message, *carrierwatch.Mail, error)
}

// ExposureReader tells who would be hit by each carrier's outage, as
// measured at the directory syncs.
type ExposureReader interface {
	ExposureHistory(ctx context.Context) (*service.ExposureHistory, error)
}

// Previewer renders mails with sample data.
type Previewer interface {
	Preview(ctx context.Context, r service.PreviewRequest) (*service.Preview, error)
}
