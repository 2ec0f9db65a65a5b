package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/questions"
	"duet/views"
)

// The library's pages: /library lists and searches, /library/{id} shows a question,
// /library/new and /library/{id}/edit are its forms. Every form works without
// JavaScript; htmx only swaps the list as a search is typed.

// libraryPage lists the questions matching ?q; an htmx search gets the list only.
func (h *Handler) libraryPage(c echo.Context) error {
	m, err := h.libraryModel(c, c.QueryParam("q"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Vary", "HX-Request")
	if partial(c) {
		return h.render(c, http.StatusOK, views.QuestionList(m))
	}
	return h.render(c, http.StatusOK, views.Library(m))
}

func (h *Handler) libraryModel(c echo.Context, query string) (views.LibraryPage, error) {
	qs, err := h.questions.List(c.Request().Context(), query)
	if err != nil {
		return views.LibraryPage{}, err
	}
	m := views.LibraryPage{Query: query, Questions: []views.QuestionRow{}}
	for _, q := range qs {
		m.Questions = append(m.Questions, views.QuestionRow{
			URL: "/library/" + q.ID, Title: q.Title, Language: collab.LanguageLabel(q.Language),
			Tests: len(q.Tests) - questions.Hidden(q.Tests), Hidden: questions.Hidden(q.Tests),
			Example: questions.IsExample(q.ID), Summary: summary(q.Prompt),
		})
	}
	return m, nil
}

// summary is the start of a prompt as plain text: its first paragraph, without
// Markdown's marks, cut to 160 characters.
func summary(prompt string) string {
	para, _, _ := strings.Cut(strings.TrimSpace(prompt), "\n\n")
	para = strings.Join(strings.Fields(strings.NewReplacer("**", "", "`", "", "#", "", "*", "", "_", "").Replace(para)), " ")
	if r := []rune(para); len(r) > 160 {
		para = strings.TrimSpace(string(r[:159])) + "…"
	}
	return para
}

// questionPage shows a question with its rubric and all its tests: the library is
// the interviewers' side (role, in principal.go, decides what reaches a candidate).
func (h *Handler) questionPage(c echo.Context) error {
	q, err := h.questions.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	_, name := identity(c)
	m := views.QuestionPage{
		ID: q.ID, Title: q.Title, Language: collab.LanguageLabel(q.Language), PromptHTML: h.questions.Render(q.Prompt),
		StarterCode: q.StarterCode, Tests: testViews(q.Tests), Example: questions.IsExample(q.ID), Name: name,
	}
	if strings.TrimSpace(q.Rubric) != "" {
		m.RubricHTML = h.questions.Render(q.Rubric)
	}
	return h.render(c, http.StatusOK, views.Question(m))
}

// newQuestionPage is the form of a new question.
func (h *Handler) newQuestionPage(c echo.Context) error {
	return h.render(c, http.StatusOK, views.QuestionEditor(h.questionForm("/library", "New question", "/library",
		questions.Draft{Language: collab.Languages()[0]}, "")))
}

// editQuestionPage is the form of a question of the library.
func (h *Handler) editQuestionPage(c echo.Context) error {
	q, err := h.questions.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if questions.IsExample(q.ID) {
		return questions.ErrReadOnly
	}
	return h.render(c, http.StatusOK, views.QuestionEditor(h.questionForm("/library/"+q.ID, "Edit “"+q.Title+"”", "/library/"+q.ID, questions.DraftOf(q), "")))
}

// createQuestionPage saves the form of a new question, then shows it.
func (h *Handler) createQuestionPage(c echo.Context) error {
	d := formDraft(c)
	if c.FormValue("more") != "" {
		return h.render(c, http.StatusOK, views.QuestionEditor(h.questionForm("/library", "New question", "/library", d, "")))
	}
	q, err := h.questions.Create(c.Request().Context(), d)
	if bad, ok := errors.AsType[*questions.Invalid](err); ok {
		return h.render(c, http.StatusUnprocessableEntity, views.QuestionEditor(h.questionForm("/library", "New question", "/library", d, bad.Message)))
	}
	if err != nil {
		return err
	}
	return redirect(c, "/library/"+q.ID)
}

// saveQuestionPage saves the form of a question of the library, then shows it.
func (h *Handler) saveQuestionPage(c echo.Context) error {
	id := c.Param("id")
	old, err := h.questions.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	d := formDraft(c)
	form := func(problem string) views.QuestionForm {
		return h.questionForm("/library/"+id, "Edit “"+old.Title+"”", "/library/"+id, d, problem)
	}
	if c.FormValue("more") != "" {
		return h.render(c, http.StatusOK, views.QuestionEditor(form("")))
	}
	_, err = h.questions.Update(c.Request().Context(), id, d)
	if bad, ok := errors.AsType[*questions.Invalid](err); ok {
		return h.render(c, http.StatusUnprocessableEntity, views.QuestionEditor(form(bad.Message)))
	}
	if err != nil {
		return err
	}
	return redirect(c, "/library/"+id)
}

// duplicateQuestionPage copies a question (an example too) and opens the copy's form.
func (h *Handler) duplicateQuestionPage(c echo.Context) error {
	q, err := h.questions.Duplicate(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return redirect(c, "/library/"+q.ID+"/edit")
}

// deleteQuestionPage removes a question from the library.
func (h *Handler) deleteQuestionPage(c echo.Context) error {
	if err := h.questions.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return redirect(c, "/library")
}

// importQuestionsPage imports the uploaded questions file and shows the library with
// what it did, or why nothing was imported.
func (h *Handler) importQuestionsPage(c echo.Context) error {
	m, err := h.libraryModel(c, "")
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		m.Error = "Choose a questions file (JSON) to import."
		return h.render(c, http.StatusUnprocessableEntity, views.Library(m))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, questions.MaxImportBody+1))
	if err != nil {
		return err
	}
	n, err := h.questions.Import(c.Request().Context(), body)
	if bad, ok := errors.AsType[*questions.Invalid](err); ok {
		m.Error = "Nothing was imported. " + bad.Message
		return h.render(c, http.StatusUnprocessableEntity, views.Library(m))
	}
	if err != nil {
		return err
	}
	if m, err = h.libraryModel(c, ""); err != nil {
		return err
	}
	m.Notice = fmt.Sprintf("Imported %s: %d new, %d updated.", plural(n.Created+n.Updated, "question"), n.Created, n.Updated)
	return h.render(c, http.StatusOK, views.Library(m))
}

func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// blankTestRows is how many empty test rows a question form offers, and adds on
// "More test rows".
const blankTestRows = 3

// questionForm is the view of a question form holding d.
func (h *Handler) questionForm(action, heading, cancel string, d questions.Draft, problem string) views.QuestionForm {
	m := views.QuestionForm{
		Action: action, Heading: heading, Cancel: cancel, Title: d.Title, Languages: languageOptions(d.Language),
		Prompt: d.Prompt, StarterCode: d.StarterCode, Rubric: d.Rubric, Tests: testViews(d.Tests), Error: problem,
	}
	for range blankTestRows {
		m.Tests = append(m.Tests, views.TestView{})
	}
	return m
}

// formDraft reads a question form. Test rows are parallel lists (testName, testCode)
// and testHidden holds the indexes of the hidden ones; rows left empty are dropped.
func formDraft(c echo.Context) questions.Draft {
	f, _ := c.FormParams() // readForm has read it already
	d := questions.Draft{Title: f.Get("title"), Language: f.Get("language"), Prompt: f.Get("prompt"),
		StarterCode: f.Get("starterCode"), Rubric: f.Get("rubric")}
	names, codes := f["testName"], f["testCode"]
	for i := range max(len(names), len(codes)) {
		var t questions.Test
		if i < len(names) {
			t.Name = names[i]
		}
		if i < len(codes) {
			t.Code = codes[i]
		}
		if strings.TrimSpace(t.Name) == "" && strings.TrimSpace(t.Code) == "" {
			continue
		}
		t.Hidden = slices.Contains(f["testHidden"], strconv.Itoa(i))
		d.Tests = append(d.Tests, t)
	}
	return d
}

func testViews(tests []questions.Test) []views.TestView {
	out := make([]views.TestView, len(tests))
	for i, t := range tests {
		out[i] = views.TestView(t)
	}
	return out
}
