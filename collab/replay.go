package collab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"duet/collab/ot"
	"duet/store"
)

// The replay of a session (issue 7 §5) reads only the store: every accepted update is
// stored before anyone sees it, so the log there is the history. Nothing here takes a
// room's document lock, and nothing is kept: each call reads what it needs.

// MaxReplayPause is the longest a pause between two updates lasts in playback: the
// playback clock follows the real times of the updates, with every longer idle gap
// cut to this.
const MaxReplayPause = 2 * time.Second

// DefaultTimelineBuckets is how many marks a timeline has at most unless told otherwise.
const DefaultTimelineBuckets = 300

// Timeline is a session's history summarised for the replay page: a bounded number of
// buckets of consecutive updates, who made them, and the runs, whatever the length of
// the log.
type Timeline struct {
	ID       string
	Language string
	Version  int           // length of the log
	Created  time.Time     // the session's creation: times are shown relative to it
	End      time.Time     // time of the last update; Created when there is none
	Duration time.Duration // playback length at 1x: Clock(Version)
	Buckets  []Bucket      // consecutive, together covering the whole log; none when Version is 0
	Authors  []Author      // everyone who made an update or a run, in order of first appearance
	Runs     []RunMark     // in the order they started
}

// Bucket is a run of consecutive updates: one mark of the timeline. Buckets split the
// log into near-equal numbers of updates, so their position along the timeline is the
// position of the versions they hold, as on the replay's version slider.
type Bucket struct {
	From, To   int           // updates From..To-1: the bucket takes the document from version From to To
	Start, End time.Time     // times of its first and last update
	Clock      time.Duration // playback clock when version From is reached
	ClockEnd   time.Duration // playback clock when version To is reached
	Length     int           // document length at version To, in UTF-16 units
	Author     string        // user id of whoever made most of its updates (the first of them on a tie)
	Authors    int           // how many people made its updates
	Pause      time.Duration // the longest real gap before one of its updates
}

// Author is someone who changed the document or ran it.
type Author struct {
	UserID  string
	Name    string // "" when nothing recorded their name
	Color   string // "#e06c75", from the participants' palette; see nameAuthors
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
	Author    Author      // name and color of who ran it (Updates and Runs are not counted)
	Output    []RunOutput // only from Run, not in a Timeline
}

// RunOutput is one chunk of a run's output.
type RunOutput struct {
	Stream string // stdout, stderr, stdin or system
	Text   string
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
	Changed  [2]int    // the first and last lines (from 1) of ot.Text that update replaced or inserted; zero when none
}

// TextAt returns a session's document at a version between 0 and the session's
// version: the newest stored snapshot at or before it, with the updates after the
// snapshot applied. The text is exact to the UTF-16 unit, lone surrogates included.
func (h *Hub) TextAt(ctx context.Context, id string, version int) (ot.Text, error) {
	s, err := h.loadSession(ctx, id)
	if err != nil {
		return ot.Text{}, err
	}
	switch {
	case version < 0:
		return ot.Text{}, fmt.Errorf("text of %s at %d: %w", id, version, ot.ErrInvalidVersion)
	case version > s.Version:
		return ot.Text{}, fmt.Errorf("text of %s at %d (log has %d): %w", id, version, s.Version, ot.ErrVersionAhead)
	}
	f, err := h.frame(ctx, s, version)
	return f.Text, err
}

// FrameAt returns a session's document at a version, with who made the update that
// led to it. A version outside 0..the session's version is taken as the nearest end,
// so an old link keeps working.
func (h *Hub) FrameAt(ctx context.Context, id string, version int) (Frame, error) {
	s, err := h.loadSession(ctx, id)
	if err != nil {
		return Frame{}, err
	}
	f, err := h.frame(ctx, s, min(max(version, 0), s.Version))
	if err != nil || f.UserID == "" {
		return f, err
	}
	people, err := h.loadCast(ctx, id)
	if err != nil {
		return Frame{}, err
	}
	f.Author = *people.get(f.UserID)
	return f, nil
}

