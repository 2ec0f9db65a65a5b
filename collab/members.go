package collab

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"duet/collab/people"
	"duet/store"
)

// Person is someone connected to a session.
type Person struct {
	ID    string
	Name  string
	Color string
	Role  Role // of their newest connection (a person's tabs may differ until they reload)
}

// presence is one person, who may be connected from several tabs.
type presence struct {
	Person
	conns int // open connections (tabs)
	seq   int // arrival order
}

// JoinParams is who a connection says it is. Both fields are untrusted.
type JoinParams struct {
	// Secret is what the client proves itself with: the browser's identity cookie, or
	// the userId a program chose. It is never shown to anyone; others see the public
	// id derived from it (people.PublicID). Empty: a fresh one for this connection.
	Secret   string
	UserName string // sanitized by the hub
	// Role is what the handlers decided the connection is (handlers/principal.go),
	// fixed for its life; "" is a candidate.
	Role Role
}

// join registers a new client of the person with public id id, and queues its sync,
// then tells the others. The sync and the registration happen under one lock, so no
// update falls between them.
func (r *room) join(id, userName string, role Role) (*client, *protocolError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lim := r.hub.limits
	if r.gone {
		return nil, refuse(CodeSessionDeleted, "the session has ended")
	}
	if r.over {
		return nil, refuse(CodeSessionEnded, "the interview has ended")
	}
	existing := r.people[id]
	switch {
	case existing == nil && len(r.people) >= lim.MaxParticipants:
		return nil, refuse(CodeSessionFull, "this session already has %d participants", lim.MaxParticipants)
	case existing != nil && existing.conns >= lim.MaxPersonConnections:
		return nil, refuse(CodeTooManyConnections, "you have %d connections to this session open, the most allowed: close some tabs", existing.conns)
	case len(r.clients) >= lim.MaxConnections:
		return nil, refuse(CodeSessionFull, "this session already has %d connections", lim.MaxConnections)
	}
	name := people.SanitizeName(userName)
	if name == "" && existing != nil {
		name = existing.Name
	}
	// Everyone is told of an arrival or a rename: their number is what throwaway
	// identities would make grow, so the session has a budget of them.
	announce := existing == nil || existing.Name != name || existing.Role != role
	if announce && !r.joins.allow(r.hub.now()) {
		return nil, refuse(CodeTooManyJoins, "more than %d people joined this session in the last minute: try again in a moment", lim.JoinsPerMinute)
	}
	if name == "" {
		r.guests++
		name = "Guest " + strconv.Itoa(r.guests)
	}
	person := Person{ID: id, Name: name, Color: r.colorLocked(id), Role: role}
	c := newClient(r, person)
	if existing == nil {
		r.arrivals++
		r.people[id] = &presence{Person: person, conns: 1, seq: r.arrivals}
	} else {
		existing.conns++
		existing.Name = name // the newest tab's name wins: renaming reconnects
		existing.Role = role // and its role: becoming an interviewer reloads the page
	}
	r.clients[c] = struct{}{}
	r.stopIdleLocked()
	r.touchLocked(r.hub.ctx)
	c.queue(r.syncLocked(person))
	if announce { // clients treat user_joined of someone present as a rename
		r.broadcastLocked(presenceMessage("user_joined", person), c)
		r.notifyLocked()
		// For the replay's names; past the table's bound, the replay calls them Guest.
		if r.recorded[id] || len(r.recorded) < lim.MaxRecordedPeople {
			r.recorded[id] = true
			go r.recordParticipant(person)
		}
	}
	return c, nil
}

// leave unregisters a client; the last tab of a person makes them leave.
func (r *room) leave(c *client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.clients[c]; !ok {
		return
	}
	delete(r.clients, c)
	if c.runs.current != "" { // a run cannot outlive its connection
		r.runningLocked(c.person.ID, c.runs.current, false)
	}
	if run := r.takeRunLocked(c); run != nil { // stored without an end
		go r.recordRun(run)
	}
	if p := r.people[c.person.ID]; p != nil {
		p.conns--
		if p.conns == 0 {
			delete(r.people, c.person.ID)
			delete(r.lastEdit, c.person.ID)
			r.broadcastLocked(presenceMessage("user_left", p.Person), nil)
			r.notifyLocked()
		}
	}
	r.maybeIdleLocked()
}

// colorLocked returns the color of a person: the one they had in this room, or the
// first one nobody connected has. The room remembers the colors of at most
// MaxRecordedPeople people: past that, those who left are forgotten.
func (r *room) colorLocked(userID string) string {
	if c, ok := r.colors[userID]; ok {
		return c
	}
	if len(r.colors) >= r.hub.limits.MaxRecordedPeople {
		for id := range r.colors {
			if r.people[id] == nil {
				delete(r.colors, id)
			}
		}
	}
	used := map[string]int{}
	for _, p := range r.people {
		used[p.Color]++
	}
	best := people.Color(used)
	r.colors[userID] = best
	return best
}

// peopleLocked lists who is connected, in the order they came.
func (r *room) peopleLocked() []Person {
	ps := make([]*presence, 0, len(r.people))
	for _, p := range r.people {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *presence) int { return a.seq - b.seq })
	out := make([]Person, len(ps))
	for i, p := range ps {
		out[i] = p.Person
	}
	return out
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
