// Package storetest is the contract every store.Store back end must meet, written once
// and run against each implementation.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"duet/store"
)

// Run checks the behaviour every back end must share. open returns a fresh, empty
// store with the given limits; Run closes it.
func Run(t *testing.T, openLimited func(t *testing.T, l store.Limits) store.Store) {
	t.Helper()
	open := func(t *testing.T) store.Store { return openLimited(t, store.Limits{}) }
	created := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	base := store.Session{
		ID:             "3f2a1b9c-0000-4000-8000-000000000001",
		Language:       "python",
		CreatedAt:      created,
		LastActive:     created,
		OwnerTokenHash: bytes.Repeat([]byte{7}, 32),
	}

	tests := []struct {
		name    string
		act     func(ctx context.Context, s store.Store) error // after base was created
		wantErr error                                          // from act
		want    *store.Session                                 // base's stored state afterwards; nil: gone
	}{
		{
			name: "create then read back",
			act:  func(context.Context, store.Store) error { return nil },
			want: &base,
		},
		{
			name:    "create twice refuses the second",
			act:     func(ctx context.Context, s store.Store) error { return s.CreateSession(ctx, base) },
			wantErr: store.ErrExists,
			want:    &base,
		},
		{
			name: "set language",
			act:  func(ctx context.Context, s store.Store) error { return s.SetLanguage(ctx, base.ID, "javascript") },
			want: with(base, func(s *store.Session) { s.Language = "javascript" }),
		},
		{
			name:    "set language of an unknown session",
			act:     func(ctx context.Context, s store.Store) error { return s.SetLanguage(ctx, "nope", "javascript") },
			wantErr: store.ErrNotFound,
			want:    &base,
		},
		{
			name: "touch moves last activity forward",
			act:  func(ctx context.Context, s store.Store) error { return s.Touch(ctx, base.ID, created.Add(time.Hour)) },
			want: with(base, func(s *store.Session) { s.LastActive = created.Add(time.Hour) }),
		},
		{
			name: "touch never moves last activity back",
			act:  func(ctx context.Context, s store.Store) error { return s.Touch(ctx, base.ID, created.Add(-time.Hour)) },
			want: &base,
		},
		{
			name: "delete",
			act:  func(ctx context.Context, s store.Store) error { return s.DeleteSession(ctx, base.ID) },
			want: nil,
		},
		{
			name:    "delete unknown",
			act:     func(ctx context.Context, s store.Store) error { return s.DeleteSession(ctx, "nope") },
			wantErr: store.ErrNotFound,
			want:    &base,
		},
		{
			name: "append moves last activity to the newest update",
			act: func(ctx context.Context, s store.Store) error {
				return s.AppendUpdates(ctx, base.ID, 0, []store.Update{
					{ClientID: "c", Changes: []byte(`[[0,"a"]]`), Time: created.Add(2 * time.Minute)},
					{ClientID: "c", Changes: []byte(`[1,[0,"b"]]`), Time: created.Add(time.Minute)},
				})
			},
			want: with(base, func(s *store.Session) { s.LastActive, s.Version = created.Add(2*time.Minute), 2 }),
		},
		{
			name: "purge keeps a session active at the limit",
			act: func(ctx context.Context, s store.Store) error {
				return wantPurged(s.PurgeIdle(ctx, created))(0)
			},
			want: &base,
		},
		{
			name: "purge deletes an idle session",
			act: func(ctx context.Context, s store.Store) error {
				return wantPurged(s.PurgeIdle(ctx, created.Add(time.Nanosecond)))(1)
			},
			want: nil,
		},
		{
			name: "purge keeps a session touched since",
			act: func(ctx context.Context, s store.Store) error {
				if err := s.Touch(ctx, base.ID, created.Add(time.Hour)); err != nil {
					return err
				}
				return wantPurged(s.PurgeIdle(ctx, created.Add(time.Minute)))(0)
			},
			want: with(base, func(s *store.Session) { s.LastActive = created.Add(time.Hour) }),
		},
		{
			name:    "touch an unknown session",
			act:     func(ctx context.Context, s store.Store) error { return s.Touch(ctx, "nope", created) },
			wantErr: store.ErrNotFound,
			want:    &base,
		},
		{
			name: "end records the time",
			act: func(ctx context.Context, s store.Store) error {
				return s.SetEnded(ctx, base.ID, created.Add(time.Hour))
			},
			want: with(base, func(s *store.Session) { s.Ended = created.Add(time.Hour) }),
		},
		{
			name: "end twice keeps the first time",
			act: func(ctx context.Context, s store.Store) error {
				if err := s.SetEnded(ctx, base.ID, created.Add(time.Hour)); err != nil {
					return err
				}
				return s.SetEnded(ctx, base.ID, created.Add(2*time.Hour))
			},
			want: with(base, func(s *store.Session) { s.Ended = created.Add(time.Hour) }),
		},
		{
			name:    "end an unknown session",
			act:     func(ctx context.Context, s store.Store) error { return s.SetEnded(ctx, "nope", created) },
			wantErr: store.ErrNotFound,
			want:    &base,
		},
		{
			name: "the stored token hash is a copy",
			act: func(ctx context.Context, s store.Store) error {
				got, err := s.Session(ctx, base.ID)
				if err != nil {
					return err
				}
				got.OwnerTokenHash[0] = 99 // must not reach the store
				return nil
			},
			want: &base,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			b := base
			b.OwnerTokenHash = bytes.Clone(base.OwnerTokenHash)
			if err := s.CreateSession(ctx, b); err != nil {
				t.Fatalf("CreateSession() error = %v", err)
			}
			b.OwnerTokenHash[0] = 1 // the store must have kept its own copy

			if err := tt.act(ctx, s); !errors.Is(err, tt.wantErr) {
				t.Fatalf("act error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Session(ctx, base.ID)
			if tt.want == nil {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Session() after delete error = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Session() error = %v", err)
			}
			if diff := diffSession(got, *tt.want); diff != "" {
				t.Errorf("Session() = %s", diff)
			}
		})
	}

	t.Run("log", func(t *testing.T) { runLog(t, open, base) })
	t.Run("snapshots", func(t *testing.T) { runSnapshots(t, open, base) })
	t.Run("runs", func(t *testing.T) { runRuns(t, open, base) })
	t.Run("participants", func(t *testing.T) { runParticipants(t, open, base) })
	t.Run("members", func(t *testing.T) { runMembers(t, open, base) })
	t.Run("bytes", func(t *testing.T) { runBytes(t, open, base) })
	t.Run("purge", func(t *testing.T) { runPurge(t, open, base) })
	t.Run("concurrent appends", func(t *testing.T) { runConcurrentAppends(t, open, base) })
	t.Run("quota", func(t *testing.T) { runQuota(t, openLimited, base) })
	t.Run("snapshots thinned", func(t *testing.T) { runThinning(t, openLimited, base) })

	t.Run("times come back in UTC to the nanosecond", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		at := time.Date(2026, 11, 26, 10, 30, 0, 123456789, time.FixedZone("CET", 3600))
		sess := base
		sess.CreatedAt, sess.LastActive = at, time.Time{}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{{ClientID: "c", Changes: []byte(`[[0,"a"]]`), Time: at}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(at) || !got.LastActive.Equal(at) || got.CreatedAt.Location() != time.UTC || got.LastActive.Location() != time.UTC {
			t.Errorf("Session() times = %v, %v, want %v twice", got.CreatedAt, got.LastActive, at.UTC())
		}
		log, err := s.Updates(ctx, sess.ID, 0, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !log[0].Time.Equal(at) || log[0].Time.Location() != time.UTC {
			t.Errorf("Updates()[0].Time = %v, want %v", log[0].Time, at.UTC())
		}
	})

	t.Run("a closed store refuses", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		if err := s.CreateSession(ctx, base); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close() error = %v", err)
		}
		if _, err := s.Session(ctx, base.ID); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Session() after Close error = %v, want ErrClosed", err)
		}
		if err := s.AppendUpdates(ctx, base.ID, 0, []store.Update{{ClientID: "c", Changes: []byte(`[[0,"a"]]`)}}); !errors.Is(err, store.ErrClosed) {
			t.Errorf("AppendUpdates() after Close error = %v, want ErrClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close() error = %v, want nil", err)
		}
	})

	t.Run("unknown session is ErrNotFound", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		if _, err := s.Session(t.Context(), "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Session(missing) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("cancelled context is refused", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		if err := s.CreateSession(t.Context(), base); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		other := base
		other.ID = "3f2a1b9c-0000-4000-8000-0000000000ff"
		if err := s.CreateSession(ctx, other); !errors.Is(err, context.Canceled) {
			t.Errorf("CreateSession(cancelled) error = %v, want context.Canceled", err)
		}
		if err := s.AppendUpdates(ctx, base.ID, 0, []store.Update{{ClientID: "c", Changes: []byte(`[[0,"a"]]`)}}); !errors.Is(err, context.Canceled) {
			t.Errorf("AppendUpdates(cancelled) error = %v, want context.Canceled", err)
		}
		if got, err := s.Session(t.Context(), base.ID); err != nil || got.Version != 0 {
			t.Errorf("after a cancelled append: Session() = version %d, %v; want version 0", got.Version, err)
		}
		if _, err := s.Session(t.Context(), other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after a cancelled create: Session() error = %v, want ErrNotFound", err)
		}
	})

	t.Run("concurrent creates and touches", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				sess := base
				sess.ID = fmt.Sprintf("3f2a1b9c-0000-4000-8000-%012d", i)
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Errorf("CreateSession(%d) error = %v", i, err)
					return
				}
				for j := range 20 {
					if err := s.Touch(ctx, sess.ID, created.Add(time.Duration(j)*time.Second)); err != nil {
						t.Errorf("Touch(%d) error = %v", i, err)
					}
				}
			})
		}
		wg.Wait()
		for i := range 8 {
			id := fmt.Sprintf("3f2a1b9c-0000-4000-8000-%012d", i)
			got, err := s.Session(ctx, id)
			if err != nil {
				t.Fatalf("Session(%s) error = %v", id, err)
			}
			if want := created.Add(19 * time.Second); !got.LastActive.Equal(want) {
				t.Errorf("Session(%s).LastActive = %v, want %v", id, got.LastActive, want)
			}
		}
	})
}

