package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"duet/store"
)

// Backend is a store with the question library: every back end of duet.
type Backend interface {
	store.Store
	store.Questions
}

// RunQuestions checks the question library and the questions given to sessions.
// open returns a fresh, empty store; RunQuestions closes it.
func RunQuestions(t *testing.T, open func(t *testing.T) Backend) {
	t.Helper()
	created := time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC)
	two := store.Question{
		ID: "0b5a2f8e-0000-4000-8000-000000000002", Title: "Two sum", Language: "python",
		Prompt: "Find **two** numbers. ✓ 😀", StarterCode: "def two_sum(nums, target):\n    pass\n",
		Rubric: "Hash map: O(n).",
		Tests: []store.QuestionTest{
			{Name: "small", Code: "assert two_sum([2, 7], 9) == [0, 1]"},
			{Name: "secret", Code: "assert two_sum([3, 3], 6) == [0, 1]", Hidden: true},
		},
		CreatedAt: created, UpdatedAt: created,
	}
	lru := store.Question{ID: "0b5a2f8e-0000-4000-8000-000000000001", Title: "LRU cache", Language: "javascript",
		Tests: []store.QuestionTest{}, CreatedAt: created.Add(time.Hour)} // UpdatedAt zero: stays zero

	mustOpen := func(t *testing.T) Backend {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	want := func(t *testing.T, what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v\nwant %+v", what, got, want)
		}
	}

	t.Run("library", func(t *testing.T) {
		ctx := t.Context()
		s := mustOpen(t)
		if got, err := s.ListQuestions(ctx); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ListQuestions() of an empty library = %v, %v; want an empty list", got, err)
		}
		for _, q := range []store.Question{two, lru} {
			if err := s.CreateQuestion(ctx, q); err != nil {
				t.Fatalf("CreateQuestion(%s) error = %v", q.Title, err)
			}
		}
		if err := s.CreateQuestion(ctx, two); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateQuestion(twice) error = %v, want ErrExists", err)
		}
		got, err := s.Question(ctx, two.ID)
		if err != nil {
			t.Fatalf("Question() error = %v", err)
		}
		want(t, "Question()", got, two)
		got.Tests[0].Name = "changed by the caller" // must not reach the store
		list, err := s.ListQuestions(ctx)
		if err != nil {
			t.Fatalf("ListQuestions() error = %v", err)
		}
		want(t, "ListQuestions() (by title)", list, []store.Question{lru, two})

		edited := two
		edited.Title, edited.Prompt, edited.Tests = "Two sum, sorted", "Sorted input.", []store.QuestionTest{{Name: "one", Code: "pass"}}
		edited.CreatedAt, edited.UpdatedAt = created.Add(48*time.Hour), created.Add(24*time.Hour)
		if err := s.UpdateQuestion(ctx, edited); err != nil {
			t.Fatalf("UpdateQuestion() error = %v", err)
		}
		edited.CreatedAt = two.CreatedAt // kept from the first version
		if got, err := s.Question(ctx, two.ID); err != nil {
			t.Errorf("Question() after update error = %v", err)
		} else {
			want(t, "Question() after update", got, edited)
		}
		ghost := lru
		ghost.ID = "0b5a2f8e-0000-4000-8000-00000000dead"
		if err := s.UpdateQuestion(ctx, ghost); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateQuestion(unknown) error = %v, want ErrNotFound", err)
		}
		if _, err := s.Question(ctx, ghost.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Question(unknown) error = %v, want ErrNotFound", err)
		}

		if err := s.DeleteQuestion(ctx, lru.ID); err != nil {
			t.Fatalf("DeleteQuestion() error = %v", err)
		}
		if err := s.DeleteQuestion(ctx, lru.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteQuestion(twice) error = %v, want ErrNotFound", err)
		}
		if _, err := s.Question(ctx, lru.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Question(deleted) error = %v, want ErrNotFound", err)
		}
		if list, err := s.ListQuestions(ctx); err != nil || len(list) != 1 || list[0].ID != two.ID {
			t.Errorf("ListQuestions() after delete = %+v, %v; want only %s", list, err, two.ID)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		ctx := t.Context()
		s := mustOpen(t)
		sess := store.Session{ID: "3f2a1b9c-0000-4000-8000-0000000000aa", Language: "python", CreatedAt: created, LastActive: created, OwnerTokenHash: []byte{1}}
		mustCreate := func() {
			t.Helper()
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatalf("CreateSession() error = %v", err)
			}
		}
		mustCreate()
		if got, err := s.SessionQuestions(ctx, sess.ID); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("SessionQuestions() of a new session = %v, %v; want an empty list", got, err)
		}
		if err := s.CreateQuestion(ctx, two); err != nil {
			t.Fatal(err)
		}
		first := store.SessionQuestion{Question: two, Version: 0, Added: created}
		second := store.SessionQuestion{Question: lru, Version: 7, Added: created.Add(30 * time.Minute)}
		for _, q := range []store.SessionQuestion{first, second} {
			if err := s.AddSessionQuestion(ctx, sess.ID, q); err != nil {
				t.Fatalf("AddSessionQuestion(%s) error = %v", q.Title, err)
			}
		}
		// The session keeps its copy whatever happens to the library's.
		if err := s.DeleteQuestion(ctx, two.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionQuestions(ctx, sess.ID)
		if err != nil {
			t.Fatalf("SessionQuestions() error = %v", err)
		}
		want(t, "SessionQuestions()", got, []store.SessionQuestion{first, second})

		if err := s.AddSessionQuestion(ctx, "nope", first); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddSessionQuestion(unknown session) error = %v, want ErrNotFound", err)
		}
		if _, err := s.SessionQuestions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionQuestions(unknown session) error = %v, want ErrNotFound", err)
		}

		// They go with the session, deleted or purged.
		for _, end := range []func(context.Context) error{
			func(ctx context.Context) error { return s.DeleteSession(ctx, sess.ID) },
			func(ctx context.Context) error { _, err := s.PurgeIdle(ctx, created.Add(time.Second)); return err },
		} {
			if err := end(ctx); err != nil {
				t.Fatalf("ending the session: %v", err)
			}
			mustCreate()
			if got, err := s.SessionQuestions(ctx, sess.ID); err != nil || len(got) != 0 {
				t.Errorf("SessionQuestions() of a session re-created after it ended = %+v, %v; want none", got, err)
			}
			if err := s.AddSessionQuestion(ctx, sess.ID, first); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("closed", func(t *testing.T) {
		s := open(t)
		s.Close()
		if err := s.CreateQuestion(t.Context(), two); !errors.Is(err, store.ErrClosed) {
			t.Errorf("CreateQuestion() after Close error = %v, want ErrClosed", err)
		}
		if _, err := s.ListQuestions(t.Context()); !errors.Is(err, store.ErrClosed) {
			t.Errorf("ListQuestions() after Close error = %v, want ErrClosed", err)
		}
	})
}

