package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/questions"
)

type createSessionRequest struct {
	Language   string `json:"language"`
	QuestionID string `json:"questionId"` // start from this question of the library
}

type createSessionResponse struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	Language   string    `json:"language"`
	URL        string    `json:"url"`
	OwnerToken string    `json:"ownerToken"`
	// InterviewerURL is the secret link that makes whoever opens it an interviewer
	// (principal.go); URL makes candidates.
	InterviewerURL string `json:"interviewerUrl"`
}

type sessionResponse struct {
	ID        string       `json:"id"`
	Language  string       `json:"language"`
	CreatedAt time.Time    `json:"createdAt"`
	Version   int          `json:"version"`
	Users     []userObject `json:"users"`
	Ended     *time.Time   `json:"ended,omitempty"`
}

type userObject struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
	Role  string `json:"role"`
}

// health answers while the process serves requests.
func (h *Handler) health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// createSession is POST /sessions.
func (h *Handler) createSession(c echo.Context) error {
	var req createSessionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var s collab.SessionInfo
	var token string
	var err error
	if req.QuestionID != "" && h.questions != nil {
		s, token, err = h.startFromQuestion(c.Request().Context(), req.QuestionID, req.Language)
		if errors.Is(err, questions.ErrNotFound) {
			return &httpError{status: http.StatusUnprocessableEntity, code: "unknown_question", message: "There is no question with that questionId in the library."}
		}
	} else {
		s, token, err = h.sessions.CreateSession(c.Request().Context(), req.Language)
	}
	if err != nil {
		return err
	}
	// A program signed in with an API token starts interviews of its account: they
	// are listed in its (and its team's) interviews.
	if p := h.accountPrincipal(c); p != "" {
		if err := h.sessions.AddInterviewer(c.Request().Context(), s.ID, p, ""); err != nil {
			return err
		}
		if err := h.giveToTeam(c, s.ID); err != nil {
			return err
		}
	}
	c.Response().Header().Set(echo.HeaderLocation, "/sessions/"+s.ID)
	return c.JSON(http.StatusCreated, createSessionResponse{
		ID: s.ID, CreatedAt: s.CreatedAt, Language: s.Language, URL: h.shareURL(c, s.ID), OwnerToken: token,
		InterviewerURL: h.interviewerURL(c, s.ID, token),
	})
}

// getSession is GET /sessions/{id}.
func (h *Handler) getSession(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	users := make([]userObject, len(s.Users))
	for i, u := range s.Users {
		users[i] = userObject{ID: u.ID, Name: u.Name, Color: u.Color, Role: string(u.Role)}
	}
	out := sessionResponse{ID: s.ID, Language: s.Language, CreatedAt: s.CreatedAt, Version: s.Version, Users: users}
	if !s.Ended.IsZero() {
		out.Ended = &s.Ended
	}
	return c.JSON(http.StatusOK, out)
}

// deleteSession is DELETE /sessions/{id} with the owner token as a Bearer token.
func (h *Handler) deleteSession(c echo.Context) error {
	id, token, err := ownerRequest(c)
	if err != nil {
		return err
	}
	if err := h.sessions.DeleteSession(c.Request().Context(), id, token); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// endSessionAPI is POST /sessions/{id}/end with the owner token as a Bearer token:
// the interview ends (everyone is cut off, nothing more is edited), its history
// stays. DELETE erases it.
func (h *Handler) endSessionAPI(c echo.Context) error {
	id, token, err := ownerRequest(c)
	if err != nil {
		return err
	}
	if err := h.sessions.CheckOwner(c.Request().Context(), id, token); err != nil {
		return err
	}
	if err := h.sessions.EndSession(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ownerRequest is the session and the owner token of a request to a route for the
// session's owner alone: without a Bearer token it is refused as unauthorized (the
// token itself is checked by the hub).
func ownerRequest(c echo.Context) (id, token string, err error) {
	if id, err = sessionID(c); err != nil {
		return "", "", err
	}
	token, ok := bearerToken(c)
	if !ok {
		return "", "", collab.ErrUnauthorized
	}
	return id, token, nil
}

// bearerToken returns the token of the request's "Authorization: Bearer <token>"
// header.
func bearerToken(c echo.Context) (string, bool) {
	scheme, token, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// decodeJSON reads a request body that must be one JSON object with only known
// fields. An empty body is an empty object.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			message: "The request body must be JSON (Content-Type: application/json)."}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "":
			return badRequest("bad_json", "The request body must be a JSON object.")
		case errors.As(err, &typeErr):
			return badRequest("bad_request", "Field %q must be a %s.", typeErr.Field, typeErr.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return badRequest("unknown_field", "Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return badRequest("bad_json", "The request body is not valid JSON: %v.", err)
		}
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return badRequest("bad_json", "The request body must hold exactly one JSON object.")
	}
	return nil
}
