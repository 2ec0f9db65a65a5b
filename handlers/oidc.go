package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"duet/accounts"
	"duet/views"
)

// OIDC is sign-in through an OpenID Connect issuer (accounts.OIDC).
type OIDC interface {
	// Start begins a sign-in: the issuer's authorization URL to send the browser
	// to, and the flow's secrets (state, nonce, PKCE verifier) for its cookie.
	Start() (authURL, flow string, err error)
	// Finish checks the issuer's answer (the callback's query) against the flow,
	// exchanges the code and verifies the ID token, and returns the account it
	// proves (made on the first sign-in).
	Finish(ctx context.Context, flow string, query url.Values) (accounts.User, error)
}

// oidcCookie holds a sign-in in progress: the flow's secrets, which only this
// browser has, and where to go after. It lives for the round trip to the issuer.
const (
	oidcCookie    = "duet_oidc"
	oidcNext      = "duet_oidc_next"
	oidcCookieAge = 10 * time.Minute
	oidcPath      = "/login/oidc"
)

// oidcStart is GET /login/oidc: off to the issuer.
func (h *Handler) oidcStart(c echo.Context) error {
	authURL, flow, err := h.oidc.Start()
	if err != nil {
		return err
	}
	setCookie(c, oidcCookie, flow, oidcPath, oidcCookieAge)
	setCookie(c, oidcNext, url.QueryEscape(safeNext(c.QueryParam("next"))), oidcPath, oidcCookieAge)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, authURL)
}

// oidcCallback is GET /login/oidc/callback: the issuer sends the browser back with
// a code and the state; anything that does not check out signs nobody in.
func (h *Handler) oidcCallback(c echo.Context) error {
	ck, err := c.Cookie(oidcCookie)
	if err != nil {
		return h.oidcFailed(c, "The sign-in took too long or was started in another browser. Try again.")
	}
	setCookie(c, oidcCookie, "", oidcPath, -time.Second) // one use
	u, err := h.oidc.Finish(c.Request().Context(), ck.Value, c.QueryParams())
	if errors.Is(err, accounts.ErrOIDCRefused) {
		log(c).Info("OIDC sign-in refused", "err", err)
		return h.oidcFailed(c, "Your company account could not sign you in here. Ask whoever runs this duet.")
	}
	if err != nil {
		return err
	}
	token, err := h.accounts.SignIn(c.Request().Context(), u)
	if err != nil {
		return err
	}
	next := "/"
	if nk, err := c.Cookie(oidcNext); err == nil {
		if v, err := url.QueryUnescape(nk.Value); err == nil {
			next = safeNext(v)
		}
	}
	setCookie(c, oidcNext, "", oidcPath, -time.Second)
	h.setAccountCookie(c, token)
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *Handler) oidcFailed(c echo.Context, problem string) error {
	return h.render(c, http.StatusUnauthorized, views.Login(h.loginModel("/", "", problem)))
}
