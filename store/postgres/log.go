package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"duet/store"
)

// appendSQL appends updates $3…$6 at version $2 of session $1, in one statement
// and so one transaction. It stores nothing unless the log ends at $2 (else no row
// is affected), and the primary key (session, version) lets only one of two
// writers racing for the same versions store them: the other fails with a unique
// violation once the first commits. Times are Unix nanoseconds; $7 is the newest.
//
// Byte quotas per session belong in this statement's s, beside the version check,
// so that they are decided with the compare-and-set in the same round trip.
const appendSQL = `WITH s AS (
	SELECT pk FROM sessions WHERE id = $1 AND version = $2
), ins AS (
	INSERT INTO updates (session, version, client_id, user_id, changes, time)
	SELECT s.pk, ($2 + u.n - 1)::integer, u.client_id, u.user_id, u.changes, u.time
	FROM s, unnest($3::bytea[], $4::bytea[], $5::bytea[], $6::int8[]) WITH ORDINALITY AS u (client_id, user_id, changes, time, n)
)
UPDATE sessions SET version = $2 + cardinality($5::bytea[]),
	last_active = CASE WHEN $7::int8 IS NOT NULL AND (last_active IS NULL OR last_active < $7) THEN $7 ELSE last_active END
FROM s WHERE sessions.pk = s.pk`

// AppendUpdates adds updates to a session's log, which must end at from; it
// returns after COMMIT.
//
// When the connection breaks while the statement runs, whether it committed is
// unknown: the caller must not be told it failed if it was stored (its document
// would then disagree with the log), nor that it succeeded if it was not. So the
// store asks the database what the log holds at from, for up to ResolveTimeout,
// and answers accordingly (trying once more if the updates are not there).
//
// Appending exactly the updates the log already holds at from (same client ids,
// user ids and changes) succeeds without storing anything: a caller that could not
// learn the outcome and retries the same updates at the same version then finds
// its log and the database agreeing again. Any other difference is ErrConflict.
func (s *Store) AppendUpdates(ctx context.Context, id string, from int, updates []store.Update) error {
	what := fmt.Sprintf("append to %s at %d", id, from)
	if len(updates) == 0 {
		return s.do(ctx, what, func(ctx context.Context) error {
			version, err := s.version(ctx, id)
			if err == nil && version != from {
				err = fmt.Errorf("%s (log has %d): %w", what, version, store.ErrConflict)
			}
			return err
		})
	}
	clients, users, changes := make([][]byte, len(updates)), make([][]byte, len(updates)), make([][]byte, len(updates))
	times := make([]*int64, len(updates))
	latest := updates[0].Time
	for i, u := range updates {
		clients[i], users[i], changes[i], times[i] = []byte(u.ClientID), []byte(u.UserID), blob(u.Changes), encTime(u.Time)
		if u.Time.After(latest) {
			latest = u.Time
		}
	}
	args := []any{id, from, clients, users, changes, times, encTime(latest)}
	return s.do(ctx, what, func(ctx context.Context) error {
		err := s.appendOnce(ctx, id, from, updates, args)
		var lost *lostError
		if errors.As(err, &lost) {
			return s.resolveAppend(ctx, id, from, updates, args, lost.err)
		}
		return err
	})
}

// lostError is a statement's error after which whether it committed is unknown.
type lostError struct{ err error }

func (e *lostError) Error() string { return e.err.Error() }

// appendOnce runs appendSQL once and tells why nothing was stored, if so.
func (s *Store) appendOnce(ctx context.Context, id string, from int, updates []store.Update, args []any) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err // nothing was sent
	}
	tag, err := conn.Exec(ctx, appendSQL, args...)
	conn.Release()
	switch {
	case err == nil && tag.RowsAffected() == 1:
		return nil
	case err == nil, violates(err, uniqueViolation, "updates_pkey"), violates(err, deadlockDetected, ""):
		// The log does not end at from, or another writer stored from first.
		return s.notAppended(ctx, id, from, updates)
	case violates(err, foreignKeyViolation, ""):
		return noSession(id) // deleted while the statement ran
	case answered(err), notRun(err):
		return err
	}
	return &lostError{err}
}

// deadlockDetected is the SQLSTATE of a transaction PostgreSQL aborted to break a
// deadlock: two appends racing for the same versions could, in principle, insert
// them in different orders.
const deadlockDetected = "40P01"

// notAppended explains an append that stored nothing: ErrNotFound, ErrConflict,
// or nil when the log already holds exactly these updates at from.
func (s *Store) notAppended(ctx context.Context, id string, from int, updates []store.Update) error {
	held, version, err := s.logHolds(ctx, id, from, updates)
	switch {
	case err != nil:
		return err
	case held:
		return nil
	}
	return fmt.Errorf("append to %s at %d (log has %d): %w", id, from, version, store.ErrConflict)
}

