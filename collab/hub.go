package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"duet/collab/ot"
	"duet/store"
)

// Limits bound what one client or one session may cost. Zero fields take the defaults
// in parentheses, which docs/protocol.md lists too.
type Limits struct {
	// What one client may send.
	MaxMessageBytes int     // largest frame a client may send (2 MiB)
	MaxParts        int     // most parts in one change set
	RatePerSecond   float64 // messages per second per connection (100)
	RateBurst       int     // burst of the rate (200)

	// Who may be in a session. People are counted by who they say they are, and
	// anyone can say they are someone new each time: connections and arrivals are
	// counted as well.
	MaxParticipants      int // distinct people in one session (50)
	MaxConnections       int // connections to one session, whoever they are from (4 × MaxParticipants)
	MaxPersonConnections int // connections (tabs) one person may hold in one session (8)
	JoinsPerMinute       int // arrivals and renames, each told to everyone, as a burst and then per minute (2 × MaxParticipants)
	MaxRecordedPeople    int // people of one session recorded for the replay's names (500)

	// What the server holds for a session and its clients, in bytes as well as in
	// counts, whatever the clients send.
	MaxDocLength   int // largest document, UTF-16 units (1 MiB)
	TailSize       int // accepted updates kept in memory per session (10,000)
	TailBytes      int // bytes those updates may hold in memory (8 MiB); older ones are read from the store
	SendQueue      int // messages queued for one client before it is cut off (256)
	SendQueueBytes int // bytes of those (16 MiB; raised to MinSendQueueBytes, so that any message fits)
	PullBytes      int // bytes of updates in one answer to a pull (1 MiB; one update at least, then "more")

	// Runs, relayed to the others and stored for the replay.
	MaxRunText    int     // bytes of one run output message relayed (64 KiB)
	MaxRunBytes   int     // bytes of output relayed per run (1 MiB)
	MaxRunTitle   int     // bytes of a run's title, what its start names (256)
	RunsPerSecond float64 // runs one connection may start a second (2)
	RunBurst      int     // burst of those (10)

	IdleTTL       time.Duration // how long a session with nobody left stays in memory (2 min)
	PingInterval  time.Duration // keepalive pings; a dead peer is noticed within two (15 s)
	WriteTimeout  time.Duration // longest the writing of one burst of queued messages may take (10 s)
	SnapshotEvery int           // accepted updates between stored snapshots (500)
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxMessageBytes, 2<<20)
	def(&l.MaxDocLength, ot.DefaultMaxLength)
	def(&l.MaxParts, ot.DefaultMaxParts)
	def(&l.RateBurst, 200)
	def(&l.MaxParticipants, 50)
	def(&l.MaxConnections, 4*l.MaxParticipants)
	def(&l.MaxPersonConnections, 8)
	def(&l.JoinsPerMinute, 2*l.MaxParticipants)
	def(&l.MaxRecordedPeople, 500)
	def(&l.SendQueue, 256)
	def(&l.PullBytes, 1<<20)
	def(&l.SendQueueBytes, 16<<20)
	l.SendQueueBytes = max(l.SendQueueBytes, l.MinSendQueueBytes())
	def(&l.MaxRunText, 64<<10)
	def(&l.MaxRunTitle, 256)
	def(&l.RunBurst, 10)
	if l.RunsPerSecond <= 0 {
		l.RunsPerSecond = 2
	}
	def(&l.MaxRunBytes, 1<<20)
	def(&l.SnapshotEvery, 500)
	def(&l.TailSize, ot.DefaultTailSize)
	def(&l.TailBytes, ot.DefaultTailBytes)
	if l.RatePerSecond <= 0 {
		l.RatePerSecond = 100
	}
	if l.IdleTTL <= 0 {
		l.IdleTTL = 2 * time.Minute
	}
	if l.PingInterval <= 0 {
		l.PingInterval = 15 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
	return l
}

