package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"duet/collab/ot"
)

// client is one simulated editor: a local document with unconfirmed updates, one push
// in flight at a time, and received updates applied one at a time (docs/protocol.md), as the
// editor island does it with @codemirror/collab.
type client struct {
	index    int
	clientID string
	conn     *websocket.Conn
	wmu      sync.Mutex // serializes writes: the typist and the reader both send

	mu       sync.Mutex
	version  int
	text     ot.Text
	pending  []*ot.ChangeSet // unconfirmed updates, oldest first
	inFlight bool
	// By sequence number of the client's updates (each is pushed once, in order, as
	// there are no reconnects here, so it is also the update's rank among the client's
	// updates in the log): when it was made, and when it was pushed.
	typed    []time.Time
	pushedAt []time.Time
	edits    int   // updates made
	pushes   int   // edit messages sent
	err      error // the first thing that went wrong

	// Owned by the reader goroutine; read after it has ended.
	sched    *schedule
	seen     map[string]int  // updates received so far, by sender clientID
	fanout   []time.Duration // push → another client's receipt, for updates typed in the window
	typing   []time.Duration // keystroke → another client's receipt, likewise: the delivery latency
	confirm  []time.Duration // push → the sender's own update back, likewise
	inWindow int             // deliveries received during the window, whenever typed
}

// schedule is when a typing run types and measures; every field is set before the
// clients start reading.
type schedule struct {
	start, window, stop, end time.Time // typing starts; the window opens; typing stops; deliveries stop counting
}

// message is a server message, decoded as far as the load generator needs.
type message struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	Content json.RawMessage
	Updates []struct {
		ClientID string          `json:"clientID"`
		Changes  json.RawMessage `json:"changes"`
	} `json:"updates"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// dialClient connects a typing client to a session and waits for its sync.
func dialClient(ctx context.Context, d *dialer, wsBase, session string, index int, userID string) (*client, error) {
	conn, m, err := d.dialSession(ctx, wsBase, session, index, userID)
	if err != nil {
		return nil, err
	}
	var text ot.Text
	if err := text.UnmarshalJSON(m.Content); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("client %d: sync content: %w", index, err)
	}
	return &client{
		index: index, clientID: "load-" + strconv.Itoa(index), conn: conn,
		version: m.Version, text: text, seen: map[string]int{},
	}, nil
}

// fail records the first error of the client.
func (c *client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *client) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *client) send(ctx context.Context, msg []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.conn.Write(wctx, websocket.MessageText, msg); err != nil && ctx.Err() == nil {
		c.fail(fmt.Errorf("client %d: write: %w", c.index, err))
	}
}

// edit makes one small change at a random place of the local document: mostly a
// keystroke or two, sometimes a deletion; it deletes more once the document is long.
func (c *client) edit(rng *rand.Rand) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.text.Len()
	pos := rng.IntN(n + 1)
	del := 0
	ins := ""
	switch r := rng.IntN(10); {
	case n > 4000 && pos < n:
		del = min(n-pos, 1+rng.IntN(40))
	case r < 3 && pos < n:
		del = 1
	default:
		ins = []string{"a", "b", "x ", "()", ":", "\n", "    ", "é"}[rng.IntN(8)]
	}
	var parts []string
	if pos > 0 {
		parts = append(parts, strconv.Itoa(pos))
	}
	if ins != "" {
		lines, _ := json.Marshal(strings.Split(ins, "\n"))
		parts = append(parts, fmt.Sprintf("[%d,%s", del, lines[1:]))
	} else {
		parts = append(parts, fmt.Sprintf("[%d]", del))
	}
	if rest := n - pos - del; rest > 0 {
		parts = append(parts, strconv.Itoa(rest))
	}
	cs, err := ot.ParseChangeSet([]byte("[" + strings.Join(parts, ",") + "]"))
	if err != nil {
		return fmt.Errorf("client %d: local edit: %w", c.index, err)
	}
	if c.text, err = cs.Apply(c.text); err != nil {
		return fmt.Errorf("client %d: local edit: %w", c.index, err)
	}
	c.pending = append(c.pending, cs)
	c.typed = append(c.typed, time.Now())
	c.edits++
	return nil
}

// pushMessage returns the edit message of every unconfirmed update, or nil when a push
// is in flight or nothing is unconfirmed. It stamps the updates with the push time.
func (c *client) pushMessage() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight || len(c.pending) == 0 || c.err != nil {
		return nil
	}
	c.inFlight = true
	c.pushes++
	b := []byte(`{"type":"edit","version":`)
	b = strconv.AppendInt(b, int64(c.version), 10)
	b = append(b, `,"updates":[`...)
	for i, cs := range c.pending {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"clientID":"`+c.clientID+`","changes":`...)
		b = cs.AppendJSON(b)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	now := time.Now()
	for len(c.pushedAt) < c.edits {
		c.pushedAt = append(c.pushedAt, now)
	}
	return b
}

// pushTimes returns when update seq of the client was pushed and typed.
func (c *client) pushTimes(seq int) (pushed, typed time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq >= len(c.pushedAt) {
		return time.Time{}, time.Time{}, false
	}
	return c.pushedAt[seq], c.typed[seq], true
}