func (h *Hub) frame(ctx context.Context, s store.Session, version int) (Frame, error) {
	f := Frame{ID: s.ID, Language: s.Language, Version: version, Latest: s.Version, Created: s.CreatedAt}
	snap, err := h.store.SnapshotAt(ctx, s.ID, version)
	if err != nil {
		return Frame{}, storeError(fmt.Sprintf("text of %s at %d", s.ID, version), err)
	}
	if err := f.Text.UnmarshalJSON(snap.Text); err != nil {
		return Frame{}, fmt.Errorf("text of %s: snapshot at %d: %w", s.ID, snap.Version, err)
	}
	// Read from one update earlier than needed when the snapshot is at the version
	// itself, to know who made the last update.
	from := snap.Version
	if from == version && version > 0 {
		from--
	}
	recs, err := h.store.Updates(ctx, s.ID, from, version)
	if err != nil {
		return Frame{}, storeError(fmt.Sprintf("text of %s at %d", s.ID, version), err)
	}
	var last *ot.ChangeSet
	for i, rec := range recs {
		v := from + i
		if last, err = ot.ParseChangeSet(rec.Changes); err == nil && v >= snap.Version {
			f.Text, err = last.Apply(f.Text)
		}
		if err != nil {
			return Frame{}, fmt.Errorf("text of %s: update %d: %w", s.ID, v, err)
		}
		f.UserID, f.Time = rec.UserID, rec.Time
	}
	if last != nil {
		f.Changed = changedLines(f.Text, last)
	}
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

// Timeline summarises a session's history in at most maxBuckets buckets (at most
// DefaultTimelineBuckets when maxBuckets <= 0). It reads the whole log, but keeps
// only its times, authors and lengths.
func (h *Hub) Timeline(ctx context.Context, id string, maxBuckets int) (Timeline, error) {
	if maxBuckets <= 0 {
		maxBuckets = DefaultTimelineBuckets
	}
	s, err := h.loadSession(ctx, id)
	if err != nil {
		return Timeline{}, err
	}
	what := "timeline of " + id
	recs, err := h.store.Updates(ctx, id, 0, s.Version)
	if err != nil {
		return Timeline{}, storeError(what, err)
	}
	runs, err := h.store.Runs(ctx, id)
	if err != nil {
		return Timeline{}, storeError(what, err)
	}
	tl := Timeline{ID: s.ID, Language: s.Language, Version: s.Version, Created: s.CreatedAt, End: s.CreatedAt}

	// The playback clock of every version, and the document length after every update
	// (a change set knows the length it produces without being applied).
	clock := replayClock(s.CreatedAt, recs)
	lengths := make([]int, len(recs))
	for i, rec := range recs {
		cs, err := ot.ParseChangeSet(rec.Changes)
		if err != nil {
			return Timeline{}, fmt.Errorf("%s: update %d: %w", what, i, err)
		}
		lengths[i] = cs.NewLen()
	}
	if n := len(recs); n > 0 {
		tl.End, tl.Duration = recs[n-1].Time, clock[n]
	}

	people, err := h.loadCast(ctx, id)
	if err != nil {
		return Timeline{}, err
	}
	var authors []*Author // in order of first appearance
	listed := map[string]bool{}
	author := func(userID string) *Author {
		a := people.get(userID)
		if !listed[userID] {
			listed[userID] = true
			authors = append(authors, a)
		}
		return a
	}
	n := min(maxBuckets, len(recs))
	for b := range n {
		from, to := b*len(recs)/n, (b+1)*len(recs)/n
		bk := Bucket{
			From: from, To: to, Start: recs[from].Time, End: recs[to-1].Time,
			Clock: clock[from], ClockEnd: clock[to], Length: lengths[to-1],
		}
		counts, best := map[string]int{}, 0
		for i := from; i < to; i++ {
			uid := recs[i].UserID
			author(uid).Updates++
			counts[uid]++
			if counts[uid] > best { // on a tie, whoever got there first
				bk.Author, best = uid, counts[uid]
			}
			prev := s.CreatedAt
			if i > 0 {
				prev = recs[i-1].Time
			}
			bk.Pause = max(bk.Pause, recs[i].Time.Sub(prev))
		}
		bk.Authors = len(counts)
		tl.Buckets = append(tl.Buckets, bk)
	}
	for _, r := range runs {
		m := runMark(r, false)
		m.Clock = clock[min(max(r.Version, 0), len(recs))]
		tl.Runs = append(tl.Runs, m)
		a := author(r.UserID)
		a.Runs++
		if a.Name == "" {
			a.Name = SanitizeName(r.UserName)
		}
	}
	for _, a := range authors {
		tl.Authors = append(tl.Authors, *a)
	}
	for i := range tl.Runs {
		a := people.get(tl.Runs[i].UserID)
		tl.Runs[i].Author = Author{UserID: a.UserID, Name: a.Name, Color: a.Color}
	}
	return tl, nil
}

// Run returns one run of a session with its output, or ErrRunNotFound.
func (h *Hub) Run(ctx context.Context, id, runID string) (RunMark, error) {
	if _, err := h.loadSession(ctx, id); err != nil {
		return RunMark{}, err
	}
	runs, err := h.store.Runs(ctx, id)
	if err != nil {
		return RunMark{}, storeError("runs of "+id, err)
	}
	for _, r := range runs {
		if r.ID == runID {
			people, err := h.loadCast(ctx, id)
			if err != nil {
				return RunMark{}, err
			}
			m := runMark(r, true)
			a := people.get(r.UserID)
			m.Author = Author{UserID: a.UserID, Name: cmp.Or(a.Name, m.UserName), Color: a.Color}
			return m, nil
		}
	}
	return RunMark{}, fmt.Errorf("run %q of %s: %w", runID, id, ErrRunNotFound)
}

// ErrRunNotFound is returned by Run for a run id the session does not have.
var ErrRunNotFound = errors.New("run not found")

func runMark(r store.Run, output bool) RunMark {
	m := RunMark{
		ID: r.ID, UserID: r.UserID, UserName: SanitizeName(r.UserName), Title: r.Title, Version: r.Version,
		Started: r.Started, Ended: r.Ended, Status: r.Status, Truncated: r.Truncated,
	}
	if output {
		m.Output = make([]RunOutput, len(r.Output))
		for i, o := range r.Output {
			m.Output[i] = RunOutput(o)
		}
	}
	return m
}

// replayClock returns the playback clock of every version 0..len(recs): version v is
// reached when update v-1 was made, counted from the session's creation with every
// gap cut to MaxReplayPause (and times that go back counted as no time).
func replayClock(created time.Time, recs []store.Update) []time.Duration {
	clock := make([]time.Duration, len(recs)+1)
	prev := created
	for i, rec := range recs {
		gap := min(max(rec.Time.Sub(prev), 0), MaxReplayPause)
		clock[i+1] = clock[i] + gap
		if rec.Time.After(prev) {
			prev = rec.Time
		}
	}
	return clock
}

// cast is a session's people with their names and colors. Colors are handed out in
// the order people first joined (then in the order they are asked for, for anyone the
// store does not know), each the first of the palette nobody before them has, as a
// room hands them out to people who come one after the other: two people share a
// color only when there are more people than colors. The pad's own colors are not
// read back: they depend on who was connected at the same time, so they may change
// from one visit to the next, while these depend only on what the store holds.
type cast struct {
	people map[string]*Author
	used   map[string]bool
}

// loadCast reads who joined a session.
func (h *Hub) loadCast(ctx context.Context, id string) (*cast, error) {
	ps, err := h.store.Participants(ctx, id)
	if err != nil {
		return nil, storeError("participants of "+id, err)
	}
	c := &cast{people: map[string]*Author{}, used: map[string]bool{}}
	for _, p := range ps {
		c.get(p.UserID).Name = SanitizeName(p.Name)
	}
	return c, nil
}

// get returns the person with a user id, adding them (nameless) if needed.
func (c *cast) get(userID string) *Author {
	a := c.people[userID]
	if a == nil {
		a = &Author{UserID: userID, Color: palette[len(c.people)%len(palette)]}
		for _, p := range palette {
			if !c.used[p] {
				a.Color = p
				break
			}
		}
		c.people[userID] = a
		c.used[a.Color] = true
	}
	return a
}

// recordParticipant stores who joined (or their new name), so that the replay names
// them after they left. It runs outside the room's lock; a failure costs only a name
// in the replay, so it is logged, not returned. Two records of one person race only
// when they rename twice within a store write, and then the replay may show the
// older of the two names.
func (r *room) recordParticipant(p Person) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.hub.store.SaveParticipant(ctx, r.id, store.Participant{UserID: p.ID, Name: p.Name, Joined: r.hub.now().UTC()})
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrClosed) {
		r.hub.logger.Warn("store participant failed", "session", r.id, "user", p.ID, "err", err)
	}
}

// storeError maps the store's not-found (the session was deleted meanwhile) to ours.
func storeError(what string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
