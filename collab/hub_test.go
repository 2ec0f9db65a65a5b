package collab_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/collab"
	"duet/collab/people"
	"duet/store"
)

// runEditor drives one editor over a connection: a reader that applies what comes
// (at its own random pace) and pushes when it may, and a typist making edits with
// random delays. It returns when the typist is done; the reader keeps going until
// ctx ends.
func runEditor(ctx context.Context, t *testing.T, c *wsClient, ed *editor, edits int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var wmu sync.Mutex // the typist and the reader both send
	send := func(s string) {
		wmu.Lock()
		defer wmu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.conn.Write(wctx, websocket.MessageText, []byte(s)); err != nil && ctx.Err() == nil {
			t.Errorf("%s: write: %v", ed.clientID, err)
		}
	}
	push := func() {
		if m := ed.pushMessage(); m != "" {
			send(m)
		}
	}
	go func() {
		readRng := rand.New(rand.NewPCG(seed, 2))
		for ctx.Err() == nil {
			_, b, err := c.conn.Read(ctx)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("%s: read: %v", ed.clientID, err)
				}
				return
			}
			var m msg
			if err := jsonUnmarshal(b, &m); err != nil {
				t.Errorf("%s: %v", ed.clientID, err)
				return
			}
			switch m.Type {
			case "update":
				pull, err := ed.receive(m)
				if err != nil {
					t.Errorf("%s: %v", ed.clientID, err)
					return
				}
				if pull {
					v, _, _ := ed.state()
					send(fmt.Sprintf(`{"type":"pull","version":%d}`, v))
				}
				push()
			case "error":
				t.Errorf("%s: server refused: %s %s", ed.clientID, m.Code, m.Message)
			}
			if readRng.IntN(4) == 0 {
				time.Sleep(time.Duration(readRng.IntN(3000)) * time.Microsecond)
			}
		}
	}()
	for range edits {
		if err := ed.localEdit(rng); err != nil {
			t.Errorf("%s: local edit: %v", ed.clientID, err)
			return
		}
		if rng.IntN(3) == 0 {
			push()
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
	push()
}

// TestConvergence has five clients make 200 random edits each, concurrently, with
// emoji, CJK and line breaks: everyone must end with the server's text and must have
// seen exactly the server's log.
func TestConvergence(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id := srv.mustSession(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	const clients, edits = 5, 200
	eds := make([]*editor, clients)
	var typing sync.WaitGroup
	for i := range clients {
		c := dial(t, srv, id, url.Values{"userId": {uuid.NewString()}, "userName": {fmt.Sprintf("typist %d", i)}})
		ed, err := newEditor(fmt.Sprintf("client-%d-ü", i), c.readType("sync"))
		if err != nil {
			t.Fatal(err)
		}
		eds[i] = ed
		typing.Go(func() { runEditor(ctx, t, c, ed, edits, uint64(i)) })
	}
	typing.Wait()

	// Wait for quiescence: nothing pending anywhere, everyone at the server's version.
	var final collab.SessionInfo
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		if final, err = srv.hub.Session(ctx, id); err != nil {
			t.Fatal(err)
		}
		settled := true
		for _, ed := range eds {
			v, _, pending := ed.state()
			if pending > 0 || v != final.Version {
				settled = false
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			for _, ed := range eds {
				v, _, pending := ed.state()
				t.Logf("%s at %d with %d pending; server at %d", ed.clientID, v, pending, final.Version)
			}
			t.Fatal("clients did not settle")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if final.Version < clients*edits {
		t.Errorf("server version = %d, want at least %d (every edit accepted)", final.Version, clients*edits)
	}
	want := string(final.Text.AppendJSON(nil))
	log, err := srv.store.Updates(ctx, id, 0, final.Version, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ed := range eds {
		_, got, _ := ed.state()
		if got != want {
			t.Errorf("%s text = %.200s…, want the server's %.200s…", ed.clientID, got, want)
		}
		for v, u := range log[ed.start:] {
			v += ed.start
			if got, want := ed.log[v], u.ClientID+" "+string(u.Changes); got != want {
				t.Errorf("%s saw update %d = %q, want %q", ed.clientID, v, got, want)
				break
			}
		}
	}
}

// TestReconnectResendsUnconfirmed drops a client whose push was accepted but never
// confirmed to it; it reconnects and resends: nothing is applied twice or lost.
func TestReconnectResendsUnconfirmed(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id := srv.mustSession(t)
	user := uuid.NewString()

	a := dial(t, srv, id, url.Values{"userId": {user}})
	a.readType("sync")
	other := dial(t, srv, id, url.Values{})
	other.readType("sync")
	a.send(`{"type":"edit","version":0,"updates":[{"clientID":"ed-1","changes":[[0,"hello"]]},{"clientID":"ed-1","changes":[5,[0," world"]]}]}`)
	// The other client sees the push accepted; A drops before reading its answer.
	if m := other.readType("update"); m.Version != 0 || len(m.Updates) != 2 {
		t.Fatalf("other saw %s, want the two updates at version 0", m.raw)
	}
	a.conn.CloseNow()
	other.send(`{"type":"edit","version":2,"updates":[{"clientID":"ed-2","changes":[[0,">"],11]}]}`)
	other.readType("update")

	// A comes back with the same editor state: synced at 0, both updates unconfirmed.
	a2 := dial(t, srv, id, url.Values{"userId": {user}})
	if s := a2.readType("sync"); s.Version != 3 {
		t.Fatalf("sync version = %d, want 3", s.Version)
	}
	a2.send(`{"type":"edit","version":0,"updates":[{"clientID":"ed-1","changes":[[0,"hello"]]},{"clientID":"ed-1","changes":[5,[0," world"]]}]}`)
	if m := a2.readType("update"); m.Version != 3 || len(m.Updates) != 0 {
		t.Errorf("answer to the resend = %s, want an empty update at version 3", m.raw)
	}
	a2.send(`{"type":"pull","version":0}`)
	m := a2.readType("update")
	if m.Version != 0 || len(m.Updates) != 3 || m.Updates[0].ClientID != "ed-1" || m.Updates[2].ClientID != "ed-2" {
		t.Errorf("pull from 0 = %s, want the three updates of the log", m.raw)
	}
	info, _ := srv.hub.Session(t.Context(), id)
	if got := info.Text.String(); got != ">hello world" || info.Version != 3 {
		t.Errorf("document = %q at %d, want %q at 3", got, info.Version, ">hello world")
	}

	// Resending a stale push that was partly accepted appends only the rest.
	a2.send(`{"type":"edit","version":0,"updates":[{"clientID":"ed-1","changes":[[0,"hello"]]},{"clientID":"ed-1","changes":[5,[0," world"]]},{"clientID":"ed-1","changes":[11,[0,"!"]]}]}`)
	m = a2.readType("update")
	if m.Version != 3 || len(m.Updates) != 1 || m.Updates[0].ClientID != "ed-1" {
		t.Errorf("answer = %s, want the one new update at version 3", m.raw)
	}
	info, _ = srv.hub.Session(t.Context(), id)
	if got := info.Text.String(); got != ">hello world!" {
		t.Errorf("document = %q, want %q", got, ">hello world!")
	}
}

// TestSlowConsumer: a client that stops reading must not hold up the others, and is
// cut off once its queue overflows.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	// The write timeout and the ping interval are long so that the full queue, not a
	// timed-out write nor an unanswered ping (the slow client reads nothing, so it
	// answers no ping), cuts the slow client off, however slowly a loaded machine runs
	// the fast one: loopback buffers can take tens of MB before the queue fills.
	srv := newHubServer(t, collab.Limits{SendQueue: 8, WriteTimeout: 30 * time.Second, PingInterval: time.Hour, MaxDocLength: 16 << 20})
	id := srv.mustSession(t)
	slow := dial(t, srv, id, url.Values{})
	slow.readType("sync")
	fast := dial(t, srv, id, url.Values{})
	fast.readType("sync")

	// How much the kernel buffers for a socket that is not read depends on the
	// machine and its load (loopback buffers grow to several MB), so the fast client
	// types until the slow one is cut off, up to far more than any buffer holds.
	big := strings.Repeat("x", 60_000)
	const most = 2000 // 60 MB of insertions
	sent := 0
	for sent < most && srv.hub.Stats().RefusedByCode["too_slow"] == 0 {
		i := sent
		changes := insertAt(0, big)
		if i%2 == 1 {
			changes = `[[60000]]`
		}
		fast.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"fast","changes":%s}]}`, i, changes))
		if m := fast.readType("update"); m.Version != i || len(m.Updates) != 1 {
			t.Fatalf("fast client's confirmation %d = %.100s", i, m.raw)
		}
		sent++
	}
	if got := srv.hub.Stats().RefusedByCode["too_slow"]; got != 1 {
		t.Errorf("clients cut off as too slow = %d after %d updates, want 1", got, sent)
	}
	// The slow client's connection ends: with 1008 and too_slow when the server could
	// still write the close, or cut when even that timed out.
	status, got := slow.closeStatus()
	if status != -1 && status != websocket.StatusPolicyViolation {
		t.Errorf("slow client closed with %v, want %v or a cut connection", status, websocket.StatusPolicyViolation)
	}
	if len(got) >= sent {
		t.Errorf("slow client received all %d messages; it should have been cut off", len(got))
	}
}

// TestSendQueueBytes: a client that stops reading is cut off once what is queued for
// it passes its byte budget, long before its count of messages would: large
// messages cannot make the server hold more than the budget for one client.
func TestSendQueueBytes(t *testing.T) {
	t.Parallel()
	lim := collab.Limits{SendQueue: 100_000, SendQueueBytes: 1 << 20, PullBytes: 64 << 10, RateBurst: 1000,
		MaxDocLength: 100_000, MaxMessageBytes: 128 << 10, WriteTimeout: 30 * time.Second,
		PingInterval: time.Hour} // the slow client answers no ping: only its budget may cut it off
	if min := lim.MinSendQueueBytes(); min > lim.SendQueueBytes || min < 6*lim.MaxDocLength {
		t.Fatalf("MinSendQueueBytes() = %d, want at least a sync of the largest document (%d) and at most %d",
			min, 6*lim.MaxDocLength, lim.SendQueueBytes)
	}
	srv := newHubServer(t, lim)
	id := srv.mustSession(t)
	slow := dial(t, srv, id, url.Values{})
	slow.readType("sync")
	fast := dial(t, srv, id, url.Values{})
	fast.readType("sync")

	// The fast client types until the slow one is cut off (how much the sockets'
	// buffers hold depends on the machine and its load), up to 100 MB of insertions:
	// more than the budget and any buffer, and still far below the count of messages.
	big := strings.Repeat("x", 50_000)
	const most = 1000
	rounds := 0
	for rounds < most && srv.hub.Stats().RefusedByCode["too_slow"] == 0 {
		i := rounds
		fast.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"fast","changes":%s}]}`, 2*i, insertAt(0, big)))
		fast.readType("update")
		fast.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"fast","changes":[[50000]]}]}`, 2*i+1))
		fast.readType("update")
		rounds++
	}
	if got := srv.hub.Stats().RefusedByCode["too_slow"]; got != 1 {
		t.Errorf("clients cut off as too slow = %d, want 1 (after %d messages, far below the count of %d)", got, 2*rounds, lim.SendQueue)
	}
	status, got := slow.closeStatus()
	if status != -1 && status != websocket.StatusPolicyViolation {
		t.Errorf("slow client closed with %v, want %v or a cut connection", status, websocket.StatusPolicyViolation)
	}
	if len(got) >= 2*rounds {
		t.Errorf("slow client received all %d messages; it should have been cut off", len(got))
	}
}

// TestPullMore: an answer to a pull holds about PullBytes of updates, from memory or
// from the store; its last message says "more" until the client has everything,
// and pulling again from where it got to gets the rest, in order.
func TestPullMore(t *testing.T) {
	t.Parallel()
	const budget, n = 4000, 120
	for _, tt := range []struct {
		name string
		lim  collab.Limits
	}{
		{"from memory", collab.Limits{PullBytes: budget}},
		{"from the store", collab.Limits{PullBytes: budget, TailSize: 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newHubServer(t, tt.lim)
			id := srv.mustSession(t)
			c := dial(t, srv, id, url.Values{})
			c.readType("sync")
			line := strings.Repeat("y", 90)
			for v := range n {
				c.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"c","changes":%s}]}`, v, insertAt(v*len(line), line)))
				c.readType("update")
			}
			got, pulls := 0, 0
			for got < n {
				pulls++
				c.send(fmt.Sprintf(`{"type":"pull","version":%d}`, got))
				size := 0
				for {
					m := c.readType("update")
					size += len(m.raw)
					if m.Version != got || len(m.Updates) == 0 {
						t.Fatalf("pull %d: update at %d with %d updates, want updates from %d", pulls, m.Version, len(m.Updates), got)
					}
					got += len(m.Updates)
					if m.More || got == n {
						if m.More == (got == n) {
							t.Fatalf("pull %d: more = %v at %d of %d", pulls, m.More, got, n)
						}
						break
					}
				}
				if size > budget+300 {
					t.Errorf("pull %d: answered with %d bytes, want about %d", pulls, size, budget)
				}
			}
			if got != n || pulls < n*100/budget {
				t.Errorf("pulled %d updates in %d pulls, want %d in at least %d", got, pulls, n, n*100/budget)
			}
		})
	}
}

