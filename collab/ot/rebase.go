package ot

import (
	"fmt"
	"time"
)

// Update is one accepted (or pushed) change of a document: the unit of the
// document's log, one version each.
type Update struct {
	ClientID string     // the editor instance that made it; @codemirror/collab dedups by it
	Changes  *ChangeSet // applies to the document at the update's version
	UserID   string     // who made it; set by the hub, not trusted from the client
	Time     time.Time  // when the authority accepted it; set by the hub before Prepare
}

// MemSize is about the bytes the update holds in memory (Document.Commit keeps the
// log's tail within Limits.TailBytes of them).
func (u Update) MemSize() int {
	n := 64 + len(u.ClientID) + len(u.UserID)
	if u.Changes != nil {
		n += u.Changes.MemSize()
	}
	return n
}

// SequentialRebase rebases push, a client's updates made on an older version,
// over the updates accepted since (over, in log order), and returns what to
// append to the log (docs/protocol.md describes it). Each update of over either confirms the
// first pending pushed update (same ClientID: it was accepted before, so it
// is dropped without looking at its content) or has every pending update
// mapped over it in turn, exactly as @codemirror/collab's receiveUpdates does
// on the client with a single received update.
//
// Not the library's rebaseUpdates: that maps over the composition of what was
// accepted, while clients map over whatever batches they receive, and map is
// not invariant under composition, so clients silently diverge.
//
// Every map is preceded by a length check, because the library's map loops
// forever on some mismatched sets; a mismatch is an error that
// wraps ErrInvalidChanges. The result keeps each pushed update's ClientID,
// UserID and Time. With an empty push or an empty over it is push itself.
func SequentialRebase(push, over []Update) ([]Update, error) {
	pending := push
	for _, a := range over {
		if len(pending) == 0 {
			break
		}
		if a.ClientID == pending[0].ClientID {
			pending = pending[1:]
			continue
		}
		if a.Changes == nil {
			return nil, invalidChanges(-1, "accepted update without changes")
		}
		c := a.Changes // this accepted update only: nothing is composed
		next := make([]Update, len(pending))
		dropped := len(push) - len(pending) // pending is always a suffix of push
		for i, p := range pending {
			if p.Changes == nil {
				return nil, &InvalidChangesError{Update: dropped + i, Part: -1, Reason: "no changes"}
			}
			if p.Changes.Len() != c.Len() {
				return nil, &InvalidChangesError{Update: dropped + i, Part: -1, Reason: fmt.Sprintf(
					"changes of length %d do not fit the document, of length %d", p.Changes.Len(), c.Len())}
			}
			mapped, err := p.Changes.Map(c, false) // p moved past a: a wins ties
			if err != nil {
				return nil, err
			}
			if c, err = c.Map(p.Changes, true); err != nil { // a moved past the old p
				return nil, err
			}
			next[i] = p
			next[i].Changes = mapped
		}
		pending = next
	}
	return pending, nil
}
