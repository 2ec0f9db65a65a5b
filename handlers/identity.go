package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"duet/collab/people"
)

// A browser's identity on duet is two cookies: a random user id, and the display name
// it chose. They are the same for every session, so a person is asked once.
const (
	userIDCookie   = "duet_uid"
	userNameCookie = "duet_name"
	identityMaxAge = 365 * 24 * time.Hour
)

// identity returns this browser's user id (made and set now if it has none) and its
// name ("" if it never gave one).
func identity(c echo.Context) (id, name string) {
	if ck, err := c.Cookie(userIDCookie); err == nil {
		if u, err := uuid.Parse(ck.Value); err == nil && u.String() == ck.Value {
			id = ck.Value
		}
	}
	if id == "" {
		id = uuid.NewString()
		setCookie(c, userIDCookie, id, "/", identityMaxAge)
	}
	if ck, err := c.Cookie(userNameCookie); err == nil {
		if v, err := url.QueryUnescape(ck.Value); err == nil {
			name = people.SanitizeName(v)
		}
	}
	return id, name
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
