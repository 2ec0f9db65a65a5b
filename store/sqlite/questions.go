package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"duet/store"
)

var _ store.Questions = (*Store)(nil)

// CreateQuestion stores a new question, or returns ErrExists.
func (s *Store) CreateQuestion(ctx context.Context, q store.Question) error {
	body, err := store.EncodeQuestion(q)
	if err != nil {
		return err
	}
	return s.write(ctx, "create question "+q.ID, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO questions (id, title, created, updated, body) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, q.ID, q.Title, encTime(q.CreatedAt), encTime(q.UpdatedAt), body)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("create question %s: %w", q.ID, store.ErrExists)
		}
		return nil
	})
}

// UpdateQuestion replaces a question, keeping its creation time.
func (s *Store) UpdateQuestion(ctx context.Context, q store.Question) error {
	body, err := store.EncodeQuestion(q)
	if err != nil {
		return err
	}
	return s.write(ctx, "update question "+q.ID, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE questions SET title = ?, updated = ?, body = ? WHERE id = ?`,
			q.Title, encTime(q.UpdatedAt), body, q.ID)
		return questionAffected(res, err, q.ID)
	})
}

// Question returns a question of the library, or ErrNotFound.
func (s *Store) Question(ctx context.Context, id string) (store.Question, error) {
	var out store.Question
	err := s.read(ctx, "question "+id, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, created, updated, body FROM questions WHERE id = ?`, id)
		if err != nil {
			return err
		}
		qs, err := scanQuestions(rows)
		if err != nil {
			return err
		}
		if len(qs) == 0 {
			return fmt.Errorf("question %s: %w", id, store.ErrNotFound)
		}
		out = qs[0]
		return nil
	})
	return out, err
}

// ListQuestions returns the library by title, then id.
func (s *Store) ListQuestions(ctx context.Context) ([]store.Question, error) {
	var out []store.Question
	err := s.read(ctx, "list questions", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, created, updated, body FROM questions ORDER BY title, id`)
		if err != nil {
			return err
		}
		out, err = scanQuestions(rows)
		return err
	})
	return out, err
}

// DeleteQuestion removes a question from the library; no file keeps it (erase.go).
func (s *Store) DeleteQuestion(ctx context.Context, id string) error {
	return s.erase(ctx, "delete question "+id, func(ctx context.Context, tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM questions WHERE id = ?`, id)
		err = questionAffected(res, err, id)
		return err == nil, err
	})
}

// AddSessionQuestion gives a session a copy of a question.
func (s *Store) AddSessionQuestion(ctx context.Context, sessionID string, q store.SessionQuestion) error {
	body, err := store.EncodeQuestion(q.Question)
	if err != nil {
		return err
	}
	return s.write(ctx, "add question to "+sessionID, func(ctx context.Context, tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO session_questions (session, seq, id, version, added, created, updated, body)
			SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7 FROM session_questions WHERE session = ?1`,
			pk, q.ID, q.Version, encTime(q.Added), encTime(q.CreatedAt), encTime(q.UpdatedAt), body)
		return err
	})
}

// SessionQuestions returns the questions a session was given, in order.
func (s *Store) SessionQuestions(ctx context.Context, sessionID string) ([]store.SessionQuestion, error) {
	out := []store.SessionQuestion{}
	err := s.read(ctx, "questions of "+sessionID, func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, version, added, created, updated, body FROM session_questions
			WHERE session = ? ORDER BY seq`, pk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var q store.SessionQuestion
			var added, created, updated sql.NullInt64
			var body []byte
			if err := rows.Scan(&q.ID, &q.Version, &added, &created, &updated, &body); err != nil {
				return err
			}
			q.Added, q.CreatedAt, q.UpdatedAt = decTime(added), decTime(created), decTime(updated)
			if err := store.DecodeQuestion(body, &q.Question); err != nil {
				return err
			}
			out = append(out, q)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanQuestions reads rows of (id, created, updated, body) and closes them.
func scanQuestions(rows *sql.Rows) ([]store.Question, error) {
	defer rows.Close()
	out := []store.Question{}
	for rows.Next() {
		var q store.Question
		var created, updated sql.NullInt64
		var body []byte
		if err := rows.Scan(&q.ID, &created, &updated, &body); err != nil {
			return nil, err
		}
		q.CreatedAt, q.UpdatedAt = decTime(created), decTime(updated)
		if err := store.DecodeQuestion(body, &q); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// questionAffected turns a change of no row into ErrNotFound.
func questionAffected(res sql.Result, err error, id string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("question %s: %w", id, store.ErrNotFound)
	}
	return nil
}
