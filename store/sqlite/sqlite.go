// Package sqlite is duet's embedded store: sessions, their update logs, snapshots and
// runs in one SQLite file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// The database runs in WAL mode. Reads go through a pool of read-only connections
// and never wait for writes. Every write goes through one writer connection owned by
// a committer goroutine, which commits the writes that queued while the previous
// commit was running (or, with Options.CommitEvery, during an interval) in one
// transaction (group commit): under load, many sessions' appends share one fsync,
// and a write returns only once the commit holding it is done. Checkpoints (copying
// the WAL into the database file, with an fsync of its own) run on a connection of
// their own in the background, so that commits, and the edits waiting for them,
// seldom pay for them (see checkpointLoop).
//
// Deleting means gone: SQLite overwrites deleted rows and freed pages with zeros
// (secure_delete), and once a deletion has committed, the committer copies the WAL
// into the database file and truncates the WAL to nothing (see scrub), so that no
// file of the data folder keeps a deleted session's text, names or output.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"duet/store"
)

// Sync is how far a commit goes before a write returns.
type Sync string

const (
	// SyncFull (the default) makes a commit durable: the WAL is fsynced before the
	// write returns, so an update confirmed to clients survives a process crash, an
	// OS crash and a power cut (as far as the disk honours fsync).
	SyncFull Sync = "full"
	// SyncNormal writes the WAL without fsyncing it; SQLite fsyncs only at
	// checkpoints. A write has reached the OS when it returns, so it survives the
	// process being killed (SIGKILL, OOM, a panic), but an OS crash or a power cut
	// can lose the transactions committed since the last checkpoint (a fraction of
	// a second to a few seconds of edits). The database stays consistent either
	// way: a transaction is there whole or not at all, so the log loses a tail and
	// never a middle. Clients that had those edits confirmed are then ahead of the
	// server (their pulls are refused as version_ahead) and must reload the pad.
	SyncNormal Sync = "normal"
)

// Options tunes a Store. The zero value is the safe default.
type Options struct {
	Sync Sync // SyncFull when empty
	// CommitEvery is the least time between the starts of two transactions of the
	// committer. A write arriving at an idle store commits at once; under load, a
	// batch is what queued during this interval (or during the previous commit, if
	// longer), so the fsync and the pages written are shared by more writes, and a
	// write waits up to this long more. Zero: a batch is what queued while the
	// previous commit was running.
	CommitEvery time.Duration
	MaxBatch    int           // most writes in one transaction (256)
	BusyTimeout time.Duration // how long to wait for a lock another process holds (5 s)
	// ObserveCommit, if set, is told of every transaction the committer ran (for
	// metrics): how many writes it held and how long it took, fsync included. The
	// committer calls it between batches, so it must be quick.
	ObserveCommit func(writes int, took time.Duration)
	Limits        store.Limits // what one session may store

	keepDeleted bool // no secure_delete: only for measuring what it costs (export_test.go)
}

func (o Options) withDefaults() (Options, error) {
	switch o.Sync {
	case "":
		o.Sync = SyncFull
	case SyncFull, SyncNormal:
	default:
		return o, fmt.Errorf("sync %q: want %q or %q", o.Sync, SyncFull, SyncNormal)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	o.Limits = o.Limits.WithDefaults()
	return o, nil
}

// Store is a store.Store in a SQLite file. It is safe for concurrent use.
type Store struct {
	path string
	opts Options
	w    *sql.DB // the one writer connection, used by the committer only (and migrations)
	r    *sql.DB // read-only connections
	ck   *sql.DB // the checkpointer's connection

	// Statements of AppendUpdates, prepared once on the writer connection.
	savepoint, release, claim, insertUpdate *sql.Stmt

	mu     sync.Mutex
	queue  []*job // writes waiting for a batch; guarded by mu
	closed bool   // guarded by mu
	stats  Stats  // guarded by mu

	wake      chan struct{} // a write was queued (capacity 1)
	committed chan struct{} // a batch was committed (capacity 1): the checkpointer may have work
	stop      chan struct{} // closed by Close
	stopped   chan struct{} // closed when the committer has drained the queue and quit
	ckStopped chan struct{} // closed when the checkpointer has quit
	walLimit  int64         // bytes of WAL past which the committer checkpoints itself
	closeOnce sync.Once
	closeErr  error

	scrubWanted bool      // a deletion has committed since the WAL was last truncated; guarded by mu
	scrubAfter  time.Time // no scrub before this (after a busy one); guarded by mu
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it and its folder if needed) the database at path, brings
// its schema up to date, and starts the committer and the checkpointer.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	return open(ctx, path, opts, defaultWALLimit)
}