// TestQuotaExceeded: an edit that would take the session past what its store may
// keep is refused with quota_exceeded; the connection stays open, nothing changes
// for anyone, and edits that fit still go through. A run past the quota is relayed
// whole, and stored without the output that does not fit.
func TestQuotaExceeded(t *testing.T) {
	t.Parallel()
	const quota = 4000
	st := store.NewMemoryWithLimits(store.Limits{SessionBytes: quota})
	srv := newReplayServer(t, st, collab.Limits{})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	b := dial(t, srv, id, url.Values{})
	b.readType("sync")

	a.send(`{"type":"edit","version":0,"updates":[{"clientID":"a","changes":[[0,"hello"]]}]}`)
	a.readType("update")
	b.readType("update")
	a.send(fmt.Sprintf(`{"type":"edit","version":1,"updates":[{"clientID":"a","changes":%s}]}`, insertAt(5, strings.Repeat("x", quota))))
	if m := a.readType("error"); m.Code != "quota_exceeded" || m.Message == "" {
		t.Errorf("an edit past the quota: %s, want error quota_exceeded", m.raw)
	}
	a.send(`{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[5,[0," world"]]}]}`)
	if m := a.readType("update"); m.Version != 1 || len(m.Updates) != 1 {
		t.Errorf("an edit that fits after a refused one: %s, want it accepted at version 1", m.raw)
	}
	if m := b.readType("update"); m.Version != 1 {
		t.Errorf("the other client's next update = %s, want the one at version 1 (it never saw the refused one)", m.raw)
	}
	info, _ := srv.hub.Session(t.Context(), id)
	if got := info.Text.String(); got != "hello world" || info.Version != 2 {
		t.Errorf("document = %q at %d, want %q at 2", got, info.Version, "hello world")
	}

	out := strings.Repeat("o", 3000)
	a.send(`{"type":"run","runId":"r1","event":"start","text":"main.py"}`)
	a.send(`{"type":"run","runId":"r1","event":"output","stream":"stdout","text":"` + out + `"}`)
	a.send(`{"type":"run","runId":"r1","event":"output","stream":"stdout","text":"` + out + `"}`)
	a.send(`{"type":"run","runId":"r1","event":"end","status":"ok"}`)
	relayed := 0
	for m := b.readType("run"); m.Event != "end"; m = b.readType("run") {
		relayed += len(m.Text)
	}
	if relayed != len("main.py")+2*len(out) {
		t.Errorf("relayed %d bytes of the run, want all of it", relayed)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runs, err := st.Runs(t.Context(), id)
		if err == nil && len(runs) == 1 {
			stored := 0
			for _, o := range runs[0].Output {
				stored += len(o.Text)
			}
			if !runs[0].Truncated || stored == 0 || stored >= 2*len(out) {
				t.Errorf("stored run: truncated %v, %d bytes of output; want it truncated to what fits", runs[0].Truncated, stored)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Runs() = %v, %v; want the run stored", runs, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s, _ := st.Session(t.Context(), id); s.Bytes > quota {
		t.Errorf("the session stores %d bytes, more than its quota of %d", s.Bytes, quota)
	}
}

// TestRunFlood: a connection starting runs faster than its rate gets too_many_runs
// for each run over it, and those runs are neither relayed (start, output or end)
// nor stored, nor answered with more errors; titles are cut to their limit.
func TestRunFlood(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	srv := newReplayServer(t, st, collab.Limits{RunsPerSecond: 0.01, RunBurst: 3, MaxRunTitle: 10})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	b := dial(t, srv, id, url.Values{})
	b.readType("sync")
	a.readType("user_joined")

	const runs = 8
	for i := range runs {
		a.send(fmt.Sprintf(`{"type":"run","runId":"r%d","event":"start","text":"%s"}`, i, strings.Repeat("t", 5000)))
		a.send(fmt.Sprintf(`{"type":"run","runId":"r%d","event":"output","stream":"stdout","text":"out %d"}`, i, i))
		a.send(fmt.Sprintf(`{"type":"run","runId":"r%d","event":"end","status":"ok"}`, i))
	}
	a.send(`{"type":"pull","version":0}`) // its answer comes after every answer to the runs
	var refused []string
	for m := a.read(); m.Type != "update"; m = a.read() {
		if m.Type == "error" {
			refused = append(refused, m.Code)
		}
	}
	if len(refused) != runs-3 || slices.ContainsFunc(refused, func(c string) bool { return c != "too_many_runs" }) {
		t.Errorf("errors = %v, want too_many_runs for each of the %d runs over the burst of 3", refused, runs-3)
	}
	a.send(`{"type":"language","language":"javascript"}`) // comes after every relayed run message
	var relayed []string
	for m := b.read(); m.Type != "language"; m = b.read() {
		if m.Type == "run" {
			relayed = append(relayed, m.RunID+" "+m.Event+" "+m.Text)
		}
	}
	want := []string{"r0 start tttttttttt", "r0 output out 0", "r0 end ", "r1 start tttttttttt", "r1 output out 1", "r1 end ",
		"r2 start tttttttttt", "r2 output out 2", "r2 end "}
	if !slices.Equal(relayed, want) {
		t.Errorf("relayed %q, want %q", relayed, want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for stored, _ := st.Runs(t.Context(), id); len(stored) != 3; stored, _ = st.Runs(t.Context(), id) {
		if len(stored) > 3 || time.Now().After(deadline) {
			t.Fatalf("stored %d runs, want the 3 shared", len(stored))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func insertAt(pos int, s string) string {
	if pos == 0 {
		return fmt.Sprintf(`[[0,%q]]`, s)
	}
	return fmt.Sprintf(`[%d,[0,%q]]`, pos, s)
}

// TestRefusals sends every kind of bad input: each gets exactly its error code, the
// document is unchanged, and the other client notices nothing.
func TestRefusals(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{MaxDocLength: 20})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	b := dial(t, srv, id, url.Values{})
	b.readType("sync")
	a.readType("user_joined")
	a.send(`{"type":"edit","version":0,"updates":[{"clientID":"a","changes":[[0,"abc😀"]]}]}`) // 5 units
	a.readType("update")
	b.readType("update")

	tests := []struct {
		name     string
		frame    string
		wantCode string
	}{
		{"not JSON", `{"type":`, "bad_json"},
		{"a JSON array", `["edit"]`, "bad_json"},
		{"a JSON string", `"edit"`, "bad_json"},
		{"an object, then more", `{"type":"edit","version":1} {}`, "bad_json"},
		{"a trailing comma", `{"type":"edit","version":1,}`, "bad_json"},
		{"mistyped and not JSON", `{"type":3,"version":`, "bad_json"},
		{"no type", `{"version":1}`, "bad_message"},
		{"type not a string", `{"type":3}`, "bad_message"},
		{"unknown type", `{"type":"delete_everything"}`, "unknown_type"},
		{"edit without version", `{"type":"edit","updates":[{"clientID":"a","changes":[5,[0,"x"]]}]}`, "bad_message"},
		{"version a string", `{"type":"edit","version":"1","updates":[{"clientID":"a","changes":[5,[0,"x"]]}]}`, "bad_message"},
		{"version a fraction", `{"type":"edit","version":0.5,"updates":[{"clientID":"a","changes":[5,[0,"x"]]}]}`, "bad_message"},
		{"negative version", `{"type":"edit","version":-1,"updates":[{"clientID":"a","changes":[5,[0,"x"]]}]}`, "bad_message"},
		{"version ahead", `{"type":"edit","version":7,"updates":[{"clientID":"a","changes":[5,[0,"x"]]}]}`, "version_ahead"},
		{"no updates", `{"type":"edit","version":1,"updates":[]}`, "bad_message"},
		{"update without clientID", `{"type":"edit","version":1,"updates":[{"changes":[5,[0,"x"]]}]}`, "bad_message"},
		{"update without changes", `{"type":"edit","version":1,"updates":[{"clientID":"a"}]}`, "bad_message"},
		{"changes not an array", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":"x"}]}`, "invalid_changes"},
		{"negative length", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[-1,[6,"x"]]}]}`, "invalid_changes"},
		{"zero-length part", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[0,5]}]}`, "invalid_changes"},
		{"line with a newline", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[5,[0,"x\ny"]]}]}`, "invalid_changes"},
		{"too short for the document", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[4,[0,"x"]]}]}`, "invalid_changes"},
		{"too long for the document", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[6,[0,"x"]]}]}`, "invalid_changes"},
		{"second update does not follow the first", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[5,[0,"x"]]},{"clientID":"a","changes":[5,[0,"y"]]}]}`, "invalid_changes"},
		{"document over its limit", `{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[5,[0,"0123456789abcdef"]]}]}`, "doc_too_large"},
		{"pull without version", `{"type":"pull"}`, "bad_message"},
		{"pull ahead", `{"type":"pull","version":9}`, "version_ahead"},
		{"cursor out of range", `{"type":"cursor","version":1,"ranges":[{"anchor":0,"head":6}]}`, "bad_message"},
		{"cursor without ranges", `{"type":"cursor","version":1}`, "bad_message"},
		{"cursor range without head", `{"type":"cursor","version":1,"ranges":[{"anchor":0}]}`, "bad_message"},
		{"cursor ahead", `{"type":"cursor","version":3,"ranges":[{"anchor":0,"head":0}]}`, "version_ahead"},
		{"unsupported language", `{"type":"language","language":"cobol"}`, "bad_message"},
		{"language missing", `{"type":"language"}`, "bad_message"},
		{"run without runId", `{"type":"run","event":"start"}`, "bad_message"},
		{"run with an unknown event", `{"type":"run","runId":"r","event":"explode"}`, "bad_message"},
		{"output of a run never started", `{"type":"run","runId":"zz","event":"output","stream":"stdout","text":"x"}`, "bad_message"},
	}
	for _, tt := range tests {
		a.send(tt.frame)
		m := a.read()
		if m.Type != "error" || m.Code != tt.wantCode || m.Message == "" {
			t.Errorf("%s: got %s, want error %s with a message", tt.name, m.raw, tt.wantCode)
		}
	}
	// A binary frame.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.conn.Write(ctx, websocket.MessageBinary, []byte(`{"type":"pull","version":0}`)); err != nil {
		t.Fatal(err)
	}
	if m := a.read(); m.Code != "bad_json" {
		t.Errorf("binary frame: got %s, want bad_json", m.raw)
	}

	info, _ := srv.hub.Session(t.Context(), id)
	if got := info.Text.String(); got != "abc😀" || info.Version != 1 {
		t.Errorf("document after refusals = %q at %d, want %q at 1", got, info.Version, "abc😀")
	}
	// B noticed nothing: the next thing it sees is the next real update.
	a.send(`{"type":"edit","version":1,"updates":[{"clientID":"a","changes":[5,[0,"!"]]}]}`)
	if m := b.read(); m.Type != "update" || m.Version != 1 {
		t.Errorf("other client's next message = %s, want the update at 1", m.raw)
	}
	if got := srv.hub.Stats().RefusedByCode["invalid_changes"]; got != 7 {
		t.Errorf("refused invalid_changes = %d, want 7", got)
	}
}

