package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

var _ store.Questions = (*Store)(nil)

// CreateQuestion stores a new question, or returns ErrExists.
func (s *Store) CreateQuestion(ctx context.Context, q store.Question) error {
	body, err := store.EncodeQuestion(q)
	if err != nil {
		return err
	}
	return s.do(ctx, "create question "+q.ID, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO questions (id, title, created, updated, body) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING`, q.ID, []byte(q.Title), encTime(q.CreatedAt), encTime(q.UpdatedAt), body)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("create question %s: %w", q.ID, store.ErrExists)
		}
		return err
	})
}

// UpdateQuestion replaces a question, keeping its creation time.
func (s *Store) UpdateQuestion(ctx context.Context, q store.Question) error {
	body, err := store.EncodeQuestion(q)
	if err != nil {
		return err
	}
	return s.do(ctx, "update question "+q.ID, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE questions SET title = $2, updated = $3, body = $4 WHERE id = $1`,
			q.ID, []byte(q.Title), encTime(q.UpdatedAt), body)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("question %s: %w", q.ID, store.ErrNotFound)
		}
		return err
	})
}

// Question returns a question of the library, or ErrNotFound.
func (s *Store) Question(ctx context.Context, id string) (store.Question, error) {
	var out store.Question
	err := s.do(ctx, "question "+id, func(ctx context.Context) error {
		qs, err := s.questions(ctx, `SELECT id, created, updated, body FROM questions WHERE id = $1`, id)
		if err == nil && len(qs) == 0 {
			err = fmt.Errorf("question %s: %w", id, store.ErrNotFound)
		}
		if err == nil {
			out = qs[0]
		}
		return err
	})
	return out, err
}

// ListQuestions returns the library by title, then id. The titles are bytea, so
// they sort byte by byte as in every back end, whatever the database's collation.
func (s *Store) ListQuestions(ctx context.Context) ([]store.Question, error) {
	var out []store.Question
	err := s.do(ctx, "list questions", func(ctx context.Context) error {
		var err error
		out, err = s.questions(ctx, `SELECT id, created, updated, body FROM questions ORDER BY title, id COLLATE "C"`)
		return err
	})
	return out, err
}

// questions reads the rows of (id, created, updated, body) a query returns.
func (s *Store) questions(ctx context.Context, sql string, args ...any) ([]store.Question, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Question{}
	for rows.Next() {
		var q store.Question
		var created, updated *int64
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

// DeleteQuestion removes a question from the library, or returns ErrNotFound.
func (s *Store) DeleteQuestion(ctx context.Context, id string) error {
	return s.do(ctx, "delete question "+id, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM questions WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("question %s: %w", id, store.ErrNotFound)
		}
		return err
	})
}

// AddSessionQuestion gives a session a copy of a question, in one statement.
func (s *Store) AddSessionQuestion(ctx context.Context, sessionID string, q store.SessionQuestion) error {
	body, err := store.EncodeQuestion(q.Question)
	if err != nil {
		return err
	}
	return s.do(ctx, "add question to "+sessionID, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO session_questions (session, seq, id, version, added, created, updated, body)
			SELECT s.pk, COALESCE((SELECT MAX(seq) FROM session_questions WHERE session = s.pk), 0) + 1, $2, $3, $4, $5, $6, $7
			FROM sessions s WHERE s.id = $1`,
			sessionID, q.ID, q.Version, encTime(q.Added), encTime(q.CreatedAt), encTime(q.UpdatedAt), body)
		if err == nil && tag.RowsAffected() == 0 {
			err = noSession(sessionID)
		}
		return err
	})
}

// SessionQuestions returns the questions a session was given, in order.
func (s *Store) SessionQuestions(ctx context.Context, sessionID string) ([]store.SessionQuestion, error) {
	var out []store.SessionQuestion
	err := s.do(ctx, "questions of "+sessionID, func(ctx context.Context) error {
		out = []store.SessionQuestion{}
		return sessionRows(ctx, s.pool, `SELECT q.id, q.version, q.added, q.created, q.updated, q.body
			FROM sessions s LEFT JOIN session_questions q ON q.session = s.pk
			WHERE s.id = $1 ORDER BY q.seq`, sessionID, func(rows pgx.Rows) error {
			var (
				id                      *string
				version                 *int
				added, created, updated *int64
				body                    []byte
			)
			if err := rows.Scan(&id, &version, &added, &created, &updated, &body); err != nil {
				return err
			}
			if id == nil {
				return nil // the session has none
			}
			q := store.SessionQuestion{Version: *version, Added: decTime(added)}
			q.ID, q.CreatedAt, q.UpdatedAt = *id, decTime(created), decTime(updated)
			if err := store.DecodeQuestion(body, &q.Question); err != nil {
				return err
			}
			out = append(out, q)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
