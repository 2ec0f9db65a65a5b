package collab_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"duet/collab"
	"duet/store"
)

// TestNotes writes notes through the hub and checks what is refused (changing
// nothing), what is kept, and that a note keeps to its code while a client
// inserts lines above it over a real socket.
func TestNotes(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id := srv.mustSession(t)
	ctx := t.Context()
	a := dial(t, srv, id, url.Values{"userName": {"Ada"}})
	a.readType("sync")
	a.send(`{"type":"edit","version":0,"updates":[{"clientID":"a","changes":[[0,"def f(x):","    y = x * 2","    return y"]]}]}`)
	a.readType("update")

	watch, err := srv.hub.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	first := <-watch
	by := collab.NoteAuthor{ID: "p-ivy", Name: "Ivy"}
	bad := []struct {
		name string
		text string
		line int
		want error
	}{
		{"empty", "", 1, collab.ErrNoteEmpty},
		{"only spaces", " \n\t ", 1, collab.ErrNoteEmpty},
		{"not UTF-8", "\xff\xfe", 1, collab.ErrNoteEmpty},
		{"too long", strings.Repeat("x", store.MaxNoteText+1), 1, collab.ErrNoteTooLong},
		{"line 0", "hm", 0, collab.ErrNoteLine},
		{"negative line", "hm", -3, collab.ErrNoteLine},
		{"past the last line", "hm", 4, collab.ErrNoteLine},
	}
	for _, tt := range bad {
		if _, err := srv.hub.AddNote(ctx, id, by, tt.text, tt.line); !errors.Is(err, tt.want) {
			t.Errorf("AddNote(%s) error = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := srv.hub.AddNote(ctx, "00000000-0000-4000-8000-000000000000", by, "hm", 1); !errors.Is(err, collab.ErrNotFound) {
		t.Errorf("AddNote(unknown session) error = %v, want ErrNotFound", err)
	}
	if ns, err := srv.store.Notes(ctx, id); err != nil || len(ns) != 0 {
		t.Fatalf("after refusals the store has %v, %v; want no notes", ns, err)
	}

	n, err := srv.hub.AddNote(ctx, id, by, "doubles: fine", 2)
	if err != nil {
		t.Fatal(err)
	}
	if n.Line != 2 || n.WrittenLine != 2 || n.Version != 1 || n.AuthorName != "Ivy" || n.ID == "" {
		t.Errorf("AddNote() = %+v", n)
	}
	select {
	case p := <-watch:
		if p.Notes == first.Notes {
			t.Errorf("the watcher's presence after a note has Notes %d as before", p.Notes)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher was not told of the note")
	}

	// Two lines typed above line 2: the note follows its code to line 4.
	a.send(`{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[10,[0,"    # twice","    # x",""],26]}]}`)
	a.readType("update")
	ns, err := srv.hub.Notes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Line != 4 || ns[0].WrittenLine != 2 || ns[0].Text != "doubles: fine" {
		t.Fatalf("Notes() = %+v, want the note on line 4 (written on 2)", ns)
	}
	// At the version it was written, it is where it was written.
	at, err := srv.hub.NotesAt(ctx, id, 1, nil)
	if err != nil || len(at) != 1 {
		t.Fatalf("NotesAt(1) = %v, %v", at, err)
	}
	if at, err := srv.hub.NotesAt(ctx, id, 0, nil); err != nil || len(at) != 0 {
		t.Errorf("NotesAt(0) = %v, %v; want none (written at 1)", at, err)
	}
}
