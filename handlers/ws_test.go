package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/collab/people"
	"duet/handlers"
)

func wsURL(srv *testServer, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// TestSocketThroughEcho opens the live protocol through the whole handler chain:
// middleware must not break the upgrade, and the hub answers with a sync.
func TestSocketThroughEcho(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) {})
	id, _ := srv.mustCreate(t, "javascript")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, wsURL(srv, "/ws/"+id+"?userName=Grace"), nil)
	if err != nil {
		t.Fatalf("dial: %v (status %v)", err, res)
	}
	defer conn.CloseNow()
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sync struct {
		Type, Language string
		Version        int
		You            struct{ ID, Name string }
	}
	if err := json.Unmarshal(b, &sync); err != nil {
		t.Fatal(err)
	}
	if sync.Type != "sync" || sync.Language != "javascript" || sync.You.Name != "Grace" {
		t.Errorf("first message = %s, want a sync for Grace in javascript", b)
	}
	if len(sync.You.ID) != people.PublicIDLength {
		t.Errorf("server made no public id: %q", sync.You.ID)
	}
	// GET /sessions/{id} lists who is connected.
	got := srv.do(t, "GET", "/sessions/"+id, nil, "")
	var info struct {
		Users []struct{ ID, Name, Color string }
	}
	mustUnmarshal(t, got.body, &info)
	if len(info.Users) != 1 || info.Users[0].Name != "Grace" || info.Users[0].ID != sync.You.ID {
		t.Errorf("GET session users = %s, want Grace", got.body)
	}
}

func TestSocketRefusals(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.Origins = []string{"https://app.example.com"} })
	id, _ := srv.mustCreate(t, "python")
	tests := []struct {
		name       string
		path       string
		origin     string
		wantStatus int
	}{
		{"unknown session", "/ws/" + uuid.NewString(), "", http.StatusNotFound},
		{"malformed id", "/ws/nope", "", http.StatusNotFound},
		{"foreign origin", "/ws/" + id, "https://evil.example.com", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
			if tt.origin != "" {
				opts.HTTPHeader.Set("Origin", tt.origin)
			}
			conn, res, err := websocket.Dial(ctx, wsURL(srv, tt.path), opts)
			if err == nil {
				conn.CloseNow()
				t.Fatalf("dial %s succeeded, want %d", tt.path, tt.wantStatus)
			}
			if res == nil || res.StatusCode != tt.wantStatus {
				t.Errorf("dial %s: response %v, want %d", tt.path, res, tt.wantStatus)
			}
		})
	}
	// The allowed other origin may connect.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, wsURL(srv, "/ws/"+id), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://app.example.com"}}})
	if err != nil {
		t.Fatalf("dial from the allowed origin: %v", err)
	}
	conn.CloseNow()
}
