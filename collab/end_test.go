package collab_test

import (
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/collab"
)

// TestEndSessionWhileEditing ends an interview while four clients push edits as
// fast as they can: every client is closed with session_ended (4410), nothing is
// stored after EndSession returns, every stored update is older than the end, a
// new connection is refused the same way, and ending again changes nothing.
func TestEndSessionWhileEditing(t *testing.T) {
	t.Parallel()
	s := newHubServer(t, collab.Limits{RatePerSecond: 10000, RateBurst: 10000})
	id := s.mustSession(t)
	const n = 4
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = dial(t, s, id, url.Values{"userName": {fmt.Sprint("P", i)}})
		clients[i].readType("sync")
	}
	var wg sync.WaitGroup
	status := make([]websocket.StatusCode, n)
	for i, c := range clients {
		wg.Go(func() {
			// Each pushes one-character inserts at the start of the document, on the
			// newest version it knows (the document has one unit per update), and
			// reads until it is closed.
			version := 0
			for k := 0; ; k++ {
				changes := `[[0,"a"]]`
				if version > 0 {
					changes = fmt.Sprintf(`[[0,"a"],%d]`, version)
				}
				msg := fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"c%d-%d","changes":%s}]}`, version, i, k, changes)
				if err := c.conn.Write(t.Context(), websocket.MessageText, []byte(msg)); err != nil {
					break
				}
				m, err := c.tryRead(15 * time.Second)
				for err == nil && m.Type != "update" && m.Type != "error" {
					m, err = c.tryRead(15 * time.Second)
				}
				if err != nil {
					status[i] = websocket.CloseStatus(err)
					return
				}
				if m.Type == "update" {
					version = m.Version + len(m.Updates)
				}
			}
			st, _ := c.closeStatus()
			status[i] = st
		})
	}
	time.Sleep(50 * time.Millisecond) // some edits first; what follows holds whenever it ends
	if err := s.hub.EndSession(t.Context(), id); err != nil {
		t.Fatalf("EndSession() error = %v", err)
	}
	after, err := s.store.Session(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, st := range status {
		if st != collab.StatusSessionEnded {
			t.Errorf("client %d closed with %d, want %d", i, st, collab.StatusSessionEnded)
		}
	}
	final, err := s.store.Session(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if final.Version != after.Version || final.Ended.IsZero() {
		t.Errorf("after the end: version %d → %d, ended %v; want nothing stored after the end", after.Version, final.Version, final.Ended)
	}
	t.Logf("%d updates accepted before the end", final.Version)
	log, err := s.store.Updates(t.Context(), id, 0, final.Version, 0)
	if err != nil {
		t.Fatal(err)
	}
	for v, u := range log {
		if u.Time.After(final.Ended) {
			t.Errorf("update %d at %v, after the end at %v", v, u.Time, final.Ended)
		}
	}
	late, err := tryDial(t, s, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, msgs := late.closeStatus(); st != collab.StatusSessionEnded || len(msgs) != 1 || msgs[0].Code != collab.CodeSessionEnded {
		t.Errorf("a connection after the end: %d %v, want the session_ended error and %d", st, msgs, collab.StatusSessionEnded)
	}
	if err := s.hub.EndSession(t.Context(), id); err != nil {
		t.Errorf("EndSession() again error = %v", err)
	}
	if again, _ := s.store.Session(t.Context(), id); !again.Ended.Equal(final.Ended) {
		t.Errorf("ending again moved the end from %v to %v", final.Ended, again.Ended)
	}
	if err := s.hub.SetLanguage(t.Context(), id, "javascript", ""); !errors.Is(err, collab.ErrEnded) {
		t.Errorf("SetLanguage() after the end error = %v, want ErrEnded", err)
	}
	if err := s.hub.EndSession(t.Context(), "3f2a1b9c-0000-4000-8000-000000000000"); !errors.Is(err, collab.ErrNotFound) {
		t.Errorf("EndSession(unknown) error = %v, want ErrNotFound", err)
	}
}
