// Package handlers is duet's HTTP adapter: routes, input validation, the mapping of
// errors to statuses, and the pages, API and sockets served on echo.
package handlers

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/static"
)

// Sessions is what the handlers need of the session service (collab.Hub).
type Sessions interface {
	CreateSession(ctx context.Context, language string) (collab.SessionInfo, string, error)
	Session(ctx context.Context, id string) (collab.SessionInfo, error)
	DeleteSession(ctx context.Context, id, token string) error
	SetLanguage(ctx context.Context, id, lang, userID string) error
	Watch(ctx context.Context, id string) (<-chan collab.Presence, error)
	// CheckOwner returns nil when token is the session's owner token.
	CheckOwner(ctx context.Context, id, token string) error
	// AddInterviewer and IsInterviewer keep who the interviewers of a session are,
	// by principal (principal.go).
	AddInterviewer(ctx context.Context, id, principal, publicID string) error
	IsInterviewer(ctx context.Context, id, principal string) (bool, error)
	// EndSession ends an interview (its history stays); the handlers decide who may.
	EndSession(ctx context.Context, id string) error
}

// Sockets runs accepted WebSocket connections (collab.Hub).
type Sockets interface {
	// Open makes a session ready for connections (collab.ErrNotFound if there is
	// none), so an unknown one is refused before the upgrade.
	Open(ctx context.Context, sessionID string) error
	// Serve returns when the connection has ended (the per-address count of open
	// sockets relies on it). It is called on a goroutine of its own, after the
	// upgrade's request has been answered.
	Serve(conn *websocket.Conn, sessionID string, p collab.JoinParams)
}

// Assets are the built browser files (a *static.Dist): the handlers serve them under
// /static/, and the pages link to them by the URLs they name.
type Assets interface {
	http.Handler
	// URL returns the URL path of a logical asset name ("app.js", "pyodide/"); an
	// unknown name gives a path that 404s, so a page still renders.
	URL(name string) string
	// Lookup is URL that also reports whether the build has the name.
	Lookup(name string) (string, bool)
}

var _ Assets = (*static.Dist)(nil)

// Config is everything the handlers depend on.
type Config struct {
	Sessions Sessions
	Sockets  Sockets // nil: /ws answers 503
	Replays  Replays // nil: no replay page
	// Questions is the question library and Owners the session service's side of it
	// (collab.Hub); either nil: no question routes, and pads show no question.
	Questions Library
	Owners    Owners
	// Notes are the interviewers' notes (collab.Hub); nil: no notes routes, and
	// pads show no notes.
	Notes  Notes
	Logger *slog.Logger
	// BaseURL is the public root of duet ("https://pad.example.com") used in share
	// links. Empty: derived from each request's scheme and Host.
	BaseURL string
	// Origins are the other origins allowed to call the API from a browser (CORS) and
	// to open sockets. Same-origin is always allowed.
	Origins []string
	// BodyLimit caps request bodies in bytes.
	BodyLimit int64
	// BodyTimeout is how long a request body may take to arrive (15 s when zero).
	BodyTimeout time.Duration
	// Limits are the per-address limits (limits.go); zero values disable them.
	Limits AddressLimits
	// TrustedProxies are the peers whose X-Forwarded-For and X-Forwarded-Proto are
	// believed. Empty: the client is the socket's peer, whatever headers it sends.
	TrustedProxies []netip.Prefix
	// Static serves /static/ and names the asset URLs pages link to: cmd/duet builds
	// static.New(static.Embedded()) once. nil: no assets (every asset URL 404s, and
	// pages render without their scripts and styles).
	Static Assets
	// Compression is the WebSocket's permessage-deflate mode (ws.go): off unless
	// set; BENCHMARKS.md has the figures behind that default.
	Compression websocket.CompressionMode
	// Auth is AuthNone (the default), AuthPassword or AuthOIDC; with sign-in,
	// Accounts keeps the accounts, and with AuthOIDC, OIDC talks to the issuer.
	Auth     string
	Accounts Accounts
	OIDC     OIDC
	// Interviews lists someone's interviews (collab.Hub); nil: no /interviews.
	Interviews Interviews
}

// Handler serves duet over HTTP.
type Handler struct {
	sessions  Sessions
	sockets   Sockets
	replays   Replays
	questions Library // nil: no questions
	owners    Owners
	notes     Notes    // nil: no notes
	wsOrigins []string // host patterns of the allowed origins, for websocket.Accept
	logger    *slog.Logger
	baseURL   string
	origins   []string
	limit     int64
	static    Assets
	deflate   websocket.CompressionMode

	bodyTimeout time.Duration
	addresses   *addressTable // nil: no per-address limits

	auth       string // AuthNone, AuthPassword or AuthOIDC
	accounts   Accounts
	oidc       OIDC
	interviews Interviews
}

// New checks cfg and returns the whole HTTP handler of duet, middleware included.
func New(cfg Config) (http.Handler, error) {
	if cfg.Sessions == nil {
		return nil, fmt.Errorf("handlers: no session service")
	}
	h := &Handler{
		sessions:  cfg.Sessions,
		sockets:   cfg.Sockets,
		replays:   cfg.Replays,
		logger:    cfg.Logger,
		questions: cfg.Questions,
		owners:    cfg.Owners,
		notes:     cfg.Notes,
		baseURL:   strings.TrimSuffix(cfg.BaseURL, "/"),
		origins:   cfg.Origins,
		limit:     cfg.BodyLimit,
		static:    cfg.Static,
		deflate:   cfg.Compression,

		auth:       cmp.Or(cfg.Auth, AuthNone),
		accounts:   cfg.Accounts,
		oidc:       cfg.OIDC,
		interviews: cfg.Interviews,
	}
	switch {
	case h.auth != AuthNone && h.auth != AuthPassword && h.auth != AuthOIDC:
		return nil, fmt.Errorf("handlers: auth %q: want none, password or oidc", h.auth)
	case h.auth != AuthNone && h.accounts == nil:
		return nil, fmt.Errorf("handlers: auth %s needs the accounts", h.auth)
	case h.auth == AuthOIDC && h.oidc == nil:
		return nil, fmt.Errorf("handlers: auth oidc needs an OpenID Connect issuer")
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.limit <= 0 {
		h.limit = 64 << 10
	}
	h.bodyTimeout = cmp.Or(cfg.BodyTimeout, defaultBodyTimeout)
	if cfg.Limits.any() {
		h.addresses = newAddressTable(cfg.Limits)
	}
	if h.questions == nil || h.owners == nil {
		h.questions, h.owners = nil, nil
	}
	if h.static == nil {
		h.static = &static.Dist{} // the zero Dist has no files
	}
	if h.baseURL != "" {
		if u, err := url.Parse(h.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("handlers: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
		}
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = h.handleError
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	e.SchemeExtractor = clientScheme(cfg.TrustedProxies, h.baseURL)
	h.register(e)
	// Cross-origin form posts and API writes from pages of other sites are refused
	// (CSRF); requests without browser fetch metadata, like curl's, pass.
	cop := http.NewCrossOriginProtection()
	for _, o := range h.origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("handlers: origin %q: %w", o, err)
		}
		u, _ := url.Parse(o) // AddTrustedOrigin checked it
		h.wsOrigins = append(h.wsOrigins, u.Host)
	}
	return h.edge(e, cop), nil
}

// shareURL is the absolute link to a session's pad.
func (h *Handler) shareURL(c echo.Context, id string) string {
	base := h.baseURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/s/" + id
}

// log returns the request's logger, which carries its request id.
func log(c echo.Context) *slog.Logger {
	if l, ok := c.Get(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