// maxEscape is the most bytes the server's JSON spends on one UTF-16 unit (or one
// byte a client sent): \u003c for "<", \udxxx for a lone surrogate.
const maxEscape = 6

// MaxServerMessage is the largest message the server can send within these limits:
// a sync of a document at its largest, or the update made of a frame at its largest,
// every unit escaped, with room for the participants list.
func (l Limits) MaxServerMessage() int {
	return maxEscape*max(l.MaxDocLength, l.MaxMessageBytes) + 64<<10
}

// MinSendQueueBytes is the least SendQueueBytes may be: the largest message, after
// an answer to a pull at its largest.
func (l Limits) MinSendQueueBytes() int {
	return l.MaxServerMessage() + l.PullBytes
}

// HubConfig holds the hub's dependencies and tunables.
type HubConfig struct {
	Store  store.Store
	Logger *slog.Logger
	Now    func() time.Time // the clock; nil means time.Now
	Limits Limits
	// Observer is told of messages, fan-outs and disconnections (for metrics); nil
	// observes nothing.
	Observer Observer
	// Bus links this process to the others serving the same store's sessions;
	// nil: this process is alone (see Bus). A shared store must be a
	// store.LockedAppender: NewHub panics otherwise.
	Bus Bus
	// Heartbeat is how often, with a bus, each process tells the others who is
	// connected through it (1 s); the people of a process silent for three
	// heartbeats are gone.
	Heartbeat time.Duration
}

// Hub owns the live sessions of one process: their documents, who is connected, and
// the fan-out of updates. It is safe for concurrent use.
//
// Lock order: Hub.mu before room.mu. A room's document has no lock of its own: it
// is used only under room.mu.
type Hub struct {
	store    store.Store
	logger   *slog.Logger
	now      func() time.Time
	limits   Limits
	observer Observer

	ctx    context.Context // ends every connection when the hub closes
	cancel context.CancelFunc

	mu     sync.Mutex
	rooms  map[string]*room // live sessions by id; guarded by mu
	closed bool             // guarded by mu
	saved  chan struct{}    // closed once Shutdown has stored every live document
	conns  sync.WaitGroup   // running Serve calls; Add only under mu while !closed

	stats hubStats

	// With a bus: this process's name on it, the events waiting to be published,
	// the rooms whose presence changed, and the publisher's end.
	bus         Bus
	processID   string
	outbox      chan BusEvent
	dirty       chan *room
	heartbeat   time.Duration
	presenceTTL time.Duration
	published   chan struct{}
}

// hubStats are counters for logs and benchmarks.
type hubStats struct {
	connsOpened, connsClosed, messages, accepted atomic.Int64
	conflicts                                    atomic.Int64 // appends another process beat to the log
	refused                                      sync.Map     // code → *atomic.Int64
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Rooms           int
	ConnsOpen       int64
	ConnsOpened     int64
	Messages        int64            // client messages handled
	UpdatesAccepted int64            // updates appended to documents
	RefusedByCode   map[string]int64 // error codes sent, by code
	AppendConflicts int64            // appends another process beat to the log (with a bus): caught up and tried again
}

