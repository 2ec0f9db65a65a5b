package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

// appendSQL appends updates $3…$6 at version $2 of session $1, in one statement
// and so one transaction. It stores nothing unless the log ends at $2 and the $8
// bytes they cost (store.Update.Bytes) fit within the session's quota $9 (negative:
// none), else no row is affected; the primary key (session, version) lets only one
// of two writers racing for the same versions store them: the other fails with a
// unique violation once the first commits. Times are Unix nanoseconds; $7 is the
// newest. Deciding the quota beside the version check makes it part of the
// compare-and-set: two processes cannot both take the last bytes of a session.
const appendSQL = `WITH s AS (
	SELECT pk FROM sessions WHERE id = $1 AND version = $2 AND ($9::int8 < 0 OR bytes + $8::int8 <= $9::int8)
), ins AS (
	INSERT INTO updates (session, version, client_id, user_id, changes, time)
	SELECT s.pk, ($2 + u.n - 1)::integer, u.client_id, u.user_id, u.changes, u.time
	FROM s, unnest($3::bytea[], $4::bytea[], $5::bytea[], $6::int8[]) WITH ORDINALITY AS u (client_id, user_id, changes, time, n)
)
UPDATE sessions SET version = $2 + cardinality($5::bytea[]), bytes = bytes + $8::int8,
	last_active = CASE WHEN $7::int8 IS NOT NULL AND (last_active IS NULL OR last_active < $7) THEN $7 ELSE last_active END
FROM s WHERE sessions.pk = s.pk`

// batchSQL is appendSQL for several sessions at once: append i stores its updates
// at version from_v of session id only if that session's log ends there and its
// bytes fit within the quota $11, and the statement returns the i of every append
// stored. A unique violation (a writer elsewhere stored one of those versions
// first) fails the whole statement; the appends are then tried one by one (see
// runBatch).
const batchSQL = `WITH a AS (
	SELECT * FROM unnest($1::text[], $2::integer[], $3::integer[], $4::int8[], $12::int8[]) WITH ORDINALITY AS a (id, from_v, k, latest, bytes, i)
), s AS (
	SELECT sessions.pk, a.i, a.from_v, a.k, a.latest, a.bytes FROM a JOIN sessions ON sessions.id = a.id AND sessions.version = a.from_v
		AND ($11::int8 < 0 OR sessions.bytes + a.bytes <= $11::int8)
), ins AS (
	INSERT INTO updates (session, version, client_id, user_id, changes, time)
	SELECT s.pk, (s.from_v + u.j - 1)::integer, u.client_id, u.user_id, u.changes, u.time
	FROM s JOIN unnest($5::bigint[], $6::bigint[], $7::bytea[], $8::bytea[], $9::bytea[], $10::int8[]) AS u (i, j, client_id, user_id, changes, time)
		ON u.i = s.i
)
UPDATE sessions SET version = s.from_v + s.k, bytes = sessions.bytes + s.bytes,
	last_active = CASE WHEN s.latest IS NOT NULL AND (sessions.last_active IS NULL OR sessions.last_active < s.latest)
		THEN s.latest ELSE sessions.last_active END
FROM s WHERE sessions.pk = s.pk
RETURNING s.i`

// AppendUpdates adds updates to a session's log, which must end at from; it
// returns after COMMIT.
//
// Appends wait in a queue for one of two batchers, which store what has queued
// (one append per session) with one statement: under load, many sessions'
// appends share a round trip and a commit. A lone append goes alone, with
// appendSQL.
//
// When the connection breaks while the statement runs, whether it committed is
// unknown: the caller must not be told it failed if it was stored (its document
// would then disagree with the log), nor that it succeeded if it was not. So the
// store asks the database what the log holds at from, for up to ResolveTimeout,
// and answers accordingly (trying once more if the updates are not there).
//
// Appending exactly the updates the log already holds at from (same client ids,
// user ids and changes) succeeds without storing anything: a caller that could not
// learn the outcome and retries the same updates at the same version then finds
// its log and the database agreeing again. Any other difference is ErrConflict;
// updates that do not fit the session's quota are ErrQuota.
func (s *Store) AppendUpdates(ctx context.Context, id string, from int, updates []store.Update) error {
	what := fmt.Sprintf("append to %s at %d", id, from)
	if len(updates) == 0 {
		return s.do(ctx, what, func(ctx context.Context) error {
			version, err := s.version(ctx, id)
			if err == nil && version != from {
				err = fmt.Errorf("%s (log has %d): %w", what, version, store.ErrConflict)
			}
			return err
		})
	}
	j := newAppendJob(id, from, updates)
	return s.do(ctx, what, func(ctx context.Context) error { return s.enqueue(ctx, j) })
}

