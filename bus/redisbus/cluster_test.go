package redisbus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"duet/bus/redisbus"
	"duet/bus/redisbus/redistest"
	"duet/collab"
	"duet/collab/history"
	"duet/collab/ot"
	"duet/collab/ot/ottest"
	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
)

// node is one duet process as far as sessions go: its own pool to the shared
// database, its own connection to the shared Redis, its hub and its WebSocket
// endpoint (what handlers/ws.go does, without echo).
type node struct {
	*httptest.Server
	hub   *collab.Hub
	store *postgres.Store
	bus   *redisbus.Bus

	mu    sync.Mutex
	conns map[net.Conn]bool // open connections, hijacked ones included
}

// testHeartbeat keeps presence tests short: people of a silent process go after
// three of them.
const testHeartbeat = 200 * time.Millisecond

func newNode(t *testing.T, dbURL, redisURL string) *node {
	t.Helper()
	return newNodeLimits(t, dbURL, redisURL, collab.Limits{})
}

func newNodeLimits(t *testing.T, dbURL, redisURL string, lim collab.Limits) *node {
	t.Helper()
	return newNodeStore(t, dbURL, redisURL, lim, func(st *postgres.Store) store.Store { return st })
}

// newNodeStore makes a node whose hub uses what wrap makes of its store.
func newNodeStore(t *testing.T, dbURL, redisURL string, lim collab.Limits, wrap func(*postgres.Store) store.Store) *node {
	t.Helper()
	ctx := t.Context()
	st, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus, err := redisbus.Open(ctx, redisURL, redisbus.Options{HealthCheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	hub := collab.NewHub(collab.HubConfig{Store: wrap(st), Bus: bus, Heartbeat: testHeartbeat, Logger: logger, Limits: lim})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/ws/")
		if _, err := hub.Session(r.Context(), id); err != nil {
			http.NotFound(w, r)
			return
		}
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		q := r.URL.Query()
		role := collab.RoleCandidate
		if q.Get("role") == string(collab.RoleInterviewer) {
			role = collab.RoleInterviewer
		}
		hub.Serve(conn, id, collab.JoinParams{Secret: q.Get("userId"), UserName: q.Get("userName"), Role: role})
	}))
	n := &node{Server: srv, hub: hub, store: st, bus: bus, conns: map[net.Conn]bool{}}
	// Every connection is tracked, WebSockets (hijacked) included, so that kill can
	// drop them all as a dead process's would drop.
	srv.Config.ConnState = func(c net.Conn, state http.ConnState) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if state == http.StateClosed {
			delete(n.conns, c)
		} else {
			n.conns[c] = true
		}
	}
	srv.Start()
	t.Cleanup(func() { n.shutdown() })
	return n
}

// shutdown stops the node as duet does on SIGTERM. Safe to call twice.
func (n *node) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.hub.Shutdown(ctx)
	n.Server.CloseClientConnections()
	n.Server.Close()
	n.bus.Close()
	n.store.Close()
}

// kill stops the node as a crash would, as far as the others can tell: its bus
// goes silent first (no goodbye, no last heartbeat), then its sockets drop.
func (n *node) kill() {
	n.bus.Close()
	n.Listener.Close()
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.conns {
		c.Close()
	}
}

func newCluster(t *testing.T, size int) (*redistest.Server, []*node, string) {
	t.Helper()
	rs := redistest.Start(t)
	db := pgtest.NewDatabase(t)
	nodes := make([]*node, size)
	for i := range nodes {
		nodes[i] = newNode(t, db, rs.URL)
	}
	return rs, nodes, db
}

func mustSession(t *testing.T, n *node) string {
	t.Helper()
	info, _, err := n.hub.CreateSession(t.Context(), "python")
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// msg is any server message, decoded loosely.
type msg struct {
	Type     string          `json:"type"`
	Version  int             `json:"version"`
	Content  json.RawMessage `json:"content"`
	Language string          `json:"language"`
	Users    []struct {
		ID, Name, Color string
	} `json:"users"`
	Updates []struct {
		ClientID string          `json:"clientID"`
		Changes  json.RawMessage `json:"changes"`
	} `json:"updates"`
	More     bool   `json:"more"`
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	raw      []byte
}

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, n *node, session string, q url.Values) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(n.URL, "http") + "/ws/" + session + "?" + q.Encode()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(v string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, []byte(v))
}

func (c *wsClient) tryRead(d time.Duration) (msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return msg{}, err
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		return msg{}, fmt.Errorf("decode %s: %w", b, err)
	}
	m.raw = b
	return m, nil
}

// readUntil reads until a message satisfies ok, failing after a generous deadline.
func (c *wsClient) readUntil(what string, ok func(msg) bool) msg {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.tryRead(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(m) {
			return m
		}
	}
	c.t.Fatalf("no %s within 15 s", what)
	return msg{}
}

