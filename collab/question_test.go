package collab_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"duet/collab"
	"duet/collab/replay"
)

// TestStarterCode: a session started from a question's starter code has it as its
// document at version 0, for the pad, for a socket's sync, after a reload from the
// store, and in the replay.
func TestStarterCode(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{IdleTTL: 1})
	ctx := t.Context()
	const starter = "def two_sum(nums, target):\r\n    pass\n"
	const want = "def two_sum(nums, target):\n    pass\n" // line breaks normalised, as CodeMirror's
	info, token, err := srv.hub.CreateSessionFrom(ctx, "python", starter)
	if err != nil {
		t.Fatalf("CreateSessionFrom() error = %v", err)
	}
	if info.Version != 0 || info.Text.String() != want {
		t.Errorf("CreateSessionFrom() = version %d, text %q; want 0, %q", info.Version, info.Text.String(), want)
	}
	if got, err := srv.hub.Session(ctx, info.ID); err != nil || got.Version != 0 || got.Text.String() != want {
		t.Errorf("Session() = version %d, text %q, %v; want 0, %q", got.Version, got.Text.String(), err, want)
	}
	c := dial(t, srv, info.ID, url.Values{})
	sync := c.readType("sync")
	if sync.Version != 0 || string(sync.Content) != `"def two_sum(nums, target):\n    pass\n"` {
		t.Errorf("sync = version %d, content %s; want the starter code at version 0", sync.Version, sync.Content)
	}
	c.send(`{"type":"edit","version":0,"updates":[{"clientID":"c1","changes":[[0,"# mine",""],36]}]}`)
	if m := c.readType("update"); m.Version != 0 {
		t.Fatalf("update = %s", m.raw)
	}
	f, err := replay.New(srv.store).FrameAt(ctx, info.ID, 0)
	if err != nil || f.Text.String() != want {
		t.Errorf("replay FrameAt(0) = %q, %v; want the starter code", f.Text.String(), err)
	}
	f, err = replay.New(srv.store).FrameAt(ctx, info.ID, 1)
	if err != nil || f.Text.String() != "# mine\n"+want {
		t.Errorf("replay FrameAt(1) = %q, %v; want the edit over the starter code", f.Text.String(), err)
	}
	if err := srv.hub.CheckOwner(ctx, info.ID, token); err != nil {
		t.Errorf("CheckOwner(owner token) error = %v", err)
	}

	long := strings.Repeat("x", 33)
	small := newHubServer(t, collab.Limits{MaxDocLength: 32})
	if _, _, err := small.hub.CreateSessionFrom(ctx, "python", long); !errors.Is(err, collab.ErrStarterTooLarge) {
		t.Errorf("CreateSessionFrom(33 units, limit 32) error = %v, want ErrStarterTooLarge", err)
	}
}

func TestCheckOwner(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id, token := srv.mustSessionToken(t)
	for _, tt := range []struct {
		name, id, token string
		want            error
	}{
		{"owner", id, token, nil},
		{"no token", id, "", collab.ErrUnauthorized},
		{"another token", id, token + "x", collab.ErrForbidden},
		{"unknown session", "3f2a1b9c-0000-4000-8000-000000000009", token, collab.ErrNotFound},
	} {
		if err := srv.hub.CheckOwner(t.Context(), tt.id, tt.token); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: CheckOwner() error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestTestsStream: the results of a test run travel as output of the "tests" stream,
// relayed as they are.
func TestTestsStream(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	b := dial(t, srv, id, url.Values{})
	b.readType("sync")
	const line = `{"type":"result","name":"small","passed":true}` + "\n"
	lineJSON, _ := json.Marshal(line)
	a.send(`{"type":"run","runId":"t1","event":"start","text":"Tests"}`)
	a.send(`{"type":"run","runId":"t1","event":"output","stream":"tests","text":` + string(lineJSON) + `}`)
	a.send(`{"type":"run","runId":"t1","event":"output","stream":"nonsense","text":"x"}`)
	if m := a.readType("error"); m.Code != collab.CodeBadMessage {
		t.Errorf("a stream of no known name: %s, want bad_message", m.raw)
	}
	b.readType("run") // start
	if m := b.readType("run"); m.Stream != "tests" || m.Text != line {
		t.Errorf("relayed = %s, want the tests line", m.raw)
	}
}
