package handlers

import (
	"net/http"

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
	conn, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{OriginPatterns: h.wsOrigins, CompressionMode: h.deflate})
	if err != nil {
		return nil // Accept has answered (426 for a non-upgrade)
	}
	h.sockets.Serve(conn, id, collab.JoinParams{Secret: socketSecret(c), UserName: socketName(c), Role: role})
	return nil
}
