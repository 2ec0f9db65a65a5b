package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"duet/store"
)

func runNotes(t *testing.T, open func(t *testing.T, l store.Limits) store.Store, sess store.Session) {
	at := sess.CreatedAt
	first := store.Note{ID: "n1", Author: "p-ada", AuthorName: "Ada 😀", Text: "uses a set: O(n)\n\x00 kept", Line: 3, Pos: 41, Version: 7, Created: at.Add(time.Minute + 5)}
	second := store.Note{ID: "n2", Author: "p-bob", AuthorName: "Bob", Text: "off by one", Line: 1, Pos: 0, Version: 9, Created: at.Add(30 * time.Second)}
	lone := store.Note{ID: "n3", Author: "p-ada", Text: "\xff not UTF-8", Line: 2, Pos: 5, Version: 0}
	want := func(ns ...store.Note) []store.Note {
		for i := range ns {
			ns[i].SessionID = sess.ID
		}
		return ns
	}

	tests := []struct {
		name    string
		limits  store.Limits
		add     []store.Note
		addTo   string // session id added to; sess.ID when ""
		wantErr error  // of the last add
		want    []store.Note
	}{
		{name: "none at first"},
		{name: "in the order recorded, bytes kept", add: []store.Note{first, second, lone}, want: want(first, second, lone)},
		{name: "an id twice is ErrExists", add: []store.Note{first, {ID: "n1", Text: "again"}}, wantErr: store.ErrExists, want: want(first)},
		{name: "unknown session", add: []store.Note{first}, addTo: "nope", wantErr: store.ErrNotFound},
		{name: "past the count is ErrQuota", limits: store.Limits{Notes: 2}, add: []store.Note{first, second, lone}, wantErr: store.ErrQuota, want: want(first, second)},
		{
			name: "past the bytes is ErrQuota", limits: store.Limits{SessionBytes: int64(first.Bytes() + 10)},
			add: []store.Note{first, second}, wantErr: store.ErrQuota, want: want(first),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := withSession(t, open(t, tt.limits), sess)
			to := cmp.Or(tt.addTo, sess.ID)
			var err error
			for _, n := range tt.add {
				err = s.AddNote(ctx, to, n)
				if err != nil {
					break
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AddNote() error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Notes(ctx, sess.ID)
			if err != nil {
				t.Fatalf("Notes() error = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Notes() = %+v, want %+v", got, tt.want)
			}
			var bytes int64
			for i := range got {
				g, w := got[i], tt.want[i]
				if !g.Created.Equal(w.Created) || g.Created.Location() != time.UTC {
					t.Errorf("note %d created %v, want %v in UTC", i, g.Created, w.Created)
				}
				g.Created, w.Created = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("note %d = %+v, want %+v", i, g, w)
				}
				bytes += int64(w.Bytes())
			}
			if sn, err := s.Session(ctx, sess.ID); err != nil || sn.Bytes != bytes {
				t.Errorf("Session().Bytes = %d, %v; want %d (the notes kept)", sn.Bytes, err, bytes)
			}
			if _, err := s.Notes(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Notes(unknown session) error = %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("concurrent notes stop at the limit", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{Notes: 5}), sess)
		errs := make(chan error, 20)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() { errs <- s.AddNote(ctx, sess.ID, store.Note{ID: fmt.Sprintf("c%d", i), Text: "x", Line: 1}) })
		}
		wg.Wait()
		close(errs)
		refused := 0
		for err := range errs {
			switch {
			case errors.Is(err, store.ErrQuota):
				refused++
			case err != nil:
				t.Errorf("AddNote() error = %v", err)
			}
		}
		if got, err := s.Notes(ctx, sess.ID); err != nil || len(got) != 5 || refused != 15 {
			t.Errorf("20 notes at once under a limit of 5: %d kept, %d refused, %v", len(got), refused, err)
		}
	})

	t.Run("a note of the longest text", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{}), sess)
		n := store.Note{ID: "big", Text: strings.Repeat("é", store.MaxNoteText/2)}
		if err := s.AddNote(ctx, sess.ID, n); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Notes(ctx, sess.ID); err != nil || len(got) != 1 || got[0].Text != n.Text {
			t.Errorf("Notes() = %d notes, %v; want the one of %d bytes", len(got), err, len(n.Text))
		}
	})

	t.Run("deleted with the session", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{}), sess)
		if err := s.AddNote(ctx, sess.ID, first); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Notes(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Notes(deleted) error = %v, want ErrNotFound", err)
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Notes(ctx, sess.ID); err != nil || len(got) != 0 {
			t.Errorf("Notes(created again) = %v, %v; want none", got, err)
		}
	})

	t.Run("purged with the session", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{}), sess)
		if err := s.AddNote(ctx, sess.ID, first); err != nil {
			t.Fatal(err)
		}
		if err := s.AddSignal(ctx, sess.ID, store.Signal{UserID: "c", Kind: store.SignalHidden}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeIdle(ctx, sess.LastActive.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("PurgeIdle() = %d, %v; want 1", n, err)
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		notes, err := s.Notes(ctx, sess.ID)
		signals, err2 := s.Signals(ctx, sess.ID)
		if len(notes) != 0 || len(signals) != 0 || errors.Join(err, err2) != nil {
			t.Errorf("after a purge and create: notes %v, signals %v, %v; want none", notes, signals, errors.Join(err, err2))
		}
	})
}