// editor is a collab client as the editor island runs it: unconfirmed updates, one
// push in flight, each received update applied on its own (the sequential rebase).
type editor struct {
	mu       sync.Mutex
	clientID string
	version  int
	text     ot.Text
	pending  []*ot.ChangeSet
	inFlight bool
	seen     map[int]string // every update it saw, by version: clientID and changes
}

func newEditor(clientID string, sync msg) (*editor, error) {
	var text ot.Text
	if err := text.UnmarshalJSON(sync.Content); err != nil {
		return nil, err
	}
	return &editor{clientID: clientID, version: sync.Version, text: text, seen: map[int]string{}}, nil
}

func (e *editor) localEdit(rng *rand.Rand) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, err := ot.ParseChangeSet(ottest.EditJSON(rng, e.text.Len(), "😀", "漢字", "é"))
	if err != nil {
		return err
	}
	if e.text, err = cs.Apply(e.text); err != nil {
		return err
	}
	e.pending = append(e.pending, cs)
	return nil
}

func (e *editor) pushMessage() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight || len(e.pending) == 0 {
		return ""
	}
	e.inFlight = true
	parts := make([]string, len(e.pending))
	for i, cs := range e.pending {
		b, _ := cs.MarshalJSON()
		parts[i] = fmt.Sprintf(`{"clientID":%q,"changes":%s}`, e.clientID, b)
	}
	return fmt.Sprintf(`{"type":"edit","version":%d,"updates":[%s]}`, e.version, strings.Join(parts, ","))
}

// receive applies an update message; it returns whether the client must pull.
func (e *editor) receive(m msg) (pull bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m.Version > e.version {
		return true, nil
	}
	if len(m.Updates) == 0 {
		e.inFlight = false
		return m.Version > e.version, nil
	}
	for i, u := range m.Updates {
		v := m.Version + i
		if v < e.version {
			continue
		}
		e.seen[v] = u.ClientID + " " + string(u.Changes)
		cs, err := ot.ParseChangeSet(u.Changes)
		if err != nil {
			return false, fmt.Errorf("update %d: %w", v, err)
		}
		if u.ClientID == e.clientID {
			if len(e.pending) == 0 {
				return false, fmt.Errorf("update %d confirms nothing pending", v)
			}
			e.pending = e.pending[1:]
			e.inFlight = false
		} else {
			c := cs
			for j, p := range e.pending {
				mapped, err := p.Map(c, false)
				if err != nil {
					return false, err
				}
				if c, err = c.Map(p, true); err != nil {
					return false, err
				}
				e.pending[j] = mapped
			}
			if e.text, err = c.Apply(e.text); err != nil {
				return false, fmt.Errorf("apply update %d: %w", v, err)
			}
		}
		e.version = v + 1
	}
	return m.More, nil
}

func (e *editor) state() (version int, text string, pending int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.version, string(e.text.AppendJSON(nil)), len(e.pending)
}

// typist is an editor connected to a node, applying what it receives on a reader
// goroutine of its own.
type typist struct {
	*editor
	cmu  sync.Mutex
	c    *wsClient // its connection now; replaced when it reconnects
	errs chan error
	done chan struct{}
}

func (tp *typist) conn() *wsClient {
	tp.cmu.Lock()
	defer tp.cmu.Unlock()
	return tp.c
}

// reconnect connects the typist to another node, as the editor island does after
// losing its connection: it keeps its version and its unconfirmed updates, pulls
// what it missed and pushes them again (the server drops those it already has).
func (tp *typist) reconnect(t *testing.T, n *node, session, user string) {
	t.Helper()
	c := dial(t, n, session, url.Values{"userId": {user}, "userName": {user}})
	c.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	tp.cmu.Lock()
	tp.c = c
	tp.cmu.Unlock()
	tp.mu.Lock()
	tp.inFlight = false
	v := tp.version
	tp.mu.Unlock()
	tp.done = make(chan struct{})
	go tp.read()
	if err := c.send(fmt.Sprintf(`{"type":"pull","version":%d}`, v)); err != nil {
		t.Fatal(err)
	}
}

func connect(t *testing.T, n *node, session, clientID, user string) *typist {
	t.Helper()
	c := dial(t, n, session, url.Values{"userId": {user}, "userName": {user}})
	sync := c.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	e, err := newEditor(clientID, sync)
	if err != nil {
		t.Fatal(err)
	}
	tp := &typist{editor: e, c: c, errs: make(chan error, 1), done: make(chan struct{})}
	go tp.read()
	return tp
}

func (tp *typist) fail(err error) {
	select {
	case tp.errs <- err:
	default:
	}
}

func (tp *typist) read() {
	defer close(tp.done)
	c := tp.conn()
	for {
		m, err := c.tryRead(time.Minute)
		if err != nil {
			if s := websocket.CloseStatus(err); s != -1 && s != websocket.StatusNormalClosure {
				tp.fail(fmt.Errorf("connection closed: %w", err))
			}
			return
		}
		switch m.Type {
		case "update":
			pull, err := tp.receive(m)
			if err != nil {
				tp.fail(err)
				return
			}
			if pull {
				v, _, _ := tp.state()
				if err := c.send(fmt.Sprintf(`{"type":"pull","version":%d}`, v)); err != nil {
					return
				}
			}
		case "error":
			tp.fail(fmt.Errorf("server error: %s", m.raw))
			return
		}
	}
}