// TestClosingRefusals: the refusals that end the connection, each with its code.
func TestClosingRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		limits     collab.Limits
		act        func(t *testing.T, srv *hubServer, id string, c *wsClient)
		wantStatus websocket.StatusCode
		wantCode   string
	}{
		{
			name:   "frame over the size limit",
			limits: collab.Limits{MaxMessageBytes: 4096},
			act: func(t *testing.T, _ *hubServer, _ string, c *wsClient) {
				c.send(`{"type":"edit","version":0,"changes":[[0,"` + strings.Repeat("x", 5000) + `"]]}`)
			},
			wantStatus: websocket.StatusMessageTooBig, wantCode: "too_large",
		},
		{
			name:   "over the message rate",
			limits: collab.Limits{RatePerSecond: 1, RateBurst: 20},
			act: func(t *testing.T, _ *hubServer, _ string, c *wsClient) {
				for range 30 {
					c.send(`{"type":"pull","version":0}`)
				}
			},
			wantStatus: websocket.StatusPolicyViolation, wantCode: "rate_limited",
		},
		{
			name: "session deleted",
			act: func(t *testing.T, srv *hubServer, id string, _ *wsClient) {
				if err := srv.hub.DeleteSession(t.Context(), id, "wrong"); err == nil {
					t.Fatal("DeleteSession with a wrong token succeeded")
				}
				if err := srv.hub.DeleteSession(t.Context(), id, srv.tokens[id]); err != nil {
					t.Fatalf("DeleteSession() error = %v", err)
				}
			},
			wantStatus: collab.StatusSessionDeleted, wantCode: "session_deleted",
		},
		{
			name: "server shutting down",
			act: func(t *testing.T, srv *hubServer, _ string, _ *wsClient) {
				go srv.hub.Shutdown(context.Background()) // it waits for this client to answer the close
			},
			wantStatus: websocket.StatusGoingAway,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newHubServer(t, tt.limits)
			id := srv.mustSession(t)
			c := dial(t, srv, id, url.Values{})
			c.readType("sync")
			tt.act(t, srv, id, c)
			status, got := c.closeStatus()
			if status != tt.wantStatus {
				t.Errorf("closed with %v, want %v", status, tt.wantStatus)
			}
			if tt.wantCode != "" {
				if n := len(got); n == 0 || got[n-1].Code != tt.wantCode {
					t.Errorf("last message before the close = %v, want error %s", got, tt.wantCode)
				}
			}
		})
	}
}

