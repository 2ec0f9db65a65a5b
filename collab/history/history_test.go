package history_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/collab/ot/ottest"
	"duet/store"
)

// logFixture is a session whose log holds n random edits, with a snapshot at each
// version of snaps; texts[v] is the text at version v.
type logFixture struct {
	st    *store.Memory
	s     store.Session
	texts []ot.Text
	log   []ot.Update
}

func newLogFixture(t *testing.T, n int, snaps ...int) *logFixture {
	t.Helper()
	ctx := t.Context()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	s := store.Session{ID: uuid.NewString(), Language: "python", CreatedAt: at, LastActive: at}
	if err := st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	f := &logFixture{st: st, texts: []ot.Text{{}}}
	rng := rand.New(rand.NewPCG(uint64(n), 5))
	for v := range n {
		cs, err := ot.ParseChangeSet(ottest.EditJSON(rng, f.texts[v].Len()))
		if err != nil {
			t.Fatal(err)
		}
		text, err := cs.Apply(f.texts[v])
		if err != nil {
			t.Fatal(err)
		}
		u := ot.Update{ClientID: fmt.Sprintf("c%d", v%3), Changes: cs, UserID: fmt.Sprintf("u%d", v%2), Time: at.Add(time.Duration(v) * time.Second)}
		if err := st.AppendUpdates(ctx, s.ID, v, history.Encode([]ot.Update{u})); err != nil {
			t.Fatal(err)
		}
		f.texts, f.log = append(f.texts, text), append(f.log, u)
	}
	for _, v := range snaps {
		if err := st.SaveSnapshot(ctx, s.ID, history.EncodeSnapshot(v, f.texts[v])); err != nil {
			t.Fatal(err)
		}
	}
	if f.s, _ = st.Session(ctx, s.ID); f.s.Version != n {
		t.Fatalf("stored log has %d updates, want %d", f.s.Version, n)
	}
	return f
}

func updateString(u ot.Update) string {
	if u.Changes == nil {
		return fmt.Sprintf("%s/%s <nil> %v", u.ClientID, u.UserID, u.Time)
	}
	return fmt.Sprintf("%s/%s %s %v", u.ClientID, u.UserID, u.Changes.AppendJSON(nil), u.Time.UTC())
}

// TestEncodeDecode: what Encode stores, Decode reads back exactly, lone
// surrogates included; a stored update that is not a change set is an error
// that says which.
func TestEncodeDecode(t *testing.T) {
	t.Parallel()
	when := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	in := []ot.Update{
		{ClientID: "a", Changes: mustChangeSet(t, `[[0,"\ud83d","x\u2028"],2]`), UserID: "u1", Time: when},
		{ClientID: "b", Changes: mustChangeSet(t, `[1,[3]]`), UserID: "u2", Time: when.Add(time.Second)},
	}
	recs := history.Encode(in)
	for i, rec := range recs {
		got, err := history.Decode(i, rec)
		if err != nil || updateString(got) != updateString(in[i]) {
			t.Errorf("Decode(Encode(%s)) = %s, %v", updateString(in[i]), updateString(got), err)
		}
	}
	if _, err := history.Decode(7, store.Update{Changes: []byte(`[-1]`)}); !errors.Is(err, ot.ErrInvalidChanges) {
		t.Errorf("Decode of a bad change set: error = %v, want ErrInvalidChanges", err)
	}
	text := ot.TextFromUTF16([]uint16{'a', 0xdc00, '\n'})
	var back ot.Text
	if err := back.UnmarshalJSON(history.EncodeSnapshot(3, text).Text); err != nil || !back.Equal(text) {
		t.Errorf("snapshot text %q read back as %q, %v", text.AppendJSON(nil), back.AppendJSON(nil), err)
	}
}