// push sends what is pending, if nothing is in flight.
func (tp *typist) push() error {
	if m := tp.pushMessage(); m != "" {
		return tp.conn().send(m)
	}
	return nil
}

// settle waits until every typist has no update pending and all are at the
// version of the log in the store, failing on a client's error.
func settle(t *testing.T, st *postgres.Store, session string, tps []*typist) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, tp := range tps {
			select {
			case err := <-tp.errs:
				t.Fatalf("client %s: %v", tp.clientID, err)
			default:
			}
			_ = tp.push()
		}
		s, err := st.Session(t.Context(), session)
		if err != nil {
			t.Fatal(err)
		}
		settled := true
		for _, tp := range tps {
			v, _, p := tp.state()
			settled = settled && p == 0 && v == s.Version
		}
		if settled {
			return s.Version
		}
		if time.Now().After(deadline) {
			for _, tp := range tps {
				v, _, p := tp.state()
				t.Logf("client %s: version %d, %d pending", tp.clientID, v, p)
			}
			t.Fatalf("clients did not settle at the log's version %d within 30 s", s.Version)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkConverged checks that every client and every node's replica hold the text
// the log in PostgreSQL gives at its end, and that what each client saw of the log
// is the log.
func checkConverged(t *testing.T, nodes []*node, session string, tps []*typist, version int) {
	t.Helper()
	ctx := t.Context()
	want, err := history.TextAt(ctx, nodes[0].store, session, version)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := string(want.AppendJSON(nil))
	for _, tp := range tps {
		if _, text, _ := tp.state(); text != wantJSON {
			t.Errorf("client %s has %.200s, the log gives %.200s", tp.clientID, text, wantJSON)
		}
	}
	for i, n := range nodes {
		info, err := n.hub.Session(ctx, session)
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != version || string(info.Text.AppendJSON(nil)) != wantJSON {
			t.Errorf("node %d's replica is at %d with %.200s; the log is at %d with %.200s", i, info.Version, info.Text.AppendJSON(nil), version, wantJSON)
		}
	}
	log, err := history.Read(ctx, nodes[0].store, session, 0, version, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range tps {
		tp.mu.Lock()
		for v, got := range tp.seen {
			u := log[v]
			if want := u.ClientID + " " + string(u.Changes.AppendJSON(nil)); got != want {
				t.Errorf("client %s saw update %d as %.120s; the log has %.120s", tp.clientID, v, got, want)
			}
		}
		tp.mu.Unlock()
	}
}

// TestClusterConverges: three processes sharing one database and one Redis, two
// clients on each typing emoji and CJK at random paces → every client and every
// process's replica ends at the text of the log in PostgreSQL.
func TestClusterConverges(t *testing.T) {
	_, nodes, _ := newCluster(t, 3)
	session := mustSession(t, nodes[0])
	var tps []*typist
	for i := range 6 {
		tps = append(tps, connect(t, nodes[i%3], session, fmt.Sprintf("c%d", i), fmt.Sprintf("user%d", i)))
	}
	const edits = 40
	start := time.Now()
	var wg sync.WaitGroup
	for i, tp := range tps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for range edits {
				if err := tp.localEdit(rng); err != nil {
					tp.fail(err)
					return
				}
				if err := tp.push(); err != nil {
					tp.fail(err)
					return
				}
				time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	version := settle(t, nodes[0].store, session, tps)
	conflicts := 0
	for _, n := range nodes {
		conflicts += int(n.hub.Stats().AppendConflicts)
	}
	t.Logf("BENCH cluster 3 processes, 6 clients: %d updates in the log in %v, %d appends beaten by another process", version, time.Since(start), conflicts)
	if version == 0 {
		t.Fatal("nothing was stored")
	}
	checkConverged(t, nodes, session, tps, version)
}

// TestClusterConflictingPushes: two processes take pushes made on the same version
// while the bus is down, so the second one's append conflicts in PostgreSQL: it
// catches up from the store and rebases. Both updates end up in the log, in one
// order both clients agree on, and once Redis is back the first process catches up
// too (the gap is filled from PostgreSQL).
func TestClusterConflictingPushes(t *testing.T) {
	rs, nodes, _ := newCluster(t, 2)
	session := mustSession(t, nodes[0])
	a := connect(t, nodes[0], session, "ca", "alice")
	b := connect(t, nodes[1], session, "cb", "bob")
	tps := []*typist{a, b}

	rs.Stop()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		// Both edit on the version they share; a's push is stored first.
		for _, tp := range tps {
			if err := tp.localEdit(rng); err != nil {
				t.Fatal(err)
			}
		}
		// From the second round on, a is one behind (its process has not
		// heard of b's update): its process's append conflicts in turn.
		va, _, _ := a.state()
		vb, _, _ := b.state()
		if round == 0 && va != vb {
			t.Fatalf("clients at %d and %d, want the same version", va, vb)
		}
		va = vb
		if err := a.push(); err != nil {
			t.Fatal(err)
		}
		waitVersion(t, nodes[0].store, session, va+1)
		if err := b.push(); err != nil {
			t.Fatal(err)
		}
		waitVersion(t, nodes[0].store, session, va+2)
		// b's process saw a's update in the store: b has both. a learns of b's
		// when it edits next (its process then conflicts) or when Redis is back.
		if round == 4 {
			rs.Restart(t)
		}
		settleOne(t, b, va+2)
	}
	version := settle(t, nodes[0].store, session, tps)
	if version != 10 {
		t.Fatalf("log has %d updates, want 10 (5 rounds of 2)", version)
	}
	if c0, c1 := nodes[0].hub.Stats().AppendConflicts, nodes[1].hub.Stats().AppendConflicts; c0 < 4 || c1 < 5 {
		t.Errorf("appends beaten by the other process: %d and %d, want 4 and 5 at least: the conflict path was not taken", c0, c1)
	}
	checkConverged(t, nodes, session, tps, version)
}

// slowReads is a store whose reads of a session and its log each take delay
// longer: the process using it catches up from the store more slowly than another
// one appends.
type slowReads struct {
	*postgres.Store
	delay time.Duration
}

func (s slowReads) Session(ctx context.Context, id string) (store.Session, error) {
	time.Sleep(s.delay)
	return s.Store.Session(ctx, id)
}

func (s slowReads) Updates(ctx context.Context, id string, from, to, maxBytes int) ([]store.Update, error) {
	time.Sleep(s.delay)
	return s.Store.Updates(ctx, id, from, to, maxBytes)
}

// TestClusterSlowProcessGetsItsTurn: one client types without a pause through one
// process, and another pushes through a process that reads the log more slowly than
// the first one appends to it. Each of the second one's appends that loses the race
// is caught up and stored while the log is held for it: every push is confirmed, and
// nobody is cut off.
func TestClusterSlowProcessGetsItsTurn(t *testing.T) {
	rs := redistest.Start(t)
	db := pgtest.NewDatabase(t)
	fast := newNode(t, db, rs.URL)
	slow := newNodeStore(t, db, rs.URL, collab.Limits{}, func(st *postgres.Store) store.Store {
		return slowReads{Store: st, delay: 50 * time.Millisecond}
	})
	session := mustSession(t, fast)
	a := connect(t, fast, session, "ca", "alice")
	b := connect(t, slow, session, "cb", "bob")

	stop := make(chan struct{})
	typed := make(chan struct{})
	go func() {
		defer close(typed)
		rng := rand.New(rand.NewPCG(3, 4))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := a.localEdit(rng); err != nil {
				a.fail(err)
				return
			}
			if err := a.push(); err != nil {
				a.fail(err)
				return
			}
			time.Sleep(20 * time.Millisecond) // within the rate limit, and far faster than the slow process reads
		}
	}()
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5 {
		if err := b.localEdit(rng); err != nil {
			t.Fatal(err)
		}
		if err := b.push(); err != nil {
			t.Fatal(err)
		}
		v, _, _ := b.state()
		settleOne(t, b, v)
	}
	close(stop)
	<-typed
	if n := slow.hub.Stats().AppendConflicts; n == 0 {
		t.Fatal("no append of the slow process lost the race: the test did not test the contended append")
	}
	version := settle(t, fast.store, session, []*typist{a, b})
	checkConverged(t, []*node{fast, slow}, session, []*typist{a, b}, version)
}

func waitVersion(t *testing.T, st *postgres.Store, session string, version int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := st.Session(t.Context(), session)
		if err != nil {
			t.Fatal(err)
		}
		if s.Version >= version {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log stayed at %d, want %d", s.Version, version)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func settleOne(t *testing.T, tp *typist, version int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-tp.errs:
			t.Fatalf("client %s: %v", tp.clientID, err)
		default:
		}
		if v, _, p := tp.state(); v >= version && p == 0 {
			return
		}
		if time.Now().After(deadline) {
			v, _, p := tp.state()
			t.Fatalf("client %s at %d with %d pending, want %d", tp.clientID, v, p, version)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClusterPresence: people on two processes see each other join, move their
// cursor, switch the language, run code and leave; a process that dies without a
// word loses its people within the expiry; deleting the session closes its sockets
// on every process with 4410.
func TestClusterPresence(t *testing.T) {
	_, nodes, _ := newCluster(t, 3)
	info, token, err := nodes[0].hub.CreateSession(t.Context(), "python")
	if err != nil {
		t.Fatal(err)
	}
	session := info.ID
	alice := dial(t, nodes[0], session, url.Values{"userId": {"alice-secret"}, "userName": {"Alice"}})
	alice.readUntil("alice's sync", func(m msg) bool { return m.Type == "sync" })
	bob := dial(t, nodes[1], session, url.Values{"userId": {"bob-secret"}, "userName": {"Bob"}})
	bob.readUntil("bob's sync", func(m msg) bool { return m.Type == "sync" })

	joined := alice.readUntil("Bob joining", func(m msg) bool { return m.Type == "user_joined" && m.UserName == "Bob" })
	bob.readUntil("Alice, known to Bob", func(m msg) bool { return m.Type == "user_joined" && m.UserName == "Alice" })
	bobID := joined.UserID

	// A third person on the third process finds both in its sync or right after.
	carol := dial(t, nodes[2], session, url.Values{"userId": {"carol-secret"}, "userName": {"Carol"}})
	seen := map[string]bool{}
	carol.readUntil("Alice and Bob, known to Carol", func(m msg) bool {
		switch m.Type {
		case "sync":
			for _, u := range m.Users {
				seen[u.Name] = true
			}
		case "user_joined":
			seen[m.UserName] = true
		}
		return seen["Alice"] && seen["Bob"]
	})

	// Cursors, language and runs cross processes.
	if err := bob.send(`{"type":"cursor","version":0,"ranges":[{"anchor":0,"head":0}]}`); err != nil {
		t.Fatal(err)
	}
	alice.readUntil("Bob's cursor", func(m msg) bool { return m.Type == "cursor" && m.UserID == bobID })
	if err := alice.send(`{"type":"language","language":"javascript"}`); err != nil {
		t.Fatal(err)
	}
	bob.readUntil("the language", func(m msg) bool { return m.Type == "language" && m.Language == "javascript" })
	if err := bob.send(`{"type":"run","runId":"r1","event":"start","text":"main.py"}`); err != nil {
		t.Fatal(err)
	}
	carol.readUntil("Bob's run", func(m msg) bool { return m.Type == "run" && m.UserID == bobID })
	// The watching page of another process shows Bob running.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch, err := nodes[2].hub.Watch(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	waitPresence(t, watch, "Bob running", func(p collab.Presence) bool {
		for _, ps := range p.People {
			if ps.Name == "Bob" && ps.Running {
				return true
			}
		}
		return false
	})

	// Bob leaves: the others are told.
	bob.conn.Close(websocket.StatusNormalClosure, "")
	alice.readUntil("Bob leaving", func(m msg) bool { return m.Type == "user_left" && m.UserID == bobID })

	// Carol's process dies without a word: she is gone for the others within the
	// expiry (three heartbeats).
	carolID := ""
	for _, p := range mustInfo(t, nodes[0], session).Users {
		if p.Name == "Carol" {
			carolID = p.ID
		}
	}
	if carolID == "" {
		t.Fatal("Carol is not among the session's people on Alice's process")
	}
	killed := time.Now()
	nodes[2].kill()
	alice.readUntil("Carol vanishing", func(m msg) bool { return m.Type == "user_left" && m.UserID == carolID })
	t.Logf("BENCH presence: a killed process's person vanished after %v (heartbeat %v, expiry %v)", time.Since(killed), testHeartbeat, 3*testHeartbeat)

	// Deleting the session on one process closes its sockets on the others.
	dave := dial(t, nodes[1], session, url.Values{"userId": {"dave-secret"}, "userName": {"Dave"}})
	dave.readUntil("dave's sync", func(m msg) bool { return m.Type == "sync" })
	if err := nodes[0].hub.DeleteSession(t.Context(), session, token); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*wsClient{"alice": alice, "dave": dave} {
		for {
			_, err := c.tryRead(15 * time.Second)
			if err != nil {
				if got := websocket.CloseStatus(err); got != collab.StatusSessionDeleted {
					t.Errorf("%s's socket closed with %v (%v), want %d", name, got, err, collab.StatusSessionDeleted)
				}
				break
			}
		}
	}
}

func mustInfo(t *testing.T, n *node, session string) collab.SessionInfo {
	t.Helper()
	info, err := n.hub.Session(t.Context(), session)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func waitPresence(t *testing.T, ch <-chan collab.Presence, what string, ok func(collab.Presence) bool) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case p, open := <-ch:
			if !open {
				t.Fatalf("waiting for %s: the watch ended", what)
			}
			if ok(p) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s within 15 s", what)
		}
	}
}