// resolveAppend finds out whether an append whose outcome was lost (cause) was
// stored, asking until the database answers or ResolveTimeout passes. If it was
// not stored and the log still ends at from, it tries once more.
func (s *Store) resolveAppend(ctx context.Context, id string, from int, updates []store.Update, args []any, cause error) error {
	// The caller's ctx may be what broke the statement; the answer is still due.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ResolveTimeout)
	defer cancel()
	for {
		held, version, err := s.logHolds(rctx, id, from, updates)
		switch {
		case err == nil && held:
			return nil
		case err == nil && version == from && ctx.Err() == nil:
			if err := s.appendOnce(rctx, id, from, updates, args); !errors.As(err, new(*lostError)) {
				return err
			}
			return fmt.Errorf("the connection broke twice while committing: %w", cause)
		case err == nil && version == from:
			return ctx.Err() // not stored, and the caller has gone
		case err == nil:
			return fmt.Errorf("append to %s at %d (log has %d; the first try, %v, was not stored): %w", id, from, version, cause, store.ErrConflict)
		case isDomain(err) && !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		select {
		case <-rctx.Done():
			return fmt.Errorf("the connection broke while committing (%v), and the database did not say within %v whether the updates were stored", cause, s.opts.ResolveTimeout)
		case <-time.After(resolveInterval):
		}
	}
}

// resolveInterval is how often resolveAppend asks again.
const resolveInterval = 200 * time.Millisecond

// logHolds tells whether the log holds exactly updates (client ids, user ids and
// changes) from version from on, and returns the log's length.
func (s *Store) logHolds(ctx context.Context, id string, from int, updates []store.Update) (bool, int, error) {
	rows, err := s.pool.Query(ctx, `SELECT s.version, u.version, u.client_id, u.user_id, u.changes
		FROM sessions s LEFT JOIN updates u ON u.session = s.pk AND u.version >= $2 AND u.version < $3
		WHERE s.id = $1 ORDER BY u.version`, id, from, from+len(updates))
	if err != nil {
		return false, 0, err
	}
	defer rows.Close()
	found, held, version, i := false, true, 0, 0
	for rows.Next() {
		var at *int
		var client, user, changes []byte
		if err := rows.Scan(&version, &at, &client, &user, &changes); err != nil {
			return false, 0, err
		}
		found = true
		if at == nil { // the LEFT JOIN's row when no update is in the range
			held = false
			continue
		}
		u := updates[i]
		held = held && string(client) == u.ClientID && string(user) == u.UserID && bytes.Equal(changes, u.Changes)
		i++
	}
	if err := rows.Err(); err != nil {
		return false, 0, err
	}
	if !found {
		return false, 0, noSession(id)
	}
	return held && i == len(updates), version, nil
}

// version returns the length of a session's log.
func (s *Store) version(ctx context.Context, id string) (int, error) {
	var version int
	err := s.pool.QueryRow(ctx, `SELECT version FROM sessions WHERE id = $1`, id).Scan(&version)
	if errors.Is(err, errNoRows) {
		return 0, noSession(id)
	}
	return version, err
}

// Updates returns the log entries [from, to).
func (s *Store) Updates(ctx context.Context, id string, from, to int) ([]store.Update, error) {
	var out []store.Update
	what := fmt.Sprintf("updates [%d, %d) of %s", from, to, id)
	err := s.do(ctx, what, func(ctx context.Context) error {
		out = nil
		// One statement, so the version and the rows come from one snapshot.
		rows, err := s.pool.Query(ctx, `SELECT s.version, u.version, u.client_id, u.user_id, u.changes, u.time
			FROM sessions s LEFT JOIN updates u ON u.session = s.pk AND u.version >= $2 AND u.version < $3
			WHERE s.id = $1 ORDER BY u.version`, id, from, to)
		if err != nil {
			return err
		}
		defer rows.Close()
		found, version := false, 0
		for rows.Next() {
			var v *int
			var client, user, changes []byte
			var at *int64
			if err := rows.Scan(&version, &v, &client, &user, &changes, &at); err != nil {
				return err
			}
			found = true
			if v != nil { // else the LEFT JOIN's row when no update is in the range
				out = append(out, store.Update{ClientID: string(client), UserID: string(user), Changes: changes, Time: decTime(at)})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		switch {
		case !found:
			return noSession(id)
		case from < 0 || from > to || to > version:
			return fmt.Errorf("%s (log has %d): %w", what, version, store.ErrNotFound)
		case len(out) != to-from:
			return fmt.Errorf("the log has %d of these %d updates: the database is damaged", len(out), to-from)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []store.Update{}
	}
	return out, nil
}

// SaveSnapshot keeps the text at a version, unless one is kept there already.
func (s *Store) SaveSnapshot(ctx context.Context, id string, snap store.Snapshot) error {
	what := fmt.Sprintf("snapshot of %s at %d", id, snap.Version)
	return s.do(ctx, what, func(ctx context.Context) error {
		var version int
		err := s.pool.QueryRow(ctx, `WITH s AS (
				SELECT pk, version FROM sessions WHERE id = $1
			), ins AS (
				INSERT INTO snapshots (session, version, text)
				SELECT pk, $2, $3 FROM s WHERE $2 >= 0 AND s.version >= $2
				ON CONFLICT DO NOTHING
			)
			SELECT version FROM s`, id, snap.Version, blob(snap.Text)).Scan(&version)
		switch {
		case errors.Is(err, errNoRows):
			return noSession(id)
		case err != nil:
			return err
		case snap.Version < 0 || snap.Version > version:
			return fmt.Errorf("%s (log has %d): %w", what, version, store.ErrConflict)
		}
		return nil
	})
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