// AppendLocked appends under the lock of the session's row (SELECT … FOR UPDATE).
// Another process's append waits on that row until this transaction ends, then
// finds the log past its version and stores nothing (the primary key refuses
// the versions this one took). PostgreSQL runs appendSQL's and batchSQL's update
// of the row before their insert into the log, so a waiting append holds none of
// those versions; were it to, the two would deadlock, PostgreSQL would abort one,
// and this one, if it is the one, starts again. The lock is held for two round
// trips and a commit, and only when appends to one session race.
func (s *Store) AppendLocked(ctx context.Context, id string, from int, rebase func([]store.Update) ([]store.Update, error)) error {
	what := fmt.Sprintf("locked append to %s after %d", id, from)
	return s.do(ctx, what, func(ctx context.Context) error {
		err := s.appendLocked(ctx, id, from, what, rebase)
		for range 2 {
			if !violates(err, deadlockDetected, "") {
				break
			}
			err = s.appendLocked(ctx, id, from, what, rebase)
		}
		return err
	})
}

// appendLocked is one transaction of AppendLocked.
func (s *Store) appendLocked(ctx context.Context, id string, from int, what string, rebase func([]store.Update) ([]store.Update, error)) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
	var version int
	err = tx.QueryRow(ctx, `SELECT version FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&version)
	switch {
	case errors.Is(err, errNoRows):
		return noSession(id)
	case err != nil:
		return err
	case version < from:
		return fmt.Errorf("%s (log has %d): %w", what, version, store.ErrConflict)
	}
	var stored []store.Update
	if version > from {
		if stored, err = readLog(ctx, tx, id, from, version, 0); err != nil {
			return err
		}
	}
	updates, err := rebase(stored)
	if err != nil || len(updates) == 0 {
		return err
	}
	j := newAppendJob(id, version, updates)
	tag, err := tx.Exec(ctx, appendSQL, j.id, j.from, j.clients, j.users, j.changes, j.times, j.latest, j.bytes, s.opts.Limits.SessionBytes)
	switch {
	case err != nil:
		return err
	case tag.RowsAffected() != 1: // the version is held: only the quota refuses
		return fmt.Errorf("append %d bytes to %s: %w", j.bytes, id, store.ErrQuota)
	}
	switch err := tx.Commit(ctx); {
	case err == nil:
		return nil
	case answered(err):
		return err
	}
	return s.resolveAppend(ctx, j, err)
}

// newAppendJob makes an append's columns, ready to bind.
func newAppendJob(id string, from int, updates []store.Update) *appendJob {
	j := &appendJob{id: id, from: from, updates: updates, latest: encTime(updates[0].Time), done: make(chan error, 1)}
	for _, u := range updates {
		j.bytes += int64(u.Bytes())
		j.clients, j.users = append(j.clients, []byte(u.ClientID)), append(j.users, []byte(u.UserID))
		j.changes, j.times = append(j.changes, blob(u.Changes)), append(j.times, encTime(u.Time))
		if t := encTime(u.Time); t != nil && (j.latest == nil || *t > *j.latest) {
			j.latest = t
		}
	}
	return j
}

// appendJob is one AppendUpdates, with its columns ready to bind.
type appendJob struct {
	id      string
	from    int
	updates []store.Update

	clients, users, changes [][]byte
	times                   []*int64
	bytes                   int64      // what the updates cost against the quota
	latest                  *int64     // the newest time
	done                    chan error // receives the outcome
}

// Stats counts the batches of a store's appends.
type Stats struct {
	Batches  int64 // batches run (a lone append is a batch of one)
	Appends  int64 // appends they held
	MaxBatch int   // most appends in one batch
	Split    int64 // batches that failed as a whole and were run one append at a time
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	return s.stats
}

// batchers is how many batches run at once: one commits while the next forms.
// One made smaller gains under load, and four none over two (BenchmarkAppendCapacity).
const batchers = 2

// maxBatch is the most appends in one statement.
const maxBatch = 64

// enqueue queues an append for the batchers and waits for its outcome. A job whose
// ctx ends before a batch took it is withdrawn; once taken, it is waited for, so
// that the caller never mistakes a stored append for a failed one.
func (s *Store) enqueue(ctx context.Context, j *appendJob) error {
	s.bmu.Lock()
	s.queue = append(s.queue, j)
	s.bmu.Unlock()
	s.poke()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		s.bmu.Lock()
		if i := slices.Index(s.queue, j); i >= 0 {
			s.queue = slices.Delete(s.queue, i, i+1)
			s.bmu.Unlock()
			return ctx.Err()
		}
		s.bmu.Unlock()
		return <-j.done
	}
}

// poke wakes a batcher, unless one has a wake-up pending already.
func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// batchLoop is a batcher: it runs batches until the queue holds nothing it may
// take, then sleeps until poked. Close stops it once every append has returned.
func (s *Store) batchLoop() {
	defer s.batchers.Done()
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			return
		}
		for {
			batch := s.takeBatch()
			if len(batch) == 0 {
				break
			}
			s.poke() // the other batcher may take what is left
			s.runBatch(batch)
			s.bmu.Lock()
			for _, j := range batch {
				delete(s.busy, j.id)
			}
			s.bmu.Unlock()
		}
	}
}

// takeBatch takes up to maxBatch queued appends, in order, at most one per session
// and none of a session whose append is in the other batch: two appends racing for
// the same versions in one statement, or in two, would fail whole batches.
func (s *Store) takeBatch() []*appendJob {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	var batch []*appendJob
	rest := s.queue[:0:0]
	for _, j := range s.queue {
		if len(batch) < maxBatch && !s.busy[j.id] {
			s.busy[j.id] = true
			batch = append(batch, j)
		} else {
			rest = append(rest, j)
		}
	}
	s.queue = rest
	return batch
}

// runBatch stores a batch and tells each job its outcome: with one statement, or,
// when that failed as a whole, each append on its own.
func (s *Store) runBatch(batch []*appendJob) {
	// No caller owns the batch: it gets a deadline of its own (see enqueue).
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	s.bmu.Lock()
	s.stats.Batches++
	s.stats.Appends += int64(len(batch))
	s.stats.MaxBatch = max(s.stats.MaxBatch, len(batch))
	s.bmu.Unlock()
	if s.opts.ObserveBatch != nil {
		defer func(start time.Time) { s.opts.ObserveBatch(len(batch), time.Since(start)) }(time.Now())
	}
	if len(batch) == 1 {
		batch[0].done <- s.appendAlone(ctx, batch[0])
		return
	}
	stored, err := s.appendBatch(ctx, batch)
	if err != nil && (answered(err) || notRun(err)) {
		s.bmu.Lock()
		s.stats.Split++
		s.bmu.Unlock()
	}
	for i, j := range batch {
		switch {
		case err == nil && stored[i]:
			j.done <- nil
		case err == nil:
			j.done <- s.notAppended(ctx, j)
		case answered(err), notRun(err):
			// Nothing was stored: a writer elsewhere raced one of these sessions,
			// or the connection was dead. Each append is decided on its own.
			j.done <- s.appendAlone(ctx, j)
		default:
			j.done <- s.resolveAppend(ctx, j, err)
		}
	}
}

// appendBatch runs batchSQL and tells which appends it stored.
func (s *Store) appendBatch(ctx context.Context, batch []*appendJob) ([]bool, error) {
	ids, froms, ks, latest := make([]string, len(batch)), make([]int, len(batch)), make([]int, len(batch)), make([]*int64, len(batch))
	sizes := make([]int64, len(batch))
	var is, js []int64
	var clients, users, changes [][]byte
	var times []*int64
	for i, j := range batch {
		ids[i], froms[i], ks[i], latest[i], sizes[i] = j.id, j.from, len(j.updates), j.latest, j.bytes
		for k := range j.updates {
			is, js = append(is, int64(i+1)), append(js, int64(k+1))
		}
		clients, users = append(clients, j.clients...), append(users, j.users...)
		changes, times = append(changes, j.changes...), append(times, j.times...)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, batchSQL, ids, froms, ks, latest, is, js, clients, users, changes, times, s.opts.Limits.SessionBytes, sizes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := make([]bool, len(batch))
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		stored[i-1] = true
	}
	return stored, rows.Err()
}

// appendAlone stores one append with appendSQL: a second time on another
// connection if the first was dead, and resolving a lost outcome.
func (s *Store) appendAlone(ctx context.Context, j *appendJob) error {
	err := s.appendOnce(ctx, j)
	if notRun(err) && ctx.Err() == nil {
		err = s.appendOnce(ctx, j)
	}
	var lost *lostError
	if errors.As(err, &lost) {
		return s.resolveAppend(ctx, j, lost.err)
	}
	return err
}

// lostError is a statement's error after which whether it committed is unknown.
type lostError struct{ err error }

func (e *lostError) Error() string { return e.err.Error() }

// appendOnce runs appendSQL once and tells why nothing was stored, if so.
func (s *Store) appendOnce(ctx context.Context, j *appendJob) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err // nothing was sent
	}
	tag, err := conn.Exec(ctx, appendSQL, j.id, j.from, j.clients, j.users, j.changes, j.times, j.latest, j.bytes, s.opts.Limits.SessionBytes)
	conn.Release()
	switch {
	case err == nil && tag.RowsAffected() == 1:
		return nil
	case err == nil, violates(err, uniqueViolation, "updates_pkey"), violates(err, deadlockDetected, ""):
		// The log does not end at from, another writer stored from first, or
		// the updates do not fit the quota.
		return s.notAppended(ctx, j)
	case violates(err, foreignKeyViolation, ""):
		return noSession(j.id) // deleted while the statement ran
	case answered(err), notRun(err):
		return err
	}
	return &lostError{err}
}

// deadlockDetected is the SQLSTATE of a transaction PostgreSQL aborted to break a
// deadlock: two appends racing for the same versions could, in principle, insert
// them in different orders.
const deadlockDetected = "40P01"

// notAppended explains an append that stored nothing: ErrNotFound, ErrConflict,
// ErrQuota when the log ends at from (so the version was not what stopped it), or
// nil when the log already holds exactly these updates at from.
func (s *Store) notAppended(ctx context.Context, j *appendJob) error {
	held, version, err := s.logHolds(ctx, j)
	switch {
	case err != nil:
		return err
	case held:
		return nil
	case version == j.from && !j.fits(ctx, s):
		return fmt.Errorf("append %d bytes to %s: %w", j.bytes, j.id, store.ErrQuota)
	}
	return fmt.Errorf("append to %s at %d (log has %d): %w", j.id, j.from, version, store.ErrConflict)
}

// fits tells whether the append fits the session's quota now (true when that
// cannot be read: the append is then told it conflicts, and tried again).
func (j *appendJob) fits(ctx context.Context, s *Store) bool {
	var have int64
	if err := s.pool.QueryRow(ctx, `SELECT bytes FROM sessions WHERE id = $1`, j.id).Scan(&have); err != nil {
		return true
	}
	return s.opts.Limits.Fits(have, j.bytes)
}

// resolveAppend finds out whether an append whose outcome was lost (cause) was
// stored, asking until the database answers or ResolveTimeout passes. If it was
// not stored and the log still ends at from, it tries once more, unless ctx has
// ended (it may be what broke the statement).
func (s *Store) resolveAppend(ctx context.Context, j *appendJob, cause error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ResolveTimeout)
	defer cancel()
	for {
		held, version, err := s.logHolds(rctx, j)
		switch {
		case err == nil && held:
			return nil
		case err == nil && version == j.from && ctx.Err() == nil:
			if err := s.appendOnce(rctx, j); !errors.As(err, new(*lostError)) {
				return err
			}
			return fmt.Errorf("the connection broke twice while committing: %w", cause)
		case err == nil && version == j.from:
			return ctx.Err() // not stored, and out of time
		case err == nil:
			return fmt.Errorf("append to %s at %d (log has %d; the first try, %v, was not stored): %w", j.id, j.from, version, cause, store.ErrConflict)
		case errors.Is(err, store.ErrNotFound):
			return err
		}
		select {
		case <-rctx.Done():
			return fmt.Errorf("the connection broke while committing (%v), and the database did not say within %v whether the updates were stored", cause, s.opts.ResolveTimeout)
		case <-time.After(resolveInterval):
		}
	}
}

// resolveInterval is how often resolveAppend asks again.
const resolveInterval = 200 * time.Millisecond

// logHolds tells whether the log holds exactly j's updates (client ids, user ids
// and changes) from version j.from on, and returns the log's length.
func (s *Store) logHolds(ctx context.Context, j *appendJob) (bool, int, error) {
	held, version, i := true, 0, 0
	err := sessionRows(ctx, s.pool, `SELECT s.version, u.version, u.client_id, u.user_id, u.changes
		FROM sessions s LEFT JOIN updates u ON u.session = s.pk AND u.version >= $2 AND u.version < $3
		WHERE s.id = $1 ORDER BY u.version`, j.id, func(rows pgx.Rows) error {
		var at *int
		var client, user, changes []byte
		if err := rows.Scan(&version, &at, &client, &user, &changes); err != nil {
			return err
		}
		if at == nil { // the LEFT JOIN's row when no update is in the range
			held = false
			return nil
		}
		u := j.updates[i]
		held = held && string(client) == u.ClientID && string(user) == u.UserID && bytes.Equal(changes, u.Changes)
		i++
		return nil
	}, j.from, j.from+len(j.updates))
	if err != nil {
		return false, 0, err
	}
	return held && i == len(j.updates), version, nil
}
