package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/views"
)

// Notes is what the notes need of the session service (collab.Hub).
type Notes interface {
	AddNote(ctx context.Context, id string, by collab.NoteAuthor, text string, line int) (collab.Note, error)
	Notes(ctx context.Context, id string) ([]collab.Note, error)
}

var _ Notes = (*collab.Hub)(nil)

// apiAuthor names notes written with the owner token rather than from a pad.
const apiAuthor = "API"

type noteRequest struct {
	Text *string `json:"text"`
	Line *int    `json:"line"`
}

type noteObject struct {
	ID          string    `json:"id"`
	Text        string    `json:"text"`
	Line        int       `json:"line"`        // where its code is now
	WrittenLine int       `json:"writtenLine"` // where it was written
	Version     int       `json:"version"`     // the document version it was written at
	CreatedAt   time.Time `json:"createdAt"`
	Author      string    `json:"author"`
}

type notesResponse struct {
	Notes []noteObject `json:"notes"`
}

func noteJSON(n collab.Note) noteObject {
	return noteObject{ID: n.ID, Text: n.Text, Line: n.Line, WrittenLine: n.WrittenLine, Version: n.Version, CreatedAt: n.Created, Author: n.AuthorName}
}

// noteAuthor is who the request writes notes as: its owner token (the API), or the
// interviewer's browser.
func (h *Handler) noteAuthor(c echo.Context, id string) collab.NoteAuthor {
	if token, ok := bearerToken(c); ok &&
		h.sessions.CheckOwner(c.Request().Context(), id, token) == nil {
		return collab.NoteAuthor{Name: apiAuthor}
	}
	return collab.NoteAuthor{ID: publicID(c, id), Name: personName(browserName(c))}
}

// apiInterviewer checks that the API request may use the session's notes
// (requireInterviewerAPI) and returns the session's id.
func (h *Handler) apiInterviewer(c echo.Context) (string, error) {
	id, err := sessionID(c)
	if err != nil {
		return "", err
	}
	return id, h.requireInterviewerAPI(c, id)
}

// listNotes is GET /sessions/{id}/notes.
func (h *Handler) listNotes(c echo.Context) error {
	id, err := h.apiInterviewer(c)
	if err != nil {
		return err
	}
	ns, err := h.notes.Notes(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := notesResponse{Notes: make([]noteObject, len(ns))}
	for i, n := range ns {
		out.Notes[i] = noteJSON(n)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// createNote is POST /sessions/{id}/notes {"text","line"}.
func (h *Handler) createNote(c echo.Context) error {
	id, err := h.apiInterviewer(c)
	if err != nil {
		return err
	}
	var req noteRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.Text == nil:
		return &httpError{status: http.StatusUnprocessableEntity, code: "invalid_note", message: `A note needs "text".`}
	case req.Line == nil:
		return &httpError{status: http.StatusUnprocessableEntity, code: "invalid_line", message: `A note needs "line": the 1-based line of the code it is about.`}
	}
	n, err := h.notes.AddNote(c.Request().Context(), id, h.noteAuthor(c, id), *req.Text, *req.Line)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/sessions/"+id+"/notes")
	return c.JSON(http.StatusCreated, noteJSON(n))
}

// postNote is POST /s/{id}/notes, the pad's notes form. With htmx it answers the
// notes list (the form is cleared by the page), or, when the note is refused, the
// reason as text with the error status: htmx swaps nothing then, so the words stay
// in the form. Without JavaScript it returns to the pad, or shows the form again
// with the words in it.
func (h *Handler) postNote(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	if err := h.requireInterviewer(c, id); err != nil {
		return err
	}
	text := c.FormValue("text")
	lineText := strings.TrimSpace(c.FormValue("line"))
	line, err := strconv.Atoi(lineText)
	if err != nil {
		line = 0 // refused by AddNote as a line the document does not have
	}
	n, err := h.notes.AddNote(c.Request().Context(), id, h.noteAuthor(c, id), text, line)
	if err != nil {
		status, _, _, message := classify(err)
		if status >= 500 {
			return err
		}
		if isHTMX(c) {
			return c.String(status, message)
		}
		panel := views.NotesPanel{SessionID: id, Text: text, Line: line, Error: message}
		return h.render(c, status, views.NoteRetry(views.NoteRetryPage{Title: "Interview " + id[:8], PadURL: "/s/" + id, Notes: panel}))
	}
	if !isHTMX(c) {
		return redirect(c, "/s/"+id+"#note-"+n.ID)
	}
	panel, err := h.notesPanel(c, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return h.render(c, http.StatusOK, views.NotesList(panel))
}

// notesPanel is the pad's notes as an interviewer sees them now.
func (h *Handler) notesPanel(c echo.Context, id string) (views.NotesPanel, error) {
	ns, err := h.notes.Notes(c.Request().Context(), id)
	if err != nil {
		return views.NotesPanel{}, err
	}
	m := views.NotesPanel{SessionID: id, Line: 1, Notes: make([]views.NoteView, len(ns))}
	for i, n := range ns {
		m.Notes[i] = views.NoteView{
			ID: n.ID, Author: n.AuthorName, Text: n.Text, Line: n.Line, WrittenLine: n.WrittenLine, Version: n.Version,
			At: n.Created.UTC().Format("15:04 UTC"), Time: n.Created.UTC().Format(time.RFC3339),
			URL: noteURL(id, n.Version, n.WrittenLine),
		}
	}
	return m, nil
}

// padNotes gives an interviewer's pad (m.Interviewer, from role) the notes.
func (h *Handler) padNotes(c echo.Context, m *views.PadPage) error {
	if !m.Interviewer || h.notes == nil {
		return nil
	}
	panel, err := h.notesPanel(c, m.ID)
	if err != nil {
		return err
	}
	m.Notes = &panel
	return nil
}

// withSignals adds to an interviewer's view of who is here what each person's
// browser reported. presenceView lists people in p's order.
func withSignals(m views.Presence, p collab.Presence) views.Presence {
	for i, s := range p.People {
		if i < len(m.People) && (s.Pastes > 0 || s.Away > 0 || s.Hidden) {
			m.People[i].Signals = &views.PersonSignals{Pastes: s.Pastes, Pasted: s.Pasted, Away: s.Away, Hidden: s.Hidden}
		}
	}
	return m
}
