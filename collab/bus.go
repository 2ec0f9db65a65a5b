package collab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/store"
)

// Bus carries what happens in a session between the processes that serve it, when
// several duet processes share one store. The store holds the truth (the log is
// appended with compare-and-set); the bus only tells the other processes soon, so an
// event it loses costs time, never correctness: a process that sees a gap in the
// versions reads what it lacks from the store.
//
// A nil Bus is one process alone: the hub then behaves as it always did.
type Bus interface {
	// Publish sends events, each to every process following its session, this one
	// included, in order. It may fail (the bus is down): the events are then lost.
	Publish(ctx context.Context, events ...BusEvent) error
	// Follow calls deliver with every event published on the session from now on,
	// until stop is called. deliver(nil) says that events may have been missed (the
	// subscription just started, or came back after an outage): the follower reads
	// what it needs from the store. Calls of deliver never overlap; deliver must not
	// call stop, and stop must not wait for deliver (it is called under the locks
	// deliver takes).
	Follow(session string, deliver func(event []byte)) (stop func())
}

// BusEvent is an event of a session, as the bus carries it.
type BusEvent struct {
	Session string
	Data    []byte
}

// Event types on the bus.
const (
	evUpdates  = "updates"  // updates appended to the log: From, Updates
	evPresence = "presence" // everyone connected to the session through Origin, in full: People
	evLeaving  = "leaving"  // Origin shuts down: its people are gone now
	evCursor   = "cursor"   // a selection: UserID, Version, Ranges
	evLanguage = "language" // Language, UserID
	evRelay    = "relay"    // a message for every client, as is (runs)
	evDeleted  = "deleted"  // the session was deleted
	evHello    = "hello"    // Origin (re)started following: the others send their presence now
	evEnded    = "ended"    // the interviewer ended the interview
	evQuestion = "question" // the session was given another question (the store has it)
	evNote     = "note"     // an interviewer wrote a note (the store has it)
	evSignal   = "signal"   // a candidate's signal: UserID, Kind, Size, Version, Time
)

