package collab

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/collab/ot"
	"duet/store"
)

// countingObserver records what the writer reports.
type countingObserver struct {
	nopObserver
	mu     sync.Mutex
	sent   []string
	fanned int
}

func (o *countingObserver) Sent(typ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, typ)
}

func (o *countingObserver) FannedOut(time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fanned++
}

// testUpdate is a broadcast of one update at version from, typing text at 0.
func testUpdate(t *testing.T, from int, clientID, text string) *outgoing {
	t.Helper()
	cs, err := ot.ParseChangeSet([]byte(`[[0,` + strconvQuote(text) + `]]`))
	if err != nil {
		t.Fatal(err)
	}
	o := newUpdateOutgoing(from, []ot.Update{{ClientID: clientID, Changes: cs, UserID: "u-" + clientID}})
	o.fan = &fanOut{accepted: time.Now()}
	o.fan.left.Store(1)
	return o
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestWriteBurstJoinsUpdates writes bursts to a real socket and reads what the
// client gets: consecutive updates in one message, in order, and nothing else joined.
func TestWriteBurstJoinsUpdates(t *testing.T) {
	two := func(from int) *outgoing { // an accepted edit of two updates
		a, b := testUpdate(t, from, "p", "a"), testUpdate(t, from+1, "p", "b")
		o := newOutgoing(joinUpdates(nil, []*outgoing{a, b}))
		o.from, o.count = from, 2
		return o
	}
	cursor := func() *outgoing { return newOutgoing(cursorMessage("u-x", 3, []cursorRange{{1, 1}})) }
	pullAnswer := func(from int) *outgoing { // an update that is not a broadcast is never joined
		return newOutgoing(updateMessage(from, nil, false))
	}
	type want struct {
		typ      string
		version  int
		clientID []string
	}
	cases := []struct {
		name  string
		burst func() []*outgoing
		want  []want
	}{
		{"one update", func() []*outgoing { return []*outgoing{testUpdate(t, 0, "a", "x")} },
			[]want{{"update", 0, []string{"a"}}}},
		{"three consecutive", func() []*outgoing {
			return []*outgoing{testUpdate(t, 4, "a", "x"), testUpdate(t, 5, "b", "y"), testUpdate(t, 6, "a", "z")}
		}, []want{{"update", 4, []string{"a", "b", "a"}}}},
		{"an edit of two updates joins the next", func() []*outgoing {
			return []*outgoing{two(0), testUpdate(t, 2, "c", "x")}
		}, []want{{"update", 0, []string{"p", "p", "c"}}}},
		{"a cursor between keeps its place", func() []*outgoing {
			return []*outgoing{testUpdate(t, 0, "a", "x"), testUpdate(t, 1, "a", "y"), cursor(), testUpdate(t, 2, "b", "z")}
		}, []want{{"update", 0, []string{"a", "a"}}, {"cursor", 3, nil}, {"update", 2, []string{"b"}}}},
		{"a gap in versions is not joined", func() []*outgoing {
			return []*outgoing{testUpdate(t, 0, "a", "x"), testUpdate(t, 2, "a", "y")}
		}, []want{{"update", 0, []string{"a"}}, {"update", 2, []string{"a"}}}},
		{"an answer to a pull is not joined", func() []*outgoing {
			return []*outgoing{testUpdate(t, 0, "a", "x"), pullAnswer(1), testUpdate(t, 1, "a", "y")}
		}, []want{{"update", 0, []string{"a"}}, {"update", 1, []string{}}, {"update", 1, []string{"a"}}}},
		{"past the size bound, a new message", func() []*outgoing {
			big := strings.Repeat("x", joinedMaxBytes/2)
			return []*outgoing{testUpdate(t, 0, "a", big), testUpdate(t, 1, "a", big), testUpdate(t, 2, "a", "y")}
		}, []want{{"update", 0, []string{"a"}}, {"update", 1, []string{"a", "a"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := &countingObserver{}
			h := NewHub(HubConfig{Store: store.NewMemory(), Observer: obs})
			got := make(chan []byte, 16)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer conn.CloseNow()
				burst := tc.burst()
				c := &client{kicked: make(chan struct{})}
				for _, o := range burst {
					c.queued.Add(int64(len(o.msg)))
					c.held.Add(1)
				}
				if _, err := h.writeBurst(conn, c, burst, nil); err != nil {
					t.Errorf("writeBurst: %v", err)
				}
				if n, m := c.queued.Load(), c.held.Load(); n != 0 || m != 0 {
					t.Errorf("%d bytes in %d messages still counted as queued after the burst", n, m)
				}
				conn.Close(websocket.StatusNormalClosure, "")
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetReadLimit(1 << 20)
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					break
				}
				got <- data
			}
			close(got)
			var msgs []want
			for data := range got {
				var m struct {
					Type    string
					Version int
					Updates []struct {
						ClientID string
						Changes  json.RawMessage
						UserID   string
					}
				}
				if err := json.Unmarshal(data, &m); err != nil {
					t.Fatalf("the client got %.100s: %v", data, err)
				}
				w := want{typ: m.Type, version: m.Version}
				if m.Type == "update" {
					w.clientID = []string{}
					for _, u := range m.Updates {
						if u.UserID != "u-"+u.ClientID || len(u.Changes) == 0 {
							t.Errorf("update %+v lost its fields", u)
						}
						w.clientID = append(w.clientID, u.ClientID)
					}
				}
				msgs = append(msgs, w)
			}
			if !reflect.DeepEqual(msgs, tc.want) {
				t.Errorf("the client got %+v, want %+v", msgs, tc.want)
			}
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if len(obs.sent) != len(tc.want) {
				t.Errorf("observer told of %d messages sent, want %d", len(obs.sent), len(tc.want))
			}
			fans := 0
			for _, o := range tc.burst() {
				if o.fan != nil {
					fans++
				}
			}
			if obs.fanned != fans {
				t.Errorf("observer told of %d fan-outs done, want %d", obs.fanned, fans)
			}
		})
	}
}

// TestQueueBoundWithBursts: a writer that has taken a burst out of the queue does not
// let the client hold a burst more: the messages queued and being written stay
// within Limits.SendQueue + 1 (one being written beside a full queue), as when the
// writer took one message at a time.
func TestQueueBoundWithBursts(t *testing.T) {
	h := NewHub(HubConfig{Store: store.NewMemory(), Limits: Limits{SendQueue: 2}})
	c := newClient(newRoom(h, "s"), Person{ID: "p"})
	msg := []byte(`{"type":"cursor"}`)
	kicked := func() bool {
		select {
		case <-c.kicked:
			return true
		default:
			return false
		}
	}
	c.queue(msg)
	c.queue(msg)
	burst := c.take(nil, 2) // the writer takes both; the queue is empty
	c.queue(msg)            // 3 held: a full queue's 2 and one being written
	if kicked() {
		t.Fatalf("cut off holding %d messages, within the bound of %d", c.held.Load(), 3)
	}
	c.queue(msg) // 4 held, though the channel has room
	if !kicked() || c.why.code != CodeTooSlow {
		t.Fatalf("holding a burst more than the queue: kicked %v (%q), want too_slow", kicked(), c.why.code)
	}
	for _, o := range burst {
		c.sent(o.msg)
	}
	if n, m := c.queued.Load(), c.held.Load(); m != 1 || n != int64(len(msg)) {
		t.Errorf("after the burst: %d bytes in %d messages held, want the one still queued", n, m)
	}
}
