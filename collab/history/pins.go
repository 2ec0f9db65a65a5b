package history

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"duet/collab/ot"
	"duet/store"
)

// Pin is a position in a session's document at a version: where a note was
// written. Moved forward through the updates since, it stays with the code it was
// written beside, whatever is inserted or deleted above it.
type Pin struct {
	Pos     int // UTF-16 offset
	Version int
}

// Forward moves, through c (the update from version v to v+1), every pin that is
// at version v. A pin at the start of a line keeps to that line's text: text
// inserted exactly there (new lines typed above it) goes before the pin.
func Forward(pins []Pin, v int, c *ot.ChangeSet) error {
	for i := range pins {
		if pins[i].Version != v {
			continue
		}
		pos, _, err := c.MapPos(min(pins[i].Pos, c.Len()), 1, ot.MapSimple)
		if err != nil {
			return fmt.Errorf("pin %d at version %d: %w", i, v, err)
		}
		pins[i] = Pin{Pos: pos, Version: v + 1}
	}
	return nil
}

// MapPins moves pins forward to version to, reading the session's log from the
// oldest pin's version. Pins written after to are left as they are.
func MapPins(ctx context.Context, st store.Store, id string, pins []Pin, to int) ([]Pin, error) {
	out := slices.Clone(pins)
	from := to
	for _, p := range out {
		if p.Version < 0 {
			return nil, fmt.Errorf("pin at version %d: %w", p.Version, ot.ErrInvalidVersion)
		}
		from = min(from, p.Version)
	}
	err := Each(ctx, st, id, from, to, func(v int, u ot.Update) error {
		return Forward(out, v, u.Changes)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Lines indexes the starts of a text's lines, to turn a line number into an offset
// and back.
type Lines []int

// LinesOf returns the line starts of t ("\n" ends a line, as in the editor).
func LinesOf(t ot.Text) Lines {
	starts := Lines{0}
	for i, u := range t.Units() {
		if u == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// Start returns the offset of 1-based line n, or false when the text has no such
// line.
func (l Lines) Start(n int) (int, bool) {
	if n < 1 || n > len(l) {
		return 0, false
	}
	return l[n-1], true
}

// Line returns the 1-based line that offset pos is on.
func (l Lines) Line(pos int) int {
	return sort.Search(len(l), func(i int) bool { return l[i] > pos })
}
