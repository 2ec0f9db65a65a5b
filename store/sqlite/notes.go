package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"duet/store"
)

// AddNote records a note, or returns ErrExists for a note id the session has, or
// ErrQuota past the session's notes or bytes.
func (s *Store) AddNote(ctx context.Context, id string, n store.Note) error {
	return s.write(ctx, fmt.Sprintf("record note %s of %s", n.ID, id), func(ctx context.Context, tx *sql.Tx) error {
		var pk, have int64
		var count int
		err := tx.QueryRowContext(ctx, `SELECT pk, bytes, (SELECT count(*) FROM notes WHERE session = sessions.pk)
			FROM sessions WHERE id = ?`, id).Scan(&pk, &have, &count)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !s.opts.Limits.NotesFit(count) || !s.opts.Limits.Fits(have, int64(n.Bytes())) {
			return fmt.Errorf("note %s of %s (%d notes, stores %d): %w", n.ID, id, count, have, store.ErrQuota)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO notes (session, id, author, author_name, text, line, pos, version, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session, id) DO NOTHING`,
			pk, n.ID, n.Author, n.AuthorName, blob([]byte(n.Text)), n.Line, n.Pos, n.Version, encTime(n.Created))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return fmt.Errorf("note %s of %s: %w", n.ID, id, store.ErrExists)
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET bytes = bytes + ? WHERE pk = ?`, n.Bytes(), pk)
		return err
	})
}

// Notes returns a session's notes in the order they were recorded.
func (s *Store) Notes(ctx context.Context, id string) ([]store.Note, error) {
	var out []store.Note
	err := s.read(ctx, "notes of "+id, func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, author, author_name, text, line, pos, version, created
			FROM notes WHERE session = ? ORDER BY pk`, pk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n := store.Note{SessionID: id}
			var text []byte
			var created sql.NullInt64
			if err := rows.Scan(&n.ID, &n.Author, &n.AuthorName, &text, &n.Line, &n.Pos, &n.Version, &created); err != nil {
				return err
			}
			n.Text, n.Created = string(text), decTime(created)
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddSignal records a signal, or returns ErrQuota when the session keeps as many
// as it may.
func (s *Store) AddSignal(ctx context.Context, id string, sig store.Signal) error {
	return s.write(ctx, "record a signal of "+id, func(ctx context.Context, tx *sql.Tx) error {
		var pk int64
		var count int
		err := tx.QueryRowContext(ctx, `SELECT pk, (SELECT count(*) FROM signals WHERE session = sessions.pk)
			FROM sessions WHERE id = ?`, id).Scan(&pk, &count)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !s.opts.Limits.SignalsFit(count) {
			return fmt.Errorf("signal of %s (%d kept): %w", id, count, store.ErrQuota)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO signals (session, user_id, kind, size, version, time) VALUES (?, ?, ?, ?, ?, ?)`,
			pk, sig.UserID, sig.Kind, sig.Size, sig.Version, encTime(sig.Time))
		return err
	})
}

// Signals returns a session's signals in the order they were recorded.
func (s *Store) Signals(ctx context.Context, id string) ([]store.Signal, error) {
	var out []store.Signal
	err := s.read(ctx, "signals of "+id, func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT user_id, kind, size, version, time FROM signals WHERE session = ? ORDER BY pk`, pk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sig := store.Signal{SessionID: id}
			var at sql.NullInt64
			if err := rows.Scan(&sig.UserID, &sig.Kind, &sig.Size, &sig.Version, &at); err != nil {
				return err
			}
			sig.Time = decTime(at)
			out = append(out, sig)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
