package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"duet/store"
)

// CreateSession stores a new session at version 0, or returns ErrExists.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	return s.do(ctx, "create session "+sess.ID, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO sessions (id, language, created, last_active, owner_token_hash, version, ended)
			VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (id) DO NOTHING`,
			sess.ID, sess.Language, encTime(sess.CreatedAt), encTime(sess.LastActive), blob(sess.OwnerTokenHash), encTime(sess.Ended))
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("create session %s: %w", sess.ID, store.ErrExists)
		}
		return err
	})
}

// Session returns the session with the given id, or ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (store.Session, error) {
	out := store.Session{ID: id}
	err := s.do(ctx, "session "+id, func(ctx context.Context) error {
		var created, active, ended *int64
		err := s.pool.QueryRow(ctx, `SELECT language, created, last_active, owner_token_hash, version, bytes, ended FROM sessions WHERE id = $1`, id).
			Scan(&out.Language, &created, &active, &out.OwnerTokenHash, &out.Version, &out.Bytes, &ended)
		if errors.Is(err, errNoRows) {
			return noSession(id)
		}
		out.CreatedAt, out.LastActive, out.Ended = decTime(created), decTime(active), decTime(ended)
		return err
	})
	if err != nil {
		return store.Session{}, err
	}
	return out, nil
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

// SessionIDs returns the id of every session, oldest first, for tools that copy
// or inspect the whole store.
func (s *Store) SessionIDs(ctx context.Context) ([]string, error) {
	var out []string
	err := s.do(ctx, "list sessions", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT id FROM sessions ORDER BY pk`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// SetLanguage changes a session's language.
func (s *Store) SetLanguage(ctx context.Context, id, language string) error {
	return s.do(ctx, "set language of "+id, func(ctx context.Context) error {
		return mustAffect(s.pool.Exec(ctx, `UPDATE sessions SET language = $1 WHERE id = $2`, language, id))(id)
	})
}

// Touch moves a session's last activity forward to at.
func (s *Store) Touch(ctx context.Context, id string, at time.Time) error {
	return s.do(ctx, "touch "+id, func(ctx context.Context) error {
		return mustAffect(s.pool.Exec(ctx, `UPDATE sessions SET last_active =
			CASE WHEN $1::int8 IS NOT NULL AND (last_active IS NULL OR last_active < $1) THEN $1 ELSE last_active END
			WHERE id = $2`, encTime(at), id))(id)
	})
}

// SetEnded records when the session ended, once: a session ended already keeps its
// time.
func (s *Store) SetEnded(ctx context.Context, id string, at time.Time) error {
	return s.do(ctx, "end "+id, func(ctx context.Context) error {
		return mustAffect(s.pool.Exec(ctx, `UPDATE sessions SET ended = COALESCE(ended, $1) WHERE id = $2`, encTime(at), id))(id)
	})
}

// DeleteSession removes a session; its log, snapshots, runs and participants go
// with it (the foreign keys cascade). PostgreSQL marks the rows dead at once and
// (auto)vacuum frees their space later: see the README on deleted data.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.do(ctx, "delete session "+id, func(ctx context.Context) error {
		return mustAffect(s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id))(id)
	})
}

// purgeChunk is how many sessions one statement of PurgeIdle deletes, so that a
// large purge is many short transactions rather than one that locks thousands of
// rows for long.
const purgeChunk = 50

// PurgeIdle deletes the sessions last active before the given time, a few at a
// time.
func (s *Store) PurgeIdle(ctx context.Context, before time.Time) (int, error) {
	if before.IsZero() {
		return 0, ctx.Err()
	}
	total := 0
	for {
		var n int64
		err := s.do(ctx, "purge idle sessions", func(ctx context.Context) error {
			tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE pk IN (
				SELECT pk FROM sessions WHERE last_active IS NULL OR last_active < $1 LIMIT $2)`, before.UnixNano(), purgeChunk)
			n = tag.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil || n < purgeChunk {
			return total, err
		}
	}
}

// mustAffect turns a statement that changed no row into ErrNotFound.
func mustAffect(tag pgconn.CommandTag, err error) func(id string) error {
	return func(id string) error {
		if err == nil && tag.RowsAffected() == 0 {
			return noSession(id)
		}
		return err
	}
}
