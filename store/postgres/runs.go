package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

// AppendRun records a run with its output, or returns ErrExists for a run id the
// session has already. Past the session's quota it keeps what the quota leaves room
// for (store.Limits.FitRun): one transaction reads what the session stores, with
// its row locked so that no append takes the room meanwhile, then stores the run.
func (s *Store) AppendRun(ctx context.Context, id string, r store.Run) error {
	return s.do(ctx, fmt.Sprintf("record run %s of %s", r.ID, id), func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var pk, have int64
			err := tx.QueryRow(ctx, `SELECT pk, bytes FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&pk, &have)
			if errors.Is(err, errNoRows) {
				return noSession(id)
			}
			if err != nil {
				return err
			}
			r, ok := s.opts.Limits.FitRun(r, have)
			if !ok {
				return fmt.Errorf("run %s of %s (stores %d): %w", r.ID, id, have, store.ErrQuota)
			}
			streams, texts := make([]string, len(r.Output)), make([][]byte, len(r.Output))
			for i, o := range r.Output {
				streams[i], texts[i] = o.Stream, []byte(o.Text)
			}
			var runs int
			err = tx.QueryRow(ctx, `WITH r AS (
					INSERT INTO runs (session, id, user_id, user_name, language, title, version, started, ended, status, truncated)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
					ON CONFLICT (session, id) DO NOTHING
					RETURNING pk
				), o AS (
					INSERT INTO run_output (run, seq, stream, text)
					SELECT r.pk, (o.n - 1)::integer, o.stream, o.text
					FROM r, unnest($12::text[], $13::bytea[]) WITH ORDINALITY AS o (stream, text, n)
				), b AS (
					UPDATE sessions SET bytes = bytes + $14 FROM r WHERE sessions.pk = $1
				)
				SELECT count(*) FROM r`,
				pk, []byte(r.ID), []byte(r.UserID), []byte(r.UserName), r.Language, []byte(r.Title), r.Version,
				encTime(r.Started), encTime(r.Ended), []byte(r.Status), r.Truncated, streams, texts, r.Bytes()).Scan(&runs)
			switch {
			case err != nil:
				return err
			case runs == 0:
				return fmt.Errorf("run %s of %s: %w", r.ID, id, store.ErrExists)
			}
			return nil
		})
	})
}

// Runs returns a session's runs in the order they started, ties as recorded.
func (s *Store) Runs(ctx context.Context, id string) ([]store.Run, error) {
	var out []store.Run
	err := s.do(ctx, "runs of "+id, func(ctx context.Context) error {
		out = nil
		// A run with no output comes with NULLs for it, and a session with no run as
		// one row of NULLs. SQLite puts the zero time (NULL) first; so must this.
		last := int64(-1)
		return sessionRows(ctx, s.pool, `SELECT r.pk, r.id, r.user_id, r.user_name, r.language, r.title, r.version,
				r.started, r.ended, r.status, r.truncated, o.stream, o.text
			FROM sessions s LEFT JOIN runs r ON r.session = s.pk LEFT JOIN run_output o ON o.run = r.pk
			WHERE s.id = $1 ORDER BY r.started NULLS FIRST, r.pk, o.seq`, id, func(rows pgx.Rows) error {
			var (
				key                              *int64
				runID, user, name, title, status []byte
				language, stream                 *string
				version                          *int
				started, ended                   *int64
				truncated                        *bool
				text                             []byte
			)
			if err := rows.Scan(&key, &runID, &user, &name, &language, &title, &version,
				&started, &ended, &status, &truncated, &stream, &text); err != nil {
				return err
			}
			if key == nil {
				return nil // the session has no run
			}
			if *key != last {
				last = *key
				out = append(out, store.Run{
					ID: string(runID), UserID: string(user), UserName: string(name), Language: *language, Title: string(title),
					Version: *version, Started: decTime(started), Ended: decTime(ended), Status: string(status), Truncated: *truncated,
				})
			}
			if stream != nil {
				r := &out[len(out)-1]
				r.Output = append(r.Output, store.RunOutput{Stream: *stream, Text: string(text)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
