package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store that keeps everything in process memory: the default of tests and
// of --store=memory. Nothing survives a restart.
type Memory struct {
	limits    Limits
	mu        sync.Mutex
	sessions  map[string]*memSession // guarded by mu
	questions map[string]Question    // the library; guarded by mu
	closed    bool                   // guarded by mu
}

type memSession struct {
	Session
	log     []Update
	snaps   []Snapshot    // by version; none: the empty document at 0
	runs    []Run         // by Started, then as recorded
	people  []Participant // in the order they first joined
	members []Member      // by Added, then Principal

	questions []SessionQuestion // in the order they were added
}

var _ Store = (*Memory)(nil)

// emptyText is the JSON of the empty document.
var emptyText = []byte(`""`)

// NewMemory returns an empty in-memory store with the default limits.
func NewMemory() *Memory {
	return NewMemoryWithLimits(Limits{})
}

// NewMemoryWithLimits returns an empty in-memory store with the given limits.
func NewMemoryWithLimits(l Limits) *Memory {
	return &Memory{limits: l.WithDefaults(), sessions: make(map[string]*memSession)}
}

// CreateSession stores s, or returns ErrExists when its id is taken.
func (m *Memory) CreateSession(ctx context.Context, s Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("create session %s: %w", s.ID, ErrClosed)
	}
	if _, ok := m.sessions[s.ID]; ok {
		return fmt.Errorf("create session %s: %w", s.ID, ErrExists)
	}
	s.OwnerTokenHash = slices.Clone(s.OwnerTokenHash) // the caller may reuse its slice
	s.CreatedAt, s.LastActive, s.Ended = s.CreatedAt.UTC(), s.LastActive.UTC(), s.Ended.UTC()
	s.Version, s.Bytes = 0, 0
	m.sessions[s.ID] = &memSession{Session: s}
	return nil
}

// Session returns the session with the given id, or ErrNotFound.
func (m *Memory) Session(ctx context.Context, id string) (Session, error) {
	var out Session
	err := m.with(ctx, id, func(s *memSession) error {
		out = s.Session
		out.OwnerTokenHash = slices.Clone(s.OwnerTokenHash)
		return nil
	})
	return out, err
}

// SetLanguage changes a session's language.
func (m *Memory) SetLanguage(ctx context.Context, id, language string) error {
	return m.with(ctx, id, func(s *memSession) error {
		s.Language = language
		return nil
	})
}

// Touch records activity in a session, which keeps it from expiring.
func (m *Memory) Touch(ctx context.Context, id string, at time.Time) error {
	return m.with(ctx, id, func(s *memSession) error {
		s.touch(at)
		return nil
	})
}

func (s *memSession) touch(at time.Time) {
	if at.After(s.LastActive) {
		s.LastActive = at.UTC()
	}
}

// DeleteSession removes a session and everything it holds, or returns ErrNotFound.
func (m *Memory) DeleteSession(ctx context.Context, id string) error {
	return m.with(ctx, id, func(*memSession) error {
		delete(m.sessions, id)
		return nil
	})
}

