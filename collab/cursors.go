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
		// Map as CodeMirror maps a selection range: a cursor sticks before text
		// inserted at it; a range grows neither way.
		a, h := *rg.Anchor, *rg.Head
		aAssoc, hAssoc := -1, -1
		if a != h {
			if a < h {
				aAssoc, hAssoc = 1, -1
			} else {
				aAssoc, hAssoc = -1, 1
			}
		}
		var err error
		if a, err = r.doc.MapPos(*m.Version, a, aAssoc); err == nil {
			h, err = r.doc.MapPos(*m.Version, h, hAssoc)
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
	return nil
}
