package collab

import (
	"context"
	"errors"
	"sync"
	"time"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/store"
)

// room is one live session: its document and everyone connected to it.
//
// Invariant: every message a client receives is queued under mu, so each client sees
// the updates in version order, its sync before anything after it, and a cursor only
// after the updates it was mapped through.
type room struct {
	hub *Hub
	id  string

	loaded  chan struct{} // closed when doc is ready or loading failed
	loadErr error         // set before loaded is closed

	mu         sync.Mutex
	doc        *ot.Document // the authority of the text; used only under mu
	lang       string       // the session's language
	clients    map[*client]struct{}
	people     map[string]*presence // connected people by user id
	colors     map[string]string    // user id → color, kept while the room lives (and people come back)
	recorded   map[string]bool      // user ids in the store's participants, at most Limits.MaxRecordedPeople more
	joins      *tokenBucket         // arrivals and renames, which every client is told of
	guests     int                  // "Guest N" names handed out
	arrivals   int                  // people who came, for ordering the list
	gone       bool                 // evicted, deleted or shut down: no more joins
	over       bool                 // the interview was ended (store.Session.Ended): no joins, no edits
	ended      chan struct{}        // closed when gone becomes true
	idle       *time.Timer          // pending eviction while nobody is connected or watching
	snapshotAt int                  // version of the newest stored snapshot
	touchedAt  time.Time            // last activity recorded in the store

	watchers    map[chan Presence]struct{} // pages following presence (Watch)
	lastEdit    map[string]time.Time       // user id → last accepted edit, for "typing"
	running     map[string]map[string]bool // user id → run ids in progress
	runLog      map[*client]*store.Run     // each connection's run in progress, stored when it ends
	runHeld     int                        // bytes of output those runs hold
	typingTimer *time.Timer                // tells watchers when typing stops
	questions   int                        // questions given while the room is live (QuestionAdded)
}

func newRoom(h *Hub, id string) *room {
	return &room{
		hub: h, id: id, loaded: make(chan struct{}), ended: make(chan struct{}),
		clients: map[*client]struct{}{}, people: map[string]*presence{}, colors: map[string]string{},
		watchers: map[chan Presence]struct{}{}, lastEdit: map[string]time.Time{}, running: map[string]map[string]bool{},
		runLog: map[*client]*store.Run{}, recorded: map[string]bool{},
		joins: newTokenBucket(float64(h.limits.JoinsPerMinute)/60, h.limits.JoinsPerMinute, h.now()),
	}
}

// load reads the document from the store. On failure the room removes itself, so
// the next join tries again.
func (r *room) load(ctx context.Context) {
	defer close(r.loaded)
	s, err := history.Session(ctx, r.hub.store, r.id)
	if err == nil {
		var doc history.Loaded
		if doc, err = history.Load(ctx, r.hub.store, s, r.hub.limits.TailSize, r.hub.limits.TailBytes); err == nil {
			r.doc = ot.NewDocument(doc.State, ot.Limits{
				MaxLength: r.hub.limits.MaxDocLength, MaxParts: r.hub.limits.MaxParts,
				TailSize: r.hub.limits.TailSize, TailBytes: r.hub.limits.TailBytes,
			})
			r.lang, r.snapshotAt, r.over = s.Language, doc.Snapshot, !s.Ended.IsZero()
			var ps []store.Participant
			if ps, err = history.Participants(ctx, r.hub.store, r.id); err == nil {
				for _, p := range ps {
					r.recorded[p.UserID] = true
				}
				return
			}
		}
	}
	r.loadErr = err
	r.hub.mu.Lock()
	if r.hub.rooms[r.id] == r {
		delete(r.hub.rooms, r.id)
	}
	r.hub.mu.Unlock()
}

// waitLoaded waits until the room is ready; errRoomGone means it went away meanwhile.
func (r *room) waitLoaded(ctx context.Context) error {
	select {
	case <-r.loaded:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.loadErr != nil {
		return r.loadErr
	}
	r.mu.Lock()
	gone := r.gone
	r.mu.Unlock()
	if gone {
		return errRoomGone
	}
	return nil
}

// stopIdleLocked cancels a pending eviction: someone came.
func (r *room) stopIdleLocked() {
	if r.idle != nil {
		r.idle.Stop()
		r.idle = nil
	}
}

// maybeIdleLocked schedules the eviction of a room nobody uses any more.
func (r *room) maybeIdleLocked() {
	if len(r.clients) == 0 && len(r.watchers) == 0 && !r.gone && r.idle == nil {
		r.idle = time.AfterFunc(r.hub.limits.IdleTTL, func() { r.hub.evict(r) })
	}
}

// goneLocked marks the room finished; watchers and joins see it.
func (r *room) goneLocked() {
	if !r.gone {
		r.gone = true
		close(r.ended)
	}
	r.stopIdleLocked()
	if r.typingTimer != nil {
		r.typingTimer.Stop()
	}
}

// end cuts everyone off for good (deleted session, shutdown).
func (r *room) end(why closeReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.goneLocked()
	for c := range r.clients {
		c.kick(why)
	}
}

// syncLocked is the full state of the session for a client who is you.
func (r *room) syncLocked(you Person) []byte {
	return syncMessage(r.doc.Version(), r.doc.Text(), r.lang, you, r.peopleLocked())
}

// broadcastLocked queues msg for every client but except. It never blocks: a client
// whose queue is full is cut off, and resyncs when it reconnects.
func (r *room) broadcastLocked(msg []byte, except *client) {
	r.broadcastOutLocked(newOutgoing(msg), except)
}

// broadcastOutLocked is broadcastLocked for a message whose fan-out is followed.
func (r *room) broadcastOutLocked(o *outgoing, except *client) {
	if o.fan != nil {
		n := len(r.clients)
		if _, ok := r.clients[except]; ok {
			n--
		}
		o.fan.left.Store(int64(n))
	}
	for c := range r.clients {
		if c != except {
			c.queueOut(o)
		}
	}
}

// touchInterval is how often activity in a session is recorded in the store; it only
// keeps active sessions from expiring, so a coarse grain is enough.
const touchInterval = time.Minute

// touchLocked records activity, at most once per touchInterval.
func (r *room) touchLocked(ctx context.Context) {
	now := r.hub.now()
	if now.Sub(r.touchedAt) < touchInterval {
		return
	}
	if err := r.hub.store.Touch(ctx, r.id, now); err != nil {
		r.hub.logger.Warn("store touch failed", "session", r.id, "err", err)
		return
	}
	r.touchedAt = now
}

// saveSnapshotLocked stores the document text so a later load replays only what came
// after. A failure only costs replay time, so it is logged, not returned.
func (r *room) saveSnapshotLocked(ctx context.Context) {
	st := r.doc.State()
	if st.Version <= r.snapshotAt {
		return
	}
	err := r.hub.store.SaveSnapshot(ctx, r.id, history.EncodeSnapshot(st.Version, st.Text))
	switch {
	case errors.Is(err, store.ErrQuota):
		// The session has stored all it may; loading it replays a little more.
		r.hub.logger.Debug("snapshot not stored: session quota reached", "session", r.id, "version", st.Version)
		return
	case errors.Is(err, store.ErrNotFound):
		return
	case err != nil:
		r.hub.logger.Warn("store snapshot failed", "session", r.id, "version", st.Version, "err", err)
		return
	}
	r.snapshotAt = st.Version
}
