package handlers

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// defaultBodyTimeout is Config.BodyTimeout when it is zero.
const defaultBodyTimeout = 15 * time.Second

// Context keys of what the outermost layer learnt about a request before echo saw it.
type (
	crossOriginKey struct{} // http.CrossOriginProtection refused the request
	headKey        struct{} // the request was a HEAD, served as a GET
)

// edge wraps echo in what must happen before routing: a deadline for request bodies,
// HEAD served as GET, and the cross-origin check, whose refusals are answered by
// echo like any other error (JSON on the API, a page elsewhere, with the security
// headers), not with the text/plain 403 of http.CrossOriginProtection.
func (h *Handler) edge(e *echo.Echo, cop *http.CrossOriginProtection) http.Handler {
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), crossOriginKey{}, true)))
	}))
	next := cop.Handler(e)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 { // a body follows (-1: of unknown length)
			h.bodyDeadline(w, r)
		}
		if r.Method == http.MethodHead {
			// echo routes HEAD nowhere. As a GET, it reaches the GET route; the response
			// writer still belongs to the HEAD request, and net/http drops the body.
			r = r.WithContext(context.WithValue(r.Context(), headKey{}, true))
			r.Method = http.MethodGet
		}
		next.ServeHTTP(w, r)
	})
}

// bodyDeadline gives a request's body h.bodyTimeout to arrive: a client sending a
// byte every few seconds no longer holds a connection (and a goroutine) for ever.
// The server has no ReadTimeout, which would also cut WebSockets and event streams;
// those are GETs without a body and never get here. Once the body has been read,
// the deadline is lifted: net/http then reads on in the background to notice a
// client that goes away, and a deadline hit there would cancel the request's
// context while its handler is still at work.
func (h *Handler) bodyDeadline(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(h.bodyTimeout)) != nil {
		return // a writer that cannot do it (only in tests that call the handler directly)
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { rc.SetReadDeadline(time.Time{}) }}
}

// deadlineBody lifts the read deadline when the body has been read to its end.
type deadlineBody struct {
	io.ReadCloser
	lift   func()
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		b.lift()
	}
	return n, err
}

// bodyError is what the client is told when its request body could not be read.
func bodyError(err error) error {
	if he, ok := errors.AsType[*echo.HTTPError](err); ok { // the body limit
		return he
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &httpError{status: http.StatusRequestTimeout, code: "timeout", message: "The request body arrived too slowly."}
	}
	return badRequest("bad_request", "The request body could not be read.")
}

// readForm reads a form body before the handler does: handlers read fields with
// FormValue, which hides a body that was too large or too slow.
func readForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength != 0 && r.Method != http.MethodGet {
			mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			if mt == echo.MIMEApplicationForm || mt == echo.MIMEMultipartForm {
				if _, err := c.FormParams(); err != nil {
					return bodyError(err)
				}
			}
		}
		return next(c)
	}
}

// refuseCrossOrigin answers a request that http.CrossOriginProtection refused (see
// edge) with duet's own error.
func refuseCrossOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if refused, _ := c.Request().Context().Value(crossOriginKey{}).(bool); refused {
			return &httpError{status: http.StatusForbidden, code: "cross_origin",
				message: "Cross-origin request refused: a page of another site cannot do this on duet."}
		}
		return next(c)
	}
}

// isHead reports whether the request came as a HEAD (see edge).
func isHead(c echo.Context) bool {
	head, _ := c.Request().Context().Value(headKey{}).(bool)
	return head
}

// trustOptions are echo's options that trust exactly the given proxies (echo trusts
// loopback and private addresses unless told not to).
func trustOptions(proxies []netip.Prefix) []echo.TrustOption {
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return opts
}

// clientAddress finds a request's client address: the socket's peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is not one.
// Anyone else's X-Forwarded-For is ignored: it is whatever the client wants.
func clientAddress(proxies []netip.Prefix) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	return echo.ExtractIPFromXFFHeader(trustOptions(proxies)...)
}

// clientScheme finds the scheme a request's client used: https when duet's public
// address (BASE_URL) is https, whatever the last hop was; otherwise that of the
// connection, or what a trusted proxy says in X-Forwarded-Proto. It decides the
// Secure flag of cookies and the scheme half of the WebSocket origin check.
func clientScheme(proxies []netip.Prefix, baseURL string) echo.SchemeExtractor {
	if strings.HasPrefix(baseURL, "https://") {
		return func(*http.Request) string { return "https" }
	}
	if len(proxies) == 0 {
		return echo.ExtractSchemeDirect()
	}
	return echo.ExtractSchemeFromHeaders(trustOptions(proxies)...)
}

// originAllowed reports whether a page of the request's Origin may open a socket.
// websocket.Accept compares hosts only, so http://app.example would pass for an
// allowed https://app.example: here the scheme counts too. Allowed are the
// configured origins, exactly, and duet's own: the request's host, over https or
// over the scheme the request came by. A request without Origin is not from a page.
func (h *Handler) originAllowed(c echo.Context) bool {
	origin := c.Request().Header.Get(echo.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	for _, o := range h.origins {
		if strings.EqualFold(o, u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return strings.EqualFold(u.Host, c.Request().Host) && (u.Scheme == "https" || u.Scheme == c.Scheme())
}
