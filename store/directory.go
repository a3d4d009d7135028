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
	"github.com/carrierwatch/carrierwatch/directory"
)

// ErrShrink is returned when a directory update would remove more users,
// or leave fewer users with a phone, than ApplyOptions allows: a truncated
// export, a broken filter or a revoked permission is far likelier than half
// the organisation leaving, or dropping its MFA phone, at once.
var ErrShrink = errors.New("directory update would remove too many users")

// ApplyOptions guard a directory update.
type ApplyOptions struct {
	// MaxRemoveFraction is the largest share of cached users an update
	// may remove, and, for an update with complete auth data (AuthFull),
	// the largest share of cached users with a phone that may end up
	// without one (0 = the default 0.5; 1 = no limit).
	MaxRemoveFraction float64
}

// minPhoneUsersGuarded is the number of cached users with a phone below
// which the phone shrink guard stays off: in a tiny directory a few
// changes are a large share.
const minPhoneUsersGuarded = 20

// ApplyResult counts what an update changed.
type ApplyResult struct {
	Users, Upserted, Removed int
}

// ApplyDirectory applies a provider's update in one transaction: either
// all of it or none of it is stored.
func (s *DB) ApplyDirectory(ctx context.Context, u *directory.Update, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	maxFrac := opts.MaxRemoveFraction
	if maxFrac == 0 {
		maxFrac = 0.5
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ms(s.now())
		var before, phonesBefore int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&before); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(DISTINCT user_id) FROM phones`).Scan(&phonesBefore); err != nil {
			return err
		}
		up, err := tx.PrepareContext(ctx, `INSERT INTO users (id, upn, display_name, mail, alternate_emails, preferred_language, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET upn = excluded.upn, display_name = excluded.display_name, mail = excluded.mail,
			alternate_emails = excluded.alternate_emails, preferred_language = excluded.preferred_language, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, usr := range u.Users {
			if usr.ID == "" {
				continue
			}
			alt, _ := json.Marshal(nonNil(usr.AlternateEmails))
			if _, err := up.ExecContext(ctx, usr.ID, usr.UPN, usr.DisplayName, usr.Mail, string(alt), usr.PreferredLanguage, now); err != nil {
				return fmt.Errorf("store user: %w", err)
			}
			res.Upserted++
		}
		if u.Full {
			if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS sync_ids (id TEXT PRIMARY KEY)`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM temp.sync_ids`); err != nil {
				return err
			}
			ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO temp.sync_ids (id) VALUES (?)`)
			if err != nil {
				return err
			}
			for _, usr := range u.Users {
				if _, err := ins.ExecContext(ctx, usr.ID); err != nil {
					ins.Close()
					return err
				}
			}
			ins.Close()
			var gone int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id NOT IN (SELECT id FROM temp.sync_ids)`).Scan(&gone); err != nil {
				return err
			}
			if before > 0 && float64(gone) > maxFrac*float64(before) {
				return fmt.Errorf("%w: %d of %d cached users would go (limit %.0f%%); if this is right, sync with --allow-shrink", ErrShrink, gone, before, maxFrac*100)
			}
			r, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id NOT IN (SELECT id FROM temp.sync_ids)`)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			res.Removed += int(n)
		}
		if len(u.Removed) > 0 {
			del, err := tx.PrepareContext(ctx, `DELETE FROM users WHERE id = ?`)
			if err != nil {
				return err
			}
			for _, id := range u.Removed {
				r, err := del.ExecContext(ctx, id)
				if err != nil {
					del.Close()
					return err
				}
				n, _ := r.RowsAffected()
				res.Removed += int(n)
			}
			del.Close()
			if !u.Full && before > 0 && float64(res.Removed) > maxFrac*float64(before) {
				return fmt.Errorf("%w: %d of %d cached users would go (limit %.0f%%)", ErrShrink, res.Removed, before, maxFrac*100)
			}
		}
		if err := applyAuth(ctx, tx, u); err != nil {
			return err
		}
		if u.AuthFull && phonesBefore >= minPhoneUsersGuarded {
			// Counted after the fact, inside the transaction: whatever
			// emptied the phones (a provider that lost its permission,
			// a CSV without the phone column), the result is refused.
			var phonesAfter int
			if err := tx.QueryRowContext(ctx, `SELECT count(DISTINCT user_id) FROM phones`).Scan(&phonesAfter); err != nil {
				return err
			}
			if lost := phonesBefore - phonesAfter; float64(lost) > maxFrac*float64(phonesBefore) {
				return fmt.Errorf("%w: users with a phone: %d → %d (limit %.0f%% fewer); if this is right, sync with --allow-shrink",
					ErrShrink, phonesBefore, phonesAfter, maxFrac*100)
			}
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&res.Users)
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply directory update: %w", err)
	}
	return res, nil
}

func applyAuth(ctx context.Context, tx *sql.Tx, u *directory.Update) error {
	if u.AuthFull {
		if _, err := tx.ExecContext(ctx, `DELETE FROM phones`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM methods`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reset_emails`); err != nil {
			return err
		}
	}
	delP, err := tx.PrepareContext(ctx, `DELETE FROM phones WHERE user_id = ?`)
	if err != nil {
		return err
	}
	defer delP.Close()
	delM, err := tx.PrepareContext(ctx, `DELETE FROM methods WHERE user_id = ?`)
	if err != nil {
		return err
	}
	defer delM.Close()
	insP, err := tx.PrepareContext(ctx, `INSERT INTO phones (user_id, position, type, raw, e164, extension)
		SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`)
	if err != nil {
		return err
	}
	defer insP.Close()
	insM, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO methods (user_id, name)
		SELECT ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`)
	if err != nil {
		return err
	}
	defer insM.Close()
	delR, err := tx.PrepareContext(ctx, `DELETE FROM reset_emails WHERE user_id = ?`)
	if err != nil {
		return err
	}
	defer delR.Close()
	insR, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO reset_emails (user_id, address)
		SELECT ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`)
	if err != nil {
		return err
	}
	defer insR.Close()
	for _, a := range u.Auth {
		if !u.AuthFull {
			if _, err := delP.ExecContext(ctx, a.UserID); err != nil {
				return err
			}
			if _, err := delM.ExecContext(ctx, a.UserID); err != nil {
				return err
			}
			if _, err := delR.ExecContext(ctx, a.UserID); err != nil {
				return err
			}
		}
		if a.ResetEmail != "" {
			if _, err := insR.ExecContext(ctx, a.UserID, a.ResetEmail, a.UserID); err != nil {
				return fmt.Errorf("store reset e-mail: %w", err)
			}
		}
		for i, p := range a.Phones {
			if _, err := insP.ExecContext(ctx, a.UserID, i, string(p.Type), p.Raw, p.E164, p.Extension, a.UserID); err != nil {
				return fmt.Errorf("store phone: %w", err)
			}
		}
		for _, m := range a.Methods {
			if _, err := insM.ExecContext(ctx, a.UserID, m, a.UserID); err != nil {
				return fmt.Errorf("store method: %w", err)
			}
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readTx runs fn in a read-only transaction: one consistent snapshot that
// takes no write lock. The DSN's _txlock=immediate makes s.tx start with
// BEGIN IMMEDIATE, which takes the database's write lock even for a read:
// a long read in another process (directory stats during a campaign) would
// then hold off this daemon's writes past busy_timeout. With ReadOnly the
// driver issues a plain (deferred) BEGIN, and in WAL mode a reader never
// blocks a writer. fn must not write.
func (s *DB) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// usersReadHook, when set (tests), runs inside Users' transaction between
// reading the users and reading their phones.
var usersReadHook func()

// Users returns every cached user with phones and methods, ordered by id.
// A user's self-service reset e-mail comes first in AlternateEmails
// (before otherMails; never twice, never the primary address).
// It reads one snapshot without taking the write lock, so a long read does
// not hold off writers in other processes.
func (s *DB) Users(ctx context.Context) ([]carrierwatch.User, error) {
	var users []carrierwatch.User
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, upn, display_name, mail, alternate_emails, preferred_language FROM users ORDER BY id`)
		if err != nil {
			return err
		}
		index := map[string]int{}
		for rows.Next() {
			var u carrierwatch.User
			var alt string
			if err := rows.Scan(&u.ID, &u.UPN, &u.DisplayName, &u.Mail, &alt, &u.PreferredLanguage); err != nil {
				rows.Close()
				return err
			}
			if alt != "" && alt != "[]" {
				_ = json.Unmarshal([]byte(alt), &u.AlternateEmails)
			}
			index[u.ID] = len(users)
			users = append(users, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if usersReadHook != nil {
			usersReadHook()
		}
		rows, err = tx.QueryContext(ctx, `SELECT user_id, type, raw, e164, extension FROM phones ORDER BY user_id, position`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var p carrierwatch.Phone
			if err := rows.Scan(&id, &p.Type, &p.Raw, &p.E164, &p.Extension); err != nil {
				rows.Close()
				return err
			}
			if i, ok := index[id]; ok {
				users[i].Phones = append(users[i].Phones, p)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT user_id, address FROM reset_emails`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, addr string
			if err := rows.Scan(&id, &addr); err != nil {
				rows.Close()
				return err
			}
			if i, ok := index[id]; ok {
				users[i].AlternateEmails = withResetEmail(users[i].Mail, addr, users[i].AlternateEmails)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT user_id, name FROM methods ORDER BY user_id, name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				users[i].Methods = append(users[i].Methods, name)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	sort.SliceStable(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	return users, nil
}

// SyncRecord is one directory sync attempt.
type SyncRecord struct {
	StartedAt, FinishedAt time.Time
	OK, Full              bool
	Users, Problems       int
	Error                 string
	// Mode is how the provider read the methods (directory.Update.Mode)
	// and ModeReason why; both "" for a failed sync or a CSV directory.
	Mode, ModeReason string
}

// RecordSync stores the outcome of a sync attempt.
func (s *DB) RecordSync(ctx context.Context, r SyncRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO directory_syncs (started_at, finished_at, ok, full, users, problems, error, mode, mode_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ms(r.StartedAt), ms(r.FinishedAt), b2i(r.OK), b2i(r.Full), r.Users, r.Problems, r.Error, r.Mode, r.ModeReason)
	if err != nil {
		return fmt.Errorf("record sync: %w", err)
	}
	return nil
}

// LastSyncs returns the last successful sync and the last attempt (either
// may be zero).
func (s *DB) LastSyncs(ctx context.Context) (lastOK, lastAttempt SyncRecord, err error) {
	q := `SELECT started_at, finished_at, ok, full, users, problems, error, mode, mode_reason FROM directory_syncs`
	scan := func(where string) (SyncRecord, error) {
		var r SyncRecord
		var st, fin int64
		var ok, full int
		err := s.db.QueryRowContext(ctx, q+where+` ORDER BY id DESC LIMIT 1`).Scan(&st, &fin, &ok, &full, &r.Users, &r.Problems, &r.Error, &r.Mode, &r.ModeReason)
		if errors.Is(err, sql.ErrNoRows) {
			return r, nil
		}
		r.StartedAt, r.FinishedAt, r.OK, r.Full = fromMS(st), fromMS(fin), ok != 0, full != 0
		return r, err
	}
	if lastOK, err = scan(` WHERE ok = 1`); err != nil {
		return lastOK, lastAttempt, fmt.Errorf("read syncs: %w", err)
	}
	if lastAttempt, err = scan(``); err != nil {
		return lastOK, lastAttempt, fmt.Errorf("read syncs: %w", err)
	}
	return lastOK, lastAttempt, nil
}

// ResetEmailUsers counts the cached users with a self-service reset e-mail.
func (s *DB) ResetEmailUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM reset_emails`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count reset e-mails: %w", err)
	}
	return n, nil
}

// withResetEmail puts the reset e-mail addr first among a user's alternate
// addresses alt, unless it is the primary address mail; an equal
// alternate (case-insensitively) is dropped from its later place.
func withResetEmail(mail, addr string, alt []string) []string {
	if addr == "" || strings.EqualFold(addr, mail) {
		return alt
	}
	out := make([]string, 0, len(alt)+1)
	out = append(out, addr)
	for _, a := range alt {
		if !strings.EqualFold(a, addr) {
			out = append(out, a)
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
