package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

// updatesSQL reads log entries [$2, $3) of session $1, stopping after the one that
// brings their bytes (store.Update.Bytes, 32 for the rest of the row) to $4 or more
// when $4 > 0: only what the caller takes is sent. A session with none of them in
// the range gives one row of NULLs.
const updatesSQL = `SELECT s.version, u.version, u.client_id, u.user_id, u.changes, u.time
	FROM sessions s LEFT JOIN LATERAL (
		SELECT * FROM (
			SELECT version, client_id, user_id, changes, time,
				sum(32 + octet_length(client_id) + octet_length(user_id) + octet_length(changes))
					OVER (ORDER BY version ROWS UNBOUNDED PRECEDING)
				- (32 + octet_length(client_id) + octet_length(user_id) + octet_length(changes)) AS before
			FROM updates WHERE session = s.pk AND version >= $2 AND version < $3
		) w WHERE $4 <= 0 OR w.before < $4
	) u ON true
	WHERE s.id = $1 ORDER BY u.version`

// Updates returns the log entries [from, to), or fewer past maxBytes.
func (s *Store) Updates(ctx context.Context, id string, from, to, maxBytes int) ([]store.Update, error) {
	var out []store.Update
	err := s.do(ctx, fmt.Sprintf("updates [%d, %d) of %s", from, to, id), func(ctx context.Context) (err error) {
		out, err = readLog(ctx, s.pool, id, from, to, maxBytes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readLog is Updates through q (the pool, or a transaction).
func readLog(ctx context.Context, q querier, id string, from, to, maxBytes int) ([]store.Update, error) {
	out := []store.Update{}
	version := 0
	err := sessionRows(ctx, q, updatesSQL, id, func(rows pgx.Rows) error {
		var v *int
		var client, user, changes []byte
		var at *int64
		if err := rows.Scan(&version, &v, &client, &user, &changes, &at); err != nil {
			return err
		}
		if v != nil { // else the LEFT JOIN's row when no update is in the range
			out = append(out, store.Update{ClientID: string(client), UserID: string(user), Changes: changes, Time: decTime(at)})
		}
		return nil
	}, max(from, -1), min(to, math.MaxInt32), max(maxBytes, 0)) // versions are int4: past them is past the log
	switch {
	case err != nil:
		return nil, err
	case from < 0 || from > to || to > version:
		return nil, fmt.Errorf("updates [%d, %d) of %s (log has %d): %w", from, to, id, version, store.ErrNotFound)
	case len(out) != to-from && !store.Full(out, maxBytes): // fewer than asked, and not for the bytes
		return nil, fmt.Errorf("the log has %d of these %d updates: the database is damaged", len(out), to-from)
	}
	return out, nil
}

// SaveSnapshot keeps the text at a version, unless one is kept there already, and
// thins the older ones, in one transaction that locks the session's row (so that
// what it stores is counted right against appends and other snapshots).
func (s *Store) SaveSnapshot(ctx context.Context, id string, snap store.Snapshot) error {
	what := fmt.Sprintf("snapshot of %s at %d", id, snap.Version)
	return s.do(ctx, what, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var pk, have int64
			var version int
			err := tx.QueryRow(ctx, `SELECT pk, version, bytes FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&pk, &version, &have)
			switch {
			case errors.Is(err, errNoRows):
				return noSession(id)
			case err != nil:
				return err
			case snap.Version < 0 || snap.Version > version:
				return fmt.Errorf("%s (log has %d): %w", what, version, store.ErrConflict)
			}
			n := int64(snap.Bytes())
			if !s.opts.Limits.Fits(have, n) {
				var kept bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM snapshots WHERE session = $1 AND version = $2)`, pk, snap.Version).Scan(&kept); err != nil || kept {
					return err
				}
				return fmt.Errorf("%s (stores %d): %w", what, have, store.ErrQuota)
			}
			tag, err := tx.Exec(ctx, `INSERT INTO snapshots (session, version, text) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				pk, snap.Version, blob(snap.Text))
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			freed, err := s.thinSnapshots(ctx, tx, pk)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE sessions SET bytes = bytes + $1 WHERE pk = $2`, n-freed, pk)
			return err
		})
	})
}

// thinSnapshots deletes the snapshots of session pk that store.ThinSnapshots drops,
// and returns the bytes they held.
func (s *Store) thinSnapshots(ctx context.Context, tx pgx.Tx, pk int64) (int64, error) {
	var versions []int
	var lengths []int64
	err := tx.QueryRow(ctx, `SELECT COALESCE(array_agg(version), '{}'), COALESCE(array_agg(octet_length(text)::int8), '{}')
		FROM snapshots WHERE session = $1`, pk).Scan(&versions, &lengths)
	if err != nil {
		return 0, err
	}
	textLen := make(map[int]int64, len(versions))
	for i, v := range versions {
		textLen[v] = lengths[i]
	}
	drop, freed := s.opts.Limits.Thin(textLen)
	if len(drop) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM snapshots WHERE session = $1 AND version = ANY($2)`, pk, drop); err != nil {
		return 0, err
	}
	return freed, nil
}

// LatestSnapshot returns the newest snapshot (the empty document at 0 if none).
func (s *Store) LatestSnapshot(ctx context.Context, id string) (store.Snapshot, error) {
	return s.SnapshotAt(ctx, id, math.MaxInt32)
}

// SnapshotAt returns the newest snapshot at or before version.
func (s *Store) SnapshotAt(ctx context.Context, id string, version int) (store.Snapshot, error) {
	version = min(max(version, -1), math.MaxInt32)
	var out store.Snapshot
	err := s.do(ctx, fmt.Sprintf("snapshot of %s at %d", id, version), func(ctx context.Context) error {
		var at *int
		var text []byte
		err := s.pool.QueryRow(ctx, `SELECT sn.version, sn.text FROM sessions s
			LEFT JOIN LATERAL (SELECT version, text FROM snapshots WHERE session = s.pk AND version <= $2
				ORDER BY version DESC LIMIT 1) sn ON true
			WHERE s.id = $1`, id, version).Scan(&at, &text)
		switch {
		case errors.Is(err, errNoRows):
			return noSession(id)
		case err != nil:
			return err
		case at == nil:
			out = store.Snapshot{Version: 0, Text: []byte(`""`)}
		default:
			out = store.Snapshot{Version: *at, Text: text}
		}
		return nil
	})
	if err != nil {
		return store.Snapshot{}, err
	}
	return out, nil
}
