package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"duet/collab/people"
)

// A browser's identity on duet is two cookies: a random secret key, and the display
// name it chose. They are the same for every session, so a person is asked once.
//
// The key is a credential: whoever presents it is that person, so it is HttpOnly
// (no script, ours included, reads it), the socket takes it from the cookie itself,
// and nothing duet sends ever contains it. Others see a public id derived from it
// per session (people.PublicID). duet_uid, the id of older versions, was shown to
// every participant: it is deleted, never adopted as a key.
const (
	keyCookie      = "duet_key"
	oldIDCookie    = "duet_uid"
	userNameCookie = "duet_name"
	identityMaxAge = 365 * 24 * time.Hour
	keyBytes       = 32
)

// identity returns this browser's secret key (made and set now if it has none) and
// its name ("" if it never gave one).
func identity(c echo.Context) (key, name string) {
	key = browserKey(c)
	if key == "" {
		raw := make([]byte, keyBytes)
		rand.Read(raw) // never fails (crypto/rand documents it panics instead)
		key = base64.RawURLEncoding.EncodeToString(raw)
		setCookie(c, keyCookie, key, "/", identityMaxAge)
		// The rest of this request is this identity too (browserKey, principal).
		c.Request().AddCookie(&http.Cookie{Name: keyCookie, Value: key})
	}
	if _, err := c.Cookie(oldIDCookie); err == nil {
		setCookie(c, oldIDCookie, "", "/", -time.Second)
	}
	return key, browserName(c)
}

// browserName is the display name this browser gave ("" if it never gave one).
func browserName(c echo.Context) string {
	if ck, err := c.Cookie(userNameCookie); err == nil {
		if v, err := url.QueryUnescape(ck.Value); err == nil {
			return people.SanitizeName(v)
		}
	}
	return ""
}

// socketName is the display name a WebSocket joins under: the userName of its query
// (a program's, or the editor's after a rename), else the browser's name cookie.
func socketName(c echo.Context) string {
	if name := c.QueryParam("userName"); name != "" {
		return name
	}
	return browserName(c)
}

// browserKey returns the secret key of the browser's identity cookie, or "" when it
// has none that duet made.
func browserKey(c echo.Context) string {
	ck, err := c.Cookie(keyCookie)
	if err != nil {
		return ""
	}
	if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err != nil || len(b) != keyBytes {
		return ""
	}
	return ck.Value
}

// publicID is the id the others see of this browser in a session ("" for a browser
// without an identity cookie, which is nobody there).
func publicID(c echo.Context, sessionID string) string {
	key := browserKey(c)
	if key == "" {
		return ""
	}
	return people.PublicID(sessionID, key)
}

// socketSecret is what a WebSocket proves itself with (docs/protocol.md): the
// browser's identity cookie, sent with the upgrade because the socket is same-origin;
// else the userId of the query, the secret a program chose, when it is a UUID; else
// nothing, and the hub makes a participant for this connection alone.
func socketSecret(c echo.Context) string {
	if key := browserKey(c); key != "" {
		return key
	}
	id := c.QueryParam("userId")
	if u, err := uuid.Parse(id); err == nil && u.String() == id {
		return id
	}
	return ""
}

// setName keeps the browser's display name.
func setName(c echo.Context, name string) {
	setCookie(c, userNameCookie, url.QueryEscape(name), "/", identityMaxAge)
}

// setCookie sets an HttpOnly, same-site cookie; a negative maxAge deletes it.
func setCookie(c echo.Context, name, value, path string, maxAge time.Duration) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.Scheme() == "https", SameSite: http.SameSiteLaxMode,
	})
}