func TestSessionFull(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{MaxParticipants: 2})
	id := srv.mustSession(t)
	first := uuid.NewString()
	dial(t, srv, id, url.Values{"userId": {first}}).readType("sync")
	dial(t, srv, id, url.Values{}).readType("sync")
	// A second tab of someone present still gets in.
	dial(t, srv, id, url.Values{"userId": {first}}).readType("sync")

	third := dial(t, srv, id, url.Values{})
	status, got := third.closeStatus()
	if status != websocket.StatusPolicyViolation || len(got) != 1 || got[0].Code != "session_full" {
		t.Errorf("third person: %v %v, want session_full and 1008", status, got)
	}
}

// TestJoinChurn: throwaway identities that join and leave a session over and over
// make every bystander hear of each: the session takes a budget of arrivals a
// minute and refuses the rest with too_many_joins, and records at most
// MaxRecordedPeople of them for the replay's names.
func TestJoinChurn(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) // the clock stands still: nothing refills
	lim := collab.Limits{MaxParticipants: 10, JoinsPerMinute: 12, MaxRecordedPeople: 5, RateBurst: 1000}
	srv := newHubServerWith(t, collab.HubConfig{Store: st, Limits: lim, Now: func() time.Time { return now }})
	id := srv.mustSession(t)
	by := url.Values{"userId": {uuid.NewString()}, "userName": {"Bystander"}}
	bystander := dial(t, srv, id, by)
	bystander.readType("sync")

	const tries = 40
	joined, refused := 0, 0
	for i := range tries {
		c := dial(t, srv, id, url.Values{"userId": {uuid.NewString()}, "userName": {fmt.Sprintf("throwaway %d", i)}})
		m := c.read()
		switch {
		case m.Type == "sync":
			joined++
			c.conn.Close(websocket.StatusNormalClosure, "")
		case m.Type == "error" && m.Code == "too_many_joins":
			refused++
			if status, _ := c.closeStatus(); status != websocket.StatusPolicyViolation {
				t.Errorf("a refused join closed with %v, want %v", status, websocket.StatusPolicyViolation)
			}
		default:
			t.Fatalf("join %d: %s, want a sync or too_many_joins", i, m.raw)
		}
	}
	if joined != lim.JoinsPerMinute-1 || refused != tries-joined {
		t.Errorf("%d joined and %d were refused, want %d joined (the bystander took one of %d) and the rest refused",
			joined, refused, lim.JoinsPerMinute-1, lim.JoinsPerMinute)
	}
	// The bystander heard of each arrival that was let in, and of its leaving: no more.
	deadline := time.Now().Add(5 * time.Second)
	for info, _ := srv.hub.Session(t.Context(), id); len(info.Users) != 1; info, _ = srv.hub.Session(t.Context(), id) {
		if time.Now().After(deadline) {
			t.Fatalf("Session().Users = %v, want the bystander alone once the others left", info.Users)
		}
		time.Sleep(10 * time.Millisecond)
	}
	bystander.send(`{"type":"pull","version":0}`)
	heard := 0
	for m := bystander.read(); m.Type != "update"; m = bystander.read() {
		if m.Type == "user_joined" || m.Type == "user_left" {
			heard++
		}
	}
	if heard != 2*joined {
		t.Errorf("the bystander heard of %d arrivals and leavings, want %d", heard, 2*joined)
	}
	deadline = time.Now().Add(5 * time.Second)
	for ps, _ := st.Participants(t.Context(), id); len(ps) != lim.MaxRecordedPeople; ps, _ = st.Participants(t.Context(), id) {
		if len(ps) > lim.MaxRecordedPeople || time.Now().After(deadline) {
			t.Fatalf("%d participants recorded, want %d", len(ps), lim.MaxRecordedPeople)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Someone present still gets a second tab in: it tells nobody of anything.
	tab := dial(t, srv, id, by)
	if m := tab.read(); m.Type != "sync" {
		t.Errorf("a second tab of the bystander: %s, want a sync", m.raw)
	}
}

// TestConnectionLimits: a person may hold a few tabs, not a thousand, and a session
// counts connections as well as people, since anyone can claim to be someone new.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{MaxParticipants: 10, MaxPersonConnections: 2, MaxConnections: 4})
	id := srv.mustSession(t)
	ada, bob := uuid.NewString(), uuid.NewString()
	for _, who := range []string{ada, ada, bob, ""} {
		dial(t, srv, id, url.Values{"userId": {who}}).readType("sync")
	}
	tests := []struct {
		name     string
		userID   string
		wantCode string
	}{
		{"a third tab of one person", ada, "too_many_connections"},
		{"a second tab when the session holds its most connections", bob, "session_full"},
		{"someone new when the session holds its most connections", uuid.NewString(), "session_full"},
	}
	for _, tt := range tests {
		c := dial(t, srv, id, url.Values{"userId": {tt.userID}})
		status, got := c.closeStatus()
		if status != websocket.StatusPolicyViolation || len(got) != 1 || got[0].Code != tt.wantCode {
			t.Errorf("%s: closed with %v after %v, want %s and 1008", tt.name, status, got, tt.wantCode)
		}
	}
	if info, _ := srv.hub.Session(t.Context(), id); len(info.Users) != 3 {
		t.Errorf("Session().Users = %+v, want the 3 who got in", info.Users)
	}
}

