package handlers

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"duet/collab"
	"duet/questions"
)

const (
	loggerKey = "duet.logger" // *slog.Logger carrying the request id
	apiKey    = "duet.api"    // true on API routes: errors are JSON there
)

// contentSecurityPolicy allows only duet's own origin. 'wasm-unsafe-eval' lets the
// runner compile Pyodide's WebAssembly; it does not allow eval of JavaScript. Images
// may be data: URLs because Swagger UI draws its icons that way.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// jsWorkerPolicy is the policy of the JavaScript runner's worker script. A worker
// loaded from a URL is governed by the policy sent with its own script, not the page's;
// this one lets it eval the user's program ('unsafe-eval', in that worker only) and
// nothing else: no network, no nested workers.
const jsWorkerPolicy = "default-src 'none'; script-src 'self' 'unsafe-eval'; worker-src 'none'"

// middleware is the chain every request goes through, outermost first.
func (h *Handler) middleware() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{
			RequestIDHandler: func(c echo.Context, id string) {
				c.Set(loggerKey, h.logger.With("request_id", id))
			},
		}),
		middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
			LogMethod: true, LogURIPath: true, LogStatus: true, LogLatency: true,
			LogRemoteIP: true, LogResponseSize: true, HandleError: true,
			LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
				log(c).LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
					slog.String("method", v.Method), slog.String("path", v.URIPath),
					slog.Int("status", v.Status), slog.Duration("latency", v.Latency),
					slog.String("remote_ip", v.RemoteIP), slog.Int64("bytes_out", v.ResponseSize))
				return nil
			},
		}),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				log(c).Error("panic", "err", err, "stack", string(stack))
				return err // the error handler answers 500
			},
		}),
		h.securityHeaders(),
		refuseCrossOrigin,
		h.bodyLimit(),
		readForm,
		middleware.GzipWithConfig(middleware.GzipConfig{
			MinLength: 1024,
			// Static files come precompressed; sockets and event streams must not be buffered.
			Skipper: func(c echo.Context) bool {
				p := c.Request().URL.Path
				return strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/ws/") || strings.HasSuffix(p, "/events")
			},
		}),
	}
}

// securityHeaders sets the headers every response carries. The JavaScript runner's
// worker script gets its own policy, found by the URL the assets give it.
func (h *Handler) securityHeaders() echo.MiddlewareFunc {
	jsWorker, _ := h.static.Lookup("runner-js-worker.js")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			hd := c.Response().Header()
			if p := c.Request().URL.Path; jsWorker != "" && p == jsWorker {
				hd.Set("Content-Security-Policy", jsWorkerPolicy)
			} else {
				hd.Set("Content-Security-Policy", contentSecurityPolicy)
			}
			hd.Set("X-Content-Type-Options", "nosniff")
			hd.Set("Referrer-Policy", "same-origin")
			hd.Set("X-Frame-Options", "DENY")
			// Cross-origin isolation gives the runner SharedArrayBuffer: Stop can interrupt
			// Python and input() can block. Everything duet loads is its own.
			hd.Set("Cross-Origin-Opener-Policy", "same-origin")
			hd.Set("Cross-Origin-Embedder-Policy", "require-corp")
			hd.Set("Cross-Origin-Resource-Policy", "same-origin")
			return next(c)
		}
	}
}

// apiMiddleware marks API routes (so errors are answered in JSON) and allows the
// configured origins to call them from a browser.
func (h *Handler) apiMiddleware() []echo.MiddlewareFunc {
	mark := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(apiKey, true)
			return next(c)
		}
	}
	if len(h.origins) == 0 {
		return []echo.MiddlewareFunc{mark}
	}
	return []echo.MiddlewareFunc{mark, middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:  slices.Clone(h.origins),
		AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowHeaders:  []string{echo.HeaderContentType, echo.HeaderAuthorization},
		ExposeHeaders: []string{echo.HeaderLocation},
		MaxAge:        600,
	})}
}

// preflight answers CORS preflight requests; the CORS middleware has set the headers
// when the origin is allowed.
func (h *Handler) preflight(c echo.Context) error {
	return c.NoContent(http.StatusNoContent)
}

// bodyLimit caps request bodies at the configured limit, raised on the routes that
// take a question (questions.MaxBody) or a file of them (questions.MaxImportBody),
// and on those that take a note (noteMaxBody): those are bounded by their own
// rules, which a small -max-body-bytes would make unreachable. It runs after
// routing, so it knows the route.
func (h *Handler) bodyLimit() echo.MiddlewareFunc {
	limit := func(n int64) echo.MiddlewareFunc {
		return middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: byteSize(max(n, h.limit))})
	}
	def, one, file, note := limit(h.limit), limit(questions.MaxBody), limit(questions.MaxImportBody), limit(noteMaxBody)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		def, one, file, note := def(next), one(next), file(next), note(next)
		return func(c echo.Context) error {
			switch c.Path() {
			case "/sessions/:id/notes", "/s/:id/notes":
				return note(c)
			case "/questions", "/questions/:id", "/library", "/library/:id":
				return one(c)
			case "/questions/import", "/library/import":
				return file(c)
			}
			return def(c)
		}
	}
}

// noteMaxBody is the largest body a note at its longest (collab.MaxNoteText) can
// take: each byte of its text as a JSON escape (\u00XX) or a form's %XX, and room for
// the rest.
const noteMaxBody = 6*collab.MaxNoteText + 4<<10

// byteSize writes n in the unit syntax of echo's body limit ("65536B").
func byteSize(n int64) string {
	return strconv.FormatInt(n, 10) + "B"
}
