package replay

import (
	"context"
	"fmt"
	"time"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/collab/people"
)

// MaxPause is the longest a pause between two updates lasts in playback: the
// playback clock follows the real times of the updates, with every longer idle gap
// cut to this.
const MaxPause = 2 * time.Second

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

// Timeline summarises a session's history in at most maxBuckets buckets (at most
// DefaultTimelineBuckets when maxBuckets <= 0). It reads the whole log, a chunk at a
// time, and keeps only its times, authors and lengths.
func (rd *Reader) Timeline(ctx context.Context, id string, maxBuckets int) (Timeline, error) {
	if maxBuckets <= 0 {
		maxBuckets = DefaultTimelineBuckets
	}
	s, err := history.Session(ctx, rd.store, id)
	if err != nil {
		return Timeline{}, err
	}
	log := make([]logEntry, 0, s.Version)
	err = history.Each(ctx, rd.store, id, 0, s.Version, func(_ int, u ot.Update) error {
		log = append(log, logEntry{Time: u.Time, UserID: u.UserID, Length: u.Changes.NewLen()})
		return nil
	})
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline: %w", err)
	}
	runs, err := history.Runs(ctx, rd.store, id)
	if err != nil {
		return Timeline{}, fmt.Errorf("timeline: %w", err)
	}
	tl := Timeline{ID: s.ID, Language: s.Language, Version: s.Version, Created: s.CreatedAt, End: s.CreatedAt}

	// The playback clock of every version. The document length after every update
	// is its change set's NewLen: nothing needs to be applied.
	clock := replayClock(s.CreatedAt, log)
	if n := len(log); n > 0 {
		tl.End, tl.Duration = log[n-1].Time, clock[n]
	}

	cast, err := rd.loadCast(ctx, id)
	if err != nil {
		return Timeline{}, err
	}
	var authors []*Author // in order of first appearance
	listed := map[string]bool{}
	author := func(userID string) *Author {
		a := cast.get(userID)
		if !listed[userID] {
			listed[userID] = true
			authors = append(authors, a)
		}
		return a
	}
	n := min(maxBuckets, len(log))
	for b := range n {
		from, to := b*len(log)/n, (b+1)*len(log)/n
		bk := Bucket{
			From: from, To: to, Start: log[from].Time, End: log[to-1].Time,
			Clock: clock[from], ClockEnd: clock[to], Length: log[to-1].Length,
		}
		counts, best := map[string]int{}, 0
		for i := from; i < to; i++ {
			uid := log[i].UserID
			author(uid).Updates++
			counts[uid]++
			if counts[uid] > best { // on a tie, whoever got there first
				bk.Author, best = uid, counts[uid]
			}
			prev := s.CreatedAt
			if i > 0 {
				prev = log[i-1].Time
			}
			bk.Pause = max(bk.Pause, log[i].Time.Sub(prev))
		}
		bk.Authors = len(counts)
		tl.Buckets = append(tl.Buckets, bk)
	}
	for _, r := range runs {
		m := runMark(r, false)
		m.Clock = clock[min(max(r.Version, 0), len(log))]
		tl.Runs = append(tl.Runs, m)
		a := author(r.UserID)
		a.Runs++
		if a.Name == "" {
			a.Name = people.SanitizeName(r.UserName)
		}
	}
	for _, a := range authors {
		tl.Authors = append(tl.Authors, *a)
	}
	for i := range tl.Runs {
		a := cast.get(tl.Runs[i].UserID)
		tl.Runs[i].Author = Author{UserID: a.UserID, Name: a.Name, Color: a.Color}
	}
	return tl, nil
}

// logEntry is what the timeline keeps of an update: when, who, and the length of
// the document it made.
type logEntry struct {
	Time   time.Time
	UserID string
	Length int
}

// replayClock returns the playback clock of every version 0..len(log): version v is
// reached when update v-1 was made, counted from the session's creation with every
// gap cut to MaxPause (and times that go back counted as no time).
func replayClock(created time.Time, log []logEntry) []time.Duration {
	clock := make([]time.Duration, len(log)+1)
	prev := created
	for i, rec := range log {
		gap := min(max(rec.Time.Sub(prev), 0), MaxPause)
		clock[i+1] = clock[i] + gap
		if rec.Time.After(prev) {
			prev = rec.Time
		}
	}
	return clock
}