// TestPresenceAndCursors: joins, leaves, tabs of one person, and a cursor mapped
// through an edit made concurrently.
func TestPresenceAndCursors(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id := srv.mustSession(t)
	adaID := uuid.NewString()
	ada := dial(t, srv, id, url.Values{"userId": {adaID}, "userName": {"  Ada <b>Lovelace</b>\u202e\u0007  "}})
	s := ada.readType("sync")
	adaPublic := people.PublicID(id, adaID)
	if s.You.ID != adaPublic || s.You.Name != "Ada <b>Lovelace</b>" || len(s.Users) != 1 || s.Language != "python" {
		t.Fatalf("sync = %s", s.raw)
	}
	if !strings.Contains(string(s.raw), `Ada \u003cb\u003eLovelace`) {
		t.Errorf("name not escaped for HTML contexts in %s", s.raw)
	}

	bob := dial(t, srv, id, url.Values{"userId": {"not-a-uuid"}, "userName": {strings.Repeat("b", 50)}})
	bs := bob.readType("sync")
	if len(bs.You.ID) != people.PublicIDLength || bs.You.Name != strings.Repeat("b", 40) || len(bs.Users) != 2 || bs.Users[0].ID != adaPublic {
		t.Fatalf("bob's sync = %s", bs.raw)
	}
	if bs.You.Color == s.You.Color {
		t.Errorf("ada and bob share the color %s", s.You.Color)
	}
	j := ada.readType("user_joined")
	if j.UserID != bs.You.ID || j.UserName != bs.You.Name || j.Color != bs.You.Color {
		t.Errorf("user_joined = %s", j.raw)
	}

	// Ada types "hello"; Bob puts his cursor at 3 on version 1 while Ada inserts
	// "> " at 0, which the server accepts first: Ada must see Bob's cursor at 5.
	ada.send(`{"type":"edit","version":0,"updates":[{"clientID":"ada","changes":[[0,"hello"]]}]}`)
	ada.readType("update")
	bob.readType("update")
	ada.send(`{"type":"edit","version":1,"updates":[{"clientID":"ada","changes":[[0,"> "],5]}]}`)
	ada.readType("update")
	bob.send(`{"type":"cursor","version":1,"ranges":[{"anchor":3,"head":3},{"anchor":0,"head":5}]}`)
	cur := ada.readType("cursor")
	if cur.UserID != bs.You.ID || cur.Version != 2 || len(cur.Ranges) != 2 ||
		string(cur.Ranges[0]) != `{"anchor":5,"head":5}` || string(cur.Ranges[1]) != `{"anchor":2,"head":7}` {
		t.Errorf("cursor = %s, want bob's ranges mapped to version 2", cur.raw)
	}

	// A second tab of Ada's: no new user_joined, both tabs get updates; closing one
	// tab does not make her leave.
	ada2 := dial(t, srv, id, url.Values{"userId": {adaID}, "userName": {"Ada <b>Lovelace</b>"}})
	if s2 := ada2.readType("sync"); len(s2.Users) != 2 || s2.You.Color != s.You.Color {
		t.Errorf("second tab's sync = %s", s2.raw)
	}
	bob.send(`{"type":"edit","version":2,"updates":[{"clientID":"bob","changes":[7,[0,"!"]]}]}`)
	if m := bob.read(); m.Type != "update" {
		t.Errorf("bob got %s before his update; a second tab must not announce Ada again", m.raw)
	}
	ada.readType("update")
	ada2.readType("update")
	ada2.conn.Close(websocket.StatusNormalClosure, "")
	bob.send(`{"type":"pull","version":3}`)
	if m := bob.read(); m.Type != "update" {
		t.Errorf("bob got %s: closing one of two tabs must not make Ada leave", m.raw)
	}
	ada.conn.Close(websocket.StatusNormalClosure, "")
	if l := bob.readType("user_left"); l.UserID != adaPublic {
		t.Errorf("user_left = %s", l.raw)
	}
	info, _ := srv.hub.Session(t.Context(), id)
	if len(info.Users) != 1 || info.Users[0].ID != bs.You.ID {
		t.Errorf("Session().Users = %+v, want only bob", info.Users)
	}
}

