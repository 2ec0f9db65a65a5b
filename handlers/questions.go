package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	SessionQuestions(ctx context.Context, sessionID string) ([]questions.SessionQuestion, error)
}

var _ Library = (*questions.Library)(nil)

// Owners is what starting from a question and the privilege rule need of the session
// service (collab.Hub).
type Owners interface {
	CreateSessionFrom(ctx context.Context, language, text string) (collab.SessionInfo, string, error)
	// CheckOwner returns nil when token is the session's owner token.
	CheckOwner(ctx context.Context, id, token string) error
	// QuestionAdded tells the session's pages to show its question again.
	QuestionAdded(ctx context.Context, id string) error
}

var _ Owners = (*collab.Hub)(nil)

// addQuestionRequest is the body of POST /sessions/{id}/questions.
type addQuestionRequest struct {
	QuestionID string `json:"questionId"`
}

// addSessionQuestion is POST /sessions/{id}/questions: an interviewer gives a live
// interview another question. Everyone's pad shows it; the document is not touched
// (giveQuestion).
func (h *Handler) addSessionQuestion(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	if err := h.requireInterviewerAPI(c, s.ID); err != nil {
		return err
	}
	var req addQuestionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.QuestionID == "" {
		return &httpError{status: http.StatusUnprocessableEntity, code: "missing_question", message: "Name the question to add: questionId."}
	}
	sq, err := h.giveQuestion(c.Request().Context(), s.ID, req.QuestionID)
	if errors.Is(err, questions.ErrNotFound) {
		return &httpError{status: http.StatusUnprocessableEntity, code: "unknown_question", message: "There is no question with that questionId in the library."}
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/sessions/"+s.ID+"/question")
	return c.JSON(http.StatusCreated, sessionQuestionJSON(sq, true))
}

// giveQuestion adds a question of the library to a live session, at its current
// version, and tells its pages. The candidate's work is theirs: the starter code is
// not put in the document (an interviewer inserts it as an ordinary edit, from the
// pad, when they want it), and the session's language does not change.
func (h *Handler) giveQuestion(ctx context.Context, sessionID, questionID string) (questions.SessionQuestion, error) {
	q, err := h.questions.Get(ctx, questionID)
	if err != nil {
		return questions.SessionQuestion{}, err
	}
	s, err := h.sessions.Session(ctx, sessionID)
	if err != nil {
		return questions.SessionQuestion{}, err
	}
	if !s.Ended.IsZero() {
		return questions.SessionQuestion{}, fmt.Errorf("add a question to %s: %w", sessionID, collab.ErrEnded)
	}
	if err := h.questions.AddToSession(ctx, sessionID, q, s.Version); err != nil {
		return questions.SessionQuestion{}, err
	}
	if err := h.owners.QuestionAdded(ctx, sessionID); err != nil {
		return questions.SessionQuestion{}, err
	}
	sq, _, err := h.questions.OfSession(ctx, sessionID)
	return sq, err
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
	if token, ok := bearerToken(c); ok {
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
	return c.JSON(http.StatusOK, sessionQuestionJSON(sq, h.role(c, s.ID) == roleInterviewer))
}

// sessionQuestionJSON is a session's question as the API shows it: with its rubric
// and hidden tests when private.
func sessionQuestionJSON(sq questions.SessionQuestion, private bool) sessionQuestionObject {
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
	return out
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

// padQuestions is the question part of the pad as this browser may see it:
// everything for its interviewers (role), with the control that adds a
// question; for anyone else the prompt and the visible tests, and how many hidden
// tests there are, but never their text. It returns how many questions the session
// was given too. An ended interview takes no more questions.
func (h *Handler) padQuestions(c echo.Context, s collab.SessionInfo) (views.PadQuestions, int, error) {
	sessionID := s.ID
	m := views.PadQuestions{SessionID: sessionID}
	ctx := c.Request().Context()
	given, err := h.questions.SessionQuestions(ctx, sessionID)
	if err != nil {
		return m, 0, err
	}
	private := h.role(c, sessionID) == roleInterviewer
	if private && s.Ended.IsZero() {
		m.Add = &views.AddQuestion{Full: len(given) >= questions.MaxSessionQuestions}
		qs, err := h.questions.List(ctx, "")
		if err != nil {
			return m, 0, err
		}
		for _, q := range qs {
			m.Add.Options = append(m.Add.Options, views.QuestionOption{ID: q.ID, Label: q.Title + " · " + collab.LanguageLabel(q.Language)})
		}
	}
	if len(given) == 0 {
		return m, 0, nil
	}
	sq := given[len(given)-1]
	tests := sq.Tests
	if !private {
		tests = questions.Visible(tests)
	}
	m.Question = &views.PadQuestion{
		Title: sq.Title, Language: collab.LanguageLabel(sq.Language), PromptHTML: h.questions.Render(sq.Prompt),
		Tests: testViews(tests), Hidden: questions.Hidden(sq.Tests), Private: private, Number: len(given),
	}
	if private {
		m.Question.RubricHTML = h.questions.Render(sq.Rubric)
		m.Question.StarterCode = sq.StarterCode
	}
	if len(sq.Tests) > 0 {
		m.Tests = &views.RunnerTests{Language: sq.Language, Tests: []views.RunnerTestCase{}, Hidden: questions.Hidden(sq.Tests)}
		for _, t := range tests {
			m.Tests.Tests = append(m.Tests.Tests, views.RunnerTestCase(t))
		}
	}
	return m, len(given), nil
}

// questionFragment is GET /s/{id}/question: the pad's question part, which the pad
// fetches again when the event stream says the session was given a question.
func (h *Handler) questionFragment(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	m, _, err := h.padQuestions(c, s)
	if err != nil {
		return err
	}
	m.Refreshed = true
	c.Response().Header().Set("Cache-Control", "no-store")
	return h.render(c, http.StatusOK, views.QuestionRegion(m))
}

// addQuestionPage is POST /s/{id}/questions, the pad's "Add a question" form
// (field question): interviewers only. It answers with the pad (303); an htmx
// request gets 204, as the event stream brings the question to every pad.
func (h *Handler) addQuestionPage(c echo.Context) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	if err := h.requireInterviewer(c, s.ID); err != nil {
		return err
	}
	qid := c.FormValue("question")
	if qid == "" {
		return &httpError{status: http.StatusUnprocessableEntity, code: "missing_question", message: "Pick a question to add."}
	}
	if _, err := h.giveQuestion(c.Request().Context(), s.ID, qid); err != nil {
		return err
	}
	if isHTMX(c) {
		return c.NoContent(http.StatusNoContent)
	}
	return redirect(c, "/s/"+s.ID)
}
