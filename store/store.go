// Package store keeps duet's sessions. It declares what a back end must do and holds
// the in-memory back end; durable ones (SQLite, Redis) live in subpackages.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every back end returns, so callers never see a driver's own errors
// for these cases.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict means an append did not start where the stored log ends: another
	// writer got there first, or the caller's idea of the version is wrong.
	ErrConflict = errors.New("log does not end at that version")
	// ErrClosed is returned by a store that has been closed.
	ErrClosed = errors.New("store closed")
	// ErrQuota means that storing what was asked would take the session past
	// Limits.SessionBytes: nothing was stored.
	ErrQuota = errors.New("session storage quota reached")
)

// Session is what is kept of a session apart from its document.
type Session struct {
	ID             string
	Language       string
	CreatedAt      time.Time
	LastActive     time.Time
	OwnerTokenHash []byte // SHA-256 of the owner token; the token itself is never stored
	Version        int    // length of the update log
	Bytes          int64  // what the session stores, against Limits.SessionBytes: its log and runs
	// Ended is when an interviewer ended the interview; zero while it runs. An ended
	// session keeps its history (replay, runs, notes) but takes no more edits.
	Ended time.Time
	// Team is the team of the account that started it, whose members see it in
	// their interviews; "" without sign-in or without a team.
	Team string
}

// RoleInterviewer is the role of a Member: the only role recorded (everyone else on
// a session's link is a candidate). Role is a column of its own so that later roles
// need no new table.
const RoleInterviewer = "interviewer"

// Member is someone recorded as having a role in a session: for now, its
// interviewers. Principal is who they are across sessions (a hash of their browser's
// identity key, or their account) and is never shown to anyone; PublicID is the id
// the others see for them in this session.
type Member struct {
	SessionID string
	Principal string
	Role      string
	PublicID  string
	Added     time.Time
}

// Update is one accepted update of a session's document, as stored. The log of a
// session is its updates in order; the i-th (from 0) took the document from version i
// to i+1.
type Update struct {
	ClientID string
	UserID   string
	Changes  []byte // the change set's JSON exactly as collab wrote it (lone surrogates escaped)
	Time     time.Time
}

// Snapshot is a session's document text at a version, so that loading it replays only
// the updates after Version.
type Snapshot struct {
	Version int
	Text    []byte // a JSON string literal, exact to the UTF-16 unit (lone surrogates escaped)
}

// Run is one run of the session's code in someone's browser, as it was shared with the
// others: who ran what, when, and what it printed. Replay shows runs on the timeline.
type Run struct {
	ID        string // the runner's run id, unique within the session
	UserID    string
	UserName  string
	Language  string
	Title     string    // what was run, as the runner named it
	Version   int       // the document version when the run started
	Started   time.Time //
	Ended     time.Time // zero when the run never said it ended (its connection was lost)
	Status    string    // as the runner reported it at the end; "" when unknown
	Truncated bool      // output over the caller's cap was dropped
	Output    []RunOutput
}

// RunOutput is one chunk of a run's output. The caller caps the total.
type RunOutput struct {
	Stream string // stdout, stderr, stdin, system or tests
	Text   string // kept byte for byte, whatever the bytes are
}

// Participant is someone who joined a session, so that its replay can name the
// authors of the updates long after they left.
type Participant struct {
	UserID string
	Name   string    // the newest name they joined with
	Joined time.Time // when they first joined
}

// LockedAppender is a store that several processes share, where an append can lose
// the race for the log's end again and again: a process that reads what the others
// stored more slowly than they append would never get its turn. AppendLocked gives
// it that turn.
type LockedAppender interface {
	// AppendLocked holds every other append to the session off, reads the updates
	// stored from version from on (none when the log ends there), and appends after
	// them what rebase returns for them (nothing when it returns none), before it lets
	// the others go on. An error from rebase is returned (wrapped), and nothing is
	// stored. rebase may be called more than once, each time with every update from
	// version from on, when a transaction had to start again (a broken connection
	// before anything was stored, a deadlock); an append whose outcome was lost is
	// resolved as AppendUpdates resolves one (ErrConflict when it was not stored
	// and someone else appended meanwhile).
	AppendLocked(ctx context.Context, id string, from int, rebase func(stored []Update) ([]Update, error)) error
}

