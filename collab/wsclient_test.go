package collab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/collab"
	"duet/collab/ot"
	"duet/collab/ot/ottest"
	"duet/store"
)

// hubServer is a hub behind a real WebSocket endpoint on 127.0.0.1. The adapter is
// what handlers/ws.go does, without echo: collab must not import the web layer.
type hubServer struct {
	*httptest.Server
	hub    *collab.Hub
	store  *store.Memory
	tokens map[string]string // owner tokens by session id
}

func newHubServer(t *testing.T, lim collab.Limits) *hubServer {
	t.Helper()
	st := store.NewMemory()
	hub := collab.NewHub(collab.HubConfig{Store: st, Limits: lim})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		hub.Serve(conn, id, collab.JoinParams{Secret: q.Get("userId"), UserName: q.Get("userName"), Role: collab.Role(q.Get("role"))})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return &hubServer{Server: srv, hub: hub, store: st, tokens: map[string]string{}}
}

// mustSession creates a session and returns its id.
func (s *hubServer) mustSession(t *testing.T) string {
	t.Helper()
	id, _ := s.mustSessionToken(t)
	return id
}

// mustSessionToken creates a session and returns its id and owner token.
func (s *hubServer) mustSessionToken(t *testing.T) (id, token string) {
	t.Helper()
	info, token, err := s.hub.CreateSession(t.Context(), "python")
	if err != nil {
		t.Fatalf("CreateSession() error = %v", err)
	}
	s.tokens[info.ID] = token
	return info.ID, token
}

// msg is any server message, decoded loosely for assertions.
type msg struct {
	Type     string          `json:"type"`
	Version  int             `json:"version"`
	Content  json.RawMessage `json:"content"`
	Language string          `json:"language"`
	You      person          `json:"you"`
	Users    []person        `json:"users"`
	Updates  []struct {
		ClientID string          `json:"clientID"`
		Changes  json.RawMessage `json:"changes"`
		UserID   string          `json:"userId"`
	} `json:"updates"`
	UserID    string            `json:"userId"`
	UserName  string            `json:"userName"`
	Color     string            `json:"color"`
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Ranges    []json.RawMessage `json:"ranges"`
	RunID     string            `json:"runId"`
	Event     string            `json:"event"`
	Stream    string            `json:"stream"`
	Text      string            `json:"text"`
	Status    string            `json:"status"`
	Truncated bool              `json:"truncated"`
	More      bool              `json:"more"`
	raw       []byte
}

type person struct{ ID, Name, Color string }

// wsClient is a raw protocol client for tests.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, s *hubServer, session string, q url.Values) *wsClient {
	t.Helper()
	c, err := tryDial(t, s, session, q)
	if err != nil {
		t.Fatalf("dial %s: %v", session, err)
	}
	return c
}

func tryDial(t *testing.T, s *hubServer, session string, q url.Values) (*wsClient, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws/" + session + "?" + q.Encode()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}, nil
}

func (c *wsClient) send(v string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(v)); err != nil {
		c.t.Fatalf("write %.80s: %v", v, err)
	}
}

// read returns the next message, failing the test after a generous deadline.
func (c *wsClient) read() msg {
	c.t.Helper()
	m, err := c.tryRead(10 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
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

// readType skips messages until one of the given type arrives.
func (c *wsClient) readType(typ string) msg {
	c.t.Helper()
	for {
		m := c.read()
		if m.Type == typ {
			return m
		}
	}
}

// closeStatus reads until the connection ends and returns its close code.
func (c *wsClient) closeStatus() (websocket.StatusCode, []msg) {
	c.t.Helper()
	var got []msg
	for {
		m, err := c.tryRead(15 * time.Second)
		if err != nil {
			return websocket.CloseStatus(err), got
		}
		got = append(got, m)
	}
}

// editor is a collab client as the editor island runs it: a local document with
// unconfirmed updates, one push in flight, and received updates applied one at a
// time while it has unconfirmed ones (the sequential rebase relies on it; see docs/protocol.md).
type editor struct {
	mu       sync.Mutex
	clientID string
	start    int // version of its sync: it saw the log from here
	version  int
	text     ot.Text
	pending  []*ot.ChangeSet
	inFlight bool
	// log is every update this client saw, by version, to compare with the server's.
	log map[int]string
}

func newEditor(clientID string, sync msg) (*editor, error) {
	var text ot.Text
	if err := text.UnmarshalJSON(sync.Content); err != nil {
		return nil, err
	}
	return &editor{clientID: clientID, start: sync.Version, version: sync.Version, text: text, log: map[int]string{}}, nil
}

// localEdit makes a random change on the local document.
func (e *editor) localEdit(rng *rand.Rand) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, err := ot.ParseChangeSet(ottest.EditJSON(rng, e.text.Len()))
	if err != nil {
		return err
	}
	if e.text, err = cs.Apply(e.text); err != nil {
		return err
	}
	e.pending = append(e.pending, cs)
	return nil
}

// pushMessage is the edit to send, or "" when nothing is to be pushed.
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

// receive applies an update message; it returns whether the client must pull (a gap).
func (e *editor) receive(m msg) (pull bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m.Version > e.version {
		return true, nil
	}
	if len(m.Updates) == 0 {
		e.inFlight = false // an empty answer to a resend: pull what is missing
		return m.Version > e.version, nil
	}
	for i, u := range m.Updates {
		v := m.Version + i
		if v < e.version {
			continue // seen already
		}
		e.log[v] = u.ClientID + " " + string(u.Changes)
		cs, err := ot.ParseChangeSet(u.Changes)
		if err != nil {
			return false, fmt.Errorf("update %d: %w", v, err)
		}
		if u.ClientID == e.clientID {
			if len(e.pending) == 0 {
				return false, fmt.Errorf("update %d confirms nothing pending", v)
			}
			e.pending = e.pending[1:]
			e.inFlight = false // our push was answered; what is left goes in the next one
		} else {
			// receiveUpdates with this single update: map each unconfirmed update over it
			// and it over each unconfirmed update in turn.
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
	return false, nil
}

func (e *editor) state() (int, string, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.version, string(e.text.AppendJSON(nil)), len(e.pending)
}
