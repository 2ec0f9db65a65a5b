package collab_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/collab"
)

// TestPing checks the keepalive: a client that answers pings (it reads, so its
// library answers them) stays connected through many of them, and one that does not
// is cut off with "no answer to ping" while the other goes on.
func TestPing(t *testing.T) {
	t.Parallel()
	const interval = 2 * time.Second // long enough for an answer on a loaded machine
	s := newHubServer(t, collab.Limits{PingInterval: interval, RatePerSecond: 1e6, RateBurst: 1 << 20})
	id := s.mustSession(t)
	a := dial(t, s, id, nil)
	a.readType("sync")
	b := dial(t, s, id, nil) // never reads until it is cut off, so never answers a ping
	a.readType("user_joined")
	if m := a.readType("user_left"); m.UserID == "" {
		t.Fatalf("user_left without a user: %s", m.raw)
	}
	status, _ := b.closeStatus()
	if status != websocket.StatusGoingAway {
		t.Errorf("the client that never answered: close status %v, want %v", status, websocket.StatusGoingAway)
	}
	// a keeps answering: it stays through many more pings.
	for start := time.Now(); time.Since(start) < 3*interval; {
		a.send(`{"type":"pull","version":0}`)
		if m := a.readType("update"); m.Version != 0 {
			t.Fatalf("pull answered at %d, want 0", m.Version)
		}
	}
	if st := s.hub.Stats(); st.ConnsOpen != 1 {
		t.Errorf("%d connections open, want the one that answers pings", st.ConnsOpen)
	}
}
