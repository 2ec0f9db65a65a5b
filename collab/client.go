package collab

import (
	"encoding/json"
	"sync"
	"time"
)

// closeReason is why the server ends a connection: an optional error message sent
// first, then the close frame.
type closeReason struct {
	status  int    // WebSocket close code
	code    string // error code to send before closing; "" sends none
	message string
}

// Standard close codes used here (RFC 6455 §7.4.1).
const (
	statusNormal          = 1000
	statusGoingAway       = 1001
	statusPolicyViolation = 1008
	statusMessageTooBig   = 1009
	statusInternalError   = 1011
)

// client is one connection to a room. The room queues messages for it; the
// connection's writer sends them. Queueing never blocks.
type client struct {
	room   *room
	person Person

	send chan []byte // bounded: a client that falls behind is cut off

	kickOnce sync.Once
	kicked   chan struct{} // closed when the client must go
	why      closeReason   // set before kicked is closed

	runs runTracker // only the connection's reader uses it
}

func newClient(r *room, p Person) *client {
	return &client{room: r, person: p, send: make(chan []byte, r.hub.limits.SendQueue), kicked: make(chan struct{})}
}

// queue hands msg to the writer, or cuts the client off when its queue is full: a
// slow client must never slow the others.
func (c *client) queue(msg []byte) {
	select {
	case <-c.kicked:
	case c.send <- msg:
	default:
		c.room.hub.countRefused(CodeTooSlow)
		c.kick(closeReason{status: statusPolicyViolation, code: CodeTooSlow, message: "you fell too far behind; reconnect to catch up"})
	}
}

// kick makes the connection end with why; the first reason wins.
func (c *client) kick(why closeReason) {
	c.kickOnce.Do(func() {
		c.why = why
		close(c.kicked)
	})
}

// tokenBucket limits a connection's message rate: rate tokens a second, up to burst.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// allow takes a token if there is one.
func (b *tokenBucket) allow(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// runTracker caps the output of a client's runs that is relayed to the others.
type runTracker struct {
	current string // the run in progress
	bytes   int    // output relayed for it
	capped  bool   // output was dropped
}

// Run stream names and events of the run message. The "table" stream carries a
// result table (SQL) as JSON: it is relayed whole or not at all, never cut.
var (
	runEvents  = map[string]bool{"start": true, "output": true, "end": true}
	runStreams = map[string]bool{"stdout": true, "stderr": true, "stdin": true, "system": true, "table": true}
)

const maxRunField = 64 // bytes of runId and status

// check validates a run message and applies the caps; a nil event with no refusal
// means the message is dropped (over the run's budget).
func (t *runTracker) check(m *clientMessage, lim Limits) (*runEvent, *protocolError) {
	switch {
	case m.RunID == nil || *m.RunID == "" || len(*m.RunID) > maxRunField:
		return nil, refuse(CodeBadMessage, `field "runId" must be a string of 1 to %d bytes`, maxRunField)
	case m.Event == nil || !runEvents[*m.Event]:
		return nil, refuse(CodeBadMessage, `field "event" must be start, output or end`)
	case m.Status != nil && len(*m.Status) > maxRunField:
		return nil, refuse(CodeBadMessage, `field "status" is longer than %d bytes`, maxRunField)
	}
	e := &runEvent{runID: *m.RunID, event: *m.Event}
	if m.Status != nil {
		e.status = *m.Status
	}
	switch e.event {
	case "start":
		t.current, t.bytes, t.capped = e.runID, 0, false
		if m.Text != nil { // the code or command being run, shown as its title
			e.text = truncateUTF8(*m.Text, lim.MaxRunText)
		}
	case "output":
		if m.Stream == nil || !runStreams[*m.Stream] {
			return nil, refuse(CodeBadMessage, `field "stream" must be stdout, stderr, stdin, system or table`)
		}
		if m.Text == nil {
			return nil, refuse(CodeBadMessage, `field "text" is missing`)
		}
		if e.runID != t.current {
			return nil, refuse(CodeBadMessage, "run %q was not started", e.runID)
		}
		e.stream = *m.Stream
		left := min(lim.MaxRunText, lim.MaxRunBytes-t.bytes)
		if e.stream == "table" {
			if !json.Valid([]byte(*m.Text)) {
				return nil, refuse(CodeBadMessage, `a "table" output's text must be JSON`)
			}
			if len(*m.Text) > left { // cut JSON is no table: drop it whole
				left = 0
			}
		}
		if left <= 0 {
			t.capped = true
			return nil, nil
		}
		e.text = truncateUTF8(*m.Text, left)
		e.truncated = len(e.text) < len(*m.Text)
		t.capped = t.capped || e.truncated
		t.bytes += len(e.text)
	case "end":
		e.truncated = t.capped && e.runID == t.current
		if e.runID == t.current {
			t.current = ""
		}
	}
	return e, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
