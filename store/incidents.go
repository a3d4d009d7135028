package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

// Verdicts as the detector names them; the store keeps them as text.
const (
	VerdictOutage      = "outage"
	VerdictResolved    = "resolved"
	VerdictNotResolved = "not-resolved"
)

// Signal is one new notice of a carrier with the rules' verdict on it.
type Signal struct {
	CarrierID string
	SourceID  string
	Hash      string // content identity: the same hash is never a second signal
	Key       string
	Title     string
	Link      string
	Published time.Time
	Verdict   string
	Rule      string
	// RecordOnly records the notice as seen without acting on it (the
	// first poll after a source's extraction settings changed).
	RecordOnly bool
	// Scope and Areas are the detector's reading of the notice's extent;
	// an empty Scope is national.
	Scope carrierwatch.Scope
	Areas []string
	// StartedAt is the start the notice states; zero when it names none.
	StartedAt time.Time
	// Thread is the key of the notice thread the notice belongs to (its
	// link or GUID); ThreadTitle its title without status marks.
	Thread      string
	ThreadTitle string
	// Partial marks a not-resolved notice that says the outage partly
	// recovered (the incident's PartlyRecovered), rather than that it
	// goes on.
	Partial bool
	// NoOpen lets the notice update or resolve the incident of its thread
	// but never open one: a notice published after the fact, a regional
	// notice under notify.regional: ignore.
	NoOpen bool
	// DataOnly: the notice names data service only (no voice, no SMS).
	DataOnly bool
}

func (sig Signal) scope() carrierwatch.Scope {
	if sig.Scope == "" {
		return carrierwatch.ScopeNational
	}
	return sig.Scope
}

// Outcome says what a signal did.
type Outcome struct {
	Duplicate bool // the same content was seen before: nothing happened
	Pending   bool // an outage signal waiting for confirm_polls
	Opened    bool
	Updated   bool
	Resolved  bool
	// ScopeChanged: an update widened the incident from regional to
	// national (scope never narrows).
	ScopeChanged bool
	Incident     *carrierwatch.Incident // the incident touched, if any
	// AlsoResolved are further incidents a carrier-wide recovery ended.
	AlsoResolved []*carrierwatch.Incident
}