// typeAway makes each typist type edits at random paces, pushing as it goes;
// between() runs once, halfway. Errors sending are left to reconnecting.
func typeAway(t *testing.T, tps []*typist, edits int, between func()) {
	t.Helper()
	var wg sync.WaitGroup
	half := make(chan struct{})
	var halfway sync.WaitGroup
	halfway.Add(len(tps))
	for i, tp := range tps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			for k := range edits {
				if k == edits/2 {
					halfway.Done()
					<-half
				}
				if err := tp.localEdit(rng); err != nil {
					tp.fail(err)
					return
				}
				_ = tp.push()
				time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
			}
		}()
	}
	halfway.Wait()
	between()
	close(half)
	wg.Wait()
}

// TestClusterRedisRestart: Redis dies in the middle of typing and comes back; the
// processes fill what they missed from PostgreSQL and everyone converges.
func TestClusterRedisRestart(t *testing.T) {
	rs, nodes, _ := newCluster(t, 3)
	session := mustSession(t, nodes[0])
	var tps []*typist
	for i := range 6 {
		tps = append(tps, connect(t, nodes[i%3], session, fmt.Sprintf("c%d", i), fmt.Sprintf("user%d", i)))
	}
	typeAway(t, tps, 30, func() {
		rs.Stop()
		// Typing goes on while Redis is down: each process hears of the others'
		// updates only when its own append conflicts.
		for _, tp := range tps {
			_ = tp.push()
		}
		time.Sleep(300 * time.Millisecond)
		rs.Restart(t)
	})
	version := settle(t, nodes[0].store, session, tps)
	checkConverged(t, nodes, session, tps, version)
}