// busEvent is one message on the bus. Change sets are carried as the JSON their
// exact encoder wrote, so lone surrogates cross processes intact.
type busEvent struct {
	Type     string          `json:"t"`
	Origin   string          `json:"o"`
	From     int             `json:"from,omitempty"`
	Updates  []busUpdate     `json:"updates,omitempty"`
	People   []busPerson     `json:"people,omitempty"`
	UserID   string          `json:"userId,omitempty"`
	Version  int             `json:"version,omitempty"`
	Ranges   [][2]int        `json:"ranges,omitempty"`
	Language string          `json:"language,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Size     int             `json:"size,omitempty"`
	Time     time.Time       `json:"time,omitzero"`
	Msg      json.RawMessage `json:"msg,omitempty"`
}

type busUpdate struct {
	ClientID string          `json:"c"`
	UserID   string          `json:"u"`
	Changes  json.RawMessage `json:"ch"`
	Time     time.Time       `json:"tm"`
}

type busPerson struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Color   string `json:"color"`
	Role    string `json:"role,omitempty"`
	Running bool   `json:"running,omitempty"`
}

// remotePeople is who is connected to a session through another process, as its
// last heartbeat said, until it expires.
type remotePeople struct {
	people  []busPerson
	expires time.Time
}

// newProcessID names this process on the bus, so it knows its own events.
func newProcessID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func encodeUpdates(us []ot.Update) []busUpdate {
	out := make([]busUpdate, len(us))
	for i, u := range us {
		out[i] = busUpdate{ClientID: u.ClientID, UserID: u.UserID, Changes: u.Changes.AppendJSON(nil), Time: u.Time}
	}
	return out
}

func decodeUpdates(from int, bs []busUpdate) ([]ot.Update, error) {
	out := make([]ot.Update, len(bs))
	for i, b := range bs {
		cs, err := ot.ParseChangeSet(b.Changes)
		if err != nil {
			return nil, fmt.Errorf("update %d on the bus: %w", from+i, err)
		}
		out[i] = ot.Update{ClientID: b.ClientID, UserID: b.UserID, Changes: cs, Time: b.Time}
	}
	return out, nil
}

// publishQueue is how many events wait for the publisher before new ones are
// dropped (and the others catch up from the store).
const publishQueue = 4096

// publishLocked queues an event of the room's session for the publisher: the room's
// lock is never held across a round trip to the bus. Events leave in the order they
// were queued.
func (r *room) publishLocked(e busEvent) {
	h := r.hub
	if h.bus == nil {
		return
	}
	e.Origin = h.processID
	b, err := json.Marshal(e)
	if err != nil {
		h.logger.Error("bus event not encoded", "session", r.id, "err", err)
		return
	}
	select {
	case h.outbox <- BusEvent{Session: r.id, Data: b}:
	default:
		h.logger.Warn("bus queue full: event dropped", "session", r.id, "type", e.Type)
	}
}

// publisher sends queued events until the hub closes, and heartbeats the presence
// of every live room, at once when one changes (dirty) and every Heartbeat anyway.
func (h *Hub) publisher() {
	defer close(h.published)
	tick := time.NewTicker(h.heartbeat)
	defer tick.Stop()
	for {
		select {
		case o := <-h.outbox:
			h.publish(h.takeQueued(o)...)
		case r := <-h.dirty:
			h.publishPresence(r)
		case <-tick.C:
			h.heartbeatRooms()
		case <-h.ctx.Done():
			for {
				select {
				case o := <-h.outbox:
					h.publish(h.takeQueued(o)...)
				default:
					return
				}
			}
		}
	}
}

// publishBatch is the most events published in one call: the bus sends them in one
// round trip, so the queue drains as fast as it fills.
const publishBatch = 256

// takeQueued returns first with the events queued after it, up to publishBatch.
func (h *Hub) takeQueued(first BusEvent) []BusEvent {
	events := []BusEvent{first}
	for len(events) < publishBatch {
		select {
		case o := <-h.outbox:
			events = append(events, o)
		default:
			return events
		}
	}
	return events
}

func (h *Hub) publish(events ...BusEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), h.heartbeat)
	defer cancel()
	if err := h.bus.Publish(ctx, events...); err != nil {
		h.logger.Warn("bus publish failed", "events", len(events), "session", events[0].Session, "err", err)
	}
}

// markDirty asks the publisher to send the room's presence soon.
func (r *room) markDirtyLocked() {
	if r.hub.bus == nil {
		return
	}
	select {
	case r.hub.dirty <- r:
	default: // the next heartbeat sends it
	}
}

// heartbeatRooms sends the presence of every live room and forgets the people of
// processes that stopped sending theirs.
func (h *Hub) heartbeatRooms() {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		if !r.followingLocked() {
			r.mu.Unlock()
			continue // nobody here: nothing to tell, nothing to hear
		}
		if r.doc != nil && !r.gone {
			r.changePresenceLocked(func() {
				now := h.now()
				for origin, rp := range r.remote {
					if now.After(rp.expires) {
						delete(r.remote, origin)
					}
				}
			})
		}
		r.mu.Unlock()
		h.publishPresence(r)
	}
}

// publishPresence sends who is connected to the room through this process.
func (h *Hub) publishPresence(r *room) {
	r.mu.Lock()
	if r.doc == nil || r.gone {
		r.mu.Unlock()
		return
	}
	e := busEvent{Type: evPresence, Origin: h.processID, People: r.localPeopleLocked()}
	r.mu.Unlock()
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	h.publish(BusEvent{Session: r.id, Data: b})
}

// localPeopleLocked lists who is connected through this process, in arrival order.
func (r *room) localPeopleLocked() []busPerson {
	ps := make([]*presence, 0, len(r.people))
	for _, p := range r.people {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *presence) int { return a.seq - b.seq })
	out := make([]busPerson, len(ps))
	for i, p := range ps {
		out[i] = busPerson{ID: p.ID, Name: p.Name, Color: p.Color, Role: string(p.Role), Running: len(r.running[p.ID]) > 0}
	}
	return out
}

// remotePersonLocked returns someone connected through another process.
func (r *room) remotePersonLocked(id string) (busPerson, bool) {
	for _, rp := range r.remote {
		for _, p := range rp.people {
			if p.ID == id {
				return p, true
			}
		}
	}
	return busPerson{}, false
}

// changePresenceLocked runs change, then tells local clients and watchers who
// appeared, left or was renamed in the session as a whole.
func (r *room) changePresenceLocked(change func()) {
	before := r.peopleLocked()
	change()
	after := r.peopleLocked()
	was := make(map[string]Person, len(before))
	for _, p := range before {
		was[p.ID] = p
	}
	changed := false
	for _, p := range after {
		if old, ok := was[p.ID]; !ok || old.Name != p.Name || old.Role != p.Role {
			r.broadcastLocked(presenceMessage("user_joined", p), nil)
			changed = true
		}
		delete(was, p.ID)
	}
	for _, p := range before {
		if _, ok := was[p.ID]; ok {
			r.broadcastLocked(presenceMessage("user_left", p), nil)
			changed = true
		}
	}
	for id := range r.remoteSeq {
		if _, ok := r.remotePersonLocked(id); !ok {
			delete(r.remoteSeq, id)
		}
	}
	if changed {
		r.notifyLocked()
	}
}

// follow subscribes the room to its session's events; the room must not be loaded
// yet (events delivered before it is are covered by the catch-up that ends load).
func (r *room) follow() {
	if r.hub.bus == nil {
		return
	}
	stop := r.hub.bus.Follow(r.id, r.deliver)
	r.mu.Lock()
	r.stopFollow = stop
	r.mu.Unlock()
}

// followLocked follows the session again after the room stopped (nobody was left),
// and catches up with what it missed meanwhile from the store.
func (r *room) followLocked(ctx context.Context) {
	if r.hub.bus == nil || r.stopFollow != nil || r.gone {
		return
	}
	r.stopFollow = r.hub.bus.Follow(r.id, r.deliver)
	r.catchUpLogged(ctx, -1)
}

// followingLocked tells whether the room is up to date: alone, or following.
func (r *room) followingLocked() bool {
	return r.hub.bus == nil || r.stopFollow != nil
}

// unfollowLocked stops following the session.
func (r *room) unfollowLocked() {
	if r.stopFollow != nil {
		r.stopFollow()
		r.stopFollow = nil
	}
}

// roomInbox is how many events from the bus wait for a room before they are
// dropped, and the room reads from the store instead.
const roomInbox = 4096

// deliver queues an event of the session from the bus for the room (nil: some may
// have been missed). It never waits for the room's lock, which a push holds across
// a store commit: one busy session must not hold up the events of the others.
func (r *room) deliver(data []byte) {
	r.inMu.Lock()
	if len(r.inbox) >= roomInbox {
		r.inbox = append(r.inbox[:0], nil) // too many: catch up from the store
	} else {
		r.inbox = append(r.inbox, data)
	}
	start := !r.draining
	r.draining = true
	r.inMu.Unlock()
	if start {
		go r.drainInbox()
	}
}

// drainInbox handles the room's queued events in order, until none is left.
func (r *room) drainInbox() {
	for {
		r.inMu.Lock()
		events := r.inbox
		r.inbox = nil
		if len(events) == 0 {
			r.draining = false
			r.inMu.Unlock()
			return
		}
		r.inMu.Unlock()
		for _, e := range events {
			r.handleEvent(e)
		}
	}
}

// handleEvent handles one event of the session from the bus (nil: some may have
// been missed).
func (r *room) handleEvent(data []byte) {
	ctx, cancel := context.WithTimeout(r.hub.ctx, 10*time.Second)
	defer cancel()
	if data == nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.doc != nil && !r.gone {
			r.catchUpLogged(ctx, -1)
		}
		r.publishLocked(busEvent{Type: evHello})
		return
	}
	var e busEvent
	if err := json.Unmarshal(data, &e); err != nil {
		r.hub.logger.Warn("bad bus event", "session", r.id, "err", err)
		return
	}
	if e.Origin == r.hub.processID {
		return
	}
	switch e.Type {
	case evDeleted:
		// Believed only once the store agrees: a room ends for good.
		if _, err := history.Session(ctx, r.hub.store, r.id); errors.Is(err, history.ErrNotFound) {
			r.hub.endRoom(r.id)
		}
		return
	case evEnded:
		if s, err := history.Session(ctx, r.hub.store, r.id); err == nil && !s.Ended.IsZero() {
			r.endInterview()
		}
		return
	}
	var updates []ot.Update
	if e.Type == evUpdates {
		var err error
		if updates, err = decodeUpdates(e.From, e.Updates); err != nil {
			r.hub.logger.Warn("bad bus event", "session", r.id, "err", err)
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.doc == nil || r.gone {
		return // loading ends with a catch-up from the store
	}
	switch e.Type {
	case evUpdates:
		v, end := r.doc.Version(), e.From+len(updates)
		switch {
		case end <= v: // had them already
		case e.From > v: // a gap: read what the store has
			r.catchUpLogged(ctx, -1)
		default:
			if err := r.applyRemoteLocked(updates[v-e.From:]); err != nil {
				r.hub.logger.Error("updates from the bus do not apply", "session", r.id, "from", e.From, "err", err)
				r.catchUpLogged(ctx, -1)
			}
		}
	case evPresence, evLeaving:
		r.changePresenceLocked(func() {
			if e.Type == evLeaving {
				delete(r.remote, e.Origin)
				return
			}
			if len(e.People) > r.hub.limits.MaxParticipants {
				e.People = e.People[:r.hub.limits.MaxParticipants]
			}
			r.remote[e.Origin] = &remotePeople{people: e.People, expires: r.hub.now().Add(r.hub.presenceTTL)}
			for _, p := range e.People {
				if _, ok := r.remoteSeq[p.ID]; !ok {
					r.arrivals++
					r.remoteSeq[p.ID] = r.arrivals
				}
			}
		})
	case evCursor:
		if e.Version > r.doc.Version() {
			r.catchUpLogged(ctx, -1)
		}
		if e.Version < 0 || e.Version > r.doc.Version() || len(e.Ranges) == 0 || len(e.Ranges) > maxCursorRanges {
			return
		}
		out := make([]cursorRange, len(e.Ranges))
		for i, rg := range e.Ranges {
			a, h, err := r.mapRangeLocked(e.Version, rg[0], rg[1])
			if err != nil {
				return // too old, or the catch-up failed: a newer cursor will follow
			}
			out[i] = cursorRange{anchor: a, head: h}
		}
		r.broadcastLocked(cursorMessage(e.UserID, r.doc.Version(), out), nil)
	case evLanguage:
		if LanguageLabel(e.Language) == "" {
			return
		}
		r.lang = e.Language
		r.broadcastLocked(languageMessage(e.Language, e.UserID), nil)
		r.notifyLocked()
	case evRelay:
		var m struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(e.Msg, &m) != nil || m.Type != "run" {
			return // only runs are relayed as they are
		}
		r.broadcastLocked(e.Msg, nil)
	case evHello:
		r.markDirtyLocked()
	case evQuestion:
		r.questions++
		r.notifyLocked()
	case evNote:
		r.notes++
		r.notifyLocked()
	case evSignal:
		sig := store.Signal{UserID: e.UserID, Kind: e.Kind, Size: e.Size, Version: e.Version, Time: e.Time}
		if e.UserID == "" || signalProblem(sig.Kind, sig.Size, r.hub.limits.MaxDocLength) != "" {
			return
		}
		r.countSignal(sig)
		r.toInterviewersLocked(signalMessage(sig))
		r.notifyLocked()
	}
}

// catchUpLogged is catchUpLocked for the bus's events, where a failure is logged: the
// next event, or the next push, tries again. A deleted session ends.
func (r *room) catchUpLogged(ctx context.Context, to int) {
	err := r.catchUpLocked(ctx, to)
	switch {
	case errors.Is(err, history.ErrNotFound):
		r.goneLocked()
		for c := range r.clients {
			c.kick(closeReason{status: StatusSessionDeleted, code: CodeSessionDeleted, message: "the session was deleted by its owner"})
		}
	case err != nil:
		r.hub.logger.Warn("catching up from the store failed", "session", r.id, "err", err)
	}
}

// catchUpLocked applies what other processes appended to the log, from the room's
// version up to version to (-1: the end of the log), read from the store.
func (r *room) catchUpLocked(ctx context.Context, to int) error {
	if to < 0 {
		s, err := history.Session(ctx, r.hub.store, r.id)
		if err != nil {
			return err
		}
		to = s.Version
		if s.Language != r.lang && LanguageLabel(s.Language) != "" {
			// A language change whose event was lost.
			r.lang = s.Language
			r.broadcastLocked(languageMessage(s.Language, ""), nil)
			r.notifyLocked()
		}
	}
	for r.doc.Version() < to {
		us, err := history.Read(ctx, r.hub.store, r.id, r.doc.Version(), to, history.ChunkBytes)
		if err != nil {
			return err
		}
		if err := r.applyRemoteLocked(us); err != nil {
			return err
		}
	}
	return nil
}

// applyRemoteLocked makes updates another process appended part of the document,
// in order, and sends them to the local clients. With none it sends nothing: an
// empty update message tells a client that its push was all accepted before.
func (r *room) applyRemoteLocked(us []ot.Update) error {
	if len(us) == 0 {
		return nil
	}
	from := r.doc.Version()
	for i, u := range us {
		// One update at a time, on the current version: nothing to rebase, and
		// every update may come from another client.
		p, err := r.doc.Prepare(r.doc.Version(), []ot.Update{u})
		if err != nil {
			if i > 0 {
				r.fanOutRemoteLocked(from, us[:i])
			}
			return fmt.Errorf("update %d: %w", from+i, err)
		}
		r.doc.Commit(p)
	}
	r.fanOutRemoteLocked(from, us)
	return nil
}

func (r *room) fanOutRemoteLocked(from int, us []ot.Update) {
	out := newUpdateOutgoing(from, us)
	out.fan = &fanOut{accepted: time.Now()}
	r.broadcastOutLocked(out, nil)
	for _, u := range us[:max(len(us)-1, 0)] {
		r.lastEdit[u.UserID] = r.hub.now()
	}
	if len(us) > 0 {
		r.editedLocked(us[len(us)-1].UserID)
	}
}

// publishSessionEvent tells the other processes that a session was deleted or its
// interview ended, so they cut off its clients too.
func (h *Hub) publishSessionEvent(id, typ string) {
	if h.bus == nil {
		return
	}
	b, err := json.Marshal(busEvent{Type: typ, Origin: h.processID})
	if err != nil {
		return
	}
	select {
	case h.outbox <- BusEvent{Session: id, Data: b}:
	default:
		h.logger.Warn("bus queue full: event not published", "session", id, "type", typ)
	}
}

// remoteRunningLocked tells whether someone has a run in progress through another
// process.
func (r *room) remoteRunningLocked(id string) bool {
	for _, rp := range r.remote {
		for _, p := range rp.people {
			if p.ID == id && p.Running {
				return true
			}
		}
	}
	return false
}

// aheadLocked tells whether err says a client is ahead of the room, and, with a bus,
// catches the room up from the store: the client may have seen, through another
// process, updates this one has not heard of yet. It returns true once the room has
// moved, so the caller tries again (at most as many times as the room moves).
func (r *room) aheadLocked(ctx context.Context, err error) bool {
	if r.hub.bus == nil || !errors.Is(err, ot.ErrVersionAhead) {
		return false
	}
	v := r.doc.Version()
	if cerr := r.catchUpLocked(ctx, -1); cerr != nil {
		r.hub.logger.Warn("catching up from the store failed", "session", r.id, "err", cerr)
		return false
	}
	return r.doc.Version() > v
}

// endInterview cuts off the room's clients when the interview was ended through
// another process (EndSession does the same on its own).
func (r *room) endInterview() {
	r.mu.Lock()
	r.over = true
	r.goneLocked()
	for c := range r.clients {
		c.kick(closeReason{status: StatusSessionEnded, code: CodeSessionEnded, message: "the interviewer ended the interview"})
	}
	r.mu.Unlock()
	r.hub.mu.Lock()
	if r.hub.rooms[r.id] == r {
		delete(r.hub.rooms, r.id)
	}
	r.hub.mu.Unlock()
}
