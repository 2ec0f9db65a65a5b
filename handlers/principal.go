package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"duet/collab"
)

// A principal is who a request is, across sessions: what a role is recorded
// against. It is never shown to anyone (others see a public id per session). With
// -auth none it is the browser's identity key, hashed so that the store never
// holds a credential: whoever reads the database learns nobody's key.
//
// The two rules below (principal and role) are the only ones that decide who
// someone is and what they may do in a session; every page, fragment, API call and
// socket asks them.

// principalPrefixBrowser marks a principal made from a browser's identity key;
// accounts use "a:".
const principalPrefixBrowser = "b:"

// keyPrincipal is the principal of a browser identity key.
func keyPrincipal(key string) string {
	sum := sha256.Sum256([]byte("duet principal\x00" + key))
	return principalPrefixBrowser + hex.EncodeToString(sum[:])[:32]
}

// principal returns who the request is, or "" when it has no identity: with
// sign-in, a signed-in browser (or a program with an API token) is its account
// ("a:" + its id) on every device; else the browser's identity key, hashed.
func (h *Handler) principal(c echo.Context) string {
	if p := h.accountPrincipal(c); p != "" {
		return p
	}
	if key := browserKey(c); key != "" {
		return keyPrincipal(key)
	}
	return ""
}

const (
	roleInterviewer = collab.RoleInterviewer
	roleCandidate   = collab.RoleCandidate
)

// role returns the request's role in a session: interviewer when it carries the
// session's owner token (Authorization: Bearer) or its principal is an interviewer
// of the session; candidate otherwise, unknown sessions and failures to read the
// store included (what is private stays private when in doubt).
//
// A browser that started a session before roles existed holds its owner token in
// the duet_owner cookie (path-scoped to the pad): it is made an interviewer, and
// the cookie deleted, the first time it comes back.
func (h *Handler) role(c echo.Context, sessionID string) collab.Role {
	// A page asks more than once (the pad, then its question): decide once per
	// request and session.
	key := "duet.role." + sessionID
	if r, ok := c.Get(key).(collab.Role); ok {
		return r
	}
	r := h.decideRole(c, sessionID)
	c.Set(key, r)
	return r
}

// decideRole is role, uncached.
func (h *Handler) decideRole(c echo.Context, sessionID string) collab.Role {
	ctx := c.Request().Context()
	if token, ok := bearerToken(c); ok {
		if h.sessions.CheckOwner(ctx, sessionID, token) == nil {
			return roleInterviewer
		}
	}
	if ck, err := c.Cookie(ownerCookie); err == nil {
		if h.sessions.CheckOwner(ctx, sessionID, ck.Value) == nil {
			rememberLink(c, sessionID, ck.Value)
			if err := h.addInterviewer(c, sessionID); err != nil {
				log(c).Warn("adopt the owner cookie", "session", sessionID, "err", err)
				return roleInterviewer // the cookie proved it; the record can wait for the next visit
			}
		}
		setCookie(c, ownerCookie, "", "/s/"+sessionID, -time.Second)
	}
	ok, err := h.sessions.IsInterviewer(ctx, sessionID, h.principal(c))
	if err != nil {
		log(c).Warn("read the role", "session", sessionID, "err", err)
		return roleCandidate
	}
	if ok {
		return roleInterviewer
	}
	return roleCandidate
}

// addInterviewer makes the browser of the request an interviewer of a session,
// giving it an identity first when it has none.
func (h *Handler) addInterviewer(c echo.Context, sessionID string) error {
	identity(c)
	return h.sessions.AddInterviewer(c.Request().Context(), sessionID, h.principal(c), publicID(c, sessionID))
}

// errInterviewersOnly is the answer to a candidate asking for what only
// interviewers may have: 403 (errors.go), on a page or in JSON, saying nothing of
// what is there.
var errInterviewersOnly = errors.New("interviewers only")

// requireInterviewer returns errInterviewersOnly unless the request is an
// interviewer of the session, and ErrNotFound (for everyone) when there is no such
// session.
func (h *Handler) requireInterviewer(c echo.Context, sessionID string) error {
	if err := h.sessions.CheckOwner(c.Request().Context(), sessionID, ""); errors.Is(err, collab.ErrNotFound) {
		return err
	}
	if h.role(c, sessionID) != roleInterviewer {
		return errInterviewersOnly
	}
	return nil
}

// requireInterviewerAPI is requireInterviewer for the API, where a program that
// proved nothing (no Bearer token, no browser identity) is told to authenticate:
// 401 rather than 403.
func (h *Handler) requireInterviewerAPI(c echo.Context, sessionID string) error {
	err := h.requireInterviewer(c, sessionID)
	if errors.Is(err, errInterviewersOnly) && !hasBearer(c) && h.principal(c) == "" {
		return collab.ErrUnauthorized
	}
	return err
}

// hasBearer reports whether the request carries a Bearer token, right or wrong.
func hasBearer(c echo.Context) bool {
	_, ok := bearerToken(c)
	return ok
}

// linkCookie keeps, in an interviewer's browser, the owner token of the interviewer
// link, path-scoped to the pad: the store keeps only the token's hash, so the pad
// can show the link only to a browser that was given it (it started the session or
// opened the link). It is never a reason to be an interviewer: role does not read
// it, and the pad shows the link only to an interviewer whose cookie holds the
// session's token.
const (
	linkCookie = "duet_link"
	linkMaxAge = 90 * 24 * time.Hour
)

// rememberLink keeps the interviewer link's token in this browser (linkCookie).
func rememberLink(c echo.Context, sessionID, token string) {
	setCookie(c, linkCookie, token, "/s/"+sessionID, linkMaxAge)
}

// knownInterviewerURL is the interviewer link this request knows the token of (its
// Bearer token, or the one its browser was given), or "".
func (h *Handler) knownInterviewerURL(c echo.Context, sessionID string) string {
	token, ok := bearerToken(c)
	if !ok {
		if ck, err := c.Cookie(linkCookie); err == nil {
			token = ck.Value
		}
	}
	if token == "" || h.sessions.CheckOwner(c.Request().Context(), sessionID, token) != nil {
		return ""
	}
	return h.interviewerURL(c, sessionID, token)
}

// interviewerURL is the secret link that makes whoever opens it an interviewer of
// a session (interviewerLink).
func (h *Handler) interviewerURL(c echo.Context, id, token string) string {
	return h.shareURL(c, id) + "/interviewer/" + token
}

// interviewerLink is GET /s/{id}/interviewer/{token}: with the session's owner
// token it makes this browser an interviewer and sends it to the pad, so that the
// token leaves the address bar; with another token it changes nothing (403).
func (h *Handler) interviewerLink(c echo.Context) error {
	c.Response().Header().Set("Referrer-Policy", "no-referrer") // the token is in this URL
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	if err := h.sessions.CheckOwner(c.Request().Context(), id, c.Param("token")); err != nil {
		return err
	}
	if err := h.addInterviewer(c, id); err != nil {
		return err
	}
	rememberLink(c, id, c.Param("token"))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, "/s/"+id)
}
