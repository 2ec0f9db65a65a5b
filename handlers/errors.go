package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/collab/replay"
	"duet/questions"
	"duet/views"
)

// httpError is an error the handlers raise themselves, with what the client is told.
type httpError struct {
	status  int
	code    string // machine-readable, in the JSON body
	message string // one sentence for a person
}

func (e *httpError) Error() string { return e.message }

func badRequest(code, format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

// errorCodes maps the domain's errors to HTTP, in one place.
var errorCodes = []struct {
	target  error
	status  int
	code    string
	title   string // heading of the error page
	message string
}{
	{collab.ErrNotFound, http.StatusNotFound, "not_found", "Session not found",
		"There is no session at this address. It may have been ended by its owner, or the link is incomplete."},
	{collab.ErrUnauthorized, http.StatusUnauthorized, "unauthorized", "Owner token required",
		"Only the owner of this session can do that: send its owner token as a Bearer token."},
	{collab.ErrForbidden, http.StatusForbidden, "forbidden", "Not the owner",
		"The owner token does not match this session."},
	{replay.ErrRunNotFound, http.StatusNotFound, "run_not_found", "Run not found",
		"This session has no such run."},
	{collab.ErrInvalidLanguage, http.StatusUnprocessableEntity, "invalid_language", "Unsupported language",
		"The language must be one of: " + strings.Join(collab.Languages(), ", ") + "."},
	{questions.ErrNotFound, http.StatusNotFound, "question_not_found", "Question not found",
		"There is no such question in the library. It may have been deleted."},
	{questions.ErrReadOnly, http.StatusConflict, "read_only", "Examples cannot be changed",
		"This question is one of the examples that come with duet: duplicate it, then change the copy."},
	{questions.ErrTooManyQuestions, http.StatusUnprocessableEntity, "too_many_questions", "Too many questions",
		"This interview has as many questions as it may have."},
	{errInterviewersOnly, http.StatusForbidden, "forbidden", "For interviewers only",
		"Only the interviewers of this interview can see or do this."},
	{collab.ErrEnded, http.StatusConflict, "session_ended", "The interview has ended",
		"This interview has ended: it can be replayed, not changed."},
	{collab.ErrStarterTooLarge, http.StatusUnprocessableEntity, "starter_too_large", "Starter code too long",
		"The question's starter code is longer than a document may be on this server."},
}

// handleError is echo's one error handler: it maps err to a status and answers in
// JSON on the API and with a page elsewhere. Only failures of ours (5xx) are logged.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, title, message := classify(err)
	if status >= 500 {
		log(c).Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="duet"`)
	}
	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(status)
	case isAPI(c):
		werr = c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: message}})
	default:
		// A body that timed out has cancelled the request's context (net/http does on
		// any read error), yet the client still waits for the answer.
		c.SetRequest(c.Request().WithContext(context.WithoutCancel(c.Request().Context())))
		werr = h.render(c, status, views.Error(views.ErrorPage{
			Status: status, Title: title, Message: message, Home: status == http.StatusNotFound,
		}))
	}
	if werr != nil {
		log(c).Error("write error response", "err", werr)
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify turns any error into what the client is told.
func classify(err error) (status int, code, title, message string) {
	if he, ok := errors.AsType[*httpError](err); ok {
		return he.status, he.code, http.StatusText(he.status), he.message
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.target) {
			return e.status, e.code, e.title, e.message
		}
	}
	if ee, ok := errors.AsType[*echo.HTTPError](err); ok {
		switch ee.Code {
		case http.StatusNotFound:
			return ee.Code, "not_found", "Page not found", "There is nothing at this address."
		case http.StatusMethodNotAllowed:
			return ee.Code, "method_not_allowed", "Method not allowed", "This address does not accept that method."
		case http.StatusRequestEntityTooLarge:
			return ee.Code, "too_large", "Request too large", "The request body is larger than this server accepts."
		}
		if ee.Code < 500 {
			return ee.Code, strings.ToLower(strings.ReplaceAll(http.StatusText(ee.Code), " ", "_")), http.StatusText(ee.Code), fmt.Sprint(ee.Message)
		}
	}
	return http.StatusInternalServerError, "internal", "Something went wrong", "Internal error."
}

// isAPI reports whether the request is answered in JSON: an API route, or a path
// under the API's prefixes that matched no route.
func isAPI(c echo.Context) bool {
	if api, _ := c.Get(apiKey).(bool); api {
		return true
	}
	p := c.Request().URL.Path
	return p == "/sessions" || strings.HasPrefix(p, "/sessions/") || p == "/health" ||
		p == "/questions" || strings.HasPrefix(p, "/questions/")
}
