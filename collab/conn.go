package collab

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"duet/collab/people"
)

// Serve runs one accepted WebSocket connection to a session until it ends: one loop
// reads and handles the client's messages, another writes what the room queues for
// it and pings the client (two goroutines a connection, and a third only while a
// ping waits for its answer). It returns when the connection is closed. The
// connection's lifetime is the hub's, not the HTTP request's.
func (h *Hub) Serve(conn *websocket.Conn, sessionID string, p JoinParams) {
	if !h.track() {
		h.closeWith(conn, closeReason{status: statusGoingAway, message: "server shutting down"})
		return
	}
	defer h.conns.Done()
	h.stats.connsOpened.Add(1)
	// The connection counts as closed before its disconnection is observed, so that
	// whoever sees the one sees the other.
	closed := sync.OnceFunc(func() { h.stats.connsClosed.Add(1) })
	defer closed()
	if p.Secret == "" {
		p.Secret = rand.Text() // a participant of this connection only (docs/protocol.md)
	}
	// From here on only the public id is used: the secret is never logged or sent.
	userID := people.PublicID(sessionID, p.Secret)
	log := h.logger.With("session", sessionID, "user", userID)

	r, err := h.room(h.ctx, sessionID)
	if err != nil {
		why := closeReason{status: statusInternalError, message: "could not open the session"}
		switch {
		case errors.Is(err, ErrNotFound):
			why = closeReason{status: StatusSessionDeleted, code: CodeSessionDeleted, message: "the session was deleted"}
		case errors.Is(err, errHubClosed), errors.Is(err, context.Canceled):
			why = closeReason{status: statusGoingAway, message: "server shutting down"}
		default:
			log.Error("open session failed", "err", err)
		}
		h.closeWith(conn, why)
		return
	}
	if p.Role != RoleInterviewer {
		p.Role = RoleCandidate
	}
	c, perr := r.join(userID, p.UserName, p.Role)
	if perr != nil {
		status := statusPolicyViolation
		switch perr.code {
		case CodeSessionDeleted:
			status = StatusSessionDeleted
		case CodeSessionEnded:
			status = StatusSessionEnded
		}
		h.countRefused(perr.code)
		closed()
		h.observer.Disconnected(perr.code)
		log.Info("connection refused", "code", perr.code)
		h.closeWith(conn, closeReason{status: status, code: perr.code, message: perr.message})
		return
	}
	log.Info("connection opened", "name", c.person.Name)
	defer r.leave(c)

	// One more byte than the limit, so an oversized frame is seen here and answered
	// with too_large before the close, instead of the library closing at once.
	conn.SetReadLimit(int64(h.limits.MaxMessageBytes) + 1)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(conn, c)
	}()
	readErr := h.readLoop(conn, r, c, log)
	c.kick(readerEnded) // unless it was kicked for a reason already, which wins
	<-writerDone

	why, reason := "closed by client", "client"
	if c.why != readerEnded {
		why = c.why.message
		switch {
		case c.why.code != "":
			why, reason = c.why.code, c.why.code
		case c.why.status == statusGoingAway && h.ctx.Err() != nil:
			reason = "shutdown"
		case c.why.status == statusGoingAway:
			reason = "ping" // the only other reason to go away
		default:
			reason = "error"
		}
	} else if s := websocket.CloseStatus(readErr); s != -1 {
		why = "closed by client: " + s.String()
	} else if readErr != nil && !errors.Is(readErr, io.EOF) {
		why, reason = "connection lost", "lost"
	}
	closed()
	h.observer.Disconnected(reason)
	log.Info("connection closed", "reason", why)
}

// readLoop reads and handles messages until the connection ends or the client must
// go. Handling is synchronous, so a client's messages take effect in order.
func (h *Hub) readLoop(conn *websocket.Conn, r *room, c *client, log *slog.Logger) error {
	ctx := context.Background() // canceling a read would drop the connection without a close frame
	bucket := newTokenBucket(h.limits.RatePerSecond, h.limits.RateBurst, h.now())
	var buf bytes.Buffer // reused: nothing handling a message keeps its bytes
	for {
		typ, rd, err := conn.Reader(ctx)
		if err != nil {
			return err
		}
		if buf.Cap() > keptBufferBytes {
			buf = bytes.Buffer{} // a big message's buffer is not held while idle
		}
		buf.Reset()
		if _, err := buf.ReadFrom(io.LimitReader(rd, int64(h.limits.MaxMessageBytes)+1)); err != nil {
			return err
		}
		data := buf.Bytes()
		h.stats.messages.Add(1)
		var perr *protocolError
		switch {
		case len(data) > h.limits.MaxMessageBytes:
			h.countRefused(CodeTooLarge)
			c.kick(closeReason{status: statusMessageTooBig, code: CodeTooLarge, message: "message over the size limit"})
			return nil
		case !bucket.allow(h.now()):
			h.countRefused(CodeRateLimited)
			c.kick(closeReason{status: statusPolicyViolation, code: CodeRateLimited, message: "too many messages"})
			return nil
		case typ != websocket.MessageText:
			perr = refuse(CodeBadJSON, "messages are JSON in text frames")
		default:
			start, typ := time.Now(), ""
			var m *clientMessage
			if m, perr = decodeClientMessage(data); perr == nil {
				typ = m.Type
				perr = r.handle(h.ctx, c, m)
			}
			h.observer.Handled(typ, time.Since(start))
		}
		if perr != nil {
			h.countRefused(perr.code)
			log.Info("message refused", "code", perr.code, "reason", perr.message)
			c.queue(errorMessage(perr.code, perr.message))
		}
		select {
		case <-c.kicked:
			return nil
		default:
		}
	}
}