// TestClusterProcessDies: one of three processes dies in the middle of typing. Its
// clients reconnect to the others with their version and their unconfirmed
// updates; nothing any client saw confirmed is lost, nothing is stored twice, and
// everyone converges.
func TestClusterProcessDies(t *testing.T) {
	_, nodes, _ := newCluster(t, 3)
	session := mustSession(t, nodes[0])
	var tps []*typist
	for i := range 6 {
		tps = append(tps, connect(t, nodes[i%3], session, fmt.Sprintf("c%d", i), fmt.Sprintf("user%d", i)))
	}
	typeAway(t, tps, 30, func() {
		nodes[2].kill()
		for i, tp := range tps {
			if i%3 == 2 {
				<-tp.done
				tp.reconnect(t, nodes[i%2], session, fmt.Sprintf("user%d", i))
			}
		}
	})
	live := nodes[:2]
	version := settle(t, live[0].store, session, tps)
	checkConverged(t, live, session, tps, version)
	// Every update is stored once: each client's updates are in the log as many
	// times as it made them.
	log, err := history.Read(t.Context(), live[0].store, session, 0, version, 0)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, u := range log {
		count[u.ClientID]++
	}
	for _, tp := range tps {
		if count[tp.clientID] != 30 {
			t.Errorf("client %s has %d updates in the log, it made 30", tp.clientID, count[tp.clientID])
		}
	}
}

