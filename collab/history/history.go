// Package history reads and writes a session's history, the log of accepted updates
// and the snapshots of its text, as the engine's values: it is the one place where
// stored records become ot.Update and ot.Text and back, and where the text at a
// version is rebuilt from a snapshot and the log after it. The hub uses it to load a
// document and to serve pulls older than memory; the replay uses it to show any
// version.
package history

import (
	"context"
	"errors"
	"fmt"

	"duet/collab/ot"
	"duet/store"
)

// ErrNotFound is returned (wrapped) for a session the store does not have, or no
// longer has: it was deleted meanwhile.
var ErrNotFound = errors.New("session not found")

// Session reads a session's record, with the store's not-found as ErrNotFound.
func Session(ctx context.Context, st store.Store, id string) (store.Session, error) {
	s, err := st.Session(ctx, id)
	if err != nil {
		return store.Session{}, storeError("load session "+id, err)
	}
	return s, nil
}

// Decode converts the v-th stored update of a log to the engine's.
func Decode(v int, rec store.Update) (ot.Update, error) {
	cs, err := ot.ParseChangeSet(rec.Changes)
	if err != nil {
		return ot.Update{}, fmt.Errorf("stored update %d: %w", v, err)
	}
	return ot.Update{ClientID: rec.ClientID, Changes: cs, UserID: rec.UserID, Time: rec.Time}, nil
}

// Encode converts accepted updates to what the store keeps. Change sets are
// written with their exact encoder, so lone surrogates survive the store.
func Encode(us []ot.Update) []store.Update {
	out := make([]store.Update, len(us))
	for i, u := range us {
		out[i] = store.Update{ClientID: u.ClientID, UserID: u.UserID, Changes: u.Changes.AppendJSON(nil), Time: u.Time}
	}
	return out
}

// EncodeSnapshot converts the text at a version to what the store keeps.
func EncodeSnapshot(version int, text ot.Text) store.Snapshot {
	return store.Snapshot{Version: version, Text: text.AppendJSON(nil)}
}

// Read returns the updates from..to-1 of a session's log, or, with maxBytes > 0,
// those up to the one that brings what they cost in the store to maxBytes (one at
// least): a caller that needs them all reads again from where this stopped.
func Read(ctx context.Context, st store.Store, id string, from, to, maxBytes int) ([]ot.Update, error) {
	recs, err := st.Updates(ctx, id, from, to, maxBytes)
	if err != nil {
		return nil, storeError(fmt.Sprintf("log of %s from %d to %d", id, from, to), err)
	}
	out, err := DecodeAll(from, recs)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", id, err)
	}
	return out, nil
}

