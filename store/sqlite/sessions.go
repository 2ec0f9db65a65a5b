package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"duet/store"
)

// CreateSession stores a new session at version 0, or returns ErrExists.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	return s.write(ctx, "create session "+sess.ID, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, language, created, last_active, owner_token_hash, version, ended)
			VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT (id) DO NOTHING`,
			sess.ID, sess.Language, encTime(sess.CreatedAt), encTime(sess.LastActive), blob(sess.OwnerTokenHash), encTime(sess.Ended))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("create session %s: %w", sess.ID, store.ErrExists)
		}
		return nil
	})
}

// Session returns the session with the given id, or ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (store.Session, error) {
	out := store.Session{ID: id}
	err := s.read(ctx, "session "+id, func(tx *sql.Tx) error {
		var created, active, ended sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT language, created, last_active, owner_token_hash, version, bytes, ended FROM sessions WHERE id = ?`, id).
			Scan(&out.Language, &created, &active, &out.OwnerTokenHash, &out.Version, &out.Bytes, &ended)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
		}
		out.CreatedAt, out.LastActive, out.Ended = decTime(created), decTime(active), decTime(ended)
		return err
	})
	if err != nil {
		return store.Session{}, err
	}
	return out, nil
}

// SetLanguage changes a session's language.
func (s *Store) SetLanguage(ctx context.Context, id, language string) error {
	return s.write(ctx, "set language of "+id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET language = ? WHERE id = ?`, language, id)
		return mustAffect(res, err, id)
	})
}

// Touch moves a session's last activity forward to at.
func (s *Store) Touch(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, "touch "+id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_active = `+laterOf+` WHERE id = ?2`, encTime(at), id)
		return mustAffect(res, err, id)
	})
}

// SetEnded records when the session ended, once: a session ended already keeps its
// time.
func (s *Store) SetEnded(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, "end "+id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET ended = COALESCE(ended, ?) WHERE id = ?`, encTime(at), id)
		return mustAffect(res, err, id)
	})
}

// laterOf is the SQL of the later of last_active and ?1 (a NULL ?1, the zero time,
// changes nothing).
const laterOf = `CASE WHEN ?1 IS NOT NULL AND (last_active IS NULL OR last_active < ?1) THEN ?1 ELSE last_active END`

// DeleteSession removes a session; its log, snapshots and runs go with it (the
// foreign keys cascade), and no file keeps them (erase.go).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.erase(ctx, "delete session "+id, func(ctx context.Context, tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err == nil, mustAffect(res, err, id)
	})
}

// purgeChunk is how many sessions one transaction of PurgeIdle deletes, so that a
// large purge never holds up the edits of live sessions for long.
const purgeChunk = 50

// PurgeIdle deletes the sessions last active before the given time, a few at a
// time, as DeleteSession does.
func (s *Store) PurgeIdle(ctx context.Context, before time.Time) (int, error) {
	if before.IsZero() {
		return 0, ctx.Err()
	}
	total := 0
	for {
		var n int64
		err := s.erase(ctx, "purge idle sessions", func(ctx context.Context, tx *sql.Tx) (bool, error) {
			res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE pk IN (
				SELECT pk FROM sessions WHERE last_active IS NULL OR last_active < ? LIMIT ?)`, before.UnixNano(), purgeChunk)
			if err != nil {
				return false, err
			}
			n, err = res.RowsAffected()
			return n > 0, err
		})
		total += int(n)
		if err != nil || n < purgeChunk {
			return total, err
		}
	}
}

// mustAffect turns an update of no row into ErrNotFound.
func mustAffect(res sql.Result, err error, id string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// sessionVersion returns a session's key and log length, or ErrNotFound.
func sessionVersion(ctx context.Context, tx *sql.Tx, id string) (pk int64, version int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT pk, version FROM sessions WHERE id = ?`, id).Scan(&pk, &version)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	return pk, version, err
}
