package history_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/store"
)

// replace is the change set that replaces [from, to) of a document of n units
// with ins, in the editor's JSON.
func replace(t *testing.T, n, from, to int, ins string) *ot.ChangeSet {
	t.Helper()
	lines, _ := json.Marshal(strings.Split(ins, "\n"))
	part := "[" + itoa(to-from)
	if ins != "" {
		part += "," + string(lines[1:len(lines)-1])
	}
	part += "]"
	parts := []string{part}
	if from > 0 {
		parts = append([]string{itoa(from)}, parts...)
	}
	if n > to {
		parts = append(parts, itoa(n-to))
	}
	js := "[" + strings.Join(parts, ",") + "]"
	c, err := ot.ParseChangeSet([]byte(js))
	if err != nil {
		t.Fatalf("change set %s: %v", js, err)
	}
	return c
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestNotesKeepTheirLine writes notes on lines of a document, edits the document
// (lines inserted above, on, and below a note's line; its line deleted), and
// checks which line each note is on afterwards.
func TestNotesKeepTheirLine(t *testing.T) {
	const start = "def f(x):\n    y = x * 2\n    return y\n"
	tests := []struct {
		name  string
		line  int // the note's line when written, at version 0
		edits [][3]any
		want  int // its line at the end
		wantT string
	}{
		{name: "nothing changes", line: 2, want: 2},
		{name: "lines inserted above", line: 2, edits: [][3]any{{0, 0, "import os\nimport sys\n"}}, want: 4},
		{name: "lines inserted just before its line", line: 2, edits: [][3]any{{10, 10, "    # double\n"}}, want: 3},
		{name: "lines inserted below", line: 2, edits: [][3]any{{24, 24, "    z = 1\n"}}, want: 2},
		{name: "typing on its line", line: 2, edits: [][3]any{{14, 14, "yy"}}, want: 2},
		{name: "lines above deleted", line: 3, edits: [][3]any{{0, 24, ""}}, want: 1},
		{
			name: "many edits, one after another", line: 3,
			edits: [][3]any{{0, 0, "# a\n"}, {0, 0, "# b\n"}, {8, 8, "\n\n"}, {0, 4, ""}},
			want:  6,
		},
		{name: "its line deleted: the next one", line: 2, edits: [][3]any{{10, 24, ""}}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			st := store.NewMemory()
			t.Cleanup(func() { st.Close() })
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			id := uuid.NewString()
			if err := st.CreateSession(ctx, store.Session{ID: id, Language: "python", CreatedAt: at, LastActive: at}); err != nil {
				t.Fatal(err)
			}
			text := ot.NewText("")
			var log []ot.Update
			push := func(c *ot.ChangeSet) {
				var err error
				if text, err = c.Apply(text); err != nil {
					t.Fatal(err)
				}
				log = append(log, ot.Update{ClientID: "c", UserID: "u", Changes: c})
			}
			push(replace(t, 0, 0, 0, start))
			pinned := len(log) // the note is written here
			for _, e := range tt.edits {
				push(replace(t, text.Len(), e[0].(int), e[1].(int), e[2].(string)))
			}
			if err := st.AppendUpdates(ctx, id, 0, history.Encode(log)); err != nil {
				t.Fatal(err)
			}
			atWrite, err := history.TextAt(ctx, st, id, pinned)
			if err != nil {
				t.Fatal(err)
			}
			pos, ok := history.LinesOf(atWrite).Start(tt.line)
			if !ok {
				t.Fatalf("no line %d in %q", tt.line, atWrite)
			}
			pins, err := history.MapPins(ctx, st, id, []history.Pin{{Pos: pos, Version: pinned}, {Pos: 0, Version: len(log)}}, len(log))
			if err != nil {
				t.Fatal(err)
			}
			if pins[0].Version != len(log) || pins[1] != (history.Pin{Pos: 0, Version: len(log)}) {
				t.Fatalf("MapPins() = %v, want the first at version %d and the second unmoved", pins, len(log))
			}
			lines := history.LinesOf(text)
			if got := lines.Line(pins[0].Pos); got != tt.want {
				t.Errorf("line %d is line %d after the edits, want %d; text:\n%s", tt.line, got, tt.want, text)
			}
		})
	}
}

func TestLines(t *testing.T) {
	l := history.LinesOf(ot.NewText("a\n😀b\n\nc"))
	for _, tt := range []struct{ line, start int }{{1, 0}, {2, 2}, {3, 6}, {4, 7}} {
		if s, ok := l.Start(tt.line); !ok || s != tt.start {
			t.Errorf("Start(%d) = %d, %v; want %d", tt.line, s, ok, tt.start)
		}
		if got := l.Line(tt.start); got != tt.line {
			t.Errorf("Line(%d) = %d, want %d", tt.start, got, tt.line)
		}
	}
	for _, bad := range []int{0, -1, 5} {
		if _, ok := l.Start(bad); ok {
			t.Errorf("Start(%d) ok, want no such line", bad)
		}
	}
	if got := l.Line(5); got != 2 {
		t.Errorf("Line(5) (inside 😀b) = %d, want 2", got)
	}
}

// TestMapPinsCost logs what showing notes costs on a long session: 200 notes spread
// over a log of 10,000 one-line edits, mapped to its end (what the pad does when a
// note is written, and on each load).
func TestMapPinsCost(t *testing.T) {
	if testing.Short() {
		t.Skip("a long log")
	}
	ctx := t.Context()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := uuid.NewString()
	if err := st.CreateSession(ctx, store.Session{ID: id, Language: "python", CreatedAt: at, LastActive: at}); err != nil {
		t.Fatal(err)
	}
	const edits, notes = 10000, 200
	text := ot.NewText("")
	log := make([]ot.Update, 0, edits)
	for v := range edits {
		c := replace(t, text.Len(), text.Len()/2, text.Len()/2, "x = "+itoa(v)+"\n")
		var err error
		if text, err = c.Apply(text); err != nil {
			t.Fatal(err)
		}
		log = append(log, ot.Update{ClientID: "c", UserID: "u", Changes: c})
	}
	if err := st.AppendUpdates(ctx, id, 0, history.Encode(log)); err != nil {
		t.Fatal(err)
	}
	pins := make([]history.Pin, notes)
	for i := range pins {
		pins[i] = history.Pin{Pos: 0, Version: 1 + i*(edits-1)/notes} // after the first edit: nothing is inserted at 0 again
	}
	start := time.Now()
	got, err := history.MapPins(ctx, st, id, pins, edits)
	if err != nil {
		t.Fatal(err)
	}
	lines := history.LinesOf(text)
	for _, p := range got {
		if p.Version != edits || lines.Line(p.Pos) != 1 {
			t.Fatalf("a pin at the start stayed at %+v, line %d; want line 1 at %d", p, lines.Line(p.Pos), edits)
		}
	}
	t.Logf("BENCH notes: %d notes mapped through %d updates and placed on %d lines in %v (memory store)", notes, edits, len(lines), time.Since(start).Round(time.Millisecond))
}
