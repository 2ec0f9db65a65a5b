package collab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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
	colors     map[string]string    // user id → color, kept while the room lives
	guests     int                  // "Guest N" names handed out
	arrivals   int                  // people who came, for ordering the list
	gone       bool                 // evicted, deleted or shut down: no more joins
	ended      chan struct{}        // closed when gone becomes true
	idle       *time.Timer          // pending eviction while nobody is connected or watching
	snapshotAt int                  // version of the newest stored snapshot
	touchedAt  time.Time            // last activity recorded in the store

	watchers    map[chan Presence]struct{} // pages following presence (Watch)
	lastEdit    map[string]time.Time       // user id → last accepted edit, for "typing"
	running     map[string]map[string]bool // user id → run ids in progress
	runLog      map[*client]*store.Run     // each connection's run in progress, stored when it ends
	typingTimer *time.Timer                // tells watchers when typing stops
}

// presence is one person, who may be connected from several tabs.
type presence struct {
	Person
	conns int // open connections (tabs)
	seq   int // arrival order
}

func newRoom(h *Hub, id string) *room {
	return &room{
		hub: h, id: id, loaded: make(chan struct{}), ended: make(chan struct{}),
		clients: map[*client]struct{}{}, people: map[string]*presence{}, colors: map[string]string{},
		watchers: map[chan Presence]struct{}{}, lastEdit: map[string]time.Time{}, running: map[string]map[string]bool{},
		runLog: map[*client]*store.Run{},
	}
}