// receive applies an update message. It returns whether the client must pull.
func (c *client) receive(m *message) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m.Updates) == 0 {
		return false, fmt.Errorf("client %d: an empty update at %d, but it never resends", c.index, m.Version)
	}
	if m.Version > c.version {
		return true, nil
	}
	for i, u := range m.Updates {
		v := m.Version + i
		if v < c.version {
			continue // seen already
		}
		cs, err := ot.ParseChangeSet(u.Changes)
		if err != nil {
			return false, fmt.Errorf("client %d: update %d: %w", c.index, v, err)
		}
		if u.ClientID == c.clientID {
			if len(c.pending) == 0 {
				return false, fmt.Errorf("client %d: update %d confirms nothing pending", c.index, v)
			}
			c.pending = c.pending[1:]
			c.inFlight = false // the push was answered; the rest goes in the next one
		} else {
			// receiveUpdates with this one update: map each unconfirmed update over it,
			// and it over each unconfirmed update in turn.
			for j, p := range c.pending {
				mapped, err := p.Map(cs, false)
				if err != nil {
					return false, fmt.Errorf("client %d: update %d: %w", c.index, v, err)
				}
				if cs, err = cs.Map(p, true); err != nil {
					return false, fmt.Errorf("client %d: update %d: %w", c.index, v, err)
				}
				c.pending[j] = mapped
			}
			if c.text, err = cs.Apply(c.text); err != nil {
				return false, fmt.Errorf("client %d: apply update %d: %w", c.index, v, err)
			}
		}
		c.version = v + 1
	}
	return false, nil
}

// read handles what the server sends until ctx ends or the connection fails. Every
// update of another client is timed against its push.
func (c *client) read(ctx context.Context, byID map[string]*client) {
	for {
		_, data, err := c.conn.Read(ctx)
		got := time.Now()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				c.fail(fmt.Errorf("client %d: read: %w", c.index, err))
			}
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			c.fail(fmt.Errorf("client %d: decode %.200s: %w", c.index, data, err))
			return
		}
		switch m.Type {
		case "update":
			c.mu.Lock()
			from := c.version
			c.mu.Unlock()
			pull, err := c.receive(&m)
			if err != nil {
				c.fail(err)
				return
			}
			if pull {
				c.send(ctx, []byte(`{"type":"pull","version":`+strconv.Itoa(from)+`}`))
				continue
			}
			for i, u := range m.Updates {
				if m.Version+i < from {
					continue
				}
				seq := c.seen[u.ClientID]
				c.seen[u.ClientID]++
				sender := byID[u.ClientID]
				if sender == nil {
					continue
				}
				pushed, typed, ok := sender.pushTimes(seq)
				if !ok {
					c.fail(fmt.Errorf("client %d: update %d of %s was never pushed", c.index, seq, u.ClientID))
					return
				}
				s := c.sched
				if sender != c && !got.Before(s.window) && got.Before(s.stop) {
					c.inWindow++
				}
				if typed.Before(s.window) || !typed.Before(s.stop) || !got.Before(s.end) {
					continue // typed outside the window, or arrived too late to count
				}
				if sender == c {
					c.confirm = append(c.confirm, got.Sub(pushed))
				} else {
					c.fanout = append(c.fanout, got.Sub(pushed))
					c.typing = append(c.typing, got.Sub(typed))
				}
			}
			if msg := c.pushMessage(); msg != nil {
				c.send(ctx, msg)
			}
		case "error":
			c.fail(fmt.Errorf("client %d: server refused a message: %s: %s", c.index, m.Code, m.Message))
			return
		}
	}
}

// settled says whether everything the client made is confirmed.
func (c *client) settled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) == 0 && !c.inFlight
}

func (c *client) snapshot() (version int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version, string(c.text.AppendJSON(nil))
}

// typedIn counts the client's edits made in [from, to).
func (c *client) typedIn(from, to time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.typed {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// dialer opens the clients' connections from several source addresses
// (127.0.0.1…127.0.0.n: each has its own ephemeral ports, about 28,000 on Linux) and
// counts the bytes that cross their sockets, handshakes included.
type dialer struct {
	sources     []net.IP
	deflate     bool
	next        atomic.Uint64
	read, wrote atomic.Int64
	extensions  atomic.Pointer[string] // what the server negotiated, as it said it first
	http        *http.Client
}

func newDialer(sources int, deflate bool) *dialer {
	d := &dialer{deflate: deflate}
	for i := range sources {
		d.sources = append(d.sources, net.IPv4(127, 0, 0, byte(1+i%254)))
	}
	d.http = &http.Client{Transport: &http.Transport{DialContext: d.dial, MaxIdleConns: -1}}
	return d
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	src := d.sources[d.next.Add(1)%uint64(len(d.sources))]
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, d: d}, nil
}

// countingConn counts what crosses a socket: the bytes on the wire, WebSocket
// framing and compression included.
type countingConn struct {
	net.Conn
	d *dialer
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.d.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.d.wrote.Add(int64(n))
	return n, err
}

// wire is what has crossed every client socket so far, both ways.
func (d *dialer) wire() int64 { return d.read.Load() + d.wrote.Load() }

// dialSession connects to a session and reads the sync that opens the protocol.
func (d *dialer) dialSession(ctx context.Context, wsBase, session string, index int, userID string) (*websocket.Conn, *message, error) {
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	u := wsBase + "/ws/" + session + "?userId=" + userID + "&userName=load+" + strconv.Itoa(index)
	opts := &websocket.DialOptions{HTTPClient: d.http}
	if d.deflate {
		opts.CompressionMode = websocket.CompressionContextTakeover
	}
	conn, res, err := websocket.Dial(dctx, u, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("dial client %d: %w", index, err)
	}
	if ext := res.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		d.extensions.CompareAndSwap(nil, &ext)
	}
	conn.SetReadLimit(64 << 20)
	_, data, err := conn.Read(dctx)
	if err != nil {
		conn.CloseNow()
		return nil, nil, fmt.Errorf("client %d: read sync: %w", index, err)
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil || m.Type != "sync" {
		conn.CloseNow()
		return nil, nil, fmt.Errorf("client %d: first message is not a sync: %.200s", index, data)
	}
	return conn, &m, nil
}
