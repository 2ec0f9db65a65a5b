package questions

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"duet/store"
)

// examplesFile holds the examples duet ships, in the format of an exported file.
//
//go:embed examples.json
var examplesFile []byte

// Library is the question library: the questions of the store, and the examples,
// which every library has and nobody can change (duplicate one to edit it). It
// validates what it stores. It is safe for concurrent use.
type Library struct {
	store     store.Questions
	languages []string
	now       func() time.Time
	examples  []store.Question
	markdown  *Markdown
}

// NewLibrary returns the library kept in st, for questions in the given languages
// (those duet runs).
func NewLibrary(st store.Questions, languages []string) (*Library, error) {
	l := &Library{store: st, languages: slices.Clone(languages), now: time.Now, markdown: NewMarkdown()}
	fqs, err := decode(examplesFile, languages, true)
	if err != nil {
		return nil, fmt.Errorf("the examples: %w", err)
	}
	for _, q := range fqs {
		l.examples = append(l.examples, store.Question{ID: q.ID, Title: q.Title, Language: q.Language, Prompt: q.Prompt,
			StarterCode: q.StarterCode, Rubric: q.Rubric, Tests: q.Draft().Tests})
	}
	return l, nil
}

// Render returns the sanitised HTML of a prompt's or rubric's Markdown.
func (l *Library) Render(markdown string) string { return l.markdown.Render(markdown) }

// List returns the examples, then the library's questions by title, those whose
// title, language or prompt contains query (ignoring case) when query is not empty.
func (l *Library) List(ctx context.Context, query string) ([]store.Question, error) {
	stored, err := l.store.ListQuestions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list questions: %w", err)
	}
	all := append(slices.Clone(l.examples), stored...)
	query = strings.ToLower(strings.TrimSpace(query))
	if query == "" {
		return all, nil
	}
	out := []store.Question{}
	for _, q := range all {
		if strings.Contains(strings.ToLower(q.Title), query) || strings.Contains(q.Language, query) ||
			strings.Contains(strings.ToLower(q.Prompt), query) {
			out = append(out, q)
		}
	}
	return out, nil
}

// Get returns a question, an example or one of the store; ErrNotFound otherwise.
func (l *Library) Get(ctx context.Context, id string) (store.Question, error) {
	if !ValidID(id) {
		return store.Question{}, fmt.Errorf("question %q: %w", id, ErrNotFound)
	}
	if IsExample(id) {
		for _, q := range l.examples {
			if q.ID == id {
				q.Tests = slices.Clone(q.Tests)
				return q, nil
			}
		}
		return store.Question{}, fmt.Errorf("question %q: %w", id, ErrNotFound)
	}
	q, err := l.store.Question(ctx, id)
	return q, l.storeError("question "+id, err)
}

// Create adds a question to the library.
func (l *Library) Create(ctx context.Context, d Draft) (store.Question, error) {
	d = d.Normalize()
	if err := d.Validate(l.languages); err != nil {
		return store.Question{}, err
	}
	return l.create(ctx, uuid.NewString(), d)
}

func (l *Library) create(ctx context.Context, id string, d Draft) (store.Question, error) {
	now := l.now().UTC()
	q := question(id, d, now)
	q.CreatedAt = now
	if err := l.store.CreateQuestion(ctx, q); err != nil {
		return store.Question{}, fmt.Errorf("create question: %w", err)
	}
	return q, nil
}

// Update replaces what a question of the library says; examples are ErrReadOnly.
func (l *Library) Update(ctx context.Context, id string, d Draft) (store.Question, error) {
	if IsExample(id) {
		if _, err := l.Get(ctx, id); err != nil {
			return store.Question{}, err
		}
		return store.Question{}, fmt.Errorf("update question %s: %w", id, ErrReadOnly)
	}
	if !ValidID(id) {
		return store.Question{}, fmt.Errorf("question %q: %w", id, ErrNotFound)
	}
	d = d.Normalize()
	if err := d.Validate(l.languages); err != nil {
		return store.Question{}, err
	}
	return l.update(ctx, id, d)
}

func (l *Library) update(ctx context.Context, id string, d Draft) (store.Question, error) {
	q := question(id, d, l.now().UTC())
	if err := l.store.UpdateQuestion(ctx, q); err != nil {
		return store.Question{}, l.storeError("update question "+id, err)
	}
	return l.Get(ctx, id) // its creation time is the store's
}

