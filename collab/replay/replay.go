// Package replay is the read model of a session's replay: a timeline of its
// history, the document at any version with who made it, and the runs with their
// output. It reads only the store, through collab/history: every accepted update is
// stored before anyone sees it, so the log there is the history. Nothing here takes
// a live room's lock, and nothing is kept: each call reads what it needs.
package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/collab/people"
	"duet/store"
)

// Reader reads replays from a store. It is safe for concurrent use.
type Reader struct {
	store store.Store
}

// New returns a Reader of the sessions in st.
func New(st store.Store) *Reader {
	return &Reader{store: st}
}

// ErrRunNotFound is returned by Run for a run id the session does not have. A
// session that does not exist is history.ErrNotFound.
var ErrRunNotFound = errors.New("run not found")

// Author is someone who changed the document or ran it.
type Author struct {
	UserID  string
	Name    string // "" when nothing recorded their name
	Color   string // "#e06c75", from the participants' palette; see cast
	Updates int
	Runs    int
}

// RunMark is a run of the session's code, as the replay shows it on the timeline.
type RunMark struct {
	ID        string
	UserID    string
	UserName  string
	Title     string
	Version   int           // the document version when the run started
	Clock     time.Duration // playback clock at that version
	Started   time.Time
	Ended     time.Time // zero when it never said it ended
	Status    string    // "" when unknown
	Truncated bool
	Tests     *Tests            // the results of a test run; nil for an ordinary run
	Author    Author            // name and color of who ran it (Updates and Runs are not counted)
	Output    []store.RunOutput // only from Run, not in a Timeline
}

// Frame is a session's document at one version of its history.
type Frame struct {
	ID       string
	Language string
	Version  int // the version shown
	Latest   int // the session's version now
	Text     ot.Text
	Created  time.Time // the session's creation
	UserID   string    // who made the update that led to Version; "" at version 0
	Author   Author    // their name and color (Updates and Runs are not counted)
	Time     time.Time // when; zero at version 0
	Changed  [2]int    // the first and last lines (from 1) of Text that update replaced or inserted; zero when none
}

// FrameAt returns a session's document at a version, with who made the update that
// led to it. A version outside 0..the session's version is taken as the nearest end,
// so an old link keeps working.
func (rd *Reader) FrameAt(ctx context.Context, id string, version int) (Frame, error) {
	s, err := history.Session(ctx, rd.store, id)
	if err != nil {
		return Frame{}, err
	}
	version = min(max(version, 0), s.Version)
	text, last, err := history.At(ctx, rd.store, id, version)
	if err != nil {
		return Frame{}, err
	}
	f := Frame{
		ID: s.ID, Language: s.Language, Version: version, Latest: s.Version, Created: s.CreatedAt,
		Text: text, UserID: last.UserID, Time: last.Time,
	}
	if last.Changes != nil {
		f.Changed = changedLines(f.Text, last.Changes)
	}
	if f.UserID == "" {
		return f, nil
	}
	cast, err := rd.loadCast(ctx, id)
	if err != nil {
		return Frame{}, err
	}
	f.Author = *cast.get(f.UserID)
	return f, nil
}

// changedLines returns the first and last lines (from 1) of text, the result of cs,
// that cs inserted or replaced; a deletion counts as the line where it was. It is
// zero when cs changes nothing.
func changedLines(text ot.Text, cs *ot.ChangeSet) [2]int {
	from, to, changed := 0, 0, false
	cs.IterChangedRanges(func(fromA, toA, fromB, toB int) {
		if fromA == toA && fromB == toB {
			return // an empty part changes nothing
		}
		if !changed {
			from, changed = fromB, true
		}
		to = toB
	})
	if !changed {
		return [2]int{}
	}
	units := text.Units()
	lineAt := func(pos int) int { // the line of the unit at pos
		n := 1
		for _, u := range units[:pos] {
			if u == '\n' {
				n++
			}
		}
		return n
	}
	return [2]int{lineAt(from), lineAt(min(max(to-1, from), len(units)))}
}

// Run returns one run of a session with its output, or ErrRunNotFound.
func (rd *Reader) Run(ctx context.Context, id, runID string) (RunMark, error) {
	if _, err := history.Session(ctx, rd.store, id); err != nil {
		return RunMark{}, err
	}
	runs, err := history.Runs(ctx, rd.store, id)
	if err != nil {
		return RunMark{}, err
	}
	for _, r := range runs {
		if r.ID == runID {
			cast, err := rd.loadCast(ctx, id)
			if err != nil {
				return RunMark{}, err
			}
			m := runMark(r, true)
			a := cast.get(r.UserID)
			m.Author = Author{UserID: a.UserID, Name: cmp.Or(a.Name, m.UserName), Color: a.Color}
			return m, nil
		}
	}
	return RunMark{}, fmt.Errorf("run %q of %s: %w", runID, id, ErrRunNotFound)
}

func runMark(r store.Run, output bool) RunMark {
	m := RunMark{
		ID: r.ID, UserID: r.UserID, UserName: people.SanitizeName(r.UserName), Title: r.Title, Version: r.Version,
		Started: r.Started, Ended: r.Ended, Status: r.Status, Truncated: r.Truncated, Tests: tallyTests(r.Output),
	}
	if output {
		m.Output = r.Output
	}
	return m
}
