package handlers

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"duet/views"
)

// render writes a templ component as the response: rendered into a pooled buffer
// first, so a failing component yields a clean 500 instead of half a page. The
// component finds the URLs of the scripts and styles it links to in its context.
func (h *Handler) render(c echo.Context, status int, t templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := t.Render(views.WithAssets(c.Request().Context(), h.static), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// redirect answers a form post with 303, so a reload does not post again. htmx
// follows redirects inside its XHR, so it is told to navigate instead.
func redirect(c echo.Context, to string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// isHTMX reports whether htmx made the request.
func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true"
}