func open(ctx context.Context, path string, opts Options, walLimit int64) (_ *Store, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("open %q: want the path of a file, without ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Pragmas every connection needs. foreign_keys makes deletes cascade; the busy
	// timeout covers another process (or a leftover one) holding the write lock;
	// secure_delete zeroes what a delete removes, instead of leaving it readable in
	// free space of the file.
	base := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(%s)&_pragma=secure_delete(%d)",
		path, opts.BusyTimeout.Milliseconds(), strings.ToUpper(string(opts.Sync)), secureDelete(opts))
	s := &Store{
		path: path, opts: opts, walLimit: walLimit,
		wake: make(chan struct{}, 1), committed: make(chan struct{}, 1),
		stop: make(chan struct{}), stopped: make(chan struct{}), ckStopped: make(chan struct{}),
	}
	// The writer never checkpoints by itself (wal_autocheckpoint 0): see
	// checkpointLoop. journal_size_limit truncates the WAL when it is reused.
	s.w, err = openPool(fmt.Sprintf("%s&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(%d)&_txlock=immediate", base, walLimit), 1)
	if err == nil {
		err = s.setUp(ctx)
	}
	if err == nil { // the others open once the file is in WAL mode and migrated
		s.r, err = openPool(base+"&_pragma=query_only(1)", max(4, runtime.GOMAXPROCS(0)))
	}
	if err == nil {
		s.ck, err = openPool(base, 1)
	}
	if err != nil {
		for _, db := range []*sql.DB{s.w, s.r, s.ck} {
			if db != nil {
				db.Close()
			}
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	go s.commitLoop()
	go s.checkpointLoop()
	return s, nil
}

func openPool(dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// setUp turns WAL on (it stays on in the file), migrates the schema and prepares
// the writer's statements.
func (s *Store) setUp(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("set WAL mode: the database stays in %q mode (a file system without shared memory?)", mode)
	}
	if err := migrate(ctx, s.w, len(migrations)); err != nil {
		return err
	}
	for _, st := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.savepoint, `SAVEPOINT job`},
		{&s.release, `RELEASE job`},
		{&s.claim, `UPDATE sessions SET version = ?3, bytes = bytes + ?4, last_active = ` + laterOf + `
			WHERE id = ?2 AND version = ?5 AND (?6 < 0 OR bytes + ?4 <= ?6)`},
		{&s.insertUpdate, `INSERT INTO updates (session, version, client_id, user_id, changes, time)
			SELECT pk, ?2, ?3, ?4, ?5, ?6 FROM sessions WHERE id = ?1`},
	} {
		var err error
		if *st.stmt, err = s.w.PrepareContext(ctx, st.sql); err != nil {
			return fmt.Errorf("prepare %q: %w", st.sql, err)
		}
	}
	return nil
}

// checkpointInterval is how often, at most, the checkpointer copies the WAL into
// the database file while writes go on.
const checkpointInterval = 200 * time.Millisecond

// defaultWALLimit is the size of the WAL, in bytes, past which the committer
// checkpoints between batches itself (see checkpointLoop): SQLite's own threshold
// is 1,000 pages of 4 KiB.
const defaultWALLimit = 8 << 20

// checkpointLoop checkpoints the WAL in the background, from its own connection:
// a PASSIVE checkpoint copies what it can without waiting for anyone, while the
// committer goes on appending to the WAL. Left to SQLite, the commit that crosses
// 1,000 WAL pages would run the checkpoint itself, fsync included, and every edit
// waiting for that commit would wait for it too. At Close, the last connection to
// go checkpoints everything and removes the WAL.
//
// A checkpoint running beside the writer can only copy the frames that were there
// when it began, and SQLite reuses the WAL from its start only once everything in
// it has been copied. Under writes that never pause (or faster than the
// checkpointer's pace), the WAL would then grow without end: past walLimit bytes,
// the committer checkpoints between two batches, as SQLite would have.
func (s *Store) checkpointLoop() {
	defer close(s.ckStopped)
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.committed:
		}
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if _, err := s.ck.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			s.mu.Lock()
			s.stats.CheckpointErrors++
			s.mu.Unlock()
		}
	}
}

// walTooLarge tells whether the WAL has grown past walLimit bytes since it was last
// reused from its start (the writer's journal_size_limit truncates it then).
func (s *Store) walTooLarge() bool {
	fi, err := os.Stat(s.path + "-wal")
	return err == nil && fi.Size() > s.walLimit
}

// checkpointInline checkpoints from the writer's connection, between two batches.
func (s *Store) checkpointInline() {
	_, err := s.w.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.InlineCheckpoints++
	if err != nil {
		s.stats.CheckpointErrors++
	}
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Stats counts the group commits of a store.
type Stats struct {
	Commits           int64 // transactions committed (or attempted)
	Writes            int64 // writes they held
	MaxHeld           int   // most writes in one transaction
	CheckpointErrors  int64 // checkpoints that failed (they are retried)
	InlineCheckpoints int64 // checkpoints the committer had to run between batches
	Scrubs            int64 // truncating checkpoints after deletions that completed
	BusyScrubs        int64 // and those that found a reader in the way (they are retried)
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Check runs SQLite's integrity and foreign key checks, and returns an error
// describing the first problems found.
func (s *Store) Check(ctx context.Context) error {
	var problems []string
	for _, q := range []string{"PRAGMA integrity_check", "PRAGMA foreign_key_check"} {
		rows, err := s.r.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("check %s: %w", s.path, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("check %s: %w", s.path, err)
			}
			if len(vals) == 1 && fmt.Sprint(vals[0]) == "ok" {
				continue
			}
			problems = append(problems, fmt.Sprint(vals...))
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("check %s: %w", s.path, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("check %s: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}

// Close waits for the writes already queued to be committed, stops the committer
// and the checkpointer, and closes the database (the last connection checkpoints
// the WAL into it). Calls to the store's methods then return store.ErrClosed.
// Close is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		<-s.stopped
		<-s.ckStopped
		s.closeErr = errors.Join(s.r.Close(), s.ck.Close(), s.w.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
}

// read runs f in a read-only transaction, so that what it reads is one consistent
// state of the database.
func (s *Store) read(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return fmt.Errorf("%s: %w", what, store.ErrClosed)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: %w", what, s.closedOr(err))
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		if isDomain(err) {
			return err
		}
		return fmt.Errorf("%s: %w", what, s.closedOr(err))
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closedOr returns store.ErrClosed for an error that closing the store caused.
func (s *Store) closedOr(err error) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	return err
}

// isDomain tells the errors a method returns as they are, already with context.
func isDomain(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrQuota) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// encTime is how times are stored: Unix nanoseconds, NULL for the zero time.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func decTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// blob binds b as a BLOB even when it is empty (a nil slice would bind NULL).
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