// TestClusterBadEvents: what arrives on a session's channel is checked before it
// changes anything. Malformed events, updates that do not fit, versions from
// nowhere, forged deletions and relays of anything but runs change no replica and
// reach no client; the session goes on as before.
func TestClusterBadEvents(t *testing.T) {
	rs, nodes, _ := newCluster(t, 2)
	session := mustSession(t, nodes[0])
	a := connect(t, nodes[0], session, "ca", "alice")
	b := connect(t, nodes[1], session, "cb", "bob")
	tps := []*typist{a, b}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tp := range tps {
		if err := tp.localEdit(rng); err != nil {
			t.Fatal(err)
		}
	}
	before := settle(t, nodes[0].store, session, tps)
	textBefore := string(mustInfo(t, nodes[1], session).Text.AppendJSON(nil))

	// A raw client watches what Bob's process sends, as an interviewer: signals would
	// reach it.
	watcher := dial(t, nodes[1], session, url.Values{"userId": {"watcher"}, "userName": {"Watcher"}, "role": {"interviewer"}})
	watcher.readUntil("sync", func(m msg) bool { return m.Type == "sync" })

	rdb, err := redisbus.Open(t.Context(), rs.URL, redisbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	at := strconv.Itoa(before)
	tests := []struct{ name, event string }{
		{"not JSON", `{"t":`},
		{"not an object", `[1,2]`},
		{"unknown type", `{"t":"nonsense","o":"x"}`},
		{"updates with changes that do not parse", `{"t":"updates","o":"x","from":` + at + `,"updates":[{"c":"z","u":"z","ch":[1,"a`},
		{"updates with changes that do not parse as a change set", `{"t":"updates","o":"x","from":` + at + `,"updates":[{"c":"z","u":"z","ch":{"no":1}}]}`},
		{"updates that do not fit the document", `{"t":"updates","o":"x","from":` + at + `,"updates":[{"c":"z","u":"z","ch":[100000,[0,"x"]]}]}`},
		{"updates from a version far ahead", `{"t":"updates","o":"x","from":` + strconv.Itoa(before+50) + `,"updates":[{"c":"z","u":"z","ch":[[0,"x"]]}]}`},
		{"updates from a negative version", `{"t":"updates","o":"x","from":-5,"updates":[{"c":"z","u":"z","ch":[[0,"x"]]}]}`},
		{"a forged deletion", `{"t":"deleted","o":"x"}`},
		{"a relay of something other than a run", `{"t":"relay","o":"x","msg":{"type":"sync","version":0,"content":"pwned"}}`},
		{"a relay that is not JSON", `{"t":"relay","o":"x","msg":"run"}`},
		{"a cursor from a version ahead", `{"t":"cursor","o":"x","userId":"z","version":` + strconv.Itoa(before+9) + `,"ranges":[[0,0]]}`},
		{"a cursor out of the document", `{"t":"cursor","o":"x","userId":"z","version":` + at + `,"ranges":[[100000,0]]}`},
		{"a cursor with no ranges", `{"t":"cursor","o":"x","userId":"z","version":` + at + `,"ranges":[]}`},
		{"an unsupported language", `{"t":"language","o":"x","language":"cobol","userId":"z"}`},
		{"a signal of an unknown kind", `{"t":"signal","o":"x","userId":"z","kind":"keylog","size":3}`},
		{"a paste of nothing", `{"t":"signal","o":"x","userId":"z","kind":"paste"}`},
		{"a paste longer than a document", `{"t":"signal","o":"x","userId":"z","kind":"paste","size":99999999}`},
		{"a tab switch with a size", `{"t":"signal","o":"x","userId":"z","kind":"hidden","size":4}`},
		{"a signal of nobody", `{"t":"signal","o":"x","kind":"hidden"}`},
	}
	for _, tt := range tests {
		if err := rdb.Publish(t.Context(), collab.BusEvent{Session: session, Data: []byte(tt.event)}); err != nil {
			t.Fatalf("%s: publish: %v", tt.name, err)
		}
	}
	// A good edit after them all: once the watcher sees it, every bad event before
	// it was handled (one channel, in order).
	if err := a.localEdit(rng); err != nil {
		t.Fatal(err)
	}
	after := settle(t, nodes[0].store, session, tps)
	if after != before+1 {
		t.Fatalf("the log went from %d to %d, want one more update", before, after)
	}
	for {
		m, err := watcher.tryRead(15 * time.Second)
		if err != nil {
			t.Fatalf("watcher: %v (the bad events closed its socket?)", err)
		}
		switch m.Type {
		case "update":
			if m.Version != before || len(m.Updates) != 1 || m.Updates[0].ClientID != "ca" {
				t.Fatalf("watcher got %s, want only Alice's update at %d", m.raw, before)
			}
		case "user_joined", "user_left", "cursor":
			if m.UserID == "z" {
				t.Fatalf("watcher got %s from a bad event", m.raw)
			}
			continue
		default:
			t.Fatalf("watcher got %s from a bad event", m.raw)
		}
		break
	}
	checkConverged(t, nodes, session, tps, after)
	if got := string(mustInfo(t, nodes[1], session).Text.AppendJSON(nil)); got == textBefore {
		t.Fatalf("the replica did not move with the good edit")
	}
	if info := mustInfo(t, nodes[1], session); info.Language != "python" {
		t.Errorf("language is %q after the bad events, want python", info.Language)
	}
}

// TestClusterParticipantLimit: the participant limit holds for the session as a
// whole: with a limit of two, a third person is refused whichever process they come
// through, while someone already in (on another process) may open another tab; a
// place freed on one process is free on the others once its heartbeat says so.
func TestClusterParticipantLimit(t *testing.T) {
	rs := redistest.Start(t)
	db := pgtest.NewDatabase(t)
	lim := collab.Limits{MaxParticipants: 2}
	a, b := newNodeLimits(t, db, rs.URL, lim), newNodeLimits(t, db, rs.URL, lim)
	session := mustSession(t, a)
	alice := dial(t, a, session, url.Values{"userId": {"alice-secret"}, "userName": {"Alice"}})
	alice.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	bob := dial(t, b, session, url.Values{"userId": {"bob-secret"}, "userName": {"Bob"}})
	bob.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	alice.readUntil("Bob joining", func(m msg) bool { return m.Type == "user_joined" && m.UserName == "Bob" })
	bob.readUntil("Alice, known to Bob", func(m msg) bool { return m.Type == "user_joined" && m.UserName == "Alice" })

	for _, n := range []*node{a, b} {
		carol := dial(t, n, session, url.Values{"userId": {"carol-secret"}, "userName": {"Carol"}})
		m := carol.readUntil("a refusal", func(m msg) bool { return m.Type == "error" || m.Type == "sync" })
		if m.Type != "error" || m.Code != collab.CodeSessionFull {
			t.Fatalf("a third person on %s got %s, want session_full", n.URL, m.raw)
		}
	}
	// Alice's second tab, through Bob's process, is the same person: welcome.
	tab := dial(t, b, session, url.Values{"userId": {"alice-secret"}, "userName": {"Alice"}})
	if m := tab.readUntil("sync", func(m msg) bool { return m.Type == "sync" || m.Type == "error" }); m.Type != "sync" {
		t.Fatalf("Alice's second tab on the other process got %s, want a sync", m.raw)
	}
	// Bob leaves; Carol gets in through Alice's process.
	bob.conn.Close(websocket.StatusNormalClosure, "")
	tab.conn.Close(websocket.StatusNormalClosure, "")
	alice.readUntil("Bob leaving", func(m msg) bool { return m.Type == "user_left" && m.UserName == "Bob" })
	carol := dial(t, a, session, url.Values{"userId": {"carol-secret"}, "userName": {"Carol"}})
	if m := carol.readUntil("sync", func(m msg) bool { return m.Type == "sync" || m.Type == "error" }); m.Type != "sync" {
		t.Fatalf("Carol after Bob left got %s, want a sync", m.raw)
	}
}

// TestClusterEndInterview: ending the interview through one process cuts off the
// clients of every process with the ended close code.
func TestClusterEndInterview(t *testing.T) {
	_, nodes, _ := newCluster(t, 2)
	session := mustSession(t, nodes[0])
	var cs []*wsClient
	for i, n := range nodes {
		c := dial(t, n, session, url.Values{"userId": {fmt.Sprintf("u%d", i)}, "userName": {fmt.Sprintf("U%d", i)}})
		c.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
		cs = append(cs, c)
	}
	if err := nodes[0].hub.EndSession(t.Context(), session); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		for {
			_, err := c.tryRead(15 * time.Second)
			if err != nil {
				if got := websocket.CloseStatus(err); got != collab.StatusSessionEnded {
					t.Errorf("client on process %d closed with %v (%v), want %d", i, got, err, collab.StatusSessionEnded)
				}
				break
			}
		}
	}
}