// PurgeIdle deletes the sessions last active before the given time.
func (m *Memory) PurgeIdle(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("purge idle sessions: %w", ErrClosed)
	}
	n := 0
	for id, s := range m.sessions {
		if s.LastActive.Before(before) {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

// AppendUpdates adds updates to the log, which must end at from.
func (m *Memory) AppendUpdates(ctx context.Context, id string, from int, updates []Update) error {
	return m.with(ctx, id, func(s *memSession) error {
		if from != len(s.log) {
			return fmt.Errorf("append to %s at %d (log has %d): %w", id, from, len(s.log), ErrConflict)
		}
		n := int64(0)
		for _, u := range updates {
			n += int64(u.Bytes())
		}
		if !m.limits.Fits(s.Bytes, n) {
			return fmt.Errorf("append %d bytes to %s (stores %d): %w", n, id, s.Bytes, ErrQuota)
		}
		s.Bytes += n
		for _, u := range updates {
			u.Changes = slices.Clone(u.Changes)
			u.Time = u.Time.UTC()
			s.log = append(s.log, u)
			s.touch(u.Time)
		}
		s.Version = len(s.log)
		return nil
	})
}

// Updates returns the log entries [from, to), or fewer past maxBytes.
func (m *Memory) Updates(ctx context.Context, id string, from, to, maxBytes int) ([]Update, error) {
	var out []Update
	err := m.with(ctx, id, func(s *memSession) error {
		if from < 0 || from > to || to > len(s.log) {
			return fmt.Errorf("updates [%d, %d) of %s (log has %d): %w", from, to, id, len(s.log), ErrNotFound)
		}
		end := from + UpTo(s.log[from:to], maxBytes)
		out = slices.Clone(s.log[from:end]) // Changes are never modified in place, so sharing them is safe
		return nil
	})
	return out, err
}

// SaveSnapshot keeps snap, unless one at its version is kept already, and thins the
// older ones.
func (m *Memory) SaveSnapshot(ctx context.Context, id string, snap Snapshot) error {
	return m.with(ctx, id, func(s *memSession) error {
		if snap.Version < 0 || snap.Version > len(s.log) {
			return fmt.Errorf("snapshot of %s at %d (log has %d): %w", id, snap.Version, len(s.log), ErrConflict)
		}
		i, found := slices.BinarySearchFunc(s.snaps, snap.Version, func(a Snapshot, v int) int { return a.Version - v })
		if found {
			return nil
		}
		if !m.limits.Fits(s.Bytes, int64(snap.Bytes())) {
			return fmt.Errorf("snapshot of %s at %d (stores %d): %w", id, snap.Version, s.Bytes, ErrQuota)
		}
		s.snaps = slices.Insert(s.snaps, i, Snapshot{Version: snap.Version, Text: slices.Clone(snap.Text)})
		s.Bytes += int64(snap.Bytes())
		textLen := make(map[int]int64, len(s.snaps))
		for _, sn := range s.snaps {
			textLen[sn.Version] = int64(len(sn.Text))
		}
		drop, freed := m.limits.Thin(textLen)
		s.snaps = slices.DeleteFunc(s.snaps, func(sn Snapshot) bool { return slices.Contains(drop, sn.Version) })
		s.Bytes -= freed
		return nil
	})
}

// LatestSnapshot returns the newest snapshot (the empty document at 0 if none).
func (m *Memory) LatestSnapshot(ctx context.Context, id string) (Snapshot, error) {
	out := Snapshot{Text: emptyText}
	err := m.with(ctx, id, func(s *memSession) error {
		if len(s.snaps) > 0 {
			out = s.snaps[len(s.snaps)-1]
		}
		return nil
	})
	return out, err
}

// SnapshotAt returns the newest snapshot at or before version.
func (m *Memory) SnapshotAt(ctx context.Context, id string, version int) (Snapshot, error) {
	out := Snapshot{Text: emptyText}
	err := m.with(ctx, id, func(s *memSession) error {
		i, found := slices.BinarySearchFunc(s.snaps, version, func(a Snapshot, v int) int { return a.Version - v })
		if !found {
			i--
		}
		if i >= 0 {
			out = s.snaps[i]
		}
		return nil
	})
	return out, err
}

// AppendRun records a run.
func (m *Memory) AppendRun(ctx context.Context, id string, r Run) error {
	return m.with(ctx, id, func(s *memSession) error {
		for _, old := range s.runs {
			if old.ID == r.ID {
				return fmt.Errorf("run %s of %s: %w", r.ID, id, ErrExists)
			}
		}
		r, ok := m.limits.FitRun(r, s.Bytes)
		if !ok {
			return fmt.Errorf("run %s of %s (stores %d): %w", r.ID, id, s.Bytes, ErrQuota)
		}
		s.Bytes += int64(r.Bytes())
		r.Started, r.Ended = r.Started.UTC(), r.Ended.UTC()
		r.Output = slices.Clone(r.Output)
		i := len(s.runs)
		for i > 0 && s.runs[i-1].Started.After(r.Started) {
			i--
		}
		s.runs = slices.Insert(s.runs, i, r)
		return nil
	})
}

// Runs returns a session's runs in the order they started.
func (m *Memory) Runs(ctx context.Context, id string) ([]Run, error) {
	var out []Run
	err := m.with(ctx, id, func(s *memSession) error {
		out = make([]Run, len(s.runs))
		for i, r := range s.runs {
			r.Output = slices.Clone(r.Output)
			out[i] = r
		}
		return nil
	})
	return out, err
}

// SaveParticipant records someone who joined, or their new name.
func (m *Memory) SaveParticipant(ctx context.Context, id string, p Participant) error {
	return m.with(ctx, id, func(s *memSession) error {
		for i := range s.people {
			if s.people[i].UserID == p.UserID {
				s.people[i].Name = p.Name
				return nil
			}
		}
		p.Joined = p.Joined.UTC()
		s.people = append(s.people, p)
		return nil
	})
}

// Participants returns who joined, in the order they first joined.
func (m *Memory) Participants(ctx context.Context, id string) ([]Participant, error) {
	var out []Participant
	err := m.with(ctx, id, func(s *memSession) error {
		out = slices.Clone(s.people)
		return nil
	})
	return out, err
}

// SetEnded records when the session ended, once.
func (m *Memory) SetEnded(ctx context.Context, id string, at time.Time) error {
	return m.with(ctx, id, func(s *memSession) error {
		if s.Ended.IsZero() {
			s.Ended = at.UTC()
		}
		return nil
	})
}

// AddMember records a member of a session, unless the principal is one already.
func (m *Memory) AddMember(ctx context.Context, id string, mem Member) error {
	if err := CheckMember(mem); err != nil {
		return fmt.Errorf("add member to %s: %w", id, err)
	}
	return m.with(ctx, id, func(s *memSession) error {
		for _, old := range s.members {
			if old.Principal == mem.Principal {
				return nil
			}
		}
		mem.SessionID, mem.Added = id, mem.Added.UTC()
		i, _ := slices.BinarySearchFunc(s.members, mem, compareMembers)
		s.members = slices.Insert(s.members, i, mem)
		return nil
	})
}

// compareMembers orders members by Added, then Principal.
func compareMembers(a, b Member) int {
	if c := a.Added.Compare(b.Added); c != 0 {
		return c
	}
	return strings.Compare(a.Principal, b.Principal)
}

// Member returns the session's member with that principal.
func (m *Memory) Member(ctx context.Context, id, principal string) (Member, error) {
	var out Member
	err := m.with(ctx, id, func(s *memSession) error {
		for _, mem := range s.members {
			if mem.Principal == principal {
				out = mem
				return nil
			}
		}
		return fmt.Errorf("member of %s: %w", id, ErrNotFound)
	})
	return out, err
}

// Members returns a session's members by the time they were added.
func (m *Memory) Members(ctx context.Context, id string) ([]Member, error) {
	var out []Member
	err := m.with(ctx, id, func(s *memSession) error {
		out = slices.Clone(s.members)
		return nil
	})
	return out, err
}

// with runs f on a session under the lock, or returns ErrNotFound.
func (m *Memory) with(ctx context.Context, id string, f func(*memSession) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("session %s: %w", id, ErrClosed)
	}
	s, ok := m.sessions[id]
	if !ok {
		return fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return f(s)
}

// Close drops everything; later calls return ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.sessions = nil
	m.questions = nil
	return nil
}
