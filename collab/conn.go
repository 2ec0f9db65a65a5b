package collab

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"duet/collab/people"
)

// Serve runs one accepted WebSocket connection to a session until it ends: one loop
// reads and handles the client's messages, another writes what the room queues for
// it. It returns when the connection is closed. The connection's lifetime is the
// hub's, not the HTTP request's.
func (h *Hub) Serve(conn *websocket.Conn, sessionID string, p JoinParams) {
	if !h.track() {
		h.closeWith(conn, closeReason{status: statusGoingAway, message: "server shutting down"})
		return
	}
	defer h.conns.Done()
	h.stats.connsOpened.Add(1)
	defer h.stats.connsClosed.Add(1)
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
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(conn, c, readerDone)
	}()
	go h.pingLoop(conn, c, writerDone)
	readErr := h.readLoop(conn, r, c, log)
	close(readerDone)
	<-writerDone

	why, reason := "closed by client", "client"
	select {
	case <-c.kicked:
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
	default:
		if s := websocket.CloseStatus(readErr); s != -1 {
			why = "closed by client: " + s.String()
		} else if readErr != nil && !errors.Is(readErr, io.EOF) {
			why, reason = "connection lost", "lost"
		}
	}
	h.observer.Disconnected(reason)
	log.Info("connection closed", "reason", why)
}

// readLoop reads and handles messages until the connection ends or the client must
// go. Handling is synchronous, so a client's messages take effect in order.
func (h *Hub) readLoop(conn *websocket.Conn, r *room, c *client, log *slog.Logger) error {
	ctx := context.Background() // canceling a read would drop the connection without a close frame
	bucket := newTokenBucket(h.limits.RatePerSecond, h.limits.RateBurst, h.now())
	for {
		typ, rd, err := conn.Reader(ctx)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(rd, int64(h.limits.MaxMessageBytes)+1))
		if err != nil {
			return err
		}
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

// writeLoop sends what the room queues, each write under a timeout, until the client
// is kicked, the reader ends, or the hub shuts down.
func (h *Hub) writeLoop(conn *websocket.Conn, c *client, readerDone <-chan struct{}) {
	for {
		select {
		case o := <-c.send:
			err := h.write(conn, o.msg)
			c.sent(o.msg)
			o.done(h.observer)
			if err != nil {
				conn.CloseNow()
				return
			}
			h.observer.Sent(o.typ)
		case <-c.kicked:
			h.closeWith(conn, c.why)
			return
		case <-h.ctx.Done():
			h.closeWith(conn, closeReason{status: statusGoingAway, message: "server shutting down"})
			return
		case <-readerDone:
			select {
			case <-c.kicked: // the reader stopped because of it
				h.closeWith(conn, c.why)
			default:
				conn.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
	}
}

// pingLoop detects dead peers: a ping unanswered within the interval closes the
// connection, so a vanished client is noticed within two intervals.
func (h *Hub) pingLoop(conn *websocket.Conn, c *client, writerDone <-chan struct{}) {
	t := time.NewTicker(h.limits.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-writerDone:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(h.ctx, h.limits.PingInterval)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				c.kick(closeReason{status: statusGoingAway, message: "no answer to ping"})
				return
			}
		}
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