// NewHub returns a hub over the given store.
func NewHub(cfg HubConfig) *Hub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		store: cfg.Store, logger: cfg.Logger, now: cfg.Now, limits: cfg.Limits.withDefaults(),
		ctx: ctx, cancel: cancel, rooms: make(map[string]*room), saved: make(chan struct{}),
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.observer = cfg.Observer
	if h.observer == nil {
		h.observer = nopObserver{}
	}
	if cfg.Bus != nil {
		if _, ok := cfg.Store.(store.LockedAppender); !ok {
			panic(fmt.Sprintf("collab: a store shared through a bus must hold a session's log for a contended append; %T cannot", cfg.Store))
		}
		h.bus, h.processID = cfg.Bus, newProcessID()
		h.heartbeat = cfg.Heartbeat
		if h.heartbeat <= 0 {
			h.heartbeat = time.Second
		}
		h.presenceTTL = 3 * h.heartbeat
		h.outbox, h.dirty, h.published = make(chan BusEvent, publishQueue), make(chan *room, 64), make(chan struct{})
		go h.publisher()
	}
	return h
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	rooms := len(h.rooms)
	h.mu.Unlock()
	s := Stats{
		Rooms:           rooms,
		ConnsOpened:     h.stats.connsOpened.Load(),
		ConnsOpen:       h.stats.connsOpened.Load() - h.stats.connsClosed.Load(),
		Messages:        h.stats.messages.Load(),
		UpdatesAccepted: h.stats.accepted.Load(),
		AppendConflicts: h.stats.conflicts.Load(),
		RefusedByCode:   map[string]int64{},
	}
	h.stats.refused.Range(func(k, v any) bool {
		s.RefusedByCode[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return s
}

func (h *Hub) countRefused(code string) {
	v, _ := h.stats.refused.LoadOrStore(code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// Open loads a session's live state, so that connections can join it; ErrNotFound
// when there is no such session. The room stays until nobody uses it for IdleTTL.
func (h *Hub) Open(ctx context.Context, id string) error {
	_, err := h.room(ctx, id)
	return err
}

// room returns the live room of a session, loading it from the store when needed.
// It returns ErrNotFound for a session that does not exist.
func (h *Hub) room(ctx context.Context, id string) (*room, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, errHubClosed
		}
		r := h.rooms[id]
		if r == nil {
			r = newRoom(h, id)
			h.rooms[id] = r
			h.mu.Unlock()
			r.load(ctx)
		} else {
			h.mu.Unlock()
		}
		if err := r.waitLoaded(ctx); err != nil {
			if errors.Is(err, errRoomGone) {
				continue // evicted or failed to load while we looked: try again
			}
			return nil, err
		}
		return r, nil
	}
}

var (
	errHubClosed = errors.New("hub closed")
	errRoomGone  = errors.New("room gone")
)

// endRoom ends a deleted session's live state: everyone connected is told and cut off.
func (h *Hub) endRoom(id string) {
	h.mu.Lock()
	r := h.rooms[id]
	delete(h.rooms, id)
	h.mu.Unlock()
	if r != nil {
		r.end(closeReason{status: StatusSessionDeleted, code: CodeSessionDeleted, message: "the session was deleted by its owner"})
	}
}

// evict drops a room that has stayed empty; its state is in the store.
func (h *Hub) evict(r *room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.idle = nil
	if len(r.clients) > 0 || len(r.watchers) > 0 || r.gone || h.rooms[r.id] != r {
		return
	}
	r.saveSnapshotLocked(context.Background())
	r.goneLocked()
	delete(h.rooms, r.id)
	h.logger.Debug("session evicted from memory", "session", r.id)
}

// Shutdown ends every connection with 1001 (going away) and waits until they have
// closed or ctx ends. The process is shutting down; nothing accepted is lost, because
// updates are stored before anyone sees them. It may be called more than once.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	first := !h.closed
	h.closed = true
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	clear(h.rooms)
	h.mu.Unlock()
	if first {
		for _, r := range rooms {
			r.mu.Lock()
			r.publishLocked(busEvent{Type: evLeaving}) // its people go now, not at their expiry
			r.mu.Unlock()
		}
		h.cancel()
		if h.bus != nil {
			<-h.published // the events queued are sent
		}
		for _, r := range rooms {
			r.end(closeReason{status: statusGoingAway, message: "server shutting down"})
			r.mu.Lock()
			if r.doc != nil {
				r.saveSnapshotLocked(ctx)
			}
			r.mu.Unlock()
		}
		close(h.saved)
	}
	done := make(chan struct{})
	go func() {
		<-h.saved // a second caller waits for the first one's snapshots too
		h.conns.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("hub shutdown: %w", ctx.Err())
	}
}

// track registers a running connection, unless the hub is shutting down.
func (h *Hub) track() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns.Add(1)
	return true
}
