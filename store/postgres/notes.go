package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

// AddNote records a note, or returns ErrExists for a note id the session has, or
// ErrQuota past the session's notes or bytes. The session's row is locked while
// counting, so that two notes cannot both take the last place.
func (s *Store) AddNote(ctx context.Context, id string, n store.Note) error {
	return s.do(ctx, fmt.Sprintf("record note %s of %s", n.ID, id), func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var pk, have int64
			err := tx.QueryRow(ctx, `SELECT pk, bytes FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&pk, &have)
			if errors.Is(err, errNoRows) {
				return noSession(id)
			}
			if err != nil {
				return err
			}
			var count int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM notes WHERE session = $1`, pk).Scan(&count); err != nil {
				return err
			}
			if !s.opts.Limits.NotesFit(count) || !s.opts.Limits.Fits(have, int64(n.Bytes())) {
				return fmt.Errorf("note %s of %s (%d notes, stores %d): %w", n.ID, id, count, have, store.ErrQuota)
			}
			tag, err := tx.Exec(ctx, `INSERT INTO notes (session, id, author, author_name, text, line, pos, version, created)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (session, id) DO NOTHING`,
				pk, []byte(n.ID), []byte(n.Author), []byte(n.AuthorName), []byte(n.Text), n.Line, n.Pos, n.Version, encTime(n.Created))
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("note %s of %s: %w", n.ID, id, store.ErrExists)
			}
			_, err = tx.Exec(ctx, `UPDATE sessions SET bytes = bytes + $1 WHERE pk = $2`, n.Bytes(), pk)
			return err
		})
	})
}

// Notes returns a session's notes in the order they were recorded.
func (s *Store) Notes(ctx context.Context, id string) ([]store.Note, error) {
	var out []store.Note
	err := s.do(ctx, "notes of "+id, func(ctx context.Context) error {
		out = nil
		return sessionRows(ctx, s.pool, `SELECT n.pk, n.id, n.author, n.author_name, n.text, n.line, n.pos, n.version, n.created
			FROM sessions s LEFT JOIN notes n ON n.session = s.pk
			WHERE s.id = $1 ORDER BY n.pk`, id, func(rows pgx.Rows) error {
			var key, line, pos, version, created *int64
			var nid, author, name, text []byte
			if err := rows.Scan(&key, &nid, &author, &name, &text, &line, &pos, &version, &created); err != nil {
				return err
			}
			if key != nil { // else the LEFT JOIN's row of a session without notes
				out = append(out, store.Note{SessionID: id, ID: string(nid), Author: string(author), AuthorName: string(name),
					Text: string(text), Line: int(*line), Pos: int(*pos), Version: int(*version), Created: decTime(created)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddSignal records a signal, or returns ErrQuota when the session keeps as many
// as it may.
func (s *Store) AddSignal(ctx context.Context, id string, sig store.Signal) error {
	return s.do(ctx, "record a signal of "+id, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var pk int64
			err := tx.QueryRow(ctx, `SELECT pk FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&pk)
			if errors.Is(err, errNoRows) {
				return noSession(id)
			}
			if err != nil {
				return err
			}
			var count int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM signals WHERE session = $1`, pk).Scan(&count); err != nil {
				return err
			}
			if !s.opts.Limits.SignalsFit(count) {
				return fmt.Errorf("signal of %s (%d kept): %w", id, count, store.ErrQuota)
			}
			_, err = tx.Exec(ctx, `INSERT INTO signals (session, user_id, kind, size, version, time) VALUES ($1, $2, $3, $4, $5, $6)`,
				pk, []byte(sig.UserID), sig.Kind, sig.Size, sig.Version, encTime(sig.Time))
			return err
		})
	})
}

// Signals returns a session's signals in the order they were recorded.
func (s *Store) Signals(ctx context.Context, id string) ([]store.Signal, error) {
	var out []store.Signal
	err := s.do(ctx, "signals of "+id, func(ctx context.Context) error {
		out = nil
		return sessionRows(ctx, s.pool, `SELECT g.pk, g.user_id, g.kind, g.size, g.version, g.time
			FROM sessions s LEFT JOIN signals g ON g.session = s.pk
			WHERE s.id = $1 ORDER BY g.pk`, id, func(rows pgx.Rows) error {
			var key, size, version, at *int64
			var user []byte
			var kind *string
			if err := rows.Scan(&key, &user, &kind, &size, &version, &at); err != nil {
				return err
			}
			if key != nil {
				out = append(out, store.Signal{SessionID: id, UserID: string(user), Kind: *kind, Size: int(*size),
					Version: int(*version), Time: decTime(at)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