func TestLanguageAndRuns(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{MaxRunBytes: 10})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	as := a.readType("sync")
	b := dial(t, srv, id, url.Values{})
	b.readType("sync")

	a.send(`{"type":"language","language":"javascript"}`)
	for _, c := range []*wsClient{a, b} {
		if m := c.readType("language"); m.Language != "javascript" || m.UserID != as.You.ID {
			t.Errorf("language message = %s", m.raw)
		}
	}
	if info, _ := srv.hub.Session(t.Context(), id); info.Language != "javascript" {
		t.Errorf("stored language = %q", info.Language)
	}

	a.send(`{"type":"run","runId":"r1","event":"start","text":"main.py"}`)
	a.send(`{"type":"run","runId":"r1","event":"output","stream":"stdout","text":"hello "}`)
	a.send(`{"type":"run","runId":"r1","event":"output","stream":"stderr","text":"world and more"}`)
	a.send(`{"type":"run","runId":"r1","event":"output","stream":"stdout","text":"dropped"}`)
	a.send(`{"type":"run","runId":"r1","event":"end","status":"ok"}`)
	want := []string{"start  main.py false", "output stdout hello  false", "output stderr worl true", "end   true"}
	for _, w := range want {
		m := b.readType("run")
		got := fmt.Sprintf("%s %s %s %v", m.Event, m.Stream, m.Text, m.Truncated)
		if m.UserID != as.You.ID || m.RunID != "r1" || got != w {
			t.Errorf("run message = %s, want %q", m.raw, w)
		}
	}
	// The runner does not get its own run back.
	a.send(`{"type":"pull","version":0}`)
	if m := a.read(); m.Type != "update" {
		t.Errorf("runner got %s, want only the pull answer", m.raw)
	}
}

