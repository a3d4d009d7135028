package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/carrierwatch/carrierwatch"
)

// RecordAudit appends e to the audit trail, stamped with the store's clock
// when e.At is zero, and returns it with its ID.
func (s *DB) RecordAudit(ctx context.Context, e carrierwatch.AuditEntry) (carrierwatch.AuditEntry, error) {
	if e.Actor == "" {
		return e, fmt.Errorf("audit %s: no actor", e.Action)
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, incident_id, campaign_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(e.At), e.Actor, string(e.Action), e.IncidentID, e.CampaignID, e.Detail)
	if err != nil {
		return e, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	e.ID, err = res.LastInsertId()
	return e, err
}

// AuditFilter selects audit entries; the zero value selects all.
type AuditFilter struct {
	IncidentID int64
	CampaignID int64
	Limit      int // 0 = no limit
}

// Audit returns the audit entries matching f, oldest first.
func (s *DB) Audit(ctx context.Context, f AuditFilter) ([]carrierwatch.AuditEntry, error) {
	var where []string
	var args []any
	if f.IncidentID != 0 {
		where, args = append(where, "incident_id = ?"), append(args, f.IncidentID)
	}
	if f.CampaignID != 0 {
		where, args = append(where, "campaign_id = ?"), append(args, f.CampaignID)
	}
	q := `SELECT id, at, actor, action, incident_id, campaign_id, detail FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	defer rows.Close()
	var out []carrierwatch.AuditEntry
	for rows.Next() {
		var e carrierwatch.AuditEntry
		var at int64
		var action string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &action, &e.IncidentID, &e.CampaignID, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit trail: %w", err)
		}
		e.At, e.Action = fromMS(at), carrierwatch.AuditAction(action)
		out = append(out, e)
	}
	return out, rows.Err()
}
