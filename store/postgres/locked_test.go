package postgres_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
)

// TestAppendLocked: an append under the session's lock hands rebase what was stored
// from its version on, and stores what rebase returns after that; it stores nothing
// when rebase fails or returns nothing, or when the updates do not fit the quota.
func TestAppendLocked(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	errRebase := errors.New("the push does not rebase")
	log := []store.Update{upd(0), upd(1), upd(2)}
	for _, tt := range []struct {
		name      string
		id        string
		from      int
		quota     int64 // SessionBytes; 0: none
		rebased   []store.Update
		rebaseErr error
		// what rebase must be handed (nil: it must not be called), and the outcome
		wantStored []store.Update
		wantErr    error
		wantLog    []store.Update
	}{
		{name: "behind the log", id: "s", from: 1, rebased: []store.Update{upd(7)},
			wantStored: log[1:], wantLog: append(slices.Clone(log), upd(7))},
		{name: "at the log's end", id: "s", from: 3, rebased: []store.Update{upd(7), upd(8)},
			wantStored: []store.Update{}, wantLog: append(slices.Clone(log), upd(7), upd(8))},
		{name: "from the start", id: "s", from: 0, rebased: []store.Update{upd(7)},
			wantStored: log, wantLog: append(slices.Clone(log), upd(7))},
		{name: "rebase fails", id: "s", from: 2, rebaseErr: errRebase,
			wantStored: log[2:], wantErr: errRebase, wantLog: log},
		{name: "nothing to append", id: "s", from: 2,
			wantStored: log[2:], wantLog: log},
		{name: "past the quota", id: "s", from: 3, quota: 3 * int64(upd(0).Bytes()), rebased: []store.Update{upd(7)},
			wantStored: []store.Update{}, wantErr: store.ErrQuota, wantLog: log},
		{name: "ahead of the log", id: "s", from: 4, rebased: []store.Update{upd(7)},
			wantErr: store.ErrConflict, wantLog: log},
		{name: "no such session", id: "nope", from: 0, rebased: []store.Update{upd(7)},
			wantErr: store.ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := mustOpen(t, pgtest.NewSchema(t, db), postgres.Options{Limits: store.Limits{SessionBytes: tt.quota}})
			if err := s.CreateSession(ctx, newSession("s")); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendUpdates(ctx, "s", 0, log); err != nil {
				t.Fatal(err)
			}
			var handed []store.Update
			calls := 0
			err := s.AppendLocked(ctx, tt.id, tt.from, func(stored []store.Update) ([]store.Update, error) {
				calls++
				handed = stored
				return tt.rebased, tt.rebaseErr
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AppendLocked() error = %v, want %v", err, tt.wantErr)
			}
			wantCalls := 1
			if tt.wantStored == nil {
				wantCalls = 0
			}
			if calls != wantCalls {
				t.Fatalf("rebase called %d times, want %d", calls, wantCalls)
			}
			if !sameUpdates(handed, tt.wantStored) {
				t.Errorf("rebase was handed %v, want %v", handed, tt.wantStored)
			}
			if tt.id != "s" {
				return
			}
			got, err := s.Updates(ctx, "s", 0, len(tt.wantLog), 0)
			if err != nil {
				t.Fatal(err)
			}
			if sess, _ := s.Session(ctx, "s"); sess.Version != len(tt.wantLog) || !sameUpdates(got, tt.wantLog) {
				t.Errorf("the log is %v at version %d, want %v", got, sess.Version, tt.wantLog)
			}
		})
	}
}

// TestAppendLockedHoldsTheLog: an append from another process (another pool) at the
// log's end, made while a locked append is between reading the log and storing its
// updates, waits for it, then finds its version taken.
func TestAppendLockedHoldsTheLog(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewSchema(t, pgtest.NewDatabase(t))
	mine, other := mustOpen(t, url, postgres.Options{}), mustOpen(t, url, postgres.Options{})
	if err := mine.CreateSession(ctx, newSession("s")); err != nil {
		t.Fatal(err)
	}
	if err := mine.AppendUpdates(ctx, "s", 0, []store.Update{upd(0)}); err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, url)
	done := make(chan error, 1)
	err := mine.AppendLocked(ctx, "s", 0, func(stored []store.Update) ([]store.Update, error) {
		go func() { done <- other.AppendUpdates(ctx, "s", 1, []store.Update{upd(9)}) }()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			select {
			case err := <-done:
				t.Fatalf("the other append returned (%v) while the log was held", err)
			default:
			}
			var waiting int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting > 0 {
				return []store.Update{upd(1)}, nil
			}
			if time.Now().After(deadline) {
				t.Fatal("the other append never waited for the lock")
			}
		}
	})
	if err != nil {
		t.Fatalf("AppendLocked() error = %v", err)
	}
	if err := <-done; !errors.Is(err, store.ErrConflict) {
		t.Errorf("the other append: error = %v, want ErrConflict", err)
	}
	got, err := mine.Updates(ctx, "s", 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Update{upd(0), upd(1)}; !sameUpdates(got, want) {
		t.Errorf("the log is %v, want %v", got, want)
	}
}

func sameUpdates(a, b []store.Update) bool {
	return slices.EqualFunc(a, b, func(x, y store.Update) bool {
		return x.ClientID == y.ClientID && x.UserID == y.UserID && string(x.Changes) == string(y.Changes) && x.Time.Equal(y.Time)
	})
}