// ApplySignal records a notice and moves the carrier's incident: an outage
// or not-resolved signal opens one (when confirm is false, see ConfirmPending)
// or updates the open one; a resolved signal resolves the open one. A
// not-resolved signal never resolves; a signal seen before does nothing.
func (s *DB) ApplySignal(ctx context.Context, sig Signal, confirm bool) (Outcome, error) {
	var out Outcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notices
			(source_id, hash, key, carrier_id, verdict, rule, title, link, published_at, seen_at, thread, scope, areas, thread_title)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sig.SourceID, sig.Hash, sig.Key, sig.CarrierID, sig.Verdict, sig.Rule, sig.Title, sig.Link, ms(sig.Published), now,
			sig.Thread, string(sig.scope()), areasJSON(sig.Areas), sig.ThreadTitle)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out.Duplicate = true
			return nil
		}
		if sig.RecordOnly {
			// Seen, but never a pending outage for confirm_polls either.
			_, err := tx.ExecContext(ctx, `UPDATE notices SET dismissed = 1 WHERE source_id = ? AND hash = ?`, sig.SourceID, sig.Hash)
			return err
		}
		open, err := openIncidents(ctx, tx, sig.CarrierID)
		if err != nil {
			return err
		}
		inc, err := threadIncident(ctx, tx, open, sig)
		if err != nil {
			return err
		}
		switch sig.Verdict {
		case VerdictOutage, VerdictNotResolved:
			if inc == nil && sig.scope() == carrierwatch.ScopeNational {
				// The same national outage told by another source or
				// notice of the carrier: one incident, one mail.
				inc = firstNational(open)
			}
			if inc == nil {
				if sig.NoOpen {
					return nil
				}
				if confirm {
					out.Pending = true
					return nil
				}
				inc, err = insertIncident(ctx, tx, sig, "", false, now)
				if err != nil {
					return err
				}
				out.Opened = true
				if err := addEvent(ctx, tx, inc.ID, now, "open", sig); err != nil {
					return err
				}
			} else {
				out.Updated = true
				out.ScopeChanged = inc.Scope == carrierwatch.ScopeRegional && sig.scope() == carrierwatch.ScopeNational
				if err := addEvent(ctx, tx, inc.ID, now, "update", sig); err != nil {
					return err
				}
				if err := updateIncident(ctx, tx, inc, sig, now); err != nil {
					return err
				}
			}
		case VerdictResolved:
			var ends []*carrierwatch.Incident
			switch {
			case inc != nil:
				ends = []*carrierwatch.Incident{inc}
			case sig.scope() == carrierwatch.ScopeNational:
				// An explicit carrier-wide recovery ends the carrier's
				// national incidents, never a regional one: another
				// area's recovery is not this area's.
				// So does it end regional incidents that named no place
				// (「一部の地域で…」): the carrier's vague words for what
				// it now says is over.
				for _, o := range open {
					if !o.Manual && (o.Scope == carrierwatch.ScopeNational || unnamedArea(o.Areas)) {
						ends = append(ends, o)
					}
				}
			default:
				// A regional recovery from another notice ends only
				// incidents of exactly its areas.
				for _, o := range open {
					if o.Scope == carrierwatch.ScopeRegional && !o.Manual && sameAreas(o.Areas, sig.Areas) {
						ends = append(ends, o)
					}
				}
			}
			if len(ends) == 0 {
				// A recovery before confirmation: the pending outage
				// notices of this thread (of the carrier, for a national
				// recovery) can no longer open anything.
				q := `UPDATE notices SET dismissed = 1 WHERE carrier_id = ? AND incident_id IS NULL AND verdict IN ('outage', 'not-resolved')`
				args := []any{sig.CarrierID}
				if sig.scope() != carrierwatch.ScopeNational {
					q += ` AND (key = ? OR (thread_title <> '' AND thread_title = ?))`
					args = append(args, sig.Key, sig.ThreadTitle)
				}
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return err
				}
				_, err = tx.ExecContext(ctx, `DELETE FROM carrier_state WHERE carrier_id = ?`, sig.CarrierID)
				return err
			}
			for _, e := range ends {
				if err := addEvent(ctx, tx, e.ID, now, "resolve", sig); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE incidents SET state = 'resolved', partly_recovered = 0, updated_at = ?, resolved_at = ? WHERE id = ?`, now, now, e.ID); err != nil {
					return err
				}
				if e != ends[0] {
					r, err := getIncident(ctx, tx, e.ID)
					if err != nil {
						return err
					}
					out.AlsoResolved = append(out.AlsoResolved, r)
				}
			}
			inc = ends[0]
			out.Resolved = true
		default:
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notices SET incident_id = ? WHERE source_id = ? AND hash = ?`, inc.ID, sig.SourceID, sig.Hash); err != nil {
			return err
		}
		inc, err = getIncident(ctx, tx, inc.ID)
		out.Incident = inc
		return err
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("apply signal from %s: %w", sig.SourceID, err)
	}
	return out, nil
}