// DecodeAll converts stored updates, the first of which is the from-th of its log,
// to the engine's.
func DecodeAll(from int, recs []store.Update) ([]ot.Update, error) {
	out := make([]ot.Update, len(recs))
	for i, rec := range recs {
		var err error
		if out[i], err = Decode(from+i, rec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ChunkBytes is how much of a log Each reads from the store at a time.
const ChunkBytes = 1 << 20

// Each calls fn with every update from..to-1 of a session's log, in order, with its
// version. It reads the log a chunk at a time, so that what it holds is a chunk
// (about ChunkBytes, or one update larger than that) whatever the log's size.
func Each(ctx context.Context, st store.Store, id string, from, to int, fn func(v int, u ot.Update) error) error {
	for from < to {
		us, err := Read(ctx, st, id, from, to, ChunkBytes)
		if err != nil {
			return err
		}
		for _, u := range us {
			if err := fn(from, u); err != nil {
				return err
			}
			from++
		}
	}
	return nil
}

// TextAt returns a session's text at a version between 0 and the length of its
// log, exact to the UTF-16 unit, lone surrogates included.
func TextAt(ctx context.Context, st store.Store, id string, version int) (ot.Text, error) {
	s, err := Session(ctx, st, id)
	if err != nil {
		return ot.Text{}, err
	}
	switch {
	case version < 0:
		return ot.Text{}, fmt.Errorf("text of %s at %d: %w", id, version, ot.ErrInvalidVersion)
	case version > s.Version:
		return ot.Text{}, fmt.Errorf("text of %s at %d (log has %d): %w", id, version, s.Version, ot.ErrVersionAhead)
	}
	text, _, err := At(ctx, st, id, version)
	return text, err
}

// At returns a session's text at a version, which must be between 0 and the
// length of its log, and the update that led to it (the zero Update at version 0).
// It starts from the newest snapshot at or before the version.
func At(ctx context.Context, st store.Store, id string, version int) (ot.Text, ot.Update, error) {
	snap, err := st.SnapshotAt(ctx, id, version)
	if err != nil {
		return ot.Text{}, ot.Update{}, storeError(fmt.Sprintf("text of %s at %d", id, version), err)
	}
	text, err := decodeSnapshot(id, snap)
	if err != nil {
		return ot.Text{}, ot.Update{}, err
	}
	// Read from one update earlier than needed when the snapshot is at the version
	// itself, to know the update that led there.
	from := snap.Version
	if from == version && version > 0 {
		from--
	}
	var last ot.Update
	err = Each(ctx, st, id, from, version, func(v int, u ot.Update) error {
		last = u
		if v < snap.Version {
			return nil
		}
		var err error
		if text, err = u.Changes.Apply(text); err != nil {
			return fmt.Errorf("text of %s at %d: update %d: %w", id, version, v, err)
		}
		return nil
	})
	if err != nil {
		return ot.Text{}, ot.Update{}, err
	}
	return text, last, nil
}

// Loaded is what a live document starts from.
type Loaded struct {
	ot.State
	Snapshot int // version of the newest stored snapshot
}

// Load rebuilds a session's document at the end of its log from the latest
// snapshot and the updates after it. State.Tail also gets the last updates of the
// log, at most tailSize of them holding at most tailBytes in memory (Update.MemSize), even
// from before the snapshot: after a restart (which leaves a snapshot at the end of
// the log) a client coming back on an older version can then push, and have a
// resent update recognised, without being sent to resync. The log is read a chunk
// at a time, so loading holds the tail and a chunk, whatever the log's size.
func Load(ctx context.Context, st store.Store, s store.Session, tailSize, tailBytes int) (Loaded, error) {
	snap, err := st.LatestSnapshot(ctx, s.ID)
	if err != nil {
		return Loaded{}, storeError("load document "+s.ID, err)
	}
	text, err := decodeSnapshot(s.ID, snap)
	if err != nil {
		return Loaded{}, err
	}
	tailFrom := max(s.Version-tailSize, 0)
	var kept []ot.Update
	held := 0 // bytes of kept, by MemSize
	err = Each(ctx, st, s.ID, min(snap.Version, tailFrom), s.Version, func(v int, u ot.Update) error {
		if v >= snap.Version {
			var err error
			if text, err = u.Changes.Apply(text); err != nil {
				return fmt.Errorf("load document %s: update %d: %w", s.ID, v, err)
			}
		}
		if v < tailFrom {
			return nil
		}
		kept = append(kept, u)
		held += u.MemSize()
		for len(kept) > 0 && held > tailBytes {
			held -= kept[0].MemSize()
			kept[0] = ot.Update{} // collectable now
			kept = kept[1:]
		}
		return nil
	})
	if err != nil {
		return Loaded{}, err
	}
	return Loaded{
		State:    ot.State{Version: s.Version, Text: text, Tail: kept},
		Snapshot: snap.Version,
	}, nil
}

func decodeSnapshot(id string, snap store.Snapshot) (ot.Text, error) {
	var text ot.Text
	if err := text.UnmarshalJSON(snap.Text); err != nil {
		return ot.Text{}, fmt.Errorf("%s: snapshot at %d: %w", id, snap.Version, err)
	}
	return text, nil
}

// storeError says what failed, with the store's not-found (the session was deleted
// meanwhile) as ErrNotFound.
func storeError(what string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Runs returns the runs of a session, in the order they started.
func Runs(ctx context.Context, st store.Store, id string) ([]store.Run, error) {
	runs, err := st.Runs(ctx, id)
	if err != nil {
		return nil, storeError("runs of "+id, err)
	}
	return runs, nil
}

// Participants returns who joined a session, in the order they first joined.
func Participants(ctx context.Context, st store.Store, id string) ([]store.Participant, error) {
	ps, err := st.Participants(ctx, id)
	if err != nil {
		return nil, storeError("participants of "+id, err)
	}
	return ps, nil
}

// Notes returns the notes of a session, in the order they were written.
func Notes(ctx context.Context, st store.Store, id string) ([]store.Note, error) {
	ns, err := st.Notes(ctx, id)
	if err != nil {
		return nil, storeError("notes of "+id, err)
	}
	return ns, nil
}

// Signals returns the signals of a session, in the order they were recorded.
func Signals(ctx context.Context, st store.Store, id string) ([]store.Signal, error) {
	ss, err := st.Signals(ctx, id)
	if err != nil {
		return nil, storeError("signals of "+id, err)
	}
	return ss, nil
}
