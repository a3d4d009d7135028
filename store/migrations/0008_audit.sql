-- The audit trail: who opened or resolved an incident, approved or
-- cancelled a campaign, from which front end. Written by the service layer.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    incident_id INTEGER NOT NULL DEFAULT 0,
    campaign_id INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_incident ON audit_log (incident_id) WHERE incident_id <> 0;
CREATE INDEX audit_log_campaign ON audit_log (campaign_id) WHERE campaign_id <> 0;
