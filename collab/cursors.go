package collab

import (
	"errors"

	"duet/collab/ot"
)

// maxCursorRanges bounds a selection; CodeMirror's multi-cursor rarely goes past a few.
const maxCursorRanges = 100

// cursor relays a client's selection to the others, mapped from the version it was
// made on to the current one, so that it lands on the text they see.
func (r *room) cursor(c *client, m *clientMessage) *protocolError {
	if m.Version == nil {
		return refuse(CodeBadMessage, `field "version" is missing`)
	}
	var ranges []clientRange
	switch {
	case m.Ranges != nil:
		ranges = m.Ranges
	case m.Position != nil:
		ranges = []clientRange{{Anchor: m.Position, Head: m.Position}}
	default:
		return refuse(CodeBadMessage, `field "ranges" is missing`)
	}
	if len(ranges) == 0 || len(ranges) > maxCursorRanges {
		return refuse(CodeBadMessage, "a selection has 1 to %d ranges", maxCursorRanges)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]cursorRange, len(ranges))
	for i, rg := range ranges {
		if rg.Anchor == nil || rg.Head == nil {
			return refuse(CodeBadMessage, "range %d needs anchor and head", i)
		}
		a, h, err := r.mapRangeLocked(*m.Version, *rg.Anchor, *rg.Head)
		if err != nil && r.aheadLocked(r.hub.ctx, err) {
			a, h, err = r.mapRangeLocked(*m.Version, *rg.Anchor, *rg.Head)
		}
		switch {
		case errors.Is(err, ot.ErrVersionAhead):
			return refuse(CodeVersionAhead, "%v", err)
		case errors.Is(err, ot.ErrResync):
			return nil // too old to matter: a newer cursor will follow
		case err != nil:
			return refuse(CodeBadMessage, "range %d: %v", i, err)
		}
		out[i] = cursorRange{anchor: a, head: h}
	}
	r.broadcastLocked(cursorMessage(c.person.ID, r.doc.Version(), out), c)
	if r.hub.bus != nil {
		ranges := make([][2]int, len(out))
		for i, o := range out {
			ranges[i] = [2]int{o.anchor, o.head}
		}
		r.publishLocked(busEvent{Type: evCursor, UserID: c.person.ID, Version: r.doc.Version(), Ranges: ranges})
	}
	return nil
}

// mapRangeLocked maps a selection range made at version to the current one, as
// CodeMirror maps a selection range: a cursor sticks before text inserted at it; a
// range grows neither way.
func (r *room) mapRangeLocked(version, a, h int) (int, int, error) {
	aAssoc, hAssoc := -1, -1
	if a != h {
		if a < h {
			aAssoc, hAssoc = 1, -1
		} else {
			aAssoc, hAssoc = -1, 1
		}
	}
	a, err := r.doc.MapPos(version, a, aAssoc)
	if err != nil {
		return 0, 0, err
	}
	h, err = r.doc.MapPos(version, h, hAssoc)
	return a, h, err
}
