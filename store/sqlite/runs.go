package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"duet/store"
)

// AppendRun records a run with its output, or returns ErrExists for a run id the
// session has already.
func (s *Store) AppendRun(ctx context.Context, id string, r store.Run) error {
	return s.write(ctx, fmt.Sprintf("record run %s of %s", r.ID, id), func(ctx context.Context, tx *sql.Tx) error {
		var pk, have int64
		err := tx.QueryRowContext(ctx, `SELECT pk, bytes FROM sessions WHERE id = ?`, id).Scan(&pk, &have)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		r, ok := s.opts.Limits.FitRun(r, have)
		if !ok {
			return fmt.Errorf("run %s of %s (stores %d): %w", r.ID, id, have, store.ErrQuota)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO runs
			(session, id, user_id, user_name, language, title, version, started, ended, status, truncated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session, id) DO NOTHING`,
			pk, r.ID, r.UserID, r.UserName, r.Language, r.Title, r.Version, encTime(r.Started), encTime(r.Ended), r.Status, r.Truncated)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("run %s of %s: %w", r.ID, id, store.ErrExists)
		}
		run, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET bytes = bytes + ? WHERE pk = ?`, r.Bytes(), pk); err != nil {
			return err
		}
		if len(r.Output) == 0 {
			return nil
		}
		insert, err := tx.PrepareContext(ctx, `INSERT INTO run_output (run, seq, stream, text) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		for i, o := range r.Output {
			// The text goes in as a BLOB: its bytes are kept whatever they are.
			if _, err := insert.ExecContext(ctx, run, i, o.Stream, blob([]byte(o.Text))); err != nil {
				return err
			}
		}
		return nil
	})
}

// Runs returns a session's runs in the order they started, ties as recorded.
func (s *Store) Runs(ctx context.Context, id string) ([]store.Run, error) {
	var out []store.Run
	err := s.read(ctx, "runs of "+id, func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT pk, id, user_id, user_name, language, title, version, started, ended, status, truncated
			FROM runs WHERE session = ? ORDER BY started, pk`, pk)
		if err != nil {
			return err
		}
		defer rows.Close()
		index := map[int64]int{} // run key → position in out
		for rows.Next() {
			var r store.Run
			var key int64
			var started, ended sql.NullInt64
			if err := rows.Scan(&key, &r.ID, &r.UserID, &r.UserName, &r.Language, &r.Title, &r.Version, &started, &ended, &r.Status, &r.Truncated); err != nil {
				return err
			}
			r.Started, r.Ended = decTime(started), decTime(ended)
			index[key] = len(out)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		outs, err := tx.QueryContext(ctx, `SELECT o.run, o.stream, o.text FROM run_output o JOIN runs r ON r.pk = o.run
			WHERE r.session = ? ORDER BY o.run, o.seq`, pk)
		if err != nil {
			return err
		}
		defer outs.Close()
		for outs.Next() {
			var key int64
			var o store.RunOutput
			var text []byte
			if err := outs.Scan(&key, &o.Stream, &text); err != nil {
				return err
			}
			o.Text = string(text)
			i := index[key]
			out[i].Output = append(out[i].Output, o)
		}
		return outs.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