func mustChangeSet(t *testing.T, s string) *ot.ChangeSet {
	t.Helper()
	cs, err := ot.ParseChangeSet([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestAt: the text at every version is what applying the log gives, from any
// snapshot, with the update that led to it (also when a snapshot is at that very
// version).
func TestAt(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t, 40, 5, 17, 18, 40)
	ctx := t.Context()
	for v := 0; v <= 40; v++ {
		text, last, err := history.At(ctx, f.st, f.s.ID, v)
		if err != nil {
			t.Fatalf("At(%d) error = %v", v, err)
		}
		want := ot.Update{}
		if v > 0 {
			want = f.log[v-1]
		}
		if !text.Equal(f.texts[v]) || updateString(last) != updateString(want) {
			t.Errorf("At(%d) = %q after %s, want %q after %s", v, text.AppendJSON(nil), updateString(last),
				f.texts[v].AppendJSON(nil), updateString(want))
		}
		if got, err := history.TextAt(ctx, f.st, f.s.ID, v); err != nil || !got.Equal(f.texts[v]) {
			t.Errorf("TextAt(%d) = %q, %v; want %q", v, got.AppendJSON(nil), err, f.texts[v].AppendJSON(nil))
		}
	}
	for v, want := range map[int]error{-1: ot.ErrInvalidVersion, 41: ot.ErrVersionAhead} {
		if _, err := history.TextAt(ctx, f.st, f.s.ID, v); !errors.Is(err, want) {
			t.Errorf("TextAt(%d) error = %v, want %v", v, err, want)
		}
	}
	if _, err := history.TextAt(ctx, f.st, uuid.NewString(), 0); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("TextAt(unknown session) error = %v, want ErrNotFound", err)
	}
}

// TestLoad: a loaded document is at the end of the log, with the text the log
// gives, the newest snapshot's version, and the last tailSize updates of the log
// (also from before that snapshot), which a Document then serves.
func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n         int
		snaps     []int
		tailSize  int
		tailRoom  int // bytes for exactly the last tailRoom updates; 0: plenty
		wantSnap  int
		wantTail  int
		wantSince int // the oldest version the restored document serves
	}{
		{name: "no snapshot", n: 30, tailSize: 10, wantTail: 10, wantSince: 20},
		{name: "snapshot at the end, tail before it", n: 30, snaps: []int{12, 30}, tailSize: 10, wantSnap: 30, wantTail: 10, wantSince: 20},
		{name: "snapshot inside the tail", n: 30, snaps: []int{25}, tailSize: 10, wantSnap: 25, wantTail: 10, wantSince: 20},
		{name: "tail longer than the log", n: 8, snaps: []int{4}, tailSize: 100, wantSnap: 4, wantTail: 8, wantSince: 0},
		{name: "no tail", n: 8, snaps: []int{4}, tailSize: 0, wantSnap: 4, wantTail: 0, wantSince: 8},
		{name: "empty log", n: 0, tailSize: 10, wantTail: 0, wantSince: 0},
		{name: "tail bounded in bytes", n: 30, snaps: []int{12}, tailSize: 10, tailRoom: 4, wantSnap: 12, wantTail: 4, wantSince: 26},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newLogFixture(t, tt.n, tt.snaps...)
			tailBytes := ot.DefaultTailBytes
			if tt.tailRoom > 0 {
				tailBytes = 0
				for _, u := range f.log[tt.n-tt.tailRoom:] {
					tailBytes += u.MemSize()
				}
			}
			got, err := history.Load(t.Context(), f.st, f.s, tt.tailSize, tailBytes)
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got.Version != tt.n || !got.Text.Equal(f.texts[tt.n]) || got.Snapshot != tt.wantSnap || len(got.Tail) != tt.wantTail {
				t.Errorf("Load() = version %d, snapshot %d, %d in the tail, text %q; want %d, %d, %d, %q", got.Version, got.Snapshot,
					len(got.Tail), got.Text.AppendJSON(nil), tt.n, tt.wantSnap, tt.wantTail, f.texts[tt.n].AppendJSON(nil))
			}
			for i, u := range got.Tail {
				if want := f.log[tt.n-len(got.Tail)+i]; updateString(u) != updateString(want) {
					t.Errorf("Tail[%d] = %s, want %s", i, updateString(u), updateString(want))
				}
			}
			d := ot.NewDocument(got.State, ot.Limits{})
			if _, err := d.Since(tt.wantSince); err != nil {
				t.Errorf("restored document: Since(%d) error = %v", tt.wantSince, err)
			}
			if tt.wantSince > 0 {
				if _, err := d.Since(tt.wantSince - 1); !errors.Is(err, ot.ErrResync) {
					t.Errorf("restored document: Since(%d) error = %v, want ErrResync", tt.wantSince-1, err)
				}
			}
		})
	}
}

// TestDeletedSession: reading the history of a session deleted meanwhile says the
// session is not found, whatever is read.
func TestDeletedSession(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t, 5)
	ctx := context.Background()
	if err := f.st.DeleteSession(ctx, f.s.ID); err != nil {
		t.Fatal(err)
	}
	reads := map[string]func() error{
		"Session":      func() error { _, err := history.Session(ctx, f.st, f.s.ID); return err },
		"Read":         func() error { _, err := history.Read(ctx, f.st, f.s.ID, 0, 5, 0); return err },
		"Each":         func() error { return history.Each(ctx, f.st, f.s.ID, 0, 5, func(int, ot.Update) error { return nil }) },
		"At":           func() error { _, _, err := history.At(ctx, f.st, f.s.ID, 3); return err },
		"Load":         func() error { _, err := history.Load(ctx, f.st, f.s, 2, 1<<20); return err },
		"Runs":         func() error { _, err := history.Runs(ctx, f.st, f.s.ID); return err },
		"Participants": func() error { _, err := history.Participants(ctx, f.st, f.s.ID); return err },
	}
	for name, read := range reads {
		if err := read(); !errors.Is(err, history.ErrNotFound) {
			t.Errorf("%s of a deleted session: error = %v, want ErrNotFound", name, err)
		}
	}
}
