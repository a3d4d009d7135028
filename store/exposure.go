package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ExposureSnapshot is the exposure measured after one directory sync.
type ExposureSnapshot struct {
	ID       int64
	TakenAt  time.Time
	Users    int
	Carriers []CarrierExposure
	// PrepMailed counts the phone-only users sent a preparedness mail so
	// far; PrepRegistered how many of them now have a way in without a
	// phone.
	PrepMailed, PrepRegistered int
}

// CarrierExposure counts the users an outage of one carrier would hit, by
// segment; users with no address to mail count only in NoAddress.
type CarrierExposure struct {
	CarrierID, Name                       string
	App, OtherPhone, PhoneOnly, NoAddress int
}

// RecordExposure stores a snapshot.
func (s *DB) RecordExposure(ctx context.Context, snap ExposureSnapshot) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO exposure_snapshots (taken_at, users, prep_mailed, prep_registered) VALUES (?, ?, ?, ?)`,
			ms(snap.TakenAt), snap.Users, snap.PrepMailed, snap.PrepRegistered)
		if err != nil {
			return fmt.Errorf("record exposure: %w", err)
		}
		id, _ := r.LastInsertId()
		for _, c := range snap.Carriers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO exposure_carriers (snapshot_id, carrier_id, name, app, other_phone, phone_only, no_address) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				id, c.CarrierID, c.Name, c.App, c.OtherPhone, c.PhoneOnly, c.NoAddress); err != nil {
				return fmt.Errorf("record exposure: %w", err)
			}
		}
		return nil
	})
}

// LatestExposure returns the newest snapshot with its carriers, or
// ErrNotFound when none was taken.
func (s *DB) LatestExposure(ctx context.Context) (*ExposureSnapshot, error) {
	var snap ExposureSnapshot
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT id, taken_at, users, prep_mailed, prep_registered FROM exposure_snapshots ORDER BY id DESC LIMIT 1`).
		Scan(&snap.ID, &at, &snap.Users, &snap.PrepMailed, &snap.PrepRegistered)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("exposure: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("exposure: %w", err)
	}
	snap.TakenAt = fromMS(at)
	rows, err := s.db.QueryContext(ctx, `SELECT carrier_id, name, app, other_phone, phone_only, no_address FROM exposure_carriers WHERE snapshot_id = ? ORDER BY rowid`, snap.ID)
	if err != nil {
		return nil, fmt.Errorf("exposure: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c CarrierExposure
		if err := rows.Scan(&c.CarrierID, &c.Name, &c.App, &c.OtherPhone, &c.PhoneOnly, &c.NoAddress); err != nil {
			return nil, fmt.Errorf("exposure: %w", err)
		}
		snap.Carriers = append(snap.Carriers, c)
	}
	return &snap, rows.Err()
}

// PreparednessPoint is the preparedness figures of one snapshot.
type PreparednessPoint struct {
	At                 time.Time
	Mailed, Registered int
}

// PreparednessHistory returns the preparedness figures of the last limit
// snapshots, oldest first.
func (s *DB) PreparednessHistory(ctx context.Context, limit int) ([]PreparednessPoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT taken_at, prep_mailed, prep_registered FROM
		(SELECT id, taken_at, prep_mailed, prep_registered FROM exposure_snapshots ORDER BY id DESC LIMIT ?) ORDER BY id`, limit)
	if err != nil {
		return nil, fmt.Errorf("preparedness history: %w", err)
	}
	defer rows.Close()
	var out []PreparednessPoint
	for rows.Next() {
		var p PreparednessPoint
		var at int64
		if err := rows.Scan(&at, &p.Mailed, &p.Registered); err != nil {
			return nil, fmt.Errorf("preparedness history: %w", err)
		}
		p.At = fromMS(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// PreparednessMailed returns the users sent a preparedness mail.
func (s *DB) PreparednessMailed(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT user_id FROM messages WHERE kind = 'preparedness' AND state = 'sent'`)
	if err != nil {
		return nil, fmt.Errorf("preparedness mailed: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}