// RunStarter checks what a session started from a question relies on: a snapshot at
// version 0, saved before any update, is the document the session starts from.
func RunStarter(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	ctx := t.Context()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	sess := store.Session{ID: "3f2a1b9c-0000-4000-8000-0000000000bb", Language: "python", OwnerTokenHash: []byte{1}}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	start := store.Snapshot{Version: 0, Text: []byte(`"def f():\n    pass\n"`)}
	if err := s.SaveSnapshot(ctx, sess.ID, start); err != nil {
		t.Fatalf("SaveSnapshot(0) error = %v", err)
	}
	if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{{ClientID: "c", Changes: []byte(`[[0,"#"],18]`)}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{0, 1} {
		if got, err := s.SnapshotAt(ctx, sess.ID, v); err != nil || got.Version != 0 || string(got.Text) != string(start.Text) {
			t.Errorf("SnapshotAt(%d) = {%d %s}, %v; want {0 %s}", v, got.Version, got.Text, err, start.Text)
		}
	}
	if got, err := s.LatestSnapshot(ctx, sess.ID); err != nil || got.Version != 0 || string(got.Text) != string(start.Text) {
		t.Errorf("LatestSnapshot() = {%d %s}, %v; want {0 %s}", got.Version, got.Text, err, start.Text)
	}
}
