package carrierwatch

import "time"

// AuditAction names what an admin (or the daemon on an admin's behalf) did.
type AuditAction string

// Audited actions: every state change an admin makes through the service
// layer, whichever front end (CLI, web console) asked for it.
const (
	AuditIncidentOpened    AuditAction = "incident.open"
	AuditIncidentResolved  AuditAction = "incident.resolve"
	AuditCampaignApproved  AuditAction = "campaign.approve"
	AuditCampaignCancelled AuditAction = "campaign.cancel"
	AuditPreparedness      AuditAction = "campaign.preparedness"
	AuditDirectorySynced   AuditAction = "directory.sync"
)

// AuditEntry is one line of the audit trail: who did what, when, to which
// incident or campaign. IncidentID is set for a campaign of an incident too,
// so an incident's page shows the approvals of its campaigns.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string // "cli:aoki", "console:aoki@example.ac.jp"
	Action     AuditAction
	IncidentID int64 // 0 when none
	CampaignID int64 // 0 when none
	Detail     string
}
