package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Note is an interviewer's private note on a session, pinned to a line of the code
// and to the moment it was written: Pos is the UTF-16 offset of the start of that
// line in the document at Version, so that the note can be shown at any later
// version by mapping Pos through the updates since.
type Note struct {
	ID         string // unique within the session; chosen by the caller
	SessionID  string // filled in on reading
	Author     string // the writer's public id in the session
	AuthorName string
	Text       string
	Line       int // 1-based, at Version
	Pos        int // UTF-16 offset of that line's start, at Version
	Version    int
	Created    time.Time
}

// Signal is something a candidate's browser reported while the session was live:
// a paste (Size: how many UTF-16 units it inserted), or the tab being hidden or
// shown again.
type Signal struct {
	SessionID string // filled in on reading
	UserID    string // the candidate's public id in the session
	Kind      string // SignalPaste, SignalHidden or SignalVisible
	Size      int    // pastes only
	Version   int    // the document version when it happened
	Time      time.Time
}

// Signal kinds.
const (
	SignalPaste   = "paste"
	SignalHidden  = "hidden"
	SignalVisible = "visible"
)

// MaxNoteText is the most a note's text may hold, in bytes.
const MaxNoteText = 64 << 10

// Bytes is what the note costs in a store, against Limits.SessionBytes.
func (n Note) Bytes() int {
	return RowBytes + len(n.ID) + len(n.Author) + len(n.AuthorName) + len(n.Text)
}

// NotesFit tells whether a session that has n notes may keep one more.
func (l Limits) NotesFit(n int) bool {
	return l.Notes < 0 || n < l.Notes
}

// SignalsFit tells whether a session that has n signals may keep one more.
func (l Limits) SignalsFit(n int) bool {
	return l.Signals < 0 || n < l.Signals
}

// AddNote records a note, or returns ErrExists for a note id the session has
// already, or ErrQuota when the session has Limits.Notes notes or the note would
// take it past Limits.SessionBytes.
func (m *Memory) AddNote(ctx context.Context, id string, n Note) error {
	return m.with(ctx, id, func(s *memSession) error {
		if slices.ContainsFunc(s.notes, func(o Note) bool { return o.ID == n.ID }) {
			return fmt.Errorf("note %s of %s: %w", n.ID, id, ErrExists)
		}
		if !m.limits.NotesFit(len(s.notes)) || !m.limits.Fits(s.Bytes, int64(n.Bytes())) {
			return fmt.Errorf("note %s of %s (%d notes, stores %d): %w", n.ID, id, len(s.notes), s.Bytes, ErrQuota)
		}
		s.Bytes += int64(n.Bytes())
		n.SessionID, n.Created = id, n.Created.UTC()
		s.notes = append(s.notes, n)
		return nil
	})
}

// Notes returns a session's notes in the order they were recorded.
func (m *Memory) Notes(ctx context.Context, id string) ([]Note, error) {
	var out []Note
	err := m.with(ctx, id, func(s *memSession) error {
		out = slices.Clone(s.notes)
		return nil
	})
	return out, err
}

// AddSignal records a signal, or returns ErrQuota when the session has
// Limits.Signals of them already.
func (m *Memory) AddSignal(ctx context.Context, id string, sig Signal) error {
	return m.with(ctx, id, func(s *memSession) error {
		if !m.limits.SignalsFit(len(s.signals)) {
			return fmt.Errorf("signal of %s (%d kept): %w", id, len(s.signals), ErrQuota)
		}
		sig.SessionID, sig.Time = id, sig.Time.UTC()
		s.signals = append(s.signals, sig)
		return nil
	})
}

// Signals returns a session's signals in the order they were recorded.
func (m *Memory) Signals(ctx context.Context, id string) ([]Signal, error) {
	var out []Signal
	err := m.with(ctx, id, func(s *memSession) error {
		out = slices.Clone(s.signals)
		return nil
	})
	return out, err
}