// ConfirmPoll counts one poll cycle of a carrier for confirm_polls. present
// holds the content hashes of the outage notices the carrier's sources
// publish now. The count goes on only while the pending notice (the newest
// unconfirmed outage notice) is among them; a withdrawn one is dismissed.
// When the count reaches need, the incident opens from it.
func (s *DB) ConfirmPoll(ctx context.Context, carrierID string, present []string, need int) (Outcome, error) {
	var out Outcome
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		var pending Signal
		var published int64
		var scope, areas string
		err := tx.QueryRowContext(ctx, `SELECT source_id, hash, key, title, link, verdict, rule, published_at, thread, scope, areas, thread_title FROM notices
			WHERE carrier_id = ? AND incident_id IS NULL AND dismissed = 0 AND verdict IN ('outage', 'not-resolved') ORDER BY seen_at DESC LIMIT 1`, carrierID).
			Scan(&pending.SourceID, &pending.Hash, &pending.Key, &pending.Title, &pending.Link, &pending.Verdict, &pending.Rule, &published,
				&pending.Thread, &scope, &areas, &pending.ThreadTitle)
		if errors.Is(err, sql.ErrNoRows) {
			_, err := tx.ExecContext(ctx, `DELETE FROM carrier_state WHERE carrier_id = ?`, carrierID)
			return err
		}
		if err != nil {
			return err
		}
		pending.CarrierID = carrierID
		pending.Scope = carrierwatch.Scope(scope)
		_ = json.Unmarshal([]byte(areas), &pending.Areas)
		open, err := openIncidents(ctx, tx, carrierID)
		if err != nil {
			return err
		}
		if inc, err := threadIncident(ctx, tx, open, pending); err != nil {
			return err
		} else if inc != nil || pending.scope() == carrierwatch.ScopeNational && firstNational(open) != nil {
			// Its thread (or the carrier's national outage) is open already.
			_, err := tx.ExecContext(ctx, `DELETE FROM carrier_state WHERE carrier_id = ?`, carrierID)
			return err
		}
		if !slices.Contains(present, pending.Hash) {
			if _, err := tx.ExecContext(ctx, `UPDATE notices SET dismissed = 1 WHERE source_id = ? AND hash = ?`, pending.SourceID, pending.Hash); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM carrier_state WHERE carrier_id = ?`, carrierID)
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `INSERT INTO carrier_state (carrier_id, outage_polls) VALUES (?, 1)
			ON CONFLICT(carrier_id) DO UPDATE SET outage_polls = outage_polls + 1 RETURNING outage_polls`, carrierID).Scan(&n); err != nil {
			return err
		}
		if n < need {
			out.Pending = true
			return nil
		}
		inc, err := insertIncident(ctx, tx, pending, "", false, now)
		if err != nil {
			return err
		}
		if err := addEvent(ctx, tx, inc.ID, now, "open", pending); err != nil {
			return err
		}
		// The pending notices of its thread belong to it; other threads'
		// pending notices wait for their own confirmation.
		if _, err := tx.ExecContext(ctx, `UPDATE notices SET incident_id = ? WHERE carrier_id = ? AND incident_id IS NULL AND dismissed = 0 AND verdict IN ('outage', 'not-resolved')
			AND (key = ? OR (thread_title <> '' AND thread_title = ?) OR (source_id = ? AND hash = ?))`, inc.ID, carrierID, pending.Key, pending.ThreadTitle, pending.SourceID, pending.Hash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM carrier_state WHERE carrier_id = ?`, carrierID); err != nil {
			return err
		}
		out.Opened = true
		out.Incident = inc
		return nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("confirm outage of %s: %w", carrierID, err)
	}
	return out, nil
}

// OpenIncident declares a national incident by hand. If the carrier
// already has an open national incident it is returned with created false;
// an open regional incident does not stand in for it.
func (s *DB) OpenIncident(ctx context.Context, carrierID, title, note string) (inc *carrierwatch.Incident, created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// An admin declares a carrier-wide outage: an open national
		// incident is it; a regional one is not.
		inc, err = scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE carrier_id = ? AND state = 'open'
			AND (scope = 'national' OR (manual = 1 AND thread = '')) ORDER BY id LIMIT 1`, carrierID))
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		now := ms(s.now())
		inc, err = insertIncident(ctx, tx, Signal{CarrierID: carrierID, Title: title}, note, true, now)
		if err != nil {
			return err
		}
		created = true
		return addEvent(ctx, tx, inc.ID, now, "open", Signal{Title: title, Rule: "admin", Verdict: VerdictOutage})
	})
	if err != nil {
		return nil, false, fmt.Errorf("open incident for %s: %w", carrierID, err)
	}
	return inc, created, nil
}

// ResolveIncident resolves an open incident by hand.
func (s *DB) ResolveIncident(ctx context.Context, id int64, note string) (*carrierwatch.Incident, error) {
	var inc *carrierwatch.Incident
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		inc, err = getIncident(ctx, tx, id)
		if err != nil {
			return err
		}
		if inc.State != carrierwatch.IncidentOpen {
			return fmt.Errorf("incident %d is already resolved", id)
		}
		now := ms(s.now())
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET state = 'resolved', updated_at = ?, resolved_at = ? WHERE id = ?`, now, now, id); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, id, now, "resolve", Signal{Title: note, Rule: "admin", Verdict: VerdictResolved}); err != nil {
			return err
		}
		inc, err = getIncident(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resolve incident %d: %w", id, err)
	}
	return inc, nil
}

