package collab

import (
	"sync"
	"sync/atomic"
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

	// The messages queued for the writer, oldest first: at most Limits.SendQueue, a
	// client that falls behind is cut off. A slice rather than a channel of that
	// capacity, which every connection would hold however idle: this one grows with
	// what is queued, and is let go when the writer empties it.
	mu      sync.Mutex
	pending []*outgoing
	ready   chan struct{} // holds a token when pending may have messages the writer has not taken
	queued  atomic.Int64  // bytes of the messages queued and being written, within Limits.SendQueueBytes
	held    atomic.Int64  // how many messages those are, within Limits.SendQueue + 1

	kickOnce sync.Once
	kicked   chan struct{} // closed when the client must go
	why      closeReason   // set before kicked is closed

	runs    runTracker   // only the connection's reader uses it
	signals *tokenBucket // signals it may send; only the connection's reader uses it
}

func newClient(r *room, p Person) *client {
	return &client{room: r, person: p, ready: make(chan struct{}, 1), kicked: make(chan struct{})}
}

// keptQueueCap is the largest capacity the queue keeps once empty.
const keptQueueCap = 16

// queue hands msg to the writer, or cuts the client off when its queue is full, in
// messages or in bytes: a slow client must never slow the others, nor make the
// server hold more for it than its budget.
func (c *client) queue(msg []byte) { c.queueOut(newOutgoing(msg)) }

// queueOut is queue for a message that may be shared by a broadcast.
func (c *client) queueOut(o *outgoing) {
	select {
	case <-c.kicked:
		o.done(c.room.hub.observer)
		return
	default:
	}
	n := int64(len(o.msg))
	lim := c.room.hub.limits
	// The writer takes messages out of the queue a burst at a time, so the queue's
	// bound alone would let it hold a burst more: held counts what is queued or being
	// written, and allows one being written beside a full queue, as a writer taking
	// one message at a time would.
	over := c.queued.Add(n) > int64(lim.SendQueueBytes)
	over = c.held.Add(1) > int64(lim.SendQueue)+1 || over
	if !over && c.push(o, lim.SendQueue) {
		return
	}
	c.release(n)
	o.done(c.room.hub.observer)
	c.tooSlow()
}

// push appends o to the queue unless it holds max messages already, and tells the
// writer.
func (c *client) push(o *outgoing, max int) bool {
	c.mu.Lock()
	if len(c.pending) >= max {
		c.mu.Unlock()
		return false
	}
	c.pending = append(c.pending, o)
	c.mu.Unlock()
	c.wake()
	return true
}

// take moves up to n of the oldest queued messages into burst[:0]. It may find none:
// a token in ready can outlive the messages it announced.
func (c *client) take(burst []*outgoing, n int) []*outgoing {
	c.mu.Lock()
	k := min(n, len(c.pending))
	burst = append(burst[:0], c.pending[:k]...)
	left := copy(c.pending, c.pending[k:])
	clear(c.pending[left:]) // the messages are not kept alive by the queue's spare room
	c.pending = c.pending[:left]
	if left == 0 && cap(c.pending) > keptQueueCap {
		c.pending = nil
	}
	c.mu.Unlock()
	if left > 0 {
		c.wake()
	}
	return burst
}

func (c *client) wake() {
	select {
	case c.ready <- struct{}{}:
	default: // a token is there already
	}
}

// sent gives back what a message the writer is done with held of the client's budget.
func (c *client) sent(msg []byte) { c.release(int64(len(msg))) }

func (c *client) release(n int64) {
	c.queued.Add(-n)
	c.held.Add(-1)
}

func (c *client) tooSlow() {
	c.room.hub.countRefused(CodeTooSlow)
	c.kick(closeReason{status: statusPolicyViolation, code: CodeTooSlow, message: "you fell too far behind; reconnect to catch up"})
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
