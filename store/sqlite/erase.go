package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Deleting means gone. A deleted row can stay readable in three places: in the free
// space of the database file (unless secure_delete zeroes it, see open), in the WAL
// frames written before the deletion (until the WAL is overwritten, which may never
// happen to its tail), and in the WAL frames of the deletion itself (harmless:
// zeroed). So a write that deletes a session is an erasing job: once it has
// committed, the committer copies the whole WAL into the database file and truncates
// the WAL to zero bytes (scrub).

// scrubBusyTimeout is how long one scrub waits for readers to finish with the WAL.
// The committer, and the edits queued behind it, wait that long at most; a scrub
// that could not finish is tried again scrubRetry later.
const (
	scrubBusyTimeout = 100 * time.Millisecond
	scrubRetry       = 100 * time.Millisecond
)

// secureDelete is the value of the secure_delete pragma for opts.
func secureDelete(o Options) int {
	if o.keepDeleted {
		return 0
	}
	return 1
}

// erase is write for a job that deletes what must not stay on disk: f reports
// whether it deleted anything, and if it did, the committer scrubs the WAL once the
// job's transaction has committed.
func (s *Store) erase(ctx context.Context, what string, f func(ctx context.Context, tx *sql.Tx) (bool, error)) error {
	return s.submit(ctx, what, func(j *job) {
		j.run = func(ctx context.Context, tx *sql.Tx) error {
			deleted, err := f(ctx, tx)
			j.erases = deleted && err == nil
			return err
		}
	})
}

// scrub copies every frame of the WAL into the database file and truncates the WAL
// to zero bytes. It runs on the committer, between two batches, from the writer's
// connection: no other writer can be in the way, only readers still using frames of
// the WAL, which it waits for scrubBusyTimeout at most. If they are still there, the
// scrub is tried again after scrubRetry.
func (s *Store) scrub() {
	now := time.Now()
	s.mu.Lock()
	early := now.Before(s.scrubAfter)
	s.mu.Unlock()
	if early {
		return
	}
	err := s.truncateWAL()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.stats.BusyScrubs++
		s.scrubAfter = now.Add(scrubRetry)
		return
	}
	s.stats.Scrubs++
	s.scrubWanted = false
}

// errWALBusy is a checkpoint that could not copy the whole WAL.
var errWALBusy = fmt.Errorf("checkpoint: readers still use the WAL")

func (s *Store) truncateWAL() error {
	ctx := context.Background() // as commit: no caller owns the committer's work
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", scrubBusyTimeout.Milliseconds())); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", s.opts.BusyTimeout.Milliseconds()))
	var busy, frames, copied int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if busy != 0 {
		return errWALBusy
	}
	return nil
}

// wantsScrub tells whether a deletion has committed since the WAL was last truncated.
func (s *Store) wantsScrub() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scrubWanted
}

// scrubTimer fires when a wanted scrub is due, and is nil when none is wanted.
func (s *Store) scrubTimer() <-chan time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.scrubWanted {
		return nil
	}
	return time.After(time.Until(s.scrubAfter))
}
