package collab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"duet/collab/history"
	"duet/store"
)

// Errors of notes. Handlers map them to HTTP once.
var (
	ErrNoteEmpty   = errors.New("a note needs some text")
	ErrNoteTooLong = fmt.Errorf("a note holds at most %d KiB of text", store.MaxNoteText>>10)
	ErrNoteLine    = errors.New("the document has no such line")
	// ErrNotesFull is a session that keeps as many notes as it may.
	ErrNotesFull = errors.New("the session keeps as many notes as it may")
)

// MaxNoteText is the most a note's text may hold, in bytes.
const MaxNoteText = store.MaxNoteText

// Note is an interviewer's note as shown now: Line is where its code is at the
// session's current version, WrittenLine where it was when written.
type Note struct {
	ID          string
	Author      string // public id in the session; "" when written through the API
	AuthorName  string
	Text        string
	Line        int
	WrittenLine int
	Version     int // the document version when it was written
	Created     time.Time
}

// NoteAuthor is who writes a note.
type NoteAuthor struct {
	ID   string // public id in the session; "" for the API
	Name string
}

// AddNote pins a note to 1-based line of the session's document as it is now,
// stores it, and tells the session's watchers that its notes changed (the pad's
// interviewers' streams show them; nothing is sent to anyone else).
func (h *Hub) AddNote(ctx context.Context, id string, by NoteAuthor, text string, line int) (Note, error) {
	switch {
	case !utf8.ValidString(text) || strings.TrimSpace(text) == "":
		return Note{}, ErrNoteEmpty
	case len(text) > MaxNoteText:
		return Note{}, ErrNoteTooLong
	}
	r, err := h.room(ctx, id)
	if err != nil {
		return Note{}, fmt.Errorf("note on %s: %w", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return Note{}, fmt.Errorf("note on %s: %w", id, ErrNotFound)
	}
	pos, ok := history.LinesOf(r.doc.Text()).Start(line)
	if !ok {
		return Note{}, fmt.Errorf("note on line %d of %s: %w", line, id, ErrNoteLine)
	}
	n := store.Note{
		ID: newNoteID(), Author: by.ID, AuthorName: by.Name, Text: text,
		Line: line, Pos: pos, Version: r.doc.Version(), Created: h.now().UTC(),
	}
	switch err := h.store.AddNote(ctx, id, n); {
	case errors.Is(err, store.ErrQuota):
		return Note{}, fmt.Errorf("note on %s: %w", id, ErrNotesFull)
	case errors.Is(err, store.ErrNotFound):
		return Note{}, fmt.Errorf("note on %s: %w", id, ErrNotFound)
	case err != nil:
		return Note{}, fmt.Errorf("note on %s: %w", id, err)
	}
	r.notes++
	r.notifyLocked()
	r.publishLocked(busEvent{Type: evNote})
	return Note{ID: n.ID, Author: n.Author, AuthorName: n.AuthorName, Text: n.Text, Line: line, WrittenLine: line,
		Version: n.Version, Created: n.Created}, nil
}

// Notes returns a session's notes, oldest first, each on the line its code is on
// now.
func (h *Hub) Notes(ctx context.Context, id string) ([]Note, error) {
	info, err := h.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	return h.NotesAt(ctx, id, info.Version, history.LinesOf(info.Text))
}

// NotesAt returns the notes written at or before a version, each on its line at
// that version; lines are the line starts of the text there.
func (h *Hub) NotesAt(ctx context.Context, id string, version int, lines history.Lines) ([]Note, error) {
	stored, err := history.Notes(ctx, h.store, id)
	if err != nil {
		return nil, err
	}
	stored = slices.DeleteFunc(stored, func(n store.Note) bool { return n.Version > version })
	pins := make([]history.Pin, len(stored))
	for i, n := range stored {
		pins[i] = history.Pin{Pos: n.Pos, Version: n.Version}
	}
	if pins, err = history.MapPins(ctx, h.store, id, pins, version); err != nil {
		return nil, fmt.Errorf("notes of %s: %w", id, err)
	}
	out := make([]Note, len(stored))
	for i, n := range stored {
		out[i] = Note{ID: n.ID, Author: n.Author, AuthorName: n.AuthorName, Text: n.Text, Line: lines.Line(pins[i].Pos),
			WrittenLine: n.Line, Version: n.Version, Created: n.Created}
	}
	return out, nil
}

func newNoteID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