// Delete removes a question from the library; examples are ErrReadOnly. Sessions
// started from it keep their copy.
func (l *Library) Delete(ctx context.Context, id string) error {
	if IsExample(id) {
		if _, err := l.Get(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("delete question %s: %w", id, ErrReadOnly)
	}
	if !ValidID(id) {
		return fmt.Errorf("question %q: %w", id, ErrNotFound)
	}
	return l.storeError("delete question "+id, l.store.DeleteQuestion(ctx, id))
}

// Duplicate adds a copy of a question (an example too) to the library, titled as a copy.
func (l *Library) Duplicate(ctx context.Context, id string) (store.Question, error) {
	q, err := l.Get(ctx, id)
	if err != nil {
		return store.Question{}, err
	}
	d := DraftOf(q)
	d.Title = copyTitle(d.Title)
	return l.create(ctx, uuid.NewString(), d)
}

// copyTitle is the title of a copy, kept within MaxTitle characters.
func copyTitle(title string) string {
	const suffix = " (copy)"
	r := []rune(title)
	return string(r[:min(len(r), MaxTitle-len(suffix))]) + suffix
}

// Imported says what an import did.
type Imported struct {
	Created, Updated int
}

// Import reads a file of questions (Decode) and stores them: a question with the id
// of one of the library replaces it, any other is added (with its id, or a new one).
// Nothing is stored unless the whole file is valid.
func (l *Library) Import(ctx context.Context, file []byte) (Imported, error) {
	var out Imported
	fqs, err := Decode(file, l.languages)
	if err != nil {
		return out, err
	}
	for _, fq := range fqs {
		if fq.ID != "" {
			_, err := l.update(ctx, fq.ID, fq.Draft())
			if err == nil {
				out.Updated++
				continue
			}
			if !errors.Is(err, ErrNotFound) {
				return out, err
			}
		}
		if _, err := l.create(ctx, cmp.Or(fq.ID, uuid.NewString()), fq.Draft()); err != nil {
			return out, err
		}
		out.Created++
	}
	return out, nil
}

// Export writes the library's questions (not the examples) as a file, by title.
func (l *Library) Export(ctx context.Context) ([]byte, error) {
	qs, err := l.store.ListQuestions(ctx)
	if err != nil {
		return nil, fmt.Errorf("export questions: %w", err)
	}
	return Encode(qs), nil
}

// AddToSession gives a session a copy of a question, at a document version; past
// MaxSessionQuestions it is ErrTooManyQuestions. (Two interviewers adding at the
// same instant may pass the bound by one: it bounds size, not a count to honour.)
func (l *Library) AddToSession(ctx context.Context, sessionID string, q store.Question, version int) error {
	had, err := l.SessionQuestions(ctx, sessionID)
	if err != nil {
		return err
	}
	if len(had) >= MaxSessionQuestions {
		return fmt.Errorf("add question to %s: %w", sessionID, ErrTooManyQuestions)
	}
	sq := store.SessionQuestion{Question: q, Version: version, Added: l.now().UTC()}
	return l.storeError("add question to "+sessionID, l.store.AddSessionQuestion(ctx, sessionID, sq))
}

// OfSession returns the question a session was given last, and false when it has
// none. An unknown session has none.
func (l *Library) OfSession(ctx context.Context, sessionID string) (store.SessionQuestion, bool, error) {
	qs, err := l.SessionQuestions(ctx, sessionID)
	if err != nil || len(qs) == 0 {
		return store.SessionQuestion{}, false, err
	}
	return qs[len(qs)-1], true, nil
}

// SessionQuestions returns every question a session was given, in the order they were
// added; an unknown session has none.
func (l *Library) SessionQuestions(ctx context.Context, sessionID string) ([]store.SessionQuestion, error) {
	qs, err := l.store.SessionQuestions(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("questions of %s: %w", sessionID, err)
	}
	return qs, nil
}

// storeError makes the store's ErrNotFound the library's.
func (l *Library) storeError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// question is the stored form of a draft, updated at a time.
func question(id string, d Draft, now time.Time) store.Question {
	return store.Question{ID: id, Title: d.Title, Language: d.Language, Prompt: d.Prompt, StarterCode: d.StarterCode,
		Rubric: d.Rubric, Tests: d.Tests, UpdatedAt: now}
}
