package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// EnsureCampaign returns the campaign of kind for an incident, creating it
// in state if there is none. incidentID 0 (preparedness) always creates a
// new campaign.
func (s *DB) EnsureCampaign(ctx context.Context, incidentID int64, kind carrierwatch.Kind, state carrierwatch.CampaignState) (c *carrierwatch.Campaign, created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if incidentID != 0 {
			c, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE incident_id = ? AND kind = ?`, incidentID, string(kind)))
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		var inc any
		if incidentID != 0 {
			inc = incidentID
		}
		now := ms(s.now())
		approved := int64(0)
		if state == carrierwatch.CampaignActive {
			approved = now
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO campaigns (incident_id, kind, state, created_at, approved_at) VALUES (?, ?, ?, ?, ?)`, inc, string(kind), string(state), now, approved)
		if err != nil {
			return err
		}
		id, _ := r.LastInsertId()
		created = true
		c, err = scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("ensure %s campaign: %w", kind, err)
	}
	return c, created, nil
}

const campaignCols = `id, coalesce(incident_id, 0), kind, state, created_at, approved_at, cancelled_at`

func scanCampaign(r scanner) (*carrierwatch.Campaign, error) {
	var c carrierwatch.Campaign
	var created, approved, cancelled int64
	if err := r.Scan(&c.ID, &c.IncidentID, &c.Kind, &c.State, &created, &approved, &cancelled); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	c.CreatedAt, c.ApprovedAt, c.CancelledAt = fromMS(created), fromMS(approved), fromMS(cancelled)
	return &c, nil
}

// DedupeKey is the outbox's idempotency key: one message per (incident,
// user, kind); a preparedness message is unique within its campaign.
func DedupeKey(m *carrierwatch.Message) string {
	if m.Kind == carrierwatch.KindPreparedness {
		return fmt.Sprintf("preparedness:c%d:%s", m.CampaignID, m.UserID)
	}
	return fmt.Sprintf("%s:%d:%s", m.Kind, m.IncidentID, m.UserID)
}

// PlanMessages records messages in the outbox as pending, skipping those
// whose dedupe key exists already. It returns how many were new.
func (s *DB) PlanMessages(ctx context.Context, msgs []carrierwatch.Message) (int, error) {
	const chunk = 2000
	inserted := 0
	scopes := map[int64]bool{} // incident id → regional
	for start := 0; start < len(msgs); start += chunk {
		end := min(start+chunk, len(msgs))
		err := s.tx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO messages
				(campaign_id, incident_id, kind, segment, user_id, lang, addresses, message_id, dedupe_key, state, created_at, data, priority)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			now := ms(s.now())
			for i := start; i < end; i++ {
				m := &msgs[i]
				to, _ := json.Marshal(m.To)
				regional, ok := scopes[m.IncidentID]
				if !ok && m.IncidentID != 0 {
					var scope string
					_ = tx.QueryRowContext(ctx, `SELECT scope FROM incidents WHERE id = ?`, m.IncidentID).Scan(&scope)
					regional = scope == string(carrierwatch.ScopeRegional)
					scopes[m.IncidentID] = regional
				}
				r, err := st.ExecContext(ctx, m.CampaignID, m.IncidentID, string(m.Kind), string(m.Segment), m.UserID, m.Lang, string(to), m.MessageID, DedupeKey(m), now, m.Data,
					Priority(m.Kind, m.Segment, regional))
				if err != nil {
					return err
				}
				n, _ := r.RowsAffected()
				inserted += int(n)
			}
			return nil
		})
		if err != nil {
			return inserted, fmt.Errorf("plan messages: %w", err)
		}
	}
	return inserted, nil
}

const messageCols = `id, campaign_id, incident_id, kind, segment, user_id, lang, addresses, message_id, state, attempts, refusals, priority, next_at, last_error, created_at, sent_at, data`

