package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Question is one question of the library: what an interviewer prepares once and
// starts interviews from. The package questions validates it before it is stored:
// its text is valid UTF-8 without NUL, as the SQL back ends need.
type Question struct {
	ID          string
	Title       string
	Language    string
	Prompt      string // Markdown, shown to everyone in the interview
	StarterCode string // the document an interview starts from
	Rubric      string // Markdown, for interviewers only
	Tests       []QuestionTest
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// QuestionTest is one test of a question: a snippet in the question's language that
// raises (or throws) when the answer is wrong.
type QuestionTest struct {
	Name   string
	Code   string
	Hidden bool // for interviewers only
}

// SessionQuestion is a question as a session was given it: a copy taken when it was
// added, so that editing or deleting the library's question later changes nothing
// in an interview under way or in its replay.
type SessionQuestion struct {
	Question
	Version int       // the document version when it was added
	Added   time.Time // when
}

// Questions keeps the question library and the questions given to sessions. Every
// back end implements it beside Store; the same rules hold (safe for concurrent
// use, ctx honoured, ErrNotFound and ErrExists as sentinels, times in UTC to the
// nanosecond).
type Questions interface {
	// CreateQuestion stores a new question, or returns ErrExists when its id is taken.
	CreateQuestion(ctx context.Context, q Question) error
	// UpdateQuestion replaces the question with q's id (its CreatedAt is kept), or
	// returns ErrNotFound.
	UpdateQuestion(ctx context.Context, q Question) error
	Question(ctx context.Context, id string) (Question, error)
	// ListQuestions returns every question of the library, by title, then by id.
	ListQuestions(ctx context.Context) ([]Question, error)
	DeleteQuestion(ctx context.Context, id string) error

	// AddSessionQuestion gives a session a copy of a question; it goes when the
	// session goes (deleted or purged, with its history).
	AddSessionQuestion(ctx context.Context, sessionID string, q SessionQuestion) error
	// SessionQuestions returns the questions a session was given, in the order they
	// were added (none: an empty list), or ErrNotFound for an unknown session.
	SessionQuestions(ctx context.Context, sessionID string) ([]SessionQuestion, error)
}

// questionRecord is how the SQL back ends keep what a question says, in one JSON
// column: a question is read and written whole, and its tests are an ordered list
// that no query looks into.
type questionRecord struct {
	Title       string         `json:"title"`
	Language    string         `json:"language"`
	Prompt      string         `json:"prompt"`
	StarterCode string         `json:"starterCode"`
	Rubric      string         `json:"rubric"`
	Tests       []recordedTest `json:"tests"`
}

type recordedTest struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Hidden bool   `json:"hidden,omitempty"`
}

// EncodeQuestion is the JSON a SQL back end stores for q (all but its id and times).
func EncodeQuestion(q Question) ([]byte, error) {
	r := questionRecord{Title: q.Title, Language: q.Language, Prompt: q.Prompt, StarterCode: q.StarterCode, Rubric: q.Rubric, Tests: []recordedTest{}}
	for _, t := range q.Tests {
		r.Tests = append(r.Tests, recordedTest(t))
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode question %s: %w", q.ID, err)
	}
	return b, nil
}

// DecodeQuestion fills q from what EncodeQuestion made.
func DecodeQuestion(b []byte, q *Question) error {
	var r questionRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("decode question %s: %w", q.ID, err)
	}
	q.Title, q.Language, q.Prompt, q.StarterCode, q.Rubric = r.Title, r.Language, r.Prompt, r.StarterCode, r.Rubric
	q.Tests = make([]QuestionTest, len(r.Tests))
	for i, t := range r.Tests {
		q.Tests[i] = QuestionTest(t)
	}
	return nil
}
