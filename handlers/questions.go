package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/questions"
	"duet/views"
)

// Library is what the handlers need of the question library (questions.Library).
type Library interface {
	Render(markdown string) string
	List(ctx context.Context, query string) ([]questions.Question, error)
	Get(ctx context.Context, id string) (questions.Question, error)
	Create(ctx context.Context, d questions.Draft) (questions.Question, error)
	Update(ctx context.Context, id string, d questions.Draft) (questions.Question, error)
	Delete(ctx context.Context, id string) error
	Duplicate(ctx context.Context, id string) (questions.Question, error)
	Import(ctx context.Context, file []byte) (questions.Imported, error)
	Export(ctx context.Context) ([]byte, error)
	AddToSession(ctx context.Context, sessionID string, q questions.Question, version int) error
	OfSession(ctx context.Context, sessionID string) (questions.SessionQuestion, bool, error)
}

var _ Library = (*questions.Library)(nil)

// Owners is what starting from a question and the privilege rule need of the session
// service (collab.Hub).
type Owners interface {
	CreateSessionFrom(ctx context.Context, language, text string) (collab.SessionInfo, string, error)
	// CheckOwner returns nil when token is the session's owner token.
	CheckOwner(ctx context.Context, id, token string) error
}

var _ Owners = (*collab.Hub)(nil)

// canSeePrivate reports whether the request may see what is private to a session's
// interviewers: its question's rubric and hidden tests. That is the role rule
// (principal.go); anyone else is the candidate.
func (h *Handler) canSeePrivate(c echo.Context, sessionID string) bool {
	return h.role(c, sessionID) == roleInterviewer
}

// questionRequest is the body of POST /questions and PUT /questions/{id}.
type questionRequest struct {
	Title       string               `json:"title"`
	Language    string               `json:"language"`
	Prompt      string               `json:"prompt"`
	StarterCode string               `json:"starterCode"`
	Rubric      string               `json:"rubric"`
	Tests       []questions.FileTest `json:"tests"`
}

func (r questionRequest) draft() questions.Draft {
	return questions.FileQuestion{Title: r.Title, Language: r.Language, Prompt: r.Prompt, StarterCode: r.StarterCode,
		Rubric: r.Rubric, Tests: r.Tests}.Draft()
}

