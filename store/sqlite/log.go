package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"duet/store"
)

// AppendUpdates adds updates to a session's log, which must end at from. It returns
// once the group commit holding them is done; a conflicting append fails alone.
func (s *Store) AppendUpdates(ctx context.Context, id string, from int, updates []store.Update) error {
	// The caller waits until the job has run or was withdrawn (see write), so its
	// slices need no copy. Every refusal comes before the first write: the job needs
	// no savepoint (job.checksFirst).
	return s.submit(ctx, fmt.Sprintf("append to %s at %d", id, from), func(j *job) {
		j.checksFirst = true
		j.run = func(ctx context.Context, tx *sql.Tx) error { return s.appendUpdates(ctx, tx, id, from, updates) }
	})
}

// appendUpdates is AppendUpdates's job. Its first statement is its check: it moves
// the session's version on only if the log ends at from and the quota has room, and
// when it moves nothing, nothing was written and refused tells why. Checking with
// the write itself spares a query per append, which database/sql runs with a
// goroutine of its own inside a transaction.
func (s *Store) appendUpdates(ctx context.Context, tx *sql.Tx, id string, from int, updates []store.Update) error {
	if len(updates) == 0 {
		return s.refused(ctx, tx, id, from, 0)
	}
	n := int64(0)
	latest := updates[0].Time
	for _, u := range updates {
		n += int64(u.Bytes())
		if u.Time.After(latest) {
			latest = u.Time
		}
	}
	res, err := tx.StmtContext(ctx, s.claim).ExecContext(ctx, encTime(latest), id, from+len(updates), n, from, s.opts.Limits.SessionBytes)
	if err != nil {
		return err
	}
	if claimed, err := res.RowsAffected(); err != nil {
		return err
	} else if claimed == 0 {
		return s.refused(ctx, tx, id, from, n)
	}
	insert := tx.StmtContext(ctx, s.insertUpdate)
	for i, u := range updates {
		if _, err := insert.ExecContext(ctx, id, from+i, u.ClientID, u.UserID, blob(u.Changes), encTime(u.Time)); err != nil {
			return err
		}
	}
	return nil
}

// refused says why an append of n bytes at from to session id may not be made:
// the session is gone, its log does not end at from, or it has no room. It is nil
// when nothing stands in the way (an empty append at the end of the log).
func (s *Store) refused(ctx context.Context, tx *sql.Tx, id string, from int, n int64) error {
	var have int64
	var version int
	err := tx.QueryRowContext(ctx, `SELECT version, bytes FROM sessions WHERE id = ?`, id).Scan(&version, &have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	case err != nil:
		return err
	case version != from:
		return fmt.Errorf("append to %s at %d (log has %d): %w", id, from, version, store.ErrConflict)
	case !s.opts.Limits.Fits(have, n):
		return fmt.Errorf("append %d bytes to %s (stores %d): %w", n, id, have, store.ErrQuota)
	case n > 0:
		return fmt.Errorf("append to %s at %d: the session's row took no update", id, from)
	}
	return nil
}

// Updates returns the log entries [from, to), or fewer past maxBytes.
func (s *Store) Updates(ctx context.Context, id string, from, to, maxBytes int) ([]store.Update, error) {
	var out []store.Update
	err := s.read(ctx, fmt.Sprintf("updates [%d, %d) of %s", from, to, id), func(tx *sql.Tx) error {
		pk, version, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		if from < 0 || from > to || to > version {
			return fmt.Errorf("updates [%d, %d) of %s (log has %d): %w", from, to, id, version, store.ErrNotFound)
		}
		rows, err := tx.QueryContext(ctx, `SELECT client_id, user_id, changes, time FROM updates
			WHERE session = ? AND version >= ? AND version < ? ORDER BY version`, pk, from, to)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = make([]store.Update, 0, min(to-from, 1024))
		read := 0 // bytes of the updates read: rows past maxBytes are left unread
		for (maxBytes <= 0 || read < maxBytes) && rows.Next() {
			var u store.Update
			var at sql.NullInt64
			if err := rows.Scan(&u.ClientID, &u.UserID, &u.Changes, &at); err != nil {
				return err
			}
			u.Time = decTime(at)
			out = append(out, u)
			read += u.Bytes()
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) != to-from && !store.Full(out, maxBytes) { // fewer than asked, and not for the bytes
			return fmt.Errorf("the log has %d of these %d updates: the database is damaged", len(out), to-from)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveSnapshot keeps the text at a version, unless one is kept there already, and
// thins the older ones, in one transaction.
func (s *Store) SaveSnapshot(ctx context.Context, id string, snap store.Snapshot) error {
	return s.write(ctx, fmt.Sprintf("snapshot of %s at %d", id, snap.Version), func(ctx context.Context, tx *sql.Tx) error {
		var pk, have int64
		var version int
		err := tx.QueryRowContext(ctx, `SELECT pk, version, bytes FROM sessions WHERE id = ?`, id).Scan(&pk, &version, &have)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if snap.Version < 0 || snap.Version > version {
			return fmt.Errorf("snapshot of %s at %d (log has %d): %w", id, snap.Version, version, store.ErrConflict)
		}
		var kept bool
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM snapshots WHERE session = ? AND version = ?)`, pk, snap.Version).Scan(&kept)
		if err != nil || kept {
			return err
		}
		n := int64(snap.Bytes())
		if !s.opts.Limits.Fits(have, n) {
			return fmt.Errorf("snapshot of %s at %d (stores %d): %w", id, snap.Version, have, store.ErrQuota)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO snapshots (session, version, text) VALUES (?, ?, ?)`, pk, snap.Version, blob(snap.Text)); err != nil {
			return err
		}
		freed, err := s.thinSnapshots(ctx, tx, pk)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET bytes = bytes + ? WHERE pk = ?`, n-freed, pk)
		return err
	})
}

// thinSnapshots deletes the snapshots of session pk that store.ThinSnapshots drops,
// and returns the bytes they held.
func (s *Store) thinSnapshots(ctx context.Context, tx *sql.Tx, pk int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version, length(text) FROM snapshots WHERE session = ?`, pk)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	textLen := map[int]int64{}
	for rows.Next() {
		var v int
		var n int64
		if err := rows.Scan(&v, &n); err != nil {
			return 0, err
		}
		textLen[v] = n
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	drop, freed := s.opts.Limits.Thin(textLen)
	for _, v := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM snapshots WHERE session = ? AND version = ?`, pk, v); err != nil {
			return 0, err
		}
	}
	return freed, nil
}

// LatestSnapshot returns the newest snapshot (the empty document at 0 if none).
func (s *Store) LatestSnapshot(ctx context.Context, id string) (store.Snapshot, error) {
	return s.SnapshotAt(ctx, id, math.MaxInt64)
}

// SnapshotAt returns the newest snapshot at or before version.
func (s *Store) SnapshotAt(ctx context.Context, id string, version int) (store.Snapshot, error) {
	out := store.Snapshot{Text: []byte(`""`)}
	err := s.read(ctx, fmt.Sprintf("snapshot of %s at %d", id, version), func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT version, text FROM snapshots WHERE session = ? AND version <= ?
			ORDER BY version DESC LIMIT 1`, pk, version).Scan(&out.Version, &out.Text)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return store.Snapshot{}, err
	}
	return out, nil
}