// Bounds of one burst of the writer: the messages it takes from the queue at once,
// and what one joined update message may hold (as many updates as a pull's answer,
// and a size no client library refuses).
const (
	burstMessages   = 64
	joinedMaxBytes  = 64 << 10
	keptBufferBytes = 4 << 10 // a connection keeps a read or join buffer up to this size between messages
)

// readerEnded is why a connection whose reader ended by itself (the client closed it,
// or it broke) is closed: normally, with no message.
var readerEnded = closeReason{status: statusNormal}

// writeLoop sends what the room queues until the client is kicked (which is also how
// it learns that the reader ended, see readerEnded) or the hub shuts down. It waits
// on as few channels as it can, since it waits once for nearly every message. It
// takes what is queued in bursts: consecutive updates of a burst go out as one
// message (joinUpdates), so a busy client costs one frame where it would cost
// several, and an idle one waits for nothing. One timer per connection, armed for
// each burst, bounds the time writing may take; a burst that overruns
// Limits.WriteTimeout closes the connection.
func (h *Hub) writeLoop(conn *websocket.Conn, c *client) {
	stuck := time.AfterFunc(time.Hour, func() { conn.CloseNow() })
	stuck.Stop()
	defer stuck.Stop()
	tick := time.NewTicker(h.limits.PingInterval)
	defer tick.Stop()
	pinged := make(chan struct{}, 1)        // a ping in flight holds it
	defer func() { pinged <- struct{}{} }() // waits for the ping in flight, which the close ends
	var burst []*outgoing
	var buf []byte
	for {
		select {
		case <-c.ready:
			if burst = c.take(burst, burstMessages); len(burst) == 0 {
				continue
			}
			stuck.Reset(h.limits.WriteTimeout)
			var err error
			buf, err = h.writeBurst(conn, c, burst, buf)
			stuck.Stop()
			clear(burst) // the messages are not kept alive by the next burst's slice
			if cap(buf) > keptBufferBytes {
				buf = nil
			}
			if err != nil {
				conn.CloseNow()
				return
			}
		case <-tick.C:
			select {
			case pinged <- struct{}{}:
				go h.ping(conn, c, pinged)
			default: // the last ping is still waiting: it fails at its own timeout
			}
		case <-c.kicked:
			h.closeWith(conn, c.why)
			return
		case <-h.ctx.Done():
			h.closeWith(conn, closeReason{status: statusGoingAway, message: "server shutting down"})
			return
		}
	}
}

// writeBurst writes the messages of burst in order, runs of consecutive updates
// joined into one message, using buf for joining. Every message of the burst is
// done with when it returns, written or not.
func (h *Hub) writeBurst(conn *websocket.Conn, c *client, burst []*outgoing, buf []byte) ([]byte, error) {
	var err error
	for i := 0; i < len(burst); {
		n, size := 1, len(burst[i].msg)
		if burst[i].count > 0 {
			// Extend the run while the next update follows on from this one.
			for j := i + 1; j < len(burst); j++ {
				prev, next := burst[j-1], burst[j]
				if next.count == 0 || next.from != prev.from+prev.count ||
					size+len(next.msg) > joinedMaxBytes || next.from+next.count-burst[i].from > pullBatch {
					break
				}
				n, size = n+1, size+len(next.msg)
			}
		}
		msg := burst[i].msg
		if n > 1 {
			buf = joinUpdates(buf[:0], burst[i:i+n])
			msg = buf
		}
		if err == nil {
			// Counted before the write, so that a client that has the message finds
			// it counted (one whose write fails ends the connection).
			h.observer.Sent(burst[i].typ)
			// No deadline here: writeLoop's timer bounds the burst, and a context
			// with a deadline would cost a timer per message.
			err = conn.Write(context.Background(), websocket.MessageText, msg)
		}
		for _, o := range burst[i : i+n] {
			c.sent(o.msg)
			o.done(h.observer)
		}
		i += n
	}
	return buf, err
}

// ping detects a dead peer: a ping unanswered within the interval closes the
// connection, so a vanished client is noticed within two intervals. It gives back
// the writer's token when it ends. A ping that fails for another reason found the
// connection ending already, and leaves the reason to whoever ended it.
func (h *Hub) ping(conn *websocket.Conn, c *client, pinged <-chan struct{}) {
	defer func() { <-pinged }()
	ctx, cancel := context.WithTimeout(h.ctx, h.limits.PingInterval)
	defer cancel()
	if err := conn.Ping(ctx); err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		c.kick(closeReason{status: statusGoingAway, message: "no answer to ping"})
	}
}

func (h *Hub) write(conn *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.limits.WriteTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, msg)
}

// closeWith sends the reason's error message, if any, then closes.
func (h *Hub) closeWith(conn *websocket.Conn, why closeReason) {
	if why.code != "" {
		if err := h.write(conn, errorMessage(why.code, why.message)); err != nil {
			conn.CloseNow()
			return
		}
	}
	reason := why.code
	if reason == "" {
		reason = why.message
	}
	conn.Close(websocket.StatusCode(why.status), truncateUTF8(reason, 120)) // a close reason fits in 123 bytes
}