// TestClusterInterviewersHear: what interviewers are told of reaches them through
// any process: a candidate's signal on one process reaches an interviewer on the
// other (and no other candidate), and a note or a question given on one process
// tells the other's pages to show them again.
func TestClusterInterviewersHear(t *testing.T) {
	_, nodes, _ := newCluster(t, 2)
	session := mustSession(t, nodes[0])
	iv := dial(t, nodes[1], session, url.Values{"userId": {"iv"}, "userName": {"Ivy"}, "role": {"interviewer"}})
	iv.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	other := dial(t, nodes[1], session, url.Values{"userId": {"other"}, "userName": {"Other"}})
	other.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	cand := dial(t, nodes[0], session, url.Values{"userId": {"cand"}, "userName": {"Cand"}})
	cand.readUntil("sync", func(m msg) bool { return m.Type == "sync" })
	watch, err := nodes[1].hub.Watch(t.Context(), session)
	if err != nil {
		t.Fatal(err)
	}

	if err := cand.send(`{"type":"signal","kind":"paste","size":12}`); err != nil {
		t.Fatal(err)
	}
	got := iv.readUntil("the candidate's paste", func(m msg) bool { return m.Type == "signal" })
	if !strings.Contains(string(got.raw), `"kind":"paste"`) || !strings.Contains(string(got.raw), `"size":12`) {
		t.Errorf("interviewer on the other process got %s, want the paste of 12", got.raw)
	}
	if _, err := nodes[0].hub.AddNote(t.Context(), session, collab.NoteAuthor{Name: "API"}, "canary-note", 1); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, watch, "the note's news on the other process", func(p collab.Presence) bool { return p.Notes >= 1 })
	if err := nodes[0].hub.QuestionAdded(t.Context(), session); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, watch, "the question's news on the other process", func(p collab.Presence) bool { return p.Questions >= 1 })

	// The other candidate on the interviewer's process heard of none of it: after a
	// cursor of the candidate's (which follows the events above on the bus), nothing
	// it received was a signal or held the note.
	if err := cand.send(`{"type":"cursor","version":0,"ranges":[{"anchor":0,"head":0}]}`); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := other.tryRead(15 * time.Second)
		if err != nil {
			t.Fatalf("the other candidate: %v", err)
		}
		if m.Type == "signal" || strings.Contains(string(m.raw), "canary-note") {
			t.Fatalf("a candidate got %s", m.raw)
		}
		if m.Type == "cursor" {
			break
		}
	}
}

