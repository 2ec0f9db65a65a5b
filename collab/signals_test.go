package collab_test

import (
	"net/url"
	"strings"
	"testing"

	"duet/collab"
	"duet/store"
)

// until reads c's messages up to the first of type typ and returns those before it.
func until(c *wsClient, typ string) []msg {
	c.t.Helper()
	var before []msg
	for {
		m := c.read()
		if m.Type == typ {
			return before
		}
		before = append(before, m)
	}
}

// TestSignals: a candidate's browser reports pastes and tab switches; bad ones are
// refused and change nothing; good ones are stored and relayed to the interviewers
// only, never to another candidate; an interviewer's own are ignored; a flood is
// cut to the connection's budget.
func TestSignals(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{MaxDocLength: 1000})
	id := srv.mustSession(t)
	ctx := t.Context()
	iv := dial(t, srv, id, url.Values{"userName": {"Ivy"}, "role": {"interviewer"}, "userId": {"ivy-secret"}})
	iv.readType("sync")
	cand := dial(t, srv, id, url.Values{"userName": {"Cand"}, "role": {"candidate"}, "userId": {"cand-secret"}})
	you := cand.readType("sync").You.ID
	other := dial(t, srv, id, url.Values{"userName": {"Other"}, "userId": {"other-secret"}}) // no role: a candidate
	other.readType("sync")
	stored := func() []store.Signal {
		t.Helper()
		ss, err := srv.store.Signals(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}

	bad := []struct{ name, frame string }{
		{"no kind", `{"type":"signal"}`},
		{"unknown kind", `{"type":"signal","kind":"copy"}`},
		{"kind not a string", `{"type":"signal","kind":3}`},
		{"paste without size", `{"type":"signal","kind":"paste"}`},
		{"paste of 0", `{"type":"signal","kind":"paste","size":0}`},
		{"paste of -5", `{"type":"signal","kind":"paste","size":-5}`},
		{"paste past the document limit", `{"type":"signal","kind":"paste","size":1001}`},
		{"size a string", `{"type":"signal","kind":"paste","size":"12"}`},
		{"size on a tab switch", `{"type":"signal","kind":"hidden","size":4}`},
	}
	for _, b := range bad {
		cand.send(b.frame)
		if m := cand.readType("error"); m.Code != collab.CodeBadMessage {
			t.Errorf("%s: error %s, want %s", b.name, m.raw, collab.CodeBadMessage)
		}
	}
	if ss := stored(); len(ss) != 0 {
		t.Fatalf("refused signals left %v", ss)
	}

	cand.send(`{"type":"signal","kind":"paste","size":120}`)
	got := iv.readType("signal")
	if got.UserID != you || !strings.Contains(string(got.raw), `"kind":"paste"`) || !strings.Contains(string(got.raw), `"size":120`) ||
		!strings.Contains(string(got.raw), `"version":0`) || !strings.Contains(string(got.raw), `"time":"`) {
		t.Errorf("the interviewer got %s", got.raw)
	}
	cand.send(`{"type":"signal","kind":"hidden"}`)
	cand.send(`{"type":"signal","kind":"visible","size":0}`)
	// A change everyone sees, sent after the signals on the same connection (one
	// connection's messages are handled in order): what came before it is all there is.
	cand.send(`{"type":"language","language":"sql"}`)
	for _, who := range []struct {
		name string
		c    *wsClient
		want int
	}{{"interviewer", iv, 2}, {"the other candidate", other, 0}, {"the candidate", cand, 0}} {
		n := 0
		for _, m := range until(who.c, "language") {
			if m.Type == "signal" {
				n++
			}
			if m.Type == "error" {
				t.Errorf("%s got %s", who.name, m.raw)
			}
		}
		if n != who.want {
			t.Errorf("%s got %d signal messages before the language change, want %d", who.name, n, who.want)
		}
	}
	// An interviewer's own signal is ignored: not stored, not relayed.
	iv.send(`{"type":"signal","kind":"hidden"}`)
	iv.send(`{"type":"language","language":"python"}`)
	for _, m := range until(iv, "language") {
		if m.Type == "signal" || m.Type == "error" {
			t.Errorf("the interviewer's own signal came back: %s", m.raw)
		}
	}
	until(cand, "language")
	until(other, "language")
	ss := stored()
	if len(ss) != 3 || ss[0].Kind != "paste" || ss[0].Size != 120 || ss[0].UserID != you || ss[1].Kind != "hidden" || ss[2].Kind != "visible" {
		t.Fatalf("stored %+v, want the candidate's paste, hidden, visible", ss)
	}

	watch, err := srv.hub.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	p := <-watch
	for _, person := range p.People {
		switch person.Name {
		case "Cand":
			if person.Pastes != 1 || person.Pasted != 120 || person.Away != 1 || person.Hidden {
				t.Errorf("presence of the candidate = %+v", person)
			}
		case "Ivy":
			if person.Away != 0 {
				t.Errorf("the interviewer's own signal counted: %+v", person)
			}
		}
	}

	// A flood: past the burst, refused with rate_limited, and not stored.
	for range 30 {
		cand.send(`{"type":"signal","kind":"hidden"}`)
	}
	cand.send(`{"type":"language","language":"sql"}`)
	refused := 0
	for _, m := range until(cand, "language") {
		if m.Type == "error" && m.Code == collab.CodeRateLimited {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("30 signals at once were all accepted")
	}
	if n := len(stored()) - 3; n != 30-refused {
		t.Errorf("stored %d of the flood, refused %d of 30", n, refused)
	}
	t.Logf("BENCH signals flood: 30 sent, %d refused", refused)
}
