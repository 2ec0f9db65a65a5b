// Package postgres is duet's store in a PostgreSQL database: sessions, their update
// logs, snapshots, runs and participants, through pgx and its connection pool.
//
// Every write is one statement, so one round trip and one transaction, and returns
// after PostgreSQL has committed it (duet's connections ask for synchronous_commit
// on unless the URL says otherwise). Appends of different sessions at once go
// through different pooled connections, and PostgreSQL flushes the commits that
// arrive together with one WAL flush: it groups them itself.
//
// An append is compare-and-set: the primary key of the log, (session, version),
// lets only one writer store a version; the loser gets store.ErrConflict. Appending
// exactly what the log already holds at that place is not a conflict: that is how
// a caller's retry ends when the answer to its first try was lost with the
// connection (see AppendUpdates).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"duet/store"
)

// Options tunes a Store. The zero value is the default.
type Options struct {
	// MaxConns is the size of the connection pool: how many operations run at
	// once. Zero takes the URL's pool_max_conns, else 10.
	MaxConns int32
	// Timeout bounds one operation, waiting for a connection included (10 s): the
	// hub stores an edit while it holds the session's lock, so a database that
	// stops answering must fail the edit rather than hold everyone up.
	Timeout time.Duration
	// ResolveTimeout is how long an append whose outcome was lost (the connection
	// broke while it committed) keeps asking the database whether it was stored
	// (10 s). See AppendUpdates.
	ResolveTimeout time.Duration
	// ObserveBatch, if set, is told of every batch of appends stored (for metrics):
	// how many appends it held and how long it took, commit included. A batcher
	// calls it between batches, so it must be quick.
	ObserveBatch func(appends int, took time.Duration)
	Limits       store.Limits // what one session may store
}

// DefaultMaxConns is the pool size when neither Options nor the URL set one.
const DefaultMaxConns = 10

// Store is a store.Store in a PostgreSQL database. It is safe for concurrent use,
// and several processes may share one database.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	dest string // host:port/database, for messages (never the password)

	mu       sync.Mutex
	closed   bool           // guarded by mu
	inFlight sync.WaitGroup // operations running; Close waits for them

	bmu      sync.Mutex
	queue    []*appendJob    // appends waiting for a batch; guarded by bmu
	busy     map[string]bool // sessions with an append in a running batch; guarded by bmu
	stats    Stats           // guarded by bmu
	wake     chan struct{}   // an append was queued (capacity 1)
	stop     chan struct{}   // closed by Close, once no append is left
	batchers sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// connection string), checks that it answers, and brings its schema up to date.
// It refuses to return a store it could not use.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if strings.TrimSpace(url) == "" {
		return nil, errors.New("open PostgreSQL: no database URL")
	}
	cfg, err := pgxpool.ParseConfig(url) // its errors hide the password
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.ResolveTimeout <= 0 {
		opts.ResolveTimeout = 10 * time.Second
	}
	opts.Limits = opts.Limits.WithDefaults()
	params := cfg.ConnConfig.RuntimeParams
	if params["application_name"] == "" {
		params["application_name"] = "duet"
	}
	// A confirmed edit must survive a crash of the database server: a server
	// configured with synchronous_commit off would confirm commits it can lose.
	if params["synchronous_commit"] == "" {
		params["synchronous_commit"] = "on"
	}
	s := &Store{opts: opts, dest: fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open PostgreSQL at %s: %w", s.dest, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := s.pool.Ping(pingCtx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open PostgreSQL at %s: the server does not answer: %w", s.dest, err)
	}
	if err := migrate(ctx, s.pool, len(migrations)); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open PostgreSQL at %s: %w", s.dest, err)
	}
	s.busy, s.wake, s.stop = map[string]bool{}, make(chan struct{}, 1), make(chan struct{})
	for range batchers {
		s.batchers.Add(1)
		go s.batchLoop()
	}
	return s, nil
}

// Database returns where the store is, as host:port/database (no password), for
// logs.
func (s *Store) Database() string { return s.dest }

// MaxConns returns the size of the connection pool.
func (s *Store) MaxConns() int32 { return s.pool.Config().MaxConns }

// Close waits for the operations in progress, then closes the pool. Calls to the
// store's methods then return store.ErrClosed. Close is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.inFlight.Wait()
	close(s.stop)
	s.batchers.Wait()
	s.pool.Close()
	return nil
}

// do runs one operation: it refuses a closed store and a done ctx, bounds the
// operation by Timeout, and gives f a second try on another connection when the
// first failed before the server could act on it. After a database restart every
// pooled connection is dead, and a write should not fail for that.
//
// f's errors of the store's own vocabulary come back as they are; others are
// wrapped with what.
func (s *Store) do(ctx context.Context, what string, f func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%s: %w", what, store.ErrClosed)
	}
	s.inFlight.Add(1)
	s.mu.Unlock()
	defer s.inFlight.Done()

	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := f(ctx)
	if err != nil && notRun(err) && ctx.Err() == nil {
		err = f(ctx)
	}
	switch {
	case err == nil:
		return nil
	case isDomain(err):
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isDomain tells the errors a method returns as they are, already with context.
func isDomain(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrQuota) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// notRun tells an error after which the statement surely did not run, on a
// connection that is now unusable: nothing was sent (a dead pooled connection, a
// refused dial), or the server said it was shutting the connection down.
func notRun(err error) bool {
	if pgconn.SafeToRetry(err) || errors.As(err, new(*pgconn.ConnectError)) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P"))
}

// answered tells an error the server sent in reply to a statement: the statement
// failed and its transaction was rolled back. Any other error (a connection lost
// while a statement ran, a timeout) leaves unknown whether a write committed.
func answered(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// violates tells a PgError of the given SQLSTATE on the given constraint.
func violates(err error, code, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code && (constraint == "" || pe.ConstraintName == constraint)
}

const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// encTime is how times are stored: Unix nanoseconds, NULL for the zero time.
// (timestamptz keeps microseconds; the contract wants nanoseconds.)
func encTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func decTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// blob binds b as a bytea even when it is empty (a nil slice would bind NULL).
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// noSession is the error for a session id that is not in the database.
func noSession(id string) error {
	return fmt.Errorf("session %s: %w", id, store.ErrNotFound)
}

// querier runs queries: the pool, or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// sessionRows runs a query about one session ($1 is its id) whose every row names
// the session: a LEFT JOIN from sessions, so that the session and what it holds
// come from one statement, and one snapshot. It calls scan for each row. A query
// that returns no row found no session: ErrNotFound.
func sessionRows(ctx context.Context, q querier, sql, id string, scan func(pgx.Rows) error, args ...any) error {
	rows, err := q.Query(ctx, sql, append([]any{id}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		found = true
		if err := scan(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return noSession(id)
	}
	return nil
}

// errNoRows is what QueryRow's Scan returns when the query found nothing.
var errNoRows = pgx.ErrNoRows
