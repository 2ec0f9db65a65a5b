package replay

import (
	"context"
	"time"

	"duet/collab/history"
)

// NoteMark is an interviewer's note as the replay shows it: at the version it was
// written, on the line it was written on, where the replay takes whoever opens it.
type NoteMark struct {
	ID      string
	Text    string
	Line    int // at Version
	Version int
	Created time.Time
	Author  Author // name and color of who wrote it; the name is the one they wrote it under
}

// SignalMark is a candidate's signal (a paste, leaving the tab, coming back) as the
// replay shows it.
type SignalMark struct {
	Kind    string // store.SignalPaste, store.SignalHidden or store.SignalVisible
	Size    int    // UTF-16 units a paste inserted
	Version int
	Time    time.Time
	Author  Author // name and color of whose browser reported it
}

// Annotations are what interviewers see on a replay besides the history itself.
type Annotations struct {
	Notes   []NoteMark   // in the order they were written
	Signals []SignalMark // in the order they were recorded
}

// Annotations reads a session's notes and signals. Only interviewers may be shown
// them: the caller decides.
func (rd *Reader) Annotations(ctx context.Context, id string) (Annotations, error) {
	notes, err := history.Notes(ctx, rd.store, id)
	if err != nil {
		return Annotations{}, err
	}
	signals, err := history.Signals(ctx, rd.store, id)
	if err != nil {
		return Annotations{}, err
	}
	cast, err := rd.loadCast(ctx, id)
	if err != nil {
		return Annotations{}, err
	}
	var a Annotations
	for _, n := range notes {
		author := Author{Name: n.AuthorName}
		if n.Author != "" {
			author = *cast.get(n.Author)
			author.Name = n.AuthorName
		}
		a.Notes = append(a.Notes, NoteMark{ID: n.ID, Text: n.Text, Line: n.Line, Version: n.Version, Created: n.Created, Author: author})
	}
	for _, s := range signals {
		a.Signals = append(a.Signals, SignalMark{Kind: s.Kind, Size: s.Size, Version: s.Version, Time: s.Time, Author: *cast.get(s.UserID)})
	}
	return a, nil
}