// wantPurged turns PurgeIdle's result into an error unless it purged want sessions.
func wantPurged(got int, err error) func(want int) error {
	return func(want int) error {
		if err == nil && got != want {
			err = fmt.Errorf("PurgeIdle() = %d, want %d", got, want)
		}
		return err
	}
}

func with(s store.Session, f func(*store.Session)) *store.Session {
	f(&s)
	return &s
}

func diffSession(got, want store.Session) string {
	switch {
	case got.ID != want.ID:
		return fmt.Sprintf("ID %q, want %q", got.ID, want.ID)
	case got.Language != want.Language:
		return fmt.Sprintf("Language %q, want %q", got.Language, want.Language)
	case !got.CreatedAt.Equal(want.CreatedAt):
		return fmt.Sprintf("CreatedAt %v, want %v", got.CreatedAt, want.CreatedAt)
	case !got.LastActive.Equal(want.LastActive):
		return fmt.Sprintf("LastActive %v, want %v", got.LastActive, want.LastActive)
	case got.Version != want.Version:
		return fmt.Sprintf("Version %d, want %d", got.Version, want.Version)
	case !bytes.Equal(got.OwnerTokenHash, want.OwnerTokenHash):
		return fmt.Sprintf("OwnerTokenHash %x, want %x", got.OwnerTokenHash, want.OwnerTokenHash)
	case !got.Ended.Equal(want.Ended) || got.Ended.IsZero() != want.Ended.IsZero() || got.Ended.Location() != time.UTC:
		return fmt.Sprintf("Ended %v, want %v (in UTC)", got.Ended, want.Ended)
	}
	return ""
}

