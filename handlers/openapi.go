package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes the JSON API. A test checks every route and answer
// against it, so it cannot drift from the code.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the OpenAPI 3.1 document of the API.
func (h *Handler) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
