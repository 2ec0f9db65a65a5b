package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"duet/store"
)

// A job is one write: a function run inside a batch's transaction.
type job struct {
	run    func(ctx context.Context, tx *sql.Tx) error
	done   chan error // receives the job's outcome once its batch has committed or failed
	erases bool       // set by run when it deleted something: scrub once committed (erase.go)
	// checksFirst: run refuses (with a domain error, isDomain) only before its first
	// write, so a refusal leaves nothing to roll back and the job needs no savepoint.
	// Any other error of such a job may come after a write and fails the whole batch.
	checksFirst bool
}

// write queues f to run in the next batch and waits for the outcome: nil only once
// the transaction holding f's writes has committed.
//
// Invariant (so that the caller's idea of the database is never wrong): write
// returns ctx's error only when f was never run; once a batch has taken the job,
// write waits for that batch, whatever ctx does. Commits do not wait on anything
// but the disk and, with another process on the file, the busy timeout.
func (s *Store) write(ctx context.Context, what string, f func(ctx context.Context, tx *sql.Tx) error) error {
	return s.submit(ctx, what, func(j *job) { j.run = f })
}

// submit is write for a job that set makes.
func (s *Store) submit(ctx context.Context, what string, set func(*job)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{done: make(chan error, 1)}
	set(j)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%s: %w", what, store.ErrClosed)
	}
	s.queue = append(s.queue, j)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // the committer has a wake-up pending already
	}

	var err error
	select {
	case err = <-j.done:
	case <-ctx.Done():
		s.mu.Lock()
		if i := slices.Index(s.queue, j); i >= 0 { // not taken yet: withdraw it
			s.queue = slices.Delete(s.queue, i, i+1)
			s.mu.Unlock()
			return ctx.Err()
		}
		s.mu.Unlock()
		err = <-j.done
	}
	if err != nil && !isDomain(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// commitLoop is the committer: the only goroutine that writes. It sleeps until a
// write is queued (or a scrub is due), then commits batches until the queue is
// empty. Under load, batches start at least Options.CommitEvery apart: a write that
// arrives just after a commit began waits for the next, which holds every write
// that came meanwhile, so one fsync and one pass over the touched pages serve more
// edits. A write that finds the store idle commits at once. After Close it commits
// what is left and quits.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	var last time.Time // when the newest batch began
	for {
		stopping := false
		select {
		case <-s.wake:
		case <-s.scrubTimer():
		case <-s.stop:
			stopping = true
		}
		for {
			if wait := s.opts.CommitEvery - time.Since(last); wait > 0 && !stopping {
				select {
				case <-time.After(wait):
				case <-s.stop:
					stopping = true
				}
			}
			s.mu.Lock()
			n := min(len(s.queue), s.opts.MaxBatch)
			batch := slices.Clone(s.queue[:n])
			s.queue = slices.Delete(s.queue, 0, n)
			s.mu.Unlock()
			if n == 0 {
				break
			}
			last = time.Now()
			s.commit(batch)
			if s.wantsScrub() {
				s.scrub()
			} else if s.walTooLarge() {
				s.checkpointInline()
			}
		}
		if s.wantsScrub() {
			s.scrub()
		}
		if stopping {
			return
		}
	}
}

// commit runs a batch of jobs in one transaction. Each job runs inside a savepoint,
// so one that fails (a conflicting append, an unknown session) is rolled back alone
// and the others commit; a job that checks first (appends, the bulk of the writes)
// runs without one, since its refusals write nothing, and its other failures (I/O,
// a full disk) fail the batch. Jobs that ran are told nil only after COMMIT succeeded; if
// the transaction fails as a whole, every job gets that error.
func (s *Store) commit(batch []*job) {
	s.mu.Lock()
	s.stats.Commits++
	s.stats.Writes += int64(len(batch))
	s.stats.MaxHeld = max(s.stats.MaxHeld, len(batch))
	s.mu.Unlock()
	if s.opts.ObserveCommit != nil {
		defer func(start time.Time) { s.opts.ObserveCommit(len(batch), time.Since(start)) }(time.Now())
	}

	ctx := context.Background() // no caller owns the batch; see write's invariant
	errs := make([]error, len(batch))
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback() // a no-op after Commit
		for i, j := range batch {
			if j.checksFirst {
				if errs[i] = j.run(ctx, tx); errs[i] != nil && !isDomain(errs[i]) {
					return fmt.Errorf("a write that cannot be rolled back alone failed: %w", errs[i])
				}
				continue
			}
			if _, err := tx.StmtContext(ctx, s.savepoint).ExecContext(ctx); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if errs[i] = j.run(ctx, tx); errs[i] != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
					// SQLite rolled the whole transaction back (I/O error, disk full…).
					return fmt.Errorf("roll back a failed write (%v): %w", errs[i], err)
				}
			}
			if _, err := tx.StmtContext(ctx, s.release).ExecContext(ctx); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		select {
		case s.committed <- struct{}{}:
		default:
		}
		return nil
	}()
	if err == nil {
		for i, j := range batch {
			if j.erases && errs[i] == nil {
				s.mu.Lock()
				s.scrubWanted = true
				s.mu.Unlock()
			}
		}
	}
	for i, j := range batch {
		switch {
		case err != nil:
			j.done <- errors.Join(err, errs[i])
		default:
			j.done <- errs[i]
		}
	}
}
