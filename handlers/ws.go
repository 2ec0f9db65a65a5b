package handlers

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"runtime/debug"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"duet/collab"
)

// socket is GET /ws/{id}: the live collaboration protocol of docs/protocol.md. An unknown
// session is 404 without an upgrade; after the upgrade the hub owns the connection.
func (h *Handler) socket(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	if h.sockets == nil {
		return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", message: "Live editing is not available."}
	}
	if !h.originAllowed(c) {
		return &httpError{status: http.StatusForbidden, code: "forbidden_origin", message: "Pages of this origin may not open live connections to duet."}
	}
	if err := h.sockets.Open(c.Request().Context(), id); err != nil {
		return err
	}
	// Compression is off by default: on duet's small messages it costs more CPU per
	// delivery than the bytes it saves are worth (BENCHMARKS.md, permessage-deflate).
	// The role is decided once, before the upgrade, and kept for the connection's life.
	role := h.role(c, id)
	conn, err := websocket.Accept(smallBuffers{c.Response()}, c.Request(), &websocket.AcceptOptions{OriginPatterns: h.wsOrigins, CompressionMode: h.deflate})
	if err != nil {
		return nil // Accept has answered (426 for a non-upgrade)
	}
	// The connection is served by a goroutine of its own and the handler returns: a
	// connection idles for hours, and the handler's goroutine would hold for that long
	// a stack grown deep through net/http and the middleware, and the request with it
	// (headers, the response's buffers), about half of what an idle connection cost.
	// What outlives the request is taken from it first: the address's place, given
	// back when the connection ends, and the logger.
	p := collab.JoinParams{Secret: socketSecret(c), UserName: socketName(c), Role: role}
	release, logger := keepPlace(c), log(c)
	go func() {
		defer release()
		defer func() {
			// What the recovering middleware did while the handler served the connection.
			if err := recover(); err != nil {
				logger.Error("panic", "err", err, "stack", string(debug.Stack()))
			}
		}()
		h.sockets.Serve(conn, id, p)
	}()
	return nil
}

// The buffers a WebSocket reads and writes through, held for the connection's life
// however idle it is. net/http's are 4 KiB each; duet's messages are mostly a few
// hundred bytes, and one longer than a buffer costs at most one more system call
// (a read that finds the buffer empty goes straight into the message, and a write
// past the buffer goes straight out).
const (
	socketReadBuffer  = 1 << 10
	socketWriteBuffer = 2 << 10
)

// smallBuffers is the response given to websocket.Accept: the connection it
// hijacks comes with buffers of socketReadBuffer and socketWriteBuffer bytes
// instead of net/http's.
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return conn, rw, err
	}
	// What the client sent after its request is already in net/http's buffer: the
	// new reader starts with it buffered, as Accept expects of the one it is given.
	n := rw.Reader.Buffered()
	if n > socketReadBuffer {
		return conn, rw, nil // a client that sends so much before the answer keeps the large buffer
	}
	pending, _ := rw.Reader.Peek(n)
	r := bufio.NewReaderSize(bytes.NewReader(bytes.Clone(pending)), socketReadBuffer)
	_, _ = r.Peek(n) // cannot fail: the n bytes are all there
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, socketWriteBuffer)), nil
}