// questionObject is a question in the API's answers.
type questionObject struct {
	questions.FileQuestion
	Example   bool       `json:"example"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

func questionJSON(q questions.Question) questionObject {
	out := questionObject{FileQuestion: questions.FileQuestionOf(q), Example: questions.IsExample(q.ID)}
	if !q.CreatedAt.IsZero() {
		out.CreatedAt = &q.CreatedAt
	}
	if !q.UpdatedAt.IsZero() {
		out.UpdatedAt = &q.UpdatedAt
	}
	return out
}

// listQuestions is GET /questions, ?q= searching titles, languages and prompts.
func (h *Handler) listQuestions(c echo.Context) error {
	qs, err := h.questions.List(c.Request().Context(), c.QueryParam("q"))
	if err != nil {
		return err
	}
	out := struct {
		Questions []questionObject `json:"questions"`
	}{Questions: []questionObject{}}
	for _, q := range qs {
		out.Questions = append(out.Questions, questionJSON(q))
	}
	return c.JSON(http.StatusOK, out)
}

// createQuestion is POST /questions.
func (h *Handler) createQuestion(c echo.Context) error {
	var req questionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	q, err := h.questions.Create(c.Request().Context(), req.draft())
	if err != nil {
		return questionError(err)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/questions/"+q.ID)
	return c.JSON(http.StatusCreated, questionJSON(q))
}

// getQuestion is GET /questions/{id}.
func (h *Handler) getQuestion(c echo.Context) error {
	q, err := h.questions.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, questionJSON(q))
}

// updateQuestion is PUT /questions/{id}: the whole question, replaced.
func (h *Handler) updateQuestion(c echo.Context) error {
	var req questionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	q, err := h.questions.Update(c.Request().Context(), c.Param("id"), req.draft())
	if err != nil {
		return questionError(err)
	}
	return c.JSON(http.StatusOK, questionJSON(q))
}

// deleteQuestion is DELETE /questions/{id}.
func (h *Handler) deleteQuestion(c echo.Context) error {
	if err := h.questions.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// importQuestions is POST /questions/import: a questions file (docs/questions.md).
func (h *Handler) importQuestions(c echo.Context) error {
	var body json.RawMessage // well-formed JSON (else 400); the library judges the rest
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	n, err := h.questions.Import(c.Request().Context(), body)
	if err != nil {
		return questionError(err)
	}
	return c.JSON(http.StatusOK, map[string]int{"created": n.Created, "updated": n.Updated})
}

// exportQuestions is GET /questions/export: the library as a questions file.
func (h *Handler) exportQuestions(c echo.Context) error {
	b, err := h.questions.Export(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="duet-questions.json"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// sessionQuestionObject is GET /sessions/{id}/question: all of it for the session's
// interviewers, and for anyone else the prompt and the visible tests, with only the
// number of hidden ones.
type sessionQuestionObject struct {
	Title       string               `json:"title"`
	Language    string               `json:"language"`
	Prompt      string               `json:"prompt"`
	StarterCode string               `json:"starterCode"`
	Tests       []questions.FileTest `json:"tests"`
	HiddenTests int                  `json:"hiddenTests"`
	AddedAt     time.Time            `json:"addedAt"`
	// For interviewers only.
	QuestionID string  `json:"questionId,omitempty"`
	Rubric     *string `json:"rubric,omitempty"`
}

// sessionQuestion is GET /sessions/{id}/question. A wrong owner token is refused as
// on DELETE; no token at all is the candidate's view.
func (h *Handler) sessionQuestion(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	if token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization)); ok {
		if err := h.owners.CheckOwner(c.Request().Context(), s.ID, token); err != nil {
			return err
		}
	}
	sq, ok, err := h.questions.OfSession(c.Request().Context(), s.ID)
	if err != nil {
		return err
	}
	if !ok {
		return &httpError{status: http.StatusNotFound, code: "no_question", message: "This session was not started from a question."}
	}
	private := h.canSeePrivate(c, s.ID)
	tests := sq.Tests
	if !private {
		tests = questions.Visible(tests)
	}
	out := sessionQuestionObject{
		Title: sq.Title, Language: sq.Language, Prompt: sq.Prompt, StarterCode: sq.StarterCode,
		Tests: questions.FileQuestionOf(questions.Question{Tests: tests}).Tests, HiddenTests: questions.Hidden(sq.Tests), AddedAt: sq.Added,
	}
	if private {
		out.QuestionID, out.Rubric = sq.ID, &sq.Rubric
	}
	return c.JSON(http.StatusOK, out)
}

// startFromQuestion creates a session from a question of the library: its language
// (lang, when given, must be the same), its starter code, and a copy of it given to
// the session.
func (h *Handler) startFromQuestion(ctx context.Context, questionID, lang string) (collab.SessionInfo, string, error) {
	q, err := h.questions.Get(ctx, questionID)
	if err != nil {
		return collab.SessionInfo{}, "", err
	}
	if lang != "" && lang != q.Language {
		return collab.SessionInfo{}, "", &httpError{status: http.StatusUnprocessableEntity, code: "language_mismatch",
			message: "The question is in " + collab.LanguageLabel(q.Language) + "; leave the language out or make it the same."}
	}
	s, token, err := h.owners.CreateSessionFrom(ctx, q.Language, q.StarterCode)
	if err != nil {
		return collab.SessionInfo{}, "", err
	}
	if err := h.questions.AddToSession(ctx, s.ID, q, 0); err != nil {
		// Nobody knows the session yet: take it back rather than start an
		// interview without its question.
		if derr := h.sessions.DeleteSession(context.WithoutCancel(ctx), s.ID, token); derr != nil {
			err = errors.Join(err, derr)
		}
		return collab.SessionInfo{}, "", err
	}
	return s, token, nil
}

// questionError turns the library's complaint about a question into a 422.
func questionError(err error) error {
	if bad, ok := errors.AsType[*questions.Invalid](err); ok {
		return &httpError{status: http.StatusUnprocessableEntity, code: "invalid_question", message: bad.Message}
	}
	return err
}

// offerQuestions lists the library's questions in the start form, selected the one
// whose id is given.
func (h *Handler) offerQuestions(c echo.Context, m *views.HomePage, selected string) error {
	if h.questions == nil {
		return nil
	}
	qs, err := h.questions.List(c.Request().Context(), "")
	if err != nil {
		return err
	}
	for _, q := range qs {
		m.Questions = append(m.Questions, views.QuestionOption{
			ID: q.ID, Label: q.Title + " · " + collab.LanguageLabel(q.Language), Selected: q.ID == selected,
		})
	}
	return nil
}

// padQuestion puts the session's question on the pad as this browser may see it:
// everything for its interviewers (canSeePrivate); for anyone else the prompt and the
// visible tests, and how many hidden tests there are, but never their text.
func (h *Handler) padQuestion(c echo.Context, m *views.PadPage) error {
	if h.questions == nil {
		return nil
	}
	sq, ok, err := h.questions.OfSession(c.Request().Context(), m.ID)
	if err != nil || !ok {
		return err
	}
	private := h.canSeePrivate(c, m.ID)
	tests := sq.Tests
	if !private {
		tests = questions.Visible(tests)
	}
	m.Question = &views.PadQuestion{
		Title: sq.Title, Language: collab.LanguageLabel(sq.Language), PromptHTML: h.questions.Render(sq.Prompt),
		Tests: testViews(tests), Hidden: questions.Hidden(sq.Tests), Private: private,
	}
	if private {
		m.Question.RubricHTML = h.questions.Render(sq.Rubric)
	}
	if len(sq.Tests) > 0 {
		rt := &views.RunnerTests{Language: sq.Language, Tests: []views.RunnerTestCase{}, Hidden: questions.Hidden(sq.Tests)}
		for _, t := range tests {
			rt.Tests = append(rt.Tests, views.RunnerTestCase(t))
		}
		m.Runner.Tests = rt
	}
	return nil
}