// load reads the document from the store. On failure the room removes itself, so
// the next join tries again.
func (r *room) load(ctx context.Context) {
	defer close(r.loaded)
	s, err := history.Session(ctx, r.hub.store, r.id)
	if err == nil {
		var doc history.Loaded
		if doc, err = history.Load(ctx, r.hub.store, s, r.hub.limits.TailSize); err == nil {
			r.doc = ot.NewDocument(doc.State, ot.Limits{
				MaxLength: r.hub.limits.MaxDocLength, MaxParts: r.hub.limits.MaxParts, TailSize: r.hub.limits.TailSize,
			})
			r.lang, r.snapshotAt = s.Language, doc.Snapshot
			return
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

// palette is the colors given to participants: distinct, and readable as a cursor
// and as a name tag on light and dark themes.
var palette = [...]string{
	"#e06c75", "#4f8fe6", "#3fa66a", "#b26ad8", "#d99a2b", "#2aa6a6",
	"#e5793d", "#d9559a", "#7b7fe8", "#8aa23a", "#c75b5b", "#3b9fd1",
}

// colorLocked returns the color of a person: the one they had in this room, or the
// first one nobody connected has.
func (r *room) colorLocked(userID string) string {
	if c, ok := r.colors[userID]; ok {
		return c
	}
	used := map[string]int{}
	for _, p := range r.people {
		used[p.Color]++
	}
	best := palette[0]
	for _, c := range palette { // the least used, earliest in the palette
		if used[c] < used[best] {
			best = c
		}
		if used[best] == 0 {
			break
		}
	}
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

// JoinParams is who a connection says it is. Both fields are untrusted.
type JoinParams struct {
	UserID   string // a UUID the browser keeps; anything else gets a fresh one
	UserName string // sanitized by the hub
}

// join registers a new client and queues its sync, then tells the others. The sync
// and the registration happen under one lock, so no update falls between them.
func (r *room) join(p JoinParams) (*client, *protocolError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return nil, refuse(CodeSessionDeleted, "the session has ended")
	}
	existing := r.people[p.UserID]
	if existing == nil && len(r.people) >= r.hub.limits.MaxParticipants {
		return nil, refuse(CodeSessionFull, "this session already has %d participants", r.hub.limits.MaxParticipants)
	}
	name := SanitizeName(p.UserName)
	if name == "" {
		if existing != nil {
			name = existing.Name
		} else {
			r.guests++
			name = "Guest " + strconv.Itoa(r.guests)
		}
	}
	person := Person{ID: p.UserID, Name: name, Color: r.colorLocked(p.UserID)}
	c := newClient(r, person)
	announce := existing == nil || existing.Name != name
	if existing == nil {
		r.arrivals++
		r.people[p.UserID] = &presence{Person: person, conns: 1, seq: r.arrivals}
	} else {
		existing.conns++
		existing.Name = name // the newest tab's name wins: renaming reconnects
	}
	r.clients[c] = struct{}{}
	r.stopIdleLocked()
	r.touchLocked(r.hub.ctx)
	c.queue(r.syncLocked(person))
	if announce { // clients treat user_joined of someone present as a rename
		r.broadcastLocked(presenceMessage("user_joined", person), c)
		r.notifyLocked()
		go r.recordParticipant(person) // for the replay's names (replay.go)
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
	if run := r.runLog[c]; run != nil { // stored without an end
		delete(r.runLog, c)
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
	for c := range r.clients {
		if c != except {
			c.queue(msg)
		}
	}
}

// handle runs one decoded client message. It returns a refusal for the client, or
// nil; a refusal changes nothing.
func (r *room) handle(ctx context.Context, c *client, m *clientMessage) *protocolError {
	switch m.Type {
	case "edit":
		return r.edit(ctx, c, m)
	case "pull":
		return r.pull(ctx, c, m)
	case "cursor":
		return r.cursor(c, m)
	case "language":
		return r.language(ctx, c, m)
	case "run":
		return r.run(c, m)
	}
	return refuse(CodeUnknownType, "unknown message type %q", m.Type)
}

// maxClientIDBytes bounds a client id; @codemirror/collab makes short random ones.
const maxClientIDBytes = 128

// edit accepts a client's updates. The order is what makes an edit safe, so it
// reads top to bottom: parse; then, under the room's lock, prepare (validate,
// rebase and apply aside, changing nothing), store, commit to the document,
// broadcast. Nobody sees an update before it is stored, and a failed store
// leaves the document as it was.
func (r *room) edit(ctx context.Context, c *client, m *clientMessage) *protocolError {
	version, updates, perr := parseEdit(m, c.person.ID, r.hub.now().UTC(), r.hub.limits.MaxParts)
	if perr != nil {
		return perr
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return nil // the client is being cut off already
	}
	p, err := r.doc.Prepare(version, updates)
	if err != nil {
		return refusePush(err)
	}
	if len(p.Accepted) == 0 {
		// Everything was accepted before (a resend): tell the sender where the
		// document is, so it pulls what it lacks.
		c.queue(updateMessage(p.From, nil))
		return nil
	}
	if err := r.hub.store.AppendUpdates(ctx, r.id, p.From, history.Encode(p.Accepted)); err != nil {
		r.storeFailed(c, err)
		return nil
	}
	r.doc.Commit(p)
	r.hub.stats.accepted.Add(int64(len(p.Accepted)))
	r.broadcastLocked(updateMessage(p.From, p.Accepted), nil)
	r.editedLocked(c.person.ID) // (appending to the log counts as activity in the store)
	if r.doc.Version()-r.snapshotAt >= r.hub.limits.SnapshotEvery {
		r.saveSnapshotLocked(ctx)
	}
	return nil
}

// parseEdit reads an edit message: the version it was made on and its updates,
// stamped with who made them and when.
func parseEdit(m *clientMessage, userID string, now time.Time, maxParts int) (int, []ot.Update, *protocolError) {
	if m.Version == nil {
		return 0, nil, refuse(CodeBadMessage, `field "version" is missing`)
	}
	var wire []clientUpdate
	switch {
	case m.Updates != nil && m.Changes != nil:
		return 0, nil, refuse(CodeBadMessage, `give "updates" or "changes", not both`)
	case m.Updates != nil:
		wire = m.Updates
	case m.Changes != nil:
		wire = []clientUpdate{{ClientID: &userID, Changes: m.Changes}}
	default:
		return 0, nil, refuse(CodeBadMessage, `field "updates" is missing`)
	}
	if len(wire) == 0 {
		return 0, nil, refuse(CodeBadMessage, `field "updates" is empty`)
	}
	updates := make([]ot.Update, len(wire))
	for i, w := range wire {
		switch {
		case w.ClientID == nil || *w.ClientID == "":
			return 0, nil, refuse(CodeBadMessage, "update %d has no clientID", i)
		case len(*w.ClientID) > maxClientIDBytes:
			return 0, nil, refuse(CodeBadMessage, "update %d: clientID longer than %d bytes", i, maxClientIDBytes)
		case w.Changes == nil:
			return 0, nil, refuse(CodeBadMessage, "update %d has no changes", i)
		}
		cs, err := ot.ParseChangeSetLimit(w.Changes, maxParts)
		if err != nil {
			return 0, nil, refuse(CodeInvalidChanges, "update %d: %v", i, err)
		}
		updates[i] = ot.Update{ClientID: *w.ClientID, Changes: cs, UserID: userID, Time: now}
	}
	return *m.Version, updates, nil
}

// refusePush maps a push the document refused to what the client is told.
func refusePush(err error) *protocolError {
	switch {
	case errors.Is(err, ot.ErrVersionAhead):
		return refuse(CodeVersionAhead, "%v", err)
	case errors.Is(err, ot.ErrInvalidVersion):
		return refuse(CodeBadMessage, "%v", err)
	case errors.Is(err, ot.ErrResync), errors.Is(err, ot.ErrRebaseTooCostly):
		return refuse(CodeVersionTooOld, "pull from your version, then push again: %v", err)
	case errors.Is(err, ot.ErrDocTooLarge):
		return refuse(CodeDocTooLarge, "%v", err)
	}
	return refuse(CodeInvalidChanges, "%v", err)
}

// storeFailed cuts off a client whose updates the store did not take: nothing was
// accepted, and it resends them after reconnecting instead of waiting for a
// confirmation that never comes.
func (r *room) storeFailed(c *client, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.kick(closeReason{status: StatusSessionDeleted, code: CodeSessionDeleted, message: "the session was deleted"})
	case errors.Is(err, context.Canceled), errors.Is(err, store.ErrClosed):
		c.kick(closeReason{status: statusGoingAway, message: "server shutting down"})
	default:
		r.hub.logger.Error("store update failed", "session", r.id, "user", c.person.ID, "err", err)
		c.kick(closeReason{status: statusInternalError, message: "could not save the update"})
	}
}

// pullBatch caps the updates of one update message answering a pull.
const pullBatch = 1000

func (r *room) pull(ctx context.Context, c *client, m *clientMessage) *protocolError {
	if m.Version == nil {
		return refuse(CodeBadMessage, `field "version" is missing`)
	}
	v := *m.Version
	r.mu.Lock()
	defer r.mu.Unlock()
	updates, err := r.doc.Since(v)
	if errors.Is(err, ot.ErrResync) {
		// Older than memory: the store has the whole log.
		updates, err = history.Read(ctx, r.hub.store, r.id, v, r.doc.Version())
	}
	switch {
	case errors.Is(err, ot.ErrVersionAhead):
		return refuse(CodeVersionAhead, "%v", err)
	case errors.Is(err, ot.ErrInvalidVersion):
		return refuse(CodeBadMessage, "%v", err)
	case err != nil:
		r.hub.logger.Error("pull failed", "session", r.id, "user", c.person.ID, "version", v, "err", err)
		c.queue(r.syncLocked(c.person)) // a client that cannot pull starts again from the full state
		return nil
	}
	if len(updates) == 0 {
		c.queue(updateMessage(v, nil))
	}
	for start := 0; start < len(updates); start += pullBatch {
		end := min(start+pullBatch, len(updates))
		c.queue(updateMessage(v+start, updates[start:end]))
	}
	return nil
}

// maxCursorRanges bounds a selection; CodeMirror's multi-cursor rarely goes past a few.
const maxCursorRanges = 100

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

func (r *room) language(ctx context.Context, c *client, m *clientMessage) *protocolError {
	if m.Language == nil {
		return refuse(CodeBadMessage, `field "language" is missing`)
	}
	lang := *m.Language
	if LanguageLabel(lang) == "" {
		return refuse(CodeBadMessage, "unsupported language %q; use one of %s", lang, strings.Join(Languages(), ", "))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.setLanguageLocked(ctx, lang, c.person.ID); err != nil {
		r.hub.logger.Error("store language failed", "session", r.id, "err", err)
	}
	return nil
}

// setLanguageLocked stores the language and tells every editor and page.
func (r *room) setLanguageLocked(ctx context.Context, lang, userID string) error {
	if r.gone {
		return ErrNotFound
	}
	if err := r.hub.store.SetLanguage(ctx, r.id, lang); err != nil {
		return fmt.Errorf("store language: %w", err)
	}
	r.lang = lang
	r.broadcastLocked(languageMessage(lang, userID), nil)
	r.notifyLocked()
	return nil
}

func (r *room) run(c *client, m *clientMessage) *protocolError {
	previous := c.runs.current
	e, perr := c.runs.check(m, r.hub.limits)
	if perr != nil || e == nil {
		return perr
	}
	now := r.hub.now().UTC()
	var done *store.Run // a run to store once the lock is released
	r.mu.Lock()
	switch e.event {
	case "start":
		if previous != "" && previous != e.runID { // a run that never said it ended
			r.runningLocked(c.person.ID, previous, false)
		}
		r.runningLocked(c.person.ID, e.runID, true)
		done = r.runLog[c] // stored without an end, if it never said it ended
		r.runLog[c] = &store.Run{
			ID: e.runID, UserID: c.person.ID, UserName: c.person.Name, Language: r.lang,
			Title: e.text, Version: r.doc.Version(), Started: now,
		}
	case "output":
		if run := r.runLog[c]; run != nil && run.ID == e.runID { // already capped by runTracker
			run.Output = append(run.Output, store.RunOutput{Stream: e.stream, Text: e.text})
			run.Truncated = run.Truncated || e.truncated
		}
	case "end":
		r.runningLocked(c.person.ID, e.runID, false)
		if run := r.runLog[c]; run != nil && run.ID == e.runID {
			delete(r.runLog, c)
			run.Ended, run.Status, run.Truncated = now, e.status, run.Truncated || e.truncated
			done = run
		}
	}
	r.broadcastLocked(runMessage(c.person.ID, *e), c)
	r.mu.Unlock()
	if done != nil {
		r.recordRun(done)
	}
	return nil
}

// recordRun stores a finished or abandoned run for the replay. A failure costs only
// the replay's mark, so it is logged, not returned.
func (r *room) recordRun(run *store.Run) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.hub.store.AppendRun(ctx, r.id, *run)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrClosed) {
		r.hub.logger.Warn("store run failed", "session", r.id, "run", run.ID, "err", err)
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
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			r.hub.logger.Warn("store snapshot failed", "session", r.id, "version", st.Version, "err", err)
		}
		return
	}
	r.snapshotAt = st.Version
}

// maxNameRunes is how long a display name may be.
const maxNameRunes = 40

// SanitizeName makes a display name safe to show: control and format characters
// (which can reorder or hide text) dropped, white space trimmed, cut to 40 code
// points. It may return "" (the hub then names the person "Guest N").
func SanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxNameRunes {
		s = string([]rune(s)[:maxNameRunes])
	}
	return strings.TrimSpace(s)
}
