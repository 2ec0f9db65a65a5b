package handlers

import (
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/collab/people"
	"duet/questions"
	"duet/views"
)

// ownerCookie held the owner token of a session in the browser that started it,
// before duet had roles (path-scoped to the pad). It is no longer set: a browser
// that still has one becomes an interviewer of the session (principal.go).
const ownerCookie = "duet_owner"

// home shows the start page; ?question= preselects a question of the library.
func (h *Handler) home(c echo.Context) error {
	_, name := identity(c)
	m := homePage("", name, "")
	if err := h.offerQuestions(c, &m, c.QueryParam("question")); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.Home(m))
}

// startSession creates a session from the start form and sends the browser to its pad.
func (h *Handler) startSession(c echo.Context) error {
	lang := c.FormValue("language")
	name := people.SanitizeName(c.FormValue("name"))
	var s collab.SessionInfo
	var token string
	var err error
	if qid := c.FormValue("question"); qid != "" && h.questions != nil {
		s, token, err = h.startFromQuestion(c.Request().Context(), qid, "") // the question's language wins
		if errors.Is(err, questions.ErrNotFound) {
			m := homePage(lang, name, "That question is no longer in the library. Pick another, or none.")
			if err := h.offerQuestions(c, &m, ""); err != nil {
				return err
			}
			return h.render(c, http.StatusUnprocessableEntity, views.Home(m))
		}
	} else {
		s, token, err = h.sessions.CreateSession(c.Request().Context(), lang)
	}
	if errors.Is(err, collab.ErrInvalidLanguage) {
		return h.render(c, http.StatusUnprocessableEntity, views.Home(homePage(lang, name, "Pick one of the languages below.")))
	}
	if err != nil {
		return err
	}
	// Whoever starts an interview is its interviewer; the pad shows them the
	// interviewer link, which holds the owner token.
	if err := h.addInterviewer(c, s.ID); err != nil {
		return err
	}
	rememberLink(c, s.ID, token)
	if name != "" {
		setName(c, name)
	}
	return redirect(c, "/s/"+s.ID)
}

// pad shows a session's page, or the join form to a browser without a name.
func (h *Handler) pad(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	key, name := identity(c)
	you := people.PublicID(s.ID, key)
	interviewer := h.role(c, s.ID) == roleInterviewer
	m := views.PadPage{
		ID:          s.ID,
		Title:       "Interview " + s.ID[:8],
		ShareURL:    h.shareURL(c, s.ID),
		Version:     s.Version,
		Content:     s.Text.String(),
		Interviewer: interviewer,
		UserName:    name,
		Presence:    presenceView(s.ID, collab.Presence{Language: s.Language, People: states(s.Users)}, you),
		Runner:      views.RunnerPanel{SessionID: s.ID, Language: s.Language},
	}
	c.Response().Header().Set("Cache-Control", "no-store") // the code changes every second
	if !s.Ended.IsZero() {
		// Over: candidates are told so and shown nothing else; interviewers get the
		// code as it ended and the replay.
		m.EndedAt = s.Ended.Format("2 Jan 2006, 15:04 UTC")
		if !interviewer {
			m.Content = ""
		}
		return h.render(c, http.StatusOK, views.PadEnded(m))
	}
	if interviewer {
		m.InterviewerURL = h.knownInterviewerURL(c, s.ID)
	}
	if h.questions != nil {
		q, n, err := h.padQuestions(c, s)
		if err != nil {
			return err
		}
		m.Questions, m.QuestionCount = &q, n
		m.Runner.Questions, m.Runner.HasTests = true, q.Tests != nil
	}
	if !m.Joined() {
		return h.render(c, http.StatusOK, views.PadJoin(m))
	}
	return h.render(c, http.StatusOK, views.Pad(m))
}

// setName keeps the name this browser shows in sessions, then returns to the pad.
func (h *Handler) setName(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	name := people.SanitizeName(c.FormValue("name"))
	if name == "" {
		return &httpError{status: http.StatusUnprocessableEntity, code: "invalid_name", message: "Please enter a name."}
	}
	identity(c)
	setName(c, name)
	return redirect(c, "/s/"+id)
}

// setLanguage switches the session's language for everyone.
func (h *Handler) setLanguage(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	key, _ := identity(c)
	if err := h.sessions.SetLanguage(c.Request().Context(), id, c.FormValue("language"), people.PublicID(id, key)); err != nil {
		return err
	}
	if isHTMX(c) { // the event stream and the editor's socket update every page, this one too
		return c.NoContent(http.StatusNoContent)
	}
	return redirect(c, "/s/"+id)
}

// endSession ends the interview from its pad (interviewers only): everyone is cut
// off, and the pad then shows that it ended. Its history stays.
func (h *Handler) endSession(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	if err := h.requireInterviewer(c, id); err != nil {
		return err
	}
	if err := h.sessions.EndSession(c.Request().Context(), id); err != nil {
		return err
	}
	return redirect(c, "/s/"+id)
}

// docs shows the API reference.
func (h *Handler) docs(c echo.Context) error {
	return h.render(c, http.StatusOK, views.Docs())
}

// homePage is the start page's model with lang preselected (the default when it is
// not a supported language).
func homePage(lang, name, problem string) views.HomePage {
	return views.HomePage{Languages: languageOptions(lang), Name: name, Error: problem}
}

// languageOptions lists the languages with lang selected (the default if lang is not
// supported).
func languageOptions(lang string) []views.LanguageOption {
	if collab.LanguageLabel(lang) == "" {
		lang = collab.Languages()[0]
	}
	var out []views.LanguageOption
	for _, l := range collab.Languages() {
		out = append(out, views.LanguageOption{Value: l, Label: collab.LanguageLabel(l), Selected: l == lang})
	}
	return out
}

// presenceView is the live part of the pad as the viewer with public id you sees it.
func presenceView(sessionID string, p collab.Presence, you string) views.Presence {
	m := views.Presence{SessionID: sessionID, Languages: languageOptions(p.Language), People: []views.PersonView{}}
	for _, s := range p.People {
		m.People = append(m.People, views.PersonView{
			Name: s.Name, Color: s.Color, You: you != "" && s.ID == you, Typing: s.Typing, Running: s.Running,
			Interviewer: s.Role == roleInterviewer,
		})
	}
	return m
}

func states(people []collab.Person) []collab.PersonState {
	out := make([]collab.PersonState, len(people))
	for i, p := range people {
		out[i] = collab.PersonState{Person: p}
	}
	return out
}

// session reads the session the :id parameter names.
func (h *Handler) session(c echo.Context) (collab.SessionInfo, error) {
	id, err := sessionID(c)
	if err != nil {
		return collab.SessionInfo{}, err
	}
	return h.sessions.Session(c.Request().Context(), id)
}

// sessionID reads the :id parameter. Anything but a canonical UUID cannot name a
// session, so it is "not found" rather than "bad request".
func sessionID(c echo.Context) (string, error) {
	id := c.Param("id")
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return "", collab.ErrNotFound
	}
	return id, nil
}
