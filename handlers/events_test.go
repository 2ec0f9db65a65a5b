package handlers_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// readEvents parses a text/event-stream into a channel of events.
func readEvents(t *testing.T, body io.Reader) <-chan sseEvent {
	t.Helper()
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ev.data = strings.Join(data, "\n")
					ch <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return ch
}

// nextEvent waits for the next event named name.
func nextEvent(t *testing.T, ch <-chan sseEvent, name string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended waiting for %s", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", name)
		}
	}
}

// TestEventsFollowPresence follows a pad's event stream while someone joins, types
// and switches the language.
func TestEventsFollowPresence(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	viewer := "duet_key=" + strings.Repeat("k", 43) // a browser's identity cookie

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/s/"+id+"/events", nil)
	req.Header.Set("Cookie", viewer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	events := readEvents(t, res.Body)
	if ev := nextEvent(t, events, "participants"); !strings.Contains(ev.data, "Nobody is connected") {
		t.Errorf("first participants = %q", ev.data)
	}
	if ev := nextEvent(t, events, "language"); !strings.Contains(ev.data, `<option value="python" selected>`) {
		t.Errorf("first language = %q", ev.data)
	}

	// The viewer's own editor connects: the list shows them, marked as you, escaped.
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, wsURL(srv, "/ws/"+id+"?"+url.Values{"userName": {"<b>Ada</b>"}}.Encode()),
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {viewer}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	go func() { // keep reading so the connection stays healthy
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()
	ev := nextEvent(t, events, "participants")
	if !strings.Contains(ev.data, "&lt;b&gt;Ada&lt;/b&gt;") || !strings.Contains(ev.data, `participant-you`) || strings.Contains(ev.data, "<b>") {
		t.Errorf("participants after join = %q", ev.data)
	}
	// Typing shows.
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"edit","version":0,"updates":[{"clientID":"x","changes":[[0,"a"]]}]}`))
	if ev := nextEvent(t, events, "participants"); !strings.Contains(ev.data, "typing") {
		t.Errorf("participants while typing = %q", ev.data)
	}

	// Switching the language through the page's form reaches the stream.
	sw := srv.do(t, "POST", "/s/"+id+"/language", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "HX-Request": {"true"}}, "language=javascript")
	if sw.status != http.StatusNoContent {
		t.Errorf("POST language = %d, want 204", sw.status)
	}
	if ev := nextEvent(t, events, "language"); !strings.Contains(ev.data, `<option value="javascript" selected>`) {
		t.Errorf("language after switch = %q", ev.data)
	}
	bad := srv.do(t, "POST", "/s/"+id+"/language", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "language=cobol")
	if bad.status != http.StatusUnprocessableEntity {
		t.Errorf("POST language=cobol = %d, want 422", bad.status)
	}

	// Deleting the session says so, then ends the stream.
	srv.do(t, "DELETE", "/sessions/"+id, http.Header{"Authorization": {"Bearer " + token}}, "")
	if ev := nextEvent(t, events, "participants"); !strings.Contains(ev.data, "This interview has ended") {
		t.Errorf("participants after the end = %q", ev.data)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("event stream still open after the session was deleted")
		}
	}
}

func TestEventsOfAnUnknownSession(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	if res := srv.do(t, "GET", "/s/"+uuid.NewString()+"/events", nil, ""); res.status != 404 {
		t.Errorf("events of an unknown session = %d, want 404", res.status)
	}
}