// runLog checks the update log and snapshots of one session.
func runLog(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	at := sess.CreatedAt
	upd := func(i int) store.Update {
		return store.Update{
			ClientID: fmt.Sprintf("client-%d", i%2), UserID: "user-😀",
			Changes: []byte(fmt.Sprintf(`[%d,[0,"\ud83d"]]`, i)), Time: at.Add(time.Duration(i) * time.Second),
		}
	}
	tests := []struct {
		name        string
		act         func(ctx context.Context, s store.Store) error
		wantErr     error
		wantVersion int
		wantSnap    store.Snapshot
	}{
		{
			name:     "a new session has an empty log and the empty document",
			act:      func(context.Context, store.Store) error { return nil },
			wantSnap: store.Snapshot{Version: 0, Text: []byte(`""`)},
		},
		{
			name: "append in two steps",
			act: func(ctx context.Context, s store.Store) error {
				if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0), upd(1)}); err != nil {
					return err
				}
				return s.AppendUpdates(ctx, sess.ID, 2, []store.Update{upd(2)})
			},
			wantVersion: 3,
			wantSnap:    store.Snapshot{Version: 0, Text: []byte(`""`)},
		},
		{
			name: "append at a wrong version conflicts and changes nothing",
			act: func(ctx context.Context, s store.Store) error {
				if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0)}); err != nil {
					return err
				}
				return s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(1)})
			},
			wantErr:     store.ErrConflict,
			wantVersion: 1,
			wantSnap:    store.Snapshot{Version: 0, Text: []byte(`""`)},
		},
		{
			name: "append to an unknown session",
			act: func(ctx context.Context, s store.Store) error {
				return s.AppendUpdates(ctx, "nope", 0, []store.Update{upd(0)})
			},
			wantErr:     store.ErrNotFound,
			wantVersion: 0,
			wantSnap:    store.Snapshot{Version: 0, Text: []byte(`""`)},
		},
		{
			name: "the newest snapshot wins",
			act: func(ctx context.Context, s store.Store) error {
				if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0), upd(1), upd(2)}); err != nil {
					return err
				}
				if err := s.SaveSnapshot(ctx, sess.ID, store.Snapshot{Version: 2, Text: []byte(`"ab\udc00"`)}); err != nil {
					return err
				}
				return s.SaveSnapshot(ctx, sess.ID, store.Snapshot{Version: 1, Text: []byte(`"a"`)})
			},
			wantVersion: 3,
			wantSnap:    store.Snapshot{Version: 2, Text: []byte(`"ab\udc00"`)},
		},
		{
			name: "a snapshot past the log is refused",
			act: func(ctx context.Context, s store.Store) error {
				return s.SaveSnapshot(ctx, sess.ID, store.Snapshot{Version: 1, Text: []byte(`"a"`)})
			},
			wantErr:  store.ErrConflict,
			wantSnap: store.Snapshot{Version: 0, Text: []byte(`""`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatalf("CreateSession() error = %v", err)
			}
			if err := tt.act(ctx, s); !errors.Is(err, tt.wantErr) {
				t.Fatalf("act error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Session(ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tt.wantVersion {
				t.Errorf("Version = %d, want %d", got.Version, tt.wantVersion)
			}
			log, err := s.Updates(ctx, sess.ID, 0, tt.wantVersion, 0)
			if err != nil {
				t.Fatalf("Updates(0, %d) error = %v", tt.wantVersion, err)
			}
			for i, u := range log {
				want := upd(i)
				if u.ClientID != want.ClientID || u.UserID != want.UserID || !bytes.Equal(u.Changes, want.Changes) || !u.Time.Equal(want.Time) {
					t.Errorf("Updates()[%d] = %+v, want %+v", i, u, want)
				}
			}
			if _, err := s.Updates(ctx, sess.ID, 0, tt.wantVersion+1, 0); err == nil {
				t.Errorf("Updates past the log: error = nil, want one")
			}
			snap, err := s.LatestSnapshot(ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Version != tt.wantSnap.Version || !bytes.Equal(snap.Text, tt.wantSnap.Text) {
				t.Errorf("LatestSnapshot() = {%d %s}, want {%d %s}", snap.Version, snap.Text, tt.wantSnap.Version, tt.wantSnap.Text)
			}
		})
	}

	t.Run("reads bounded in bytes", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t), sess)
		log := make([]store.Update, 10)
		for i := range log {
			log[i] = upd(i)
			log[i].Changes = fmt.Appendf(nil, `[%d,[0,"%s"]]`, i, bytes.Repeat([]byte("x"), i*100))
		}
		if err := s.AppendUpdates(ctx, sess.ID, 0, log); err != nil {
			t.Fatal(err)
		}
		first3 := log[0].Bytes() + log[1].Bytes() + log[2].Bytes()
		tests := []struct {
			from, to, maxBytes int
			want               int // updates returned, from from on
		}{
			{0, 10, 0, 10},
			{0, 10, first3, 3},
			{0, 10, first3 - 1, 3},
			{0, 10, first3 + 1, 4},
			{0, 10, 1, 1},
			{4, 6, 1 << 20, 2},
			{9, 10, 1, 1},
			{5, 5, 1, 0},
		}
		for _, tt := range tests {
			got, err := s.Updates(ctx, sess.ID, tt.from, tt.to, tt.maxBytes)
			if err != nil || len(got) != tt.want {
				t.Errorf("Updates(%d, %d, maxBytes %d) = %d updates, %v; want %d", tt.from, tt.to, tt.maxBytes, len(got), err, tt.want)
				continue
			}
			for i, u := range got {
				if !bytes.Equal(u.Changes, log[tt.from+i].Changes) {
					t.Errorf("Updates(%d, %d, maxBytes %d)[%d] = %s, want %s", tt.from, tt.to, tt.maxBytes, i, u.Changes, log[tt.from+i].Changes)
				}
			}
		}
		if _, err := s.Updates(ctx, sess.ID, 8, 11, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Updates(8, 11) past the log, bounded: error = %v, want ErrNotFound", err)
		}
	})

	t.Run("delete drops the log", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSnapshot(ctx, sess.ID, store.Snapshot{Version: 1, Text: []byte(`"x"`)}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendRun(ctx, sess.ID, store.Run{ID: "r1", Started: at, Output: []store.RunOutput{{Stream: "stdout", Text: "hi"}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Updates(ctx, sess.ID, 0, 0, 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Updates after delete error = %v, want ErrNotFound", err)
		}
		if _, err := s.LatestSnapshot(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LatestSnapshot after delete error = %v, want ErrNotFound", err)
		}
		if _, err := s.Runs(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Runs after delete error = %v, want ErrNotFound", err)
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Session(ctx, sess.ID); got.Version != 0 {
			t.Errorf("re-created session has version %d, want 0", got.Version)
		}
		if snap, err := s.LatestSnapshot(ctx, sess.ID); err != nil || snap.Version != 0 || string(snap.Text) != `""` {
			t.Errorf("re-created session: LatestSnapshot() = {%d %s}, %v; want the empty document", snap.Version, snap.Text, err)
		}
		if runs, err := s.Runs(ctx, sess.ID); err != nil || len(runs) != 0 {
			t.Errorf("re-created session: Runs() = %d runs, %v; want none", len(runs), err)
		}
	})
}

// runSnapshots checks that every snapshot is kept and found by version.
func runSnapshots(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	ctx := t.Context()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	log := make([]store.Update, 6)
	for i := range log {
		log[i] = store.Update{ClientID: "c", Changes: []byte(fmt.Sprintf(`[%d,[0,"x"]]`, i)), Time: sess.CreatedAt}
	}
	if err := s.AppendUpdates(ctx, sess.ID, 0, log); err != nil {
		t.Fatal(err)
	}
	for _, snap := range []store.Snapshot{
		{Version: 4, Text: []byte(`"xxxx"`)},
		{Version: 2, Text: []byte(`"xx"`)},
		{Version: 4, Text: []byte(`"not kept: the first at a version stays"`)},
	} {
		if err := s.SaveSnapshot(ctx, sess.ID, snap); err != nil {
			t.Fatalf("SaveSnapshot(%d) error = %v", snap.Version, err)
		}
	}
	tests := []struct {
		version  int
		wantAt   int
		wantText string
	}{
		{0, 0, `""`}, {1, 0, `""`}, {2, 2, `"xx"`}, {3, 2, `"xx"`}, {4, 4, `"xxxx"`}, {6, 4, `"xxxx"`}, {100, 4, `"xxxx"`},
	}
	for _, tt := range tests {
		got, err := s.SnapshotAt(ctx, sess.ID, tt.version)
		if err != nil || got.Version != tt.wantAt || string(got.Text) != tt.wantText {
			t.Errorf("SnapshotAt(%d) = {%d %s}, %v; want {%d %s}", tt.version, got.Version, got.Text, err, tt.wantAt, tt.wantText)
		}
	}
	if got, err := s.LatestSnapshot(ctx, sess.ID); err != nil || got.Version != 4 || string(got.Text) != `"xxxx"` {
		t.Errorf("LatestSnapshot() = {%d %s}, %v; want {4 \"xxxx\"}", got.Version, got.Text, err)
	}
	if _, err := s.SnapshotAt(ctx, "nope", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SnapshotAt(unknown session) error = %v, want ErrNotFound", err)
	}
	if _, err := s.LatestSnapshot(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LatestSnapshot(unknown session) error = %v, want ErrNotFound", err)
	}
	if err := s.SaveSnapshot(ctx, "nope", store.Snapshot{Text: []byte(`""`)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SaveSnapshot(unknown session) error = %v, want ErrNotFound", err)
	}
}

// runRuns checks the recorded runs of a session.
func runRuns(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	at := sess.CreatedAt
	first := store.Run{
		ID: "run-1", UserID: "user-1", UserName: "Ada 😀", Language: "python", Title: "main.py", Version: 3,
		Started: at.Add(time.Minute), Ended: at.Add(time.Minute + 1500*time.Millisecond), Status: "ok",
		Output: []store.RunOutput{{Stream: "stdout", Text: "hello\n"}, {Stream: "stderr", Text: "Traceback…\n"}},
	}
	abandoned := store.Run{ID: "run-2", UserID: "user-2", Language: "javascript", Started: at.Add(2 * time.Minute), Truncated: true,
		Output: []store.RunOutput{{Stream: "stdout", Text: "\x00\xff\xfe not UTF-8 \\ud83d \r\n"}}}
	earlier := store.Run{ID: "run-0", UserID: "user-1", Started: at, Ended: at.Add(time.Second), Status: "error"}
	sameStart := store.Run{ID: "run-3", UserID: "user-2", Started: at.Add(2 * time.Minute), Status: "stopped",
		Output: []store.RunOutput{}}

	tests := []struct {
		name    string
		act     func(ctx context.Context, s store.Store) error
		wantErr error
		want    []store.Run
	}{
		{
			name: "none at first",
			act:  func(context.Context, store.Store) error { return nil },
			want: nil,
		},
		{
			name: "in the order they started, ties as recorded",
			act: func(ctx context.Context, s store.Store) error {
				for _, r := range []store.Run{first, abandoned, earlier, sameStart} {
					if err := s.AppendRun(ctx, sess.ID, r); err != nil {
						return err
					}
				}
				return nil
			},
			want: []store.Run{earlier, first, abandoned, sameStart},
		},
		{
			name: "a run id twice",
			act: func(ctx context.Context, s store.Store) error {
				if err := s.AppendRun(ctx, sess.ID, first); err != nil {
					return err
				}
				again := first
				again.Status = "error"
				return s.AppendRun(ctx, sess.ID, again)
			},
			wantErr: store.ErrExists,
			want:    []store.Run{first},
		},
		{
			name:    "unknown session",
			act:     func(ctx context.Context, s store.Store) error { return s.AppendRun(ctx, "nope", first) },
			wantErr: store.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			if err := tt.act(ctx, s); !errors.Is(err, tt.wantErr) {
				t.Fatalf("act error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Runs(ctx, sess.ID)
			if err != nil {
				t.Fatalf("Runs() error = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Runs() = %d runs, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if diff := diffRun(got[i], tt.want[i]); diff != "" {
					t.Errorf("Runs()[%d]: %s", i, diff)
				}
			}
			if len(got) > 0 && len(got[0].Output) > 0 {
				got[0].Output[0].Text = "changed" // must not reach the store
				again, _ := s.Runs(ctx, sess.ID)
				if diff := diffRun(again[0], tt.want[0]); diff != "" {
					t.Errorf("Runs() after changing its result: %s", diff)
				}
			}
			if _, err := s.Runs(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Runs(unknown session) error = %v, want ErrNotFound", err)
			}
		})
	}
}

func runParticipants(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	at := sess.CreatedAt
	ada := store.Participant{UserID: "user-1", Name: "Ada 😀", Joined: at.Add(time.Minute)}
	bob := store.Participant{UserID: "user-2", Name: "Bob", Joined: at.Add(2 * time.Minute)}
	renamed := store.Participant{UserID: "user-1", Name: "Ada Lovelace", Joined: at.Add(3 * time.Minute)}

	tests := []struct {
		name    string
		save    []store.Participant
		saveTo  string // session id saved to; sess.ID when ""
		wantErr error
		want    []store.Participant
	}{
		{name: "none at first"},
		{name: "in the order they first joined", save: []store.Participant{ada, bob}, want: []store.Participant{ada, bob}},
		{
			name: "joining again changes only the name",
			save: []store.Participant{ada, bob, renamed},
			want: []store.Participant{{UserID: "user-1", Name: "Ada Lovelace", Joined: ada.Joined}, bob},
		},
		{name: "unknown session", save: []store.Participant{ada}, saveTo: "nope", wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			to := cmp.Or(tt.saveTo, sess.ID)
			var err error
			for _, p := range tt.save {
				if err = s.SaveParticipant(ctx, to, p); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SaveParticipant() error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Participants(ctx, sess.ID)
			if err != nil {
				t.Fatalf("Participants() error = %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Participants() = %v, want %v", got, tt.want)
			}
			for _, p := range got {
				if p.Joined.Location() != time.UTC {
					t.Errorf("Participants() time %v is not in UTC", p.Joined)
				}
			}
			if _, err := s.Participants(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Participants(unknown session) error = %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("deleted with the session", func(t *testing.T) {
		ctx := t.Context()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveParticipant(ctx, sess.ID, ada); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Participants(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Participants(deleted) error = %v, want ErrNotFound", err)
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Participants(ctx, sess.ID); err != nil || len(got) != 0 {
			t.Errorf("Participants(created again) = %v, %v; want none", got, err)
		}
	})
}

func diffRun(got, want store.Run) string {
	switch {
	case got.ID != want.ID || got.UserID != want.UserID || got.UserName != want.UserName || got.Language != want.Language ||
		got.Title != want.Title || got.Version != want.Version || got.Status != want.Status || got.Truncated != want.Truncated:
		return fmt.Sprintf("got %+v, want %+v", got, want)
	case !got.Started.Equal(want.Started) || !got.Ended.Equal(want.Ended) || got.Ended.IsZero() != want.Ended.IsZero():
		return fmt.Sprintf("times %v–%v, want %v–%v", got.Started, got.Ended, want.Started, want.Ended)
	case len(got.Output) != len(want.Output):
		return fmt.Sprintf("%d output chunks, want %d", len(got.Output), len(want.Output))
	}
	for i := range got.Output {
		if got.Output[i] != want.Output[i] {
			return fmt.Sprintf("output %d = %+q, want %+q", i, got.Output[i], want.Output[i])
		}
	}
	return ""
}

// nastyJSON are byte strings a store must keep exactly: lone surrogate escapes
// (which a round trip through a Go string would turn into U+FFFD), escaped
// backslashes before a "u", astral characters both raw and escaped, NUL, and
// bytes that are not UTF-8 at all.
var nastyJSON = [][]byte{
	[]byte(`"\ud83d"`),
	[]byte(`"\udc00\ud83d"`),
	[]byte(`"\\ud83d"`),
	[]byte(`"😀\ud83d\ude00\u0000"`),
	[]byte("\"\x00\xff\xfe\xed\xa0\xbd\""), // CESU-8 of a lone surrogate
	[]byte(`""`),
}

// runBytes checks that changes and snapshot text come back byte for byte.
func runBytes(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	ctx := t.Context()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	log := make([]store.Update, len(nastyJSON))
	for i, b := range nastyJSON {
		log[i] = store.Update{ClientID: "c\xff😀", UserID: "u\x00", Changes: append([]byte(`[[0,`), append(b, ']', ']')...), Time: sess.CreatedAt}
	}
	if err := s.AppendUpdates(ctx, sess.ID, 0, log); err != nil {
		t.Fatal(err)
	}
	got, err := s.Updates(ctx, sess.ID, 0, len(log), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range log {
		if !bytes.Equal(got[i].Changes, log[i].Changes) || got[i].ClientID != log[i].ClientID || got[i].UserID != log[i].UserID {
			t.Errorf("Updates()[%d] = %q %q, want %q %q", i, got[i].ClientID, got[i].Changes, log[i].ClientID, log[i].Changes)
		}
	}
	for i, b := range nastyJSON {
		if err := s.SaveSnapshot(ctx, sess.ID, store.Snapshot{Version: i + 1, Text: b}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.LatestSnapshot(ctx, sess.ID)
		if err != nil || snap.Version != i+1 || !bytes.Equal(snap.Text, b) {
			t.Errorf("LatestSnapshot() = {%d %q}, %v; want {%d %q}", snap.Version, snap.Text, err, i+1, b)
		}
	}
}

// runPurge checks PurgeIdle over several sessions.
func runPurge(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	ctx := t.Context()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	at := sess.CreatedAt
	ids := make([]string, 5)
	for i := range ids {
		ss := sess
		ss.ID = fmt.Sprintf("3f2a1b9c-0000-4000-8000-1000000000%02d", i)
		ss.LastActive = at.Add(time.Duration(i) * time.Hour)
		ids[i] = ss.ID
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendUpdates(ctx, ss.ID, 0, []store.Update{{ClientID: "c", Changes: []byte(`[[0,"a"]]`), Time: at}}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendRun(ctx, ss.ID, store.Run{ID: "r", Started: at}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PurgeIdle(ctx, at.Add(2*time.Hour+time.Second)); err != nil || n != 3 {
		t.Fatalf("PurgeIdle() = %d, %v; want 3", n, err)
	}
	for i, id := range ids {
		_, err := s.Session(ctx, id)
		if i < 3 && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Session(%d) after purge error = %v, want ErrNotFound", i, err)
		}
		if i >= 3 && err != nil {
			t.Errorf("Session(%d) after purge error = %v, want it kept", i, err)
		}
	}
	if n, err := s.PurgeIdle(ctx, at.Add(2*time.Hour+time.Second)); err != nil || n != 0 {
		t.Errorf("PurgeIdle() again = %d, %v; want 0", n, err)
	}
}

// runConcurrentAppends races appenders on the same sessions: the log of each must
// come out whole, with exactly one winner per version.
func runConcurrentAppends(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	ctx := t.Context()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	const sessions, writers, appends = 4, 4, 25
	ids := make([]string, sessions)
	for i := range ids {
		ss := sess
		ss.ID = fmt.Sprintf("3f2a1b9c-0000-4000-8000-2000000000%02d", i)
		ids[i] = ss.ID
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	won := map[string]int{} // session → successful appends
	var wg sync.WaitGroup
	for _, id := range ids {
		for w := range writers {
			wg.Go(func() {
				for n := 0; n < appends; {
					cur, err := s.Session(ctx, id)
					if err != nil {
						t.Errorf("Session() error = %v", err)
						return
					}
					u := store.Update{ClientID: fmt.Sprintf("w%d", w), Changes: []byte(fmt.Sprintf(`[%d,[0,"x"]]`, cur.Version)), Time: sess.CreatedAt}
					err = s.AppendUpdates(ctx, id, cur.Version, []store.Update{u})
					switch {
					case errors.Is(err, store.ErrConflict):
						continue // someone else got that version: read it again
					case err != nil:
						t.Errorf("AppendUpdates() error = %v", err)
						return
					}
					mu.Lock()
					won[id]++
					mu.Unlock()
					n++
				}
			})
		}
	}
	wg.Wait()
	for _, id := range ids {
		got, err := s.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := writers * appends; got.Version != want || won[id] != want {
			t.Errorf("session %s: version %d after %d successful appends, want %d", id, got.Version, won[id], want)
		}
		log, err := s.Updates(ctx, id, 0, got.Version, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range log {
			if want := fmt.Sprintf(`[%d,[0,"x"]]`, i); string(u.Changes) != want {
				t.Errorf("session %s: Updates()[%d] = %s, want %s (written at another version)", id, i, u.Changes, want)
				break
			}
		}
	}
}

// runQuota checks that a session stores no more than Limits.SessionBytes of log and
// run output, counted as Update.Bytes and Run.Bytes: an append past it is refused
// whole, a run keeps the output that fits, and Session.Bytes says what is stored.
func runQuota(t *testing.T, open func(t *testing.T, l store.Limits) store.Store, sess store.Session) {
	const quota = 3000
	at := sess.CreatedAt
	upd := func(v, n int) store.Update { // an update of exactly n bytes, inserting at v
		u := store.Update{ClientID: "c", UserID: "u", Time: at}
		u.Changes = fmt.Appendf(nil, `[%d,[0,"`, v)
		u.Changes = append(u.Changes, bytes.Repeat([]byte("x"), n-u.Bytes()-len(`"]]`))...)
		u.Changes = append(u.Changes, `"]]`...)
		if u.Bytes() != n {
			t.Fatalf("an update of %d bytes has %d", n, u.Bytes())
		}
		return u
	}
	wantStored := func(ctx context.Context, s store.Store, id string, version int, bytes int64) {
		t.Helper()
		got, err := s.Session(ctx, id)
		if err != nil || got.Version != version || got.Bytes != bytes {
			t.Errorf("Session() = version %d, %d bytes, %v; want version %d, %d bytes", got.Version, got.Bytes, err, version, bytes)
		}
	}

	t.Run("appends", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{SessionBytes: quota}), sess)
		wantStored(ctx, s, sess.ID, 0, 0)
		if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0, 1000), upd(1, 1000)}); err != nil {
			t.Fatalf("AppendUpdates(2000 bytes of %d) error = %v", quota, err)
		}
		wantStored(ctx, s, sess.ID, 2, 2000)
		if err := s.AppendUpdates(ctx, sess.ID, 2, []store.Update{upd(2, 600), upd(3, 401)}); !errors.Is(err, store.ErrQuota) {
			t.Errorf("AppendUpdates(1001 more bytes) error = %v, want ErrQuota", err)
		}
		wantStored(ctx, s, sess.ID, 2, 2000)
		if log, err := s.Updates(ctx, sess.ID, 0, 2, 0); err != nil || len(log) != 2 {
			t.Errorf("Updates() after a refused append = %d updates, %v; want the 2 stored", len(log), err)
		}
		if err := s.AppendUpdates(ctx, sess.ID, 2, []store.Update{upd(2, 600), upd(3, 400)}); err != nil {
			t.Errorf("AppendUpdates(exactly the bytes left) error = %v", err)
		}
		wantStored(ctx, s, sess.ID, 4, quota)
		if err := s.AppendRun(ctx, sess.ID, store.Run{ID: "r", Started: at}); !errors.Is(err, store.ErrQuota) {
			t.Errorf("AppendRun() with no room left error = %v, want ErrQuota", err)
		}
		if runs, err := s.Runs(ctx, sess.ID); err != nil || len(runs) != 0 {
			t.Errorf("Runs() = %v, %v; want none", runs, err)
		}
		wantStored(ctx, s, sess.ID, 4, quota)
	})

	t.Run("a run keeps the output that fits", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{SessionBytes: quota}), sess)
		if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0, 1000)}); err != nil {
			t.Fatal(err)
		}
		run := store.Run{ID: "run-1", UserID: "u", UserName: "Ada", Language: "python", Title: "main.py", Started: at, Status: "ok",
			Output: []store.RunOutput{
				{Stream: "stdout", Text: strings.Repeat("a", 900)},
				{Stream: "stderr", Text: strings.Repeat("é", 600)}, // 1,200 bytes: cut between two characters
				{Stream: "stdout", Text: "dropped"},
			}}
		if err := s.AppendRun(ctx, sess.ID, run); err != nil {
			t.Fatalf("AppendRun() error = %v", err)
		}
		runs, err := s.Runs(ctx, sess.ID)
		if err != nil || len(runs) != 1 {
			t.Fatalf("Runs() = %v, %v; want the run", runs, err)
		}
		got := runs[0]
		if !got.Truncated || len(got.Output) != 2 || got.Output[0] != run.Output[0] || !utf8.ValidString(got.Output[1].Text) ||
			!strings.HasPrefix(run.Output[1].Text, got.Output[1].Text) || len(got.Output[1].Text) == 0 {
			t.Errorf("stored run = truncated %v, %d chunks; want truncated, the first chunk whole and the second cut where a character starts", got.Truncated, len(got.Output))
		}
		have := int64(1000 + got.Bytes())
		if have > quota || have < quota-64 {
			t.Errorf("the session stores %d bytes after the run, want the quota of %d, give or take a character", have, quota)
		}
		wantStored(ctx, s, sess.ID, 1, have)
	})

	t.Run("no limit", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t, store.Limits{SessionBytes: -1}), sess)
		if err := s.AppendUpdates(ctx, sess.ID, 0, []store.Update{upd(0, 2*quota), upd(1, 2*quota)}); err != nil {
			t.Errorf("AppendUpdates(%d bytes) with no limit: error = %v", 4*quota, err)
		}
		wantStored(ctx, s, sess.ID, 2, 4*quota)
	})
}

// runThinning saves a snapshot every 5 updates of a log of 100 with room for 8: the
// store keeps the ones store.ThinSnapshots keeps, counts the bytes of those only,
// and refuses a snapshot past the quota.
func runThinning(t *testing.T, open func(t *testing.T, l store.Limits) store.Store, sess store.Session) {
	ctx := t.Context()
	const n, every, keep = 100, 5, 8
	s := withSession(t, open(t, store.Limits{Snapshots: keep}), sess)
	log := make([]store.Update, n)
	logBytes := int64(0)
	for i := range log {
		log[i] = store.Update{ClientID: "c", Changes: []byte(fmt.Sprintf(`[%d,[0,"x"]]`, i)), Time: sess.CreatedAt}
		logBytes += int64(log[i].Bytes())
	}
	if err := s.AppendUpdates(ctx, sess.ID, 0, log); err != nil {
		t.Fatal(err)
	}
	snap := func(v int) store.Snapshot {
		return store.Snapshot{Version: v, Text: fmt.Appendf(nil, `"%s"`, bytes.Repeat([]byte("x"), v))}
	}
	var want []int // what the store must keep: ThinSnapshots after each save
	for v := every; v <= n; v += every {
		if err := s.SaveSnapshot(ctx, sess.ID, snap(v)); err != nil {
			t.Fatalf("SaveSnapshot(%d) error = %v", v, err)
		}
		want = append(want, v)
		drop := store.ThinSnapshots(want, keep)
		want = slices.DeleteFunc(want, func(v int) bool { return slices.Contains(drop, v) })
	}
	var got []int
	for v := 0; v <= n; v++ {
		sn, err := s.SnapshotAt(ctx, sess.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		if sn.Version > 0 && !slices.Contains(got, sn.Version) {
			got = append(got, sn.Version)
			if !bytes.Equal(sn.Text, snap(sn.Version).Text) {
				t.Errorf("SnapshotAt(%d) = {%d %.20s…}, want the text saved at %d", v, sn.Version, sn.Text, sn.Version)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("snapshots kept at %v, want %v", got, want)
	}
	held := logBytes
	for _, v := range want {
		held += int64(snap(v).Bytes())
	}
	if got, err := s.Session(ctx, sess.ID); err != nil || got.Bytes != held {
		t.Errorf("Session().Bytes = %d, %v; want %d (the log and the snapshots kept)", got.Bytes, err, held)
	}

	q := withSession(t, open(t, store.Limits{SessionBytes: logBytes + int64(snap(10).Bytes())}), sess)
	if err := q.AppendUpdates(ctx, sess.ID, 0, log); err != nil {
		t.Fatal(err)
	}
	if err := q.SaveSnapshot(ctx, sess.ID, snap(10)); err != nil {
		t.Errorf("SaveSnapshot(exactly the bytes left) error = %v", err)
	}
	if err := q.SaveSnapshot(ctx, sess.ID, snap(10)); err != nil {
		t.Errorf("SaveSnapshot(the same version again) error = %v, want nil (the first is kept)", err)
	}
	if err := q.SaveSnapshot(ctx, sess.ID, snap(20)); !errors.Is(err, store.ErrQuota) {
		t.Errorf("SaveSnapshot(past the quota) error = %v, want ErrQuota", err)
	}
	if sn, err := q.LatestSnapshot(ctx, sess.ID); err != nil || sn.Version != 10 {
		t.Errorf("LatestSnapshot() = %d, %v; want the one at 10", sn.Version, err)
	}
}

// withSession creates sess in s, and closes s when the test ends.
func withSession(t *testing.T, s store.Store, sess store.Session) store.Store {
	t.Helper()
	t.Cleanup(func() { s.Close() })
	if err := s.CreateSession(t.Context(), sess); err != nil {
		t.Fatalf("CreateSession() error = %v", err)
	}
	return s
}