// TestEvictAndReload: a session nobody is in leaves memory and comes back from the
// store intact; a pull older than memory is served from the store.
func TestEvictAndReload(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{IdleTTL: 50 * time.Millisecond, TailSize: 4, SnapshotEvery: 7})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	for i := range 20 {
		// Lone surrogates, one unit each: they must survive the store exactly.
		changes := `[[0,"\ud83d"]]`
		if i > 0 {
			changes = fmt.Sprintf(`[%d,[0,"\ud83d"]]`, i)
		}
		a.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"a","changes":%s}]}`, i, changes))
		a.readType("update")
	}
	// A pull from version 1 reaches past memory (4..8 updates) into the store.
	a.send(`{"type":"pull","version":1}`)
	if m := a.readType("update"); m.Version != 1 || len(m.Updates) != 19 {
		t.Errorf("pull from 1 = version %d with %d updates, want 19 from 1", m.Version, len(m.Updates))
	}
	before, _ := srv.hub.Session(t.Context(), id)
	a.conn.Close(websocket.StatusNormalClosure, "")

	deadline := time.Now().Add(10 * time.Second)
	for srv.hub.Stats().Rooms != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the empty session never left memory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := dial(t, srv, id, url.Values{})
	s := b.readType("sync")
	if s.Version != 20 || string(s.Content) != string(before.Text.AppendJSON(nil)) {
		t.Errorf("reloaded sync = version %d %s, want 20 %s", s.Version, s.Content, before.Text.AppendJSON(nil))
	}
	if !strings.Contains(string(s.Content), `\ud83d\ud83d`) {
		t.Errorf("lone surrogates did not survive the store: %s", s.Content)
	}
}

func jsonUnmarshal(b []byte, m *msg) error {
	if err := json.Unmarshal(b, m); err != nil {
		return fmt.Errorf("decode %s: %w", b, err)
	}
	m.raw = b
	return nil
}

// TestWatch follows a session's presence: people, typing, running, language, the
// questions given, and the end of the watch.
func TestWatch(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{})
	id, token := srv.mustSessionToken(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watch, err := srv.hub.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	next := func(want func(collab.Presence) bool, what string) collab.Presence {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case p, ok := <-watch:
				if !ok {
					t.Fatalf("watch closed waiting for %s", what)
				}
				if want(p) {
					return p
				}
			case <-timeout:
				t.Fatalf("no presence with %s", what)
			}
		}
	}
	next(func(p collab.Presence) bool { return len(p.People) == 0 && p.Language == "python" }, "nobody, in python")

	a := dial(t, srv, id, url.Values{"userName": {"Ada"}})
	a.readType("sync")
	next(func(p collab.Presence) bool { return len(p.People) == 1 && p.People[0].Name == "Ada" }, "Ada")

	a.send(`{"type":"edit","version":0,"updates":[{"clientID":"a","changes":[[0,"x"]]}]}`)
	next(func(p collab.Presence) bool { return len(p.People) == 1 && p.People[0].Typing }, "Ada typing")
	next(func(p collab.Presence) bool { return len(p.People) == 1 && !p.People[0].Typing }, "Ada done typing")

	a.send(`{"type":"run","runId":"r1","event":"start"}`)
	next(func(p collab.Presence) bool { return len(p.People) == 1 && p.People[0].Running }, "Ada running")
	a.send(`{"type":"run","runId":"r1","event":"end","status":"ok"}`)
	next(func(p collab.Presence) bool { return len(p.People) == 1 && !p.People[0].Running }, "Ada's run over")

	if err := srv.hub.SetLanguage(ctx, id, "javascript", ""); err != nil {
		t.Fatal(err)
	}
	next(func(p collab.Presence) bool { return p.Language == "javascript" }, "javascript")
	if m := a.readType("language"); m.Language != "javascript" {
		t.Errorf("editor got %s", m.raw)
	}
	if err := srv.hub.SetLanguage(ctx, id, "cobol", ""); !errors.Is(err, collab.ErrInvalidLanguage) {
		t.Errorf("SetLanguage(cobol) error = %v, want ErrInvalidLanguage", err)
	}

	text := func() string {
		t.Helper()
		s, err := srv.hub.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s.Text.String()
	}
	before := text()
	for n := 1; n <= 2; n++ {
		if err := srv.hub.QuestionAdded(ctx, id); err != nil {
			t.Fatal(err)
		}
		next(func(p collab.Presence) bool { return p.Questions == n }, fmt.Sprintf("question %d", n))
	}
	if after := text(); after != before {
		t.Errorf("QuestionAdded changed the document from %q to %q", before, after)
	}
	if err := srv.hub.QuestionAdded(ctx, "3f2a1b9c-0000-4000-8000-000000000009"); !errors.Is(err, collab.ErrNotFound) {
		t.Errorf("QuestionAdded(unknown session) error = %v, want ErrNotFound", err)
	}

	a.conn.Close(websocket.StatusNormalClosure, "")
	next(func(p collab.Presence) bool { return len(p.People) == 0 }, "nobody again")

	if err := srv.hub.DeleteSession(ctx, id, token); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-watch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch still open after the session was deleted")
		}
	}
}

// TestRebaseWorkIsBounded: a push far behind with many parts is refused before any
// rebase work; pulling and pushing on the current version works.
func TestRebaseWorkIsBounded(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{RateBurst: 1000})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	for i := range 300 {
		changes := `[[0,"x"]]`
		if i > 0 {
			changes = fmt.Sprintf(`[%d,[0,"x"]]`, i)
		}
		a.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"a","changes":%s}]}`, i, changes))
		a.readType("update")
	}
	// 10,000 parts made on version 0, 300 updates behind: 3,000,000 part-steps.
	// Adjacent insertions on the empty document at version 0: valid, if not canonical.
	big := "[" + strings.Repeat(`[0,"y"],`, 9_999) + `[0,"y"]]`
	a.send(`{"type":"edit","version":0,"updates":[{"clientID":"b","changes":` + big + `}]}`)
	if m := a.read(); m.Code != "version_too_old" {
		t.Errorf("far-behind push = %.200s, want version_too_old", m.raw)
	}
	if info, _ := srv.hub.Session(t.Context(), id); info.Version != 300 {
		t.Errorf("version = %d, want 300: the refused push changed something", info.Version)
	}
}
