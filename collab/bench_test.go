package collab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/collab"
	"duet/store"
)

// BenchmarkFanout measures one broadcast over real sockets on 127.0.0.1: a client
// pushes an edit, and the operation ends when every client of the session, the sender
// included, has received the update. ns/op is the latency of a whole broadcast;
// ns/delivery divides it by the number of clients.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{2, 4, 16, 50} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchmarkFanout(b, n) })
	}
}

func benchmarkFanout(b *testing.B, n int) {
	// No rate limit: the pushing client sends far more than a person types.
	hub := collab.NewHub(collab.HubConfig{Store: store.NewMemory(), Limits: collab.Limits{RatePerSecond: 1e9, RateBurst: 1 << 30}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		hub.Serve(conn, strings.TrimPrefix(r.URL.Path, "/ws/"), collab.JoinParams{})
	}))
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	info, _, err := hub.CreateSession(b.Context(), "python")
	if err != nil {
		b.Fatal(err)
	}

	// Every client reads in its own goroutine and reports its sync and each update it
	// receives.
	synced := make(chan struct{}, n)
	got := make(chan struct{}, n)
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/"+info.ID, nil)
		cancel()
		if err != nil {
			b.Fatalf("dial client %d: %v", i, err)
		}
		b.Cleanup(func() { conn.CloseNow() })
		conns[i] = conn
		go func() {
			for {
				_, data, err := conn.Read(context.Background())
				if err != nil {
					return
				}
				var m struct{ Type, Code, Message string }
				if err := json.Unmarshal(data, &m); err != nil {
					b.Errorf("client %d: %v", i, err)
					return
				}
				switch m.Type {
				case "sync": // it is in the room: it gets every update from now on
					synced <- struct{}{}
				case "update":
					got <- struct{}{}
				case "error":
					b.Errorf("client %d: server refused: %s %s", i, m.Code, m.Message)
				}
			}
		}()
	}

	for range n {
		select {
		case <-synced:
		case <-time.After(10 * time.Second):
			b.Fatal("not every client was synced within 10 s")
		}
	}

	sender := conns[0]
	version := 0
	for b.Loop() {
		// Type a character into the empty document, then delete it, and so on.
		changes := `[[0,"x"]]`
		if version%2 == 1 {
			changes = `[[1]]`
		}
		msg := fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"bench","changes":%s}]}`, version, changes)
		if err := sender.Write(b.Context(), websocket.MessageText, []byte(msg)); err != nil {
			b.Fatal(err)
		}
		for range n {
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				b.Fatalf("edit %d: not every client received it within 10 s", version)
			}
		}
		version++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(version*n), "ns/delivery")
}