// TestClusterFollowsOnlyWithClients: a process follows a session on Redis only while
// someone is connected to it there; when someone comes back, it reads what it
// missed from PostgreSQL.
func TestClusterFollowsOnlyWithClients(t *testing.T) {
	rs, nodes, _ := newCluster(t, 2)
	session := mustSession(t, nodes[0])
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(rs.URL, "redis://"), "/0")})
	defer rdb.Close()
	subscribers := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			n, err := rdb.PubSubNumSub(t.Context(), "duet:session:"+session).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n["duet:session:"+session] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d processes follow the session, want %d", n["duet:session:"+session], want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	a := connect(t, nodes[0], session, "ca", "alice")
	b := connect(t, nodes[1], session, "cb", "bob")
	subscribers(2)
	b.c.conn.Close(websocket.StatusNormalClosure, "")
	subscribers(1)

	// Alice types while Bob's process follows nothing; Bob comes back to it.
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5 {
		if err := a.localEdit(rng); err != nil {
			t.Fatal(err)
		}
	}
	version := settle(t, nodes[0].store, session, []*typist{a})
	b2 := connect(t, nodes[1], session, "cb2", "bob")
	subscribers(2)
	if v, _, _ := b2.state(); v != version {
		t.Fatalf("Bob's sync on the process that stopped following is at %d, want %d", v, version)
	}
	checkConverged(t, nodes, session, []*typist{a, b2}, version)
}
