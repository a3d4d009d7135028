package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// This file holds the reads the web console needs at scale: one user, a
// search, one page of a campaign's messages, counts by segment and
// language, and the exposure measured at each directory sync.

// FindUsers returns at most limit users whose id is q, or whose UPN, display
// name, primary or alternate address contains q (case-insensitive for
// ASCII), or who registered the phone e164 (when not empty), ordered by UPN.
func (s *DB) FindUsers(ctx context.Context, q, e164 string, limit int) ([]carrierwatch.User, error) {
	like := "%" + likeEscape(q) + "%"
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM users
		WHERE id = ? OR upn LIKE ? ESCAPE '\' OR display_name LIKE ? ESCAPE '\' OR mail LIKE ? ESCAPE '\' OR alternate_emails LIKE ? ESCAPE '\'
			OR id IN (SELECT user_id FROM phones WHERE e164 = ?)
		ORDER BY upn, id LIMIT ?`, q, like, like, like, like, e164, limit)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find users: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	out := make([]carrierwatch.User, 0, len(ids))
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, nil
}

// User returns one cached user with phones and methods, or ErrNotFound.
func (s *DB) User(ctx context.Context, id string) (*carrierwatch.User, error) {
	var u carrierwatch.User
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var alt string
		err := tx.QueryRowContext(ctx, `SELECT id, upn, display_name, mail, alternate_emails, preferred_language FROM users WHERE id = ?`, id).
			Scan(&u.ID, &u.UPN, &u.DisplayName, &u.Mail, &alt, &u.PreferredLanguage)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if alt != "" && alt != "[]" {
			_ = json.Unmarshal([]byte(alt), &u.AlternateEmails)
		}
		rows, err := tx.QueryContext(ctx, `SELECT type, raw, e164, extension FROM phones WHERE user_id = ? ORDER BY position`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var p carrierwatch.Phone
			if err := rows.Scan(&p.Type, &p.Raw, &p.E164, &p.Extension); err != nil {
				rows.Close()
				return err
			}
			u.Phones = append(u.Phones, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT name FROM methods WHERE user_id = ? ORDER BY name`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			u.Methods = append(u.Methods, name)
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("user %q: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("user %q: %w", id, err)
	}
	return &u, nil
}

// CountUsers counts the cached users.
func (s *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// Message returns one outbox message, or ErrNotFound.
func (s *DB) Message(ctx context.Context, id int64) (*carrierwatch.Message, error) {
	m, err := scanMessage(s.db.QueryRowContext(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("message %d: %w", id, err)
	}
	return m, nil
}

// MessagePage selects one page of a campaign's messages.
type MessagePage struct {
	CampaignID int64
	State      carrierwatch.MessageState // "" for every state
	// Retrying selects the pending messages that failed at least once
	// (the retry queue), soonest first.
	Retrying bool
	AfterID  int64 // messages with a larger id only (the next page)
	Limit    int
}

// CampaignMessages returns one page of a campaign's messages in id order
// (the retry queue in the order of their next attempt).
func (s *DB) CampaignMessages(ctx context.Context, p MessagePage) ([]*carrierwatch.Message, error) {
	where := []string{"campaign_id = ?"}
	args := []any{p.CampaignID}
	order := "id"
	switch {
	case p.Retrying:
		where = append(where, "state = 'pending'", "attempts > 0")
		order = "next_at, id"
	case p.State != "":
		where, args = append(where, "state = ?"), append(args, string(p.State))
	}
	if p.AfterID > 0 {
		where, args = append(where, "id > ?"), append(args, p.AfterID)
	}
	if p.Limit <= 0 {
		p.Limit = 50
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageCols+` FROM messages WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+fmt.Sprintf(` LIMIT %d`, p.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("campaign %d messages: %w", p.CampaignID, err)
	}
	defer rows.Close()
	var out []*carrierwatch.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("campaign %d messages: %w", p.CampaignID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SentSince counts the messages sent at or after each of the times (the
// current rate), in one pass.
func (s *DB) SentSince(ctx context.Context, times ...time.Time) ([]int, error) {
	if len(times) == 0 {
		return nil, nil
	}
	first := times[0]
	cols := make([]string, len(times))
	args := make([]any, 0, len(times)+1)
	for i, t := range times {
		if t.Before(first) {
			first = t
		}
		cols[i] = "coalesce(sum(sent_at >= ?), 0)"
		args = append(args, ms(t))
	}
	args = append(args, ms(first))
	out := make([]int, len(times))
	dest := make([]any, len(times))
	for i := range out {
		dest[i] = &out[i]
	}
	if err := s.db.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM messages WHERE state = 'sent' AND sent_at >= ?`, args...).Scan(dest...); err != nil {
		return nil, fmt.Errorf("count sent messages: %w", err)
	}
	return out, nil
}

// IncidentCampaigns returns the campaigns of one incident with their
// counts, newest first; unlike Campaigns it counts only their messages.
func (s *DB) IncidentCampaigns(ctx context.Context, incidentID int64) ([]*carrierwatch.Campaign, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE incident_id = ? ORDER BY id DESC`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident %d campaigns: %w", incidentID, err)
	}
	var out []*carrierwatch.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("incident %d campaigns: %w", incidentID, err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range out {
		if c.Counts, err = s.counts(ctx, `WHERE campaign_id = ?`, c.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