func scanMessage(r scanner) (*carrierwatch.Message, error) {
	var m carrierwatch.Message
	var to string
	var next, created, sent int64
	if err := r.Scan(&m.ID, &m.CampaignID, &m.IncidentID, &m.Kind, &m.Segment, &m.UserID, &m.Lang, &to, &m.MessageID, &m.State, &m.Attempts, &m.Refusals, &m.Priority, &next, &m.LastError, &created, &sent, &m.Data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	_ = json.Unmarshal([]byte(to), &m.To)
	m.NextAt, m.CreatedAt, m.SentAt = fromMS(next), fromMS(created), fromMS(sent)
	return &m, nil
}

// Priority is the claim order of a message, lowest first, fixed when it
// is planned: admin alerts; outage mails of national incidents, phone-only
// users (locked out) first, then other-phone, then app; the same of
// regional incidents (an approved regional campaign waits behind a
// national one); resolved follow-ups (never before an outage mail); then
// preparedness mails.
func Priority(kind carrierwatch.Kind, segment carrierwatch.Segment, regional bool) int {
	p := 50
	switch kind {
	case carrierwatch.KindAdmin:
		return 0
	case carrierwatch.KindOutage:
		p = 10
	case carrierwatch.KindResolved:
		p = 30
	default:
		return p
	}
	if regional {
		p += 10
	}
	switch segment {
	case carrierwatch.SegmentPhoneOnly:
	case carrierwatch.SegmentOtherPhone:
		p++
	default:
		p += 2
	}
	return p
}

// ClaimMessages marks up to limit sendable messages (pending, due, in an
// active campaign) as sending and returns them, by Priority, then oldest
// first. It is one
// statement, so it is atomic without a transaction.
func (s *DB) ClaimMessages(ctx context.Context, limit int) ([]*carrierwatch.Message, error) {
	st, err := s.stmt(ctx, `UPDATE messages SET state = 'sending', attempts = attempts + 1
		WHERE id IN (SELECT m.id FROM messages m JOIN campaigns c ON c.id = m.campaign_id
			WHERE m.state = 'pending' AND m.next_at <= ? AND c.state = 'active'
			AND NOT (m.kind = 'outage' AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = m.incident_id AND i.state = 'resolved'))
			ORDER BY m.priority, m.next_at, m.id LIMIT ?)
		RETURNING `+messageCols)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	rows, err := st.QueryContext(ctx, ms(s.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	defer rows.Close()
	var out []*carrierwatch.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("claim messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	// RETURNING yields rows in no particular order.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		if !out[i].NextAt.Equal(out[j].NextAt) {
			return out[i].NextAt.Before(out[j].NextAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// MarkSent records delivered messages in one statement (one commit).
func (s *DB) MarkSent(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	st, err := s.stmt(ctx, `UPDATE messages SET state = 'sent', sent_at = ?, last_error = '' WHERE id IN (SELECT value FROM json_each(?))`)
	if err != nil {
		return fmt.Errorf("mark %d messages sent: %w", len(ids), err)
	}
	list, _ := json.Marshal(ids)
	if _, err := st.ExecContext(ctx, ms(s.now()), string(list)); err != nil {
		return fmt.Errorf("mark %d messages sent: %w", len(ids), err)
	}
	return nil
}

// MarkRetry puts a message back to pending, due at next, with the error
// and the count of the relay's refusals of the whole message. A message
// cancelled meanwhile stays cancelled.
func (s *DB) MarkRetry(ctx context.Context, id int64, next time.Time, errText string, refusals int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE messages SET state = 'pending', next_at = ?, last_error = ?, refusals = ? WHERE id = ? AND state = 'sending'`, ms(next), errText, refusals, id)
	if err != nil {
		return fmt.Errorf("mark message %d for retry: %w", id, err)
	}
	return nil
}

// Release hands a claimed message that was never put on the wire back to
// pending, due at at, and takes back the attempt its claim counted: it is
// not shown as waiting for a retry and its backoff does not grow. Its last
// error is kept. A message no longer sending (cancelled meanwhile) is left
// alone.
func (s *DB) Release(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE messages SET state = 'pending', next_at = ?, attempts = max(attempts - 1, 0) WHERE id = ? AND state = 'sending'`, ms(at), id)
	if err != nil {
		return fmt.Errorf("release message %d: %w", id, err)
	}
	return nil
}

// MarkFailed records a permanent failure with the server's reply.
func (s *DB) MarkFailed(ctx context.Context, id int64, errText string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE messages SET state = 'failed', last_error = ? WHERE id = ?`, errText, id)
	if err != nil {
		return fmt.Errorf("mark message %d failed: %w", id, err)
	}
	return nil
}

// RequeueSending returns messages left in state sending (the daemon died
// while they were on the wire) to pending. They may have been delivered:
// at most mail.concurrency of them can reach a user twice.
func (s *DB) RequeueSending(ctx context.Context) (int, error) {
	r, err := s.db.ExecContext(ctx, `UPDATE messages SET state = 'pending' WHERE state = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("requeue messages: %w", err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// Campaign returns one campaign with its message counts.
func (s *DB) Campaign(ctx context.Context, id int64) (*carrierwatch.Campaign, error) {
	c, err := scanCampaign(s.db.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	counts, err := s.counts(ctx, `WHERE campaign_id = ?`, id)
	if err != nil {
		return nil, err
	}
	c.Counts = counts
	return c, nil
}

// Campaigns lists campaigns, newest first, with counts.
func (s *DB) Campaigns(ctx context.Context) ([]*carrierwatch.Campaign, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	var out []*carrierwatch.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list campaigns: %w", err)
		}
		out = append(out, c)
	}
	rows.Close()
	for _, c := range out {
		if c.Counts, err = s.counts(ctx, `WHERE campaign_id = ?`, c.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OutboxCounts counts every message by state.
func (s *DB) OutboxCounts(ctx context.Context) (carrierwatch.MessageCounts, error) {
	return s.counts(ctx, ``)
}

// ActiveOutboxCounts counts the messages of active campaigns by state:
// what the dispatcher can still send, leaving out campaigns awaiting
// approval (and cancelled ones).
func (s *DB) ActiveOutboxCounts(ctx context.Context) (carrierwatch.MessageCounts, error) {
	return s.counts(ctx, `WHERE campaign_id IN (SELECT id FROM campaigns WHERE state = 'active')`)
}

func (s *DB) counts(ctx context.Context, where string, args ...any) (carrierwatch.MessageCounts, error) {
	var c carrierwatch.MessageCounts
	rows, err := s.db.QueryContext(ctx, `SELECT state, attempts > 0 AND state = 'pending', count(*) FROM messages `+where+` GROUP BY 1, 2`, args...)
	if err != nil {
		return c, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var waiting bool
		var n int
		if err := rows.Scan(&st, &waiting, &n); err != nil {
			return c, err
		}
		c.Total += n
		switch carrierwatch.MessageState(st) {
		case carrierwatch.MessagePending:
			c.Pending += n
			if waiting {
				c.Waiting += n
			}
		case carrierwatch.MessageSending:
			c.Sending += n
		case carrierwatch.MessageSent:
			c.Sent += n
		case carrierwatch.MessageFailed:
			c.Failed += n
		case carrierwatch.MessageCancelled:
			c.Cancelled += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	return c, s.addPruned(ctx, &c, where, args...)
}

// ApproveCampaign lets a campaign awaiting approval send.
func (s *DB) ApproveCampaign(ctx context.Context, id int64) (*carrierwatch.Campaign, error) {
	r, err := s.db.ExecContext(ctx, `UPDATE campaigns SET state = 'active', approved_at = ? WHERE id = ? AND state = 'awaiting_approval'`, ms(s.now()), id)
	if err != nil {
		return nil, fmt.Errorf("approve campaign %d: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		c, err := s.Campaign(ctx, id)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("approve campaign %d: it is %s, not awaiting approval", id, c.State)
	}
	return s.Campaign(ctx, id)
}

// CancelCampaign stops a campaign: its unsent messages are cancelled.
func (s *DB) CancelCampaign(ctx context.Context, id int64) (*carrierwatch.Campaign, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if c.State == carrierwatch.CampaignCancelled {
			return fmt.Errorf("it is already cancelled")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = 'cancelled', cancelled_at = ? WHERE id = ?`, ms(s.now()), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE messages SET state = 'cancelled' WHERE campaign_id = ? AND state = 'pending'`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel campaign %d: %w", id, err)
	}
	return s.Campaign(ctx, id)
}

// CancelPending cancels the unsent messages of kind for an incident (an
// outage mail is pointless once the incident is resolved).
func (s *DB) CancelPending(ctx context.Context, incidentID int64, kind carrierwatch.Kind, reason string) (int, error) {
	r, err := s.db.ExecContext(ctx, `UPDATE messages SET state = 'cancelled', last_error = ? WHERE incident_id = ? AND kind = ? AND state = 'pending'`, reason, incidentID, string(kind))
	if err != nil {
		return 0, fmt.Errorf("cancel pending %s messages of incident %d: %w", kind, incidentID, err)
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// MessageFilter selects messages for history views.
type MessageFilter struct {
	CampaignID int64
	IncidentID int64
	UserID     string // exact id, or a substring of the addresses/UPN via Query
	Query      string
	Kind       carrierwatch.Kind
	State      carrierwatch.MessageState
	Limit      int // 0 = no limit
}

// Messages returns messages matching f, oldest first.
func (s *DB) Messages(ctx context.Context, f MessageFilter) ([]*carrierwatch.Message, error) {
	var where []string
	var args []any
	if f.CampaignID != 0 {
		where, args = append(where, "campaign_id = ?"), append(args, f.CampaignID)
	}
	if f.IncidentID != 0 {
		where, args = append(where, "incident_id = ?"), append(args, f.IncidentID)
	}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Query != "" {
		where, args = append(where, "(user_id = ? OR addresses LIKE ? ESCAPE '\\' OR user_id IN (SELECT id FROM users WHERE upn LIKE ? ESCAPE '\\'))"),
			append(args, f.Query, "%"+likeEscape(f.Query)+"%", "%"+likeEscape(f.Query)+"%")
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	q := `SELECT ` + messageCols + ` FROM messages`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []*carrierwatch.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UsersWithKindSince returns the ids of users who have a message of kind
// that is not cancelled or failed, created at or after since.
func (s *DB) UsersWithKindSince(ctx context.Context, kind carrierwatch.Kind, since time.Time) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT user_id FROM messages WHERE kind = ? AND created_at >= ? AND state NOT IN ('cancelled', 'failed')`, string(kind), ms(since))
	if err != nil {
		return nil, fmt.Errorf("recent %s messages: %w", kind, err)
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

// NextDue returns when the earliest pending message of an active campaign
// is due, and whether there is one.
func (s *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(m.next_at) FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.state = 'pending' AND c.state = 'active'`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due message: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(next.Int64), true, nil
}

// SentMessages returns the messages of kind for an incident that were
// delivered, oldest first.
func (s *DB) SentMessages(ctx context.Context, incidentID int64, kind carrierwatch.Kind) ([]*carrierwatch.Message, error) {
	return s.Messages(ctx, MessageFilter{IncidentID: incidentID, Kind: kind, State: carrierwatch.MessageSent})
}

// UsersNotifiedForCarrierSince returns the users who have an outage
// message (not cancelled or failed) created at or after since for an
// incident of carrierID other than exceptIncident, and were not since
// told that incident is over (their last word must not be "resolved").
func (s *DB) UsersNotifiedForCarrierSince(ctx context.Context, carrierID string, exceptIncident int64, since time.Time) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT m.user_id FROM messages m JOIN incidents i ON i.id = m.incident_id
		WHERE i.carrier_id = ? AND m.incident_id != ? AND m.kind = 'outage' AND m.created_at >= ? AND m.state NOT IN ('cancelled', 'failed')
		AND NOT EXISTS (SELECT 1 FROM messages r WHERE r.incident_id = m.incident_id AND r.user_id = m.user_id AND r.kind = 'resolved' AND r.state = 'sent')`,
		carrierID, exceptIncident, ms(since))
	if err != nil {
		return nil, fmt.Errorf("users notified about %s: %w", carrierID, err)
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

// SentWindow returns how many messages were sent at or after since, and the
// time the oldest of them was sent (the daily limit's window).
func (s *DB) SentWindow(ctx context.Context, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT count(*), min(sent_at) FROM messages WHERE state = 'sent' AND sent_at >= ?`, ms(since)).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count sent messages: %w", err)
	}
	return n, fromMS(oldest.Int64), nil
}

// UnsentBySegment counts the pending and sending messages of a campaign by
// segment (for an estimate of how long they take).
func (s *DB) UnsentBySegment(ctx context.Context, campaignID int64) (map[carrierwatch.Segment]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT segment, count(*) FROM messages WHERE campaign_id = ? AND state IN ('pending', 'sending') GROUP BY 1`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("count unsent messages of campaign %d: %w", campaignID, err)
	}
	defer rows.Close()
	out := map[carrierwatch.Segment]int{}
	for rows.Next() {
		var seg string
		var n int
		if err := rows.Scan(&seg, &n); err != nil {
			return nil, err
		}
		out[carrierwatch.Segment(seg)] = n
	}
	return out, rows.Err()
}