// Store is the persistence seam. Every method is safe for concurrent use and honours
// ctx. Implementations return ErrNotFound, ErrExists and ErrConflict (possibly wrapped)
// and wrap everything else with context.
//
// Times are kept to the nanosecond between the years 1678 and 2262 and come back in
// UTC; the zero time stays zero.
type Store interface {
	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, id string) (Session, error)
	SetLanguage(ctx context.Context, id, language string) error
	// Touch records activity at a time, which keeps the session from expiring.
	// LastActive never moves back.
	Touch(ctx context.Context, id string, at time.Time) error
	// DeleteSession removes a session with its log, snapshots, runs, notes and signals.
	DeleteSession(ctx context.Context, id string) error
	// PurgeIdle deletes, as DeleteSession does, every session whose LastActive is
	// before the given time, and returns how many it deleted.
	PurgeIdle(ctx context.Context, before time.Time) (int, error)

	// AppendUpdates adds updates to a session's log, which must end at version from
	// (else ErrConflict, and nothing is added); it returns only once they are stored
	// for good. It counts as activity: LastActive moves to the newest update's Time
	// if that is later. Updates that would take the session past its quota are
	// refused whole with ErrQuota.
	AppendUpdates(ctx context.Context, id string, from int, updates []Update) error
	// Updates returns the log entries [from, to), or ErrNotFound when the range is
	// not within the log. With maxBytes > 0 it stops early, after the entry that
	// brings their Bytes to maxBytes or more, so that a caller reading a long log
	// holds a chunk of it at a time; it returns one entry at least when from < to.
	Updates(ctx context.Context, id string, from, to, maxBytes int) ([]Update, error)
	// SaveSnapshot keeps the document text at a version no later than the log's end
	// (else ErrConflict), then thins the older snapshots to Limits.Snapshots
	// (ThinSnapshots), so replay can start near any version while an old history
	// costs a bounded number of snapshots; saving one at a version already saved
	// keeps the first. A snapshot past the session's quota is ErrQuota.
	SaveSnapshot(ctx context.Context, id string, snap Snapshot) error
	// LatestSnapshot returns the newest snapshot, or the empty document at version 0
	// when there is none.
	LatestSnapshot(ctx context.Context, id string) (Snapshot, error)
	// SnapshotAt returns the newest snapshot at or before version, or the empty
	// document at version 0 when there is none.
	SnapshotAt(ctx context.Context, id string, version int) (Snapshot, error)

	// AppendRun records a finished (or abandoned) run; a run id already recorded in
	// the session is ErrExists. Past the session's quota it keeps what FitRun keeps,
	// or refuses the run with ErrQuota when not even its head fits.
	AppendRun(ctx context.Context, id string, r Run) error
	// Runs returns a session's runs in the order they started (ties in the order
	// they were recorded).
	Runs(ctx context.Context, id string) ([]Run, error)

	// SaveParticipant records that someone joined a session. The first record of a
	// user id keeps its Joined time and its place in the order; a later one changes
	// only the name.
	SaveParticipant(ctx context.Context, id string, p Participant) error
	// Participants returns who joined a session, in the order they first joined.
	Participants(ctx context.Context, id string) ([]Participant, error)

	// SetEnded records that the session's interview ended at a time. It is set once:
	// a later call keeps the first time (and is not an error).
	SetEnded(ctx context.Context, id string, at time.Time) error

	// AddMember records m (its SessionID is ignored: id is the session) as a member
	// of the session. It is idempotent: when the principal is a member already, the
	// first record is kept whole, Added included. An empty principal is refused.
	AddMember(ctx context.Context, id string, m Member) error
	// Member returns the session's member with that principal, or ErrNotFound when
	// there is none (or no such session).
	Member(ctx context.Context, id, principal string) (Member, error)
	// Members returns a session's members by the time they were added (then by
	// principal), or ErrNotFound for an unknown session. Members go with their
	// session: deleted, purged or erased.
	Members(ctx context.Context, id string) ([]Member, error)
	// AddNote records an interviewer's note; a note id already recorded in the
	// session is ErrExists. Past Limits.Notes or the session's quota it is ErrQuota,
	// and nothing is stored.
	AddNote(ctx context.Context, id string, n Note) error
	// Notes returns a session's notes in the order they were recorded.
	Notes(ctx context.Context, id string) ([]Note, error)
	// AddSignal records a candidate's signal; past Limits.Signals it is ErrQuota,
	// and nothing is stored.
	AddSignal(ctx context.Context, id string, s Signal) error
	// Signals returns a session's signals in the order they were recorded.
	Signals(ctx context.Context, id string) ([]Signal, error)

	// Close waits for writes in progress and releases the store; later calls
	// return ErrClosed.
	Close() error
}
