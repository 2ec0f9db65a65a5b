package collab

import (
	"context"
	"errors"
	"fmt"

	"duet/store"
)

// Role is what a connection may do and see in a session. The handlers decide it
// (handlers/principal.go) and pass it in JoinParams; it is fixed for the life of
// the connection.
type Role string

const (
	RoleInterviewer Role = store.RoleInterviewer
	RoleCandidate   Role = "candidate"
)

// AddInterviewer records principal as an interviewer of the session, seen by the
// others as publicID. It is idempotent (the first record is kept). The new role
// takes effect on the principal's next connection.
func (h *Hub) AddInterviewer(ctx context.Context, id, principal, publicID string) error {
	err := h.store.AddMember(ctx, id, store.Member{Principal: principal, Role: store.RoleInterviewer, PublicID: publicID, Added: h.now().UTC()})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("add interviewer: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("add interviewer to %s: %w", id, err)
	}
	return nil
}

// IsInterviewer reports whether principal is an interviewer of the session. An
// empty principal is nobody's: false.
func (h *Hub) IsInterviewer(ctx context.Context, id, principal string) (bool, error) {
	if principal == "" {
		return false, nil
	}
	m, err := h.store.Member(ctx, id, principal)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("member of %s: %w", id, err)
	}
	return m.Role == store.RoleInterviewer, nil
}

// EndSession ends an interview: the session is marked ended in the store, everyone
// connected is cut off with session_ended, and no connection or edit is taken
// after that. Its history (document, runs, replay) stays; DeleteSession erases it.
// Ending an ended session changes nothing. Who may end it is the handlers' rule.
func (h *Hub) EndSession(ctx context.Context, id string) error {
	h.mu.Lock()
	r := h.rooms[id]
	h.mu.Unlock()
	// Under the room's lock no edit is between being stored and being sent: the
	// store's end and the cut-off are one step for the room's clients.
	if r != nil {
		r.mu.Lock()
	}
	err := h.store.SetEnded(ctx, id, h.now().UTC())
	if r != nil {
		if err == nil {
			r.over = true
			if r.doc != nil {
				r.saveSnapshotLocked(ctx) // the replay and the ended page start near the end
			}
			r.goneLocked()
			for c := range r.clients {
				c.kick(closeReason{status: StatusSessionEnded, code: CodeSessionEnded, message: "the interviewer ended the interview"})
			}
		}
		r.mu.Unlock()
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("end session: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	if r != nil {
		h.mu.Lock()
		if h.rooms[id] == r {
			delete(h.rooms, id)
		}
		h.mu.Unlock()
	}
	return nil
}

// toInterviewersLocked queues msg for the room's interviewers only (what
// candidates must never receive: notes, signals). Like a broadcast, it never
// blocks. A connection's role is fixed when it joins, so a candidate's connection
// never gets one of these, whatever happens later.
func (r *room) toInterviewersLocked(msg []byte) {
	o := newOutgoing(msg)
	for c := range r.clients {
		if c.person.Role == RoleInterviewer {
			c.queueOut(o)
		}
	}
}
