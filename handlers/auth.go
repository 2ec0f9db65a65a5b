package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"duet/accounts"
	"duet/views"
)

// Sign-in is optional (-auth): with "none", interviewers are browsers remembered
// by their identity cookie; with "password" or "oidc", only signed-in interviewers
// start interviews, keep the question library and see their interviews (a
// program uses an API token). Candidates never sign in: the share link works
// signed out.
const (
	AuthNone     = "none"
	AuthPassword = "password"
	AuthOIDC     = "oidc"
)

// Accounts is sign-in (accounts.Service).
type Accounts interface {
	Login(ctx context.Context, login, password, addr string) (string, accounts.User, error)
	SignIn(ctx context.Context, u accounts.User) (string, error)
	Browser(ctx context.Context, token string) (accounts.User, error)
	APIUser(ctx context.Context, token string) (accounts.User, error)
	Logout(ctx context.Context, token string) error
	SessionTTL() time.Duration
}

// accountCookie holds a signed-in browser's secret (kept by the store only as a
// hash). HttpOnly, SameSite=Lax and Secure over https, like the identity cookie.
const accountCookie = "duet_account"

// signInOn tells whether interviewers must sign in.
func (h *Handler) signInOn() bool { return h.auth != AuthNone }

// accountKey caches a request's account in its echo.Context.
const accountKey = "duet.account"

// account returns the account the request is signed in as: a browser's account
// cookie, or an API token sent as Authorization: Bearer. Without sign-in there is
// none.
func (h *Handler) account(c echo.Context) (accounts.User, bool) {
	if !h.signInOn() {
		return accounts.User{}, false
	}
	if u, ok := c.Get(accountKey).(*accounts.User); ok {
		return *u, u.ID != ""
	}
	var u accounts.User
	var err error
	ctx := c.Request().Context()
	if token, ok := bearerToken(c); ok && accounts.IsAPIToken(token) {
		u, err = h.accounts.APIUser(ctx, token)
	} else if ck, cerr := c.Cookie(accountCookie); cerr == nil {
		u, err = h.accounts.Browser(ctx, ck.Value)
	}
	if err != nil && !errors.Is(err, accounts.ErrSignedOut) {
		log(c).Warn("read the account", "err", err)
	}
	if err != nil {
		u = accounts.User{}
	}
	c.Set(accountKey, &u)
	return u, u.ID != ""
}

// accountPrincipal is the principal of a signed-in request ("" for none): its
// account, whatever browser or program it uses.
func (h *Handler) accountPrincipal(c echo.Context) string {
	if u, ok := h.account(c); ok {
		return "a:" + u.ID
	}
	return ""
}

// errSignInRequired is a signed-out request for what needs an account: 401 on the
// API, the sign-in page on pages.
var errSignInRequired = errors.New("sign in required")

// signedIn is the middleware of the routes that need an interviewer's account when
// sign-in is on. A page sends the browser to sign in and come back; the API
// answers 401.
func (h *Handler) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.signInOn() {
			return next(c)
		}
		if _, ok := h.account(c); ok {
			return next(c)
		}
		if isAPI(c) || c.Request().Method != http.MethodGet {
			return errSignInRequired
		}
		return redirect(c, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
}

// safeNext is where to go after signing in: a path of this site, never another
// site ("//evil.example" and "/\evil" included), else home.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// loginPage is GET /login.
func (h *Handler) loginPage(c echo.Context) error {
	if !h.signInOn() {
		return echo.ErrNotFound
	}
	next := safeNext(c.QueryParam("next"))
	if _, ok := h.account(c); ok {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return h.render(c, http.StatusOK, views.Login(h.loginModel(next, "", "")))
}

func (h *Handler) loginModel(next, login, problem string) views.LoginPage {
	return views.LoginPage{Next: next, Login: login, Error: problem, Password: h.auth == AuthPassword, OIDC: h.auth == AuthOIDC}
}

// login is POST /login: a login and password. A failure re-renders the form (401,
// or 429 with Retry-After when throttled; 200 to htmx, which swaps only 2xx), and
// says nothing of which of the two was wrong.
func (h *Handler) login(c echo.Context) error {
	if h.auth != AuthPassword {
		return echo.ErrNotFound
	}
	next := safeNext(c.FormValue("next"))
	login, password := c.FormValue("login"), c.FormValue("password")
	token, _, err := h.accounts.Login(c.Request().Context(), login, password, c.RealIP())
	var throttled *accounts.ThrottledError
	status, problem := 0, ""
	switch {
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", strings.TrimSuffix(throttled.RetryAfter.Round(time.Second).String(), "s"))
		status, problem = http.StatusTooManyRequests, "Too many failed attempts. Wait a few minutes, then try again."
	case errors.Is(err, accounts.ErrBadLogin):
		status, problem = http.StatusUnauthorized, "That login and password do not match an account."
	case err != nil:
		return err
	}
	if problem != "" {
		if isHTMX(c) {
			return h.render(c, http.StatusOK, views.LoginForm(h.loginModel(next, login, problem)))
		}
		return h.render(c, status, views.Login(h.loginModel(next, login, problem)))
	}
	h.setAccountCookie(c, token)
	return redirect(c, next)
}

func (h *Handler) setAccountCookie(c echo.Context, token string) {
	c.Response().Header().Set("Cache-Control", "no-store")
	setCookie(c, accountCookie, token, "/", h.accounts.SessionTTL())
}

// logout is POST /logout: the sign-in is deleted on the server, then the cookie.
func (h *Handler) logout(c echo.Context) error {
	if !h.signInOn() {
		return echo.ErrNotFound
	}
	if ck, err := c.Cookie(accountCookie); err == nil {
		if err := h.accounts.Logout(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	setCookie(c, accountCookie, "", "/", -time.Second)
	return redirect(c, "/")
}

// giveToTeam gives a session just started to the team of the account that
// started it, so that the team sees it in its interviews.
func (h *Handler) giveToTeam(c echo.Context, sessionID string) error {
	u, ok := h.account(c)
	if !ok || u.Team == "" || h.interviews == nil {
		return nil
	}
	return h.interviews.SetTeam(c.Request().Context(), sessionID, u.Team)
}

// accountBar is what the top bar says of the account: nothing without sign-in.
func (h *Handler) accountBar(c echo.Context) views.AccountBar {
	if !h.signInOn() {
		return views.AccountBar{Interviews: true}
	}
	u, ok := h.account(c)
	return views.AccountBar{SignIn: true, Name: u.Name, SignedIn: ok, Interviews: ok}
}
