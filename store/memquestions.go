package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

var _ Questions = (*Memory)(nil)

// CreateQuestion stores a new question, or returns ErrExists.
func (m *Memory) CreateQuestion(ctx context.Context, q Question) error {
	return m.withQuestions(ctx, func() error {
		if _, ok := m.questions[q.ID]; ok {
			return fmt.Errorf("create question %s: %w", q.ID, ErrExists)
		}
		m.questions[q.ID] = cloneQuestion(q)
		return nil
	})
}

// UpdateQuestion replaces a question, keeping its creation time.
func (m *Memory) UpdateQuestion(ctx context.Context, q Question) error {
	return m.withQuestions(ctx, func() error {
		old, ok := m.questions[q.ID]
		if !ok {
			return fmt.Errorf("update question %s: %w", q.ID, ErrNotFound)
		}
		q.CreatedAt = old.CreatedAt
		m.questions[q.ID] = cloneQuestion(q)
		return nil
	})
}

// Question returns a question of the library, or ErrNotFound.
func (m *Memory) Question(ctx context.Context, id string) (Question, error) {
	var out Question
	err := m.withQuestions(ctx, func() error {
		q, ok := m.questions[id]
		if !ok {
			return fmt.Errorf("question %s: %w", id, ErrNotFound)
		}
		out = cloneQuestion(q)
		return nil
	})
	return out, err
}

// ListQuestions returns the library by title, then id.
func (m *Memory) ListQuestions(ctx context.Context) ([]Question, error) {
	out := []Question{}
	err := m.withQuestions(ctx, func() error {
		for _, q := range m.questions {
			out = append(out, cloneQuestion(q))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Question) int { return cmp.Or(cmp.Compare(a.Title, b.Title), cmp.Compare(a.ID, b.ID)) })
	return out, err
}

// DeleteQuestion removes a question from the library, or returns ErrNotFound.
func (m *Memory) DeleteQuestion(ctx context.Context, id string) error {
	return m.withQuestions(ctx, func() error {
		if _, ok := m.questions[id]; !ok {
			return fmt.Errorf("delete question %s: %w", id, ErrNotFound)
		}
		delete(m.questions, id)
		return nil
	})
}

// AddSessionQuestion gives a session a copy of a question.
func (m *Memory) AddSessionQuestion(ctx context.Context, sessionID string, q SessionQuestion) error {
	return m.with(ctx, sessionID, func(s *memSession) error {
		c := SessionQuestion{Question: cloneQuestion(q.Question), Version: q.Version, Added: q.Added.UTC()}
		s.questions = append(s.questions, c)
		return nil
	})
}

// SessionQuestions returns the questions a session was given, in order.
func (m *Memory) SessionQuestions(ctx context.Context, sessionID string) ([]SessionQuestion, error) {
	out := []SessionQuestion{}
	err := m.with(ctx, sessionID, func(s *memSession) error {
		for _, q := range s.questions {
			out = append(out, SessionQuestion{Question: cloneQuestion(q.Question), Version: q.Version, Added: q.Added})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (m *Memory) withQuestions(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("questions: %w", ErrClosed)
	}
	if m.questions == nil {
		m.questions = map[string]Question{}
	}
	return f()
}

// cloneQuestion copies q with its own tests and times in UTC, so that neither the
// caller nor the store changes the other's.
func cloneQuestion(q Question) Question {
	q.Tests = slices.Clone(q.Tests)
	if q.Tests == nil {
		q.Tests = []QuestionTest{}
	}
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return q
}