// Incident returns one incident.
func (s *DB) Incident(ctx context.Context, id int64) (*carrierwatch.Incident, error) {
	inc, err := getIncident(ctx, s.db, id)
	if err != nil {
		return nil, fmt.Errorf("incident %d: %w", id, err)
	}
	return inc, nil
}

// Incidents lists incidents, newest first; openOnly limits to open ones.
func (s *DB) Incidents(ctx context.Context, openOnly bool) ([]*carrierwatch.Incident, error) {
	q := `SELECT ` + incidentCols + ` FROM incidents`
	if openOnly {
		q += ` WHERE state = 'open'`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []*carrierwatch.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// IncidentEvent is one entry of an incident's history.
type IncidentEvent struct {
	At       time.Time
	Kind     string // open | update | resolve
	Verdict  string
	SourceID string
	Title    string
	Link     string
	Rule     string
}

// IncidentEvents returns an incident's history, oldest first.
func (s *DB) IncidentEvents(ctx context.Context, id int64) ([]IncidentEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, kind, verdict, source_id, title, link, rule FROM incident_events WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("incident %d events: %w", id, err)
	}
	defer rows.Close()
	var out []IncidentEvent
	for rows.Next() {
		var e IncidentEvent
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Verdict, &e.SourceID, &e.Title, &e.Link, &e.Rule); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const incidentCols = `id, carrier_id, state, title, url, note, manual, opened_at, updated_at, resolved_at, scope, areas, partly_recovered, started_at, thread, data_only`

type scanner interface{ Scan(dest ...any) error }

func scanIncident(r scanner) (*carrierwatch.Incident, error) {
	var inc carrierwatch.Incident
	var manual, partly, dataOnly int
	var opened, updated, resolved, started int64
	var areas string
	if err := r.Scan(&inc.ID, &inc.CarrierID, &inc.State, &inc.Title, &inc.URL, &inc.Note, &manual, &opened, &updated, &resolved,
		&inc.Scope, &areas, &partly, &started, &inc.Thread, &dataOnly); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	inc.Manual = manual != 0
	inc.PartlyRecovered = partly != 0
	inc.DataOnly = dataOnly != 0
	inc.OpenedAt, inc.UpdatedAt, inc.ResolvedAt, inc.StartedAt = fromMS(opened), fromMS(updated), fromMS(resolved), fromMS(started)
	if err := json.Unmarshal([]byte(areas), &inc.Areas); err != nil {
		return nil, fmt.Errorf("incident %d: areas %q: %w", inc.ID, areas, err)
	}
	if len(inc.Areas) == 0 {
		inc.Areas = nil
	}
	return &inc, nil
}

func getIncident(ctx context.Context, q queryer, id int64) (*carrierwatch.Incident, error) {
	return scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
}

// openIncident returns one open incident of the carrier: a national one
// first, the oldest first.
func openIncident(ctx context.Context, q queryer, carrierID string) (*carrierwatch.Incident, error) {
	return scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE carrier_id = ? AND state = 'open'
		ORDER BY scope = 'national' DESC, id LIMIT 1`, carrierID))
}

// openIncidents returns the carrier's open incidents, oldest first.
func openIncidents(ctx context.Context, tx *sql.Tx, carrierID string) ([]*carrierwatch.Incident, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE carrier_id = ? AND state = 'open' ORDER BY id`, carrierID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*carrierwatch.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// threadIncident returns the open incident of sig's notice thread: the one
// opened by a notice with the same key (link or GUID), or one that a notice
// with that key already updated, or the one whose thread title is sig's.
// nil when the notice starts a thread of its own.
func threadIncident(ctx context.Context, tx *sql.Tx, open []*carrierwatch.Incident, sig Signal) (*carrierwatch.Incident, error) {
	if len(open) == 0 {
		return nil, nil
	}
	for _, o := range open {
		if sig.Thread != "" && o.Thread == sig.Thread {
			return o, nil
		}
	}
	if sig.Key != "" {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT n.incident_id FROM notices n JOIN incidents i ON i.id = n.incident_id
			WHERE n.carrier_id = ? AND n.key = ? AND i.state = 'open' ORDER BY n.seen_at DESC LIMIT 1`, sig.CarrierID, sig.Key).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		for _, o := range open {
			if o.ID == id {
				return o, nil
			}
		}
	}
	if sig.ThreadTitle != "" {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM incidents WHERE carrier_id = ? AND state = 'open' AND thread_title = ? ORDER BY id LIMIT 1`,
			sig.CarrierID, sig.ThreadTitle).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		for _, o := range open {
			if o.ID == id {
				return o, nil
			}
		}
	}
	return nil, nil
}

// firstNational returns the oldest open national incident that a notice
// opened (not an admin), or nil.
func firstNational(open []*carrierwatch.Incident) *carrierwatch.Incident {
	for _, o := range open {
		if o.Scope == carrierwatch.ScopeNational && !o.Manual {
			return o
		}
	}
	return nil
}

// unnamedArea reports whether areas name no place, only 一部エリア.
func unnamedArea(areas []string) bool {
	return len(areas) == 1 && areas[0] == AreaSomewhere
}

// AreaSomewhere is the area of a regional notice that names no place
// (detector.AreaSomewhere).
const AreaSomewhere = "一部エリア"

// sameAreas reports whether a and b name the same areas, in any order.
func sameAreas(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// insertIncident opens an incident from sig (its carrier, title, link,
// scope, areas, start and thread).
func insertIncident(ctx context.Context, tx *sql.Tx, sig Signal, note string, manual bool, now int64) (*carrierwatch.Incident, error) {
	m := 0
	if manual {
		m = 1
	}
	partly := 0
	if sig.Partial {
		partly = 1
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO incidents (carrier_id, state, title, url, note, manual, opened_at, updated_at, scope, areas, partly_recovered, started_at, thread, thread_title, data_only)
		VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sig.CarrierID, sig.Title, sig.Link, note, m, now, now, string(sig.scope()), areasJSON(sig.Areas), partly, ms(sig.StartedAt), sig.Thread, sig.ThreadTitle, b2i(sig.DataOnly))
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	return getIncident(ctx, tx, id)
}

// updateIncident records a later notice of inc's thread: whether it says
// partial recovery, its scope and areas when it names them (a regional
// outage that spreads becomes national), and the stated start when the
// incident had none.
func updateIncident(ctx context.Context, tx *sql.Tx, inc *carrierwatch.Incident, sig Signal, now int64) error {
	partly := 0
	if sig.Partial {
		partly = 1
	}
	scope, areas := string(inc.Scope), areasJSON(inc.Areas)
	switch {
	case sig.Scope == "":
	case inc.Scope == carrierwatch.ScopeNational && sig.Scope == carrierwatch.ScopeRegional:
		// A national outage's updates name the areas still out or the
		// ones recovered first (西日本は…, 東日本は…): it stays national
		// until its recovery. Scope only widens.
	default:
		scope, areas = string(sig.Scope), areasJSON(sig.Areas)
	}
	started := ms(inc.StartedAt)
	if started == 0 {
		started = ms(sig.StartedAt)
	}
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET updated_at = ?, partly_recovered = ?, scope = ?, areas = ?, started_at = ?, data_only = ? WHERE id = ?`,
		now, partly, scope, areas, started, b2i(sig.DataOnly), inc.ID)
	return err
}

// areasJSON is the stored form of areas: a JSON array, never null.
func areasJSON(areas []string) string {
	if len(areas) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(areas)
	return string(b)
}

func addEvent(ctx context.Context, tx *sql.Tx, incidentID, now int64, kind string, sig Signal) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO incident_events (incident_id, at, kind, verdict, source_id, title, link, rule) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		incidentID, now, kind, sig.Verdict, sig.SourceID, sig.Title, sig.Link, sig.Rule)
	return err
}