func runSignals(t *testing.T, open func(t *testing.T, l store.Limits) store.Store, sess store.Session) {
	at := sess.CreatedAt
	paste := store.Signal{UserID: "p-cand", Kind: store.SignalPaste, Size: 120, Version: 4, Time: at.Add(time.Minute + 3)}
	hidden := store.Signal{UserID: "p-cand", Kind: store.SignalHidden, Version: 5, Time: at.Add(2 * time.Minute)}
	shown := store.Signal{UserID: "p-cand", Kind: store.SignalVisible, Version: 5, Time: at.Add(time.Second)} // clocks differ: kept as recorded
	want := func(ss ...store.Signal) []store.Signal {
		for i := range ss {
			ss[i].SessionID = sess.ID
		}
		return ss
	}
	tests := []struct {
		name    string
		limits  store.Limits
		add     []store.Signal
		addTo   string
		wantErr error
		want    []store.Signal
	}{
		{name: "none at first"},
		{name: "in the order recorded", add: []store.Signal{paste, hidden, shown}, want: want(paste, hidden, shown)},
		{name: "unknown session", add: []store.Signal{paste}, addTo: "nope", wantErr: store.ErrNotFound},
		{name: "past the count is ErrQuota", limits: store.Limits{Signals: 2}, add: []store.Signal{paste, hidden, shown}, wantErr: store.ErrQuota, want: want(paste, hidden)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := withSession(t, open(t, tt.limits), sess)
			var err error
			for _, sig := range tt.add {
				if err = s.AddSignal(ctx, cmp.Or(tt.addTo, sess.ID), sig); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AddSignal() error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Signals(ctx, sess.ID)
			if err != nil {
				t.Fatalf("Signals() error = %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Signals() = %v, want %v", got, tt.want)
			}
			for _, g := range got {
				if g.Time.Location() != time.UTC {
					t.Errorf("signal time %v is not in UTC", g.Time)
				}
			}
			if sn, err := s.Session(ctx, sess.ID); err != nil || sn.Bytes != 0 {
				t.Errorf("Session().Bytes = %d, %v; want 0 (signals are bounded by count)", sn.Bytes, err)
			}
			if _, err := s.Signals(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Signals(unknown session) error = %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("deleted with the session", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{}), sess)
		if err := s.AddSignal(ctx, sess.ID, paste); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Signals(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Signals(deleted) error = %v, want ErrNotFound", err)
		}
	})
}
