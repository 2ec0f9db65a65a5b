package handlers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

type route struct {
	method, path string
	handle       echo.HandlerFunc
	limit        []echo.MiddlewareFunc // after the API's own middleware
}

// apiRoutes is the JSON API of docs/protocol.md, exactly what /openapi.json describes.
func (h *Handler) apiRoutes() []route {
	return []route{
		{http.MethodGet, "/health", h.health, nil},
		{http.MethodPost, "/sessions", h.createSession, []echo.MiddlewareFunc{h.perAddress(createSession)}},
		{http.MethodGet, "/sessions/:id", h.getSession, nil},
		{http.MethodDelete, "/sessions/:id", h.deleteSession, nil},
		{http.MethodPost, "/sessions/:id/end", h.endSessionAPI, nil},
		{http.MethodGet, "/sessions/:id/question", h.sessionQuestion, nil},
		{http.MethodPost, "/sessions/:id/questions", h.addSessionQuestion, nil},
		// Creating questions counts against the same per-address budget as sessions.
		{http.MethodGet, "/questions", h.listQuestions, nil},
		{http.MethodPost, "/questions", h.createQuestion, []echo.MiddlewareFunc{h.perAddress(createSession)}},
		{http.MethodGet, "/questions/export", h.exportQuestions, nil},
		{http.MethodPost, "/questions/import", h.importQuestions, []echo.MiddlewareFunc{h.perAddress(createSession)}},
		{http.MethodGet, "/questions/:id", h.getQuestion, nil},
		{http.MethodPut, "/questions/:id", h.updateQuestion, nil},
		{http.MethodDelete, "/questions/:id", h.deleteQuestion, nil},
	}
}

// isQuestionRoute tells the API routes that exist only with a question library.
func isQuestionRoute(path string) bool {
	return strings.HasPrefix(path, "/questions") || strings.HasPrefix(path, "/sessions/:id/question")
}

// register lists every route of duet in one place.
func (h *Handler) register(e *echo.Echo) {
	e.Use(h.middleware()...)

	// Pages.
	e.GET("/", h.home)
	e.POST("/s", h.startSession, h.perAddress(createSession))
	e.GET("/s/:id", h.pad)
	e.POST("/s/:id/end", h.endSession)
	e.GET("/s/:id/interviewer/:token", h.interviewerLink)
	e.POST("/s/:id/name", h.setName)
	e.POST("/s/:id/language", h.setLanguage)
	e.GET("/s/:id/events", h.events, h.perAddress(openStream))
	if h.replays != nil {
		e.GET("/s/:id/replay", h.replay)
	}
	if h.questions != nil {
		e.GET("/s/:id/question", h.questionFragment)
		e.POST("/s/:id/questions", h.addQuestionPage)
		e.GET("/library", h.libraryPage)
		e.POST("/library", h.createQuestionPage, h.perAddress(createSession))
		e.GET("/library/new", h.newQuestionPage)
		e.GET("/library/export", h.exportQuestions)
		e.POST("/library/import", h.importQuestionsPage, h.perAddress(createSession))
		e.GET("/library/:id", h.questionPage)
		e.POST("/library/:id", h.saveQuestionPage)
		e.GET("/library/:id/edit", h.editQuestionPage)
		e.POST("/library/:id/duplicate", h.duplicateQuestionPage, h.perAddress(createSession))
		e.POST("/library/:id/delete", h.deleteQuestionPage)
	}
	e.GET("/docs", h.docs)
	e.GET("/ws/:id", h.socket, h.perAddress(openSocket))
	e.GET("/static/*", echo.WrapHandler(h.static))

	api := h.apiMiddleware()
	e.GET("/openapi.json", h.openAPI, api...)
	preflight := map[string]bool{}
	for _, r := range h.apiRoutes() {
		if h.questions == nil && isQuestionRoute(r.path) {
			continue
		}
		e.Add(r.method, r.path, r.handle, append(slices.Clip(api), r.limit...)...)
		if !preflight[r.path] {
			e.OPTIONS(r.path, h.preflight, api...)
			preflight[r.path] = true
		}
	}
}

// APIRoutes lists the JSON API as "METHOD /path" (echo's :param syntax), so a test
// can hold the OpenAPI document to it.
func APIRoutes() []string {
	var h Handler
	var out []string
	for _, r := range h.apiRoutes() {
		out = append(out, r.method+" "+r.path)
	}
	return out
}
