package handlers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/views"
)

// sseHeartbeat keeps idle event streams open through proxies that cut silent ones.
const sseHeartbeat = 25 * time.Second

// events is GET /s/{id}/events: the pad's live parts as server-sent events, each a
// rendered HTML fragment that htmx's SSE extension swaps in (the participants list
// and the language control), and "question" (no content) when the session is given
// a question, on which the pad fetches its question part as its role may see it
// (the stream is the same for every role, so it carries nothing private). With
// ?questions=N, the number the page shows, a question given since the page was
// rendered is announced at once. It ends when the session does.
func (h *Handler) events(c echo.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	identity(c) // a browser that has none gets its cookie now
	you := publicID(c, id)
	ctx := c.Request().Context()
	updates, err := h.sessions.Watch(ctx, id)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	w.Flush()
	if isHead(c) {
		return nil
	}

	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	var lastLang, lastPeople []byte
	lastQuestions := -1 // the room's count at the first presence
	if shown, err := strconv.Atoi(c.QueryParam("questions")); err == nil && h.questions != nil {
		if given, err := h.questions.SessionQuestions(ctx, id); err == nil && len(given) != shown {
			writeEvent(w, "question", []byte("given"))
			w.Flush()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return nil
			}
			w.Flush()
		case p, ok := <-updates:
			if !ok {
				// The session ended or the server is shutting down. Say which, so a
				// page left open does not keep showing who was here.
				if _, err := h.sessions.Session(ctx, id); errors.Is(err, collab.ErrNotFound) {
					if ended, err := renderString(ctx, views.ParticipantList(views.Presence{Ended: true})); err == nil {
						writeEvent(w, "participants", ended)
						w.Flush()
					}
				}
				return nil
			}
			m := presenceView(id, p, you)
			people, err := renderString(ctx, views.ParticipantList(m))
			if err != nil {
				return err
			}
			lang, err := renderString(ctx, views.LanguageControl(m))
			if err != nil {
				return err
			}
			// Send only what changed: a swap would reset a select someone is using.
			if !bytes.Equal(people, lastPeople) {
				writeEvent(w, "participants", people)
				lastPeople = people
			}
			if !bytes.Equal(lang, lastLang) {
				writeEvent(w, "language", lang)
				lastLang = lang
			}
			if lastQuestions >= 0 && p.Questions != lastQuestions {
				writeEvent(w, "question", []byte("given"))
			}
			lastQuestions = p.Questions
			w.Flush()
		}
	}
}

// writeEvent writes one server-sent event; every line of data gets its own field.
func writeEvent(w *echo.Response, name string, data []byte) {
	var b bytes.Buffer
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteByte('\n')
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		b.WriteString("data: ")
		b.Write(sc.Bytes())
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	w.Write(b.Bytes())
}

func renderString(ctx context.Context, t templ.Component) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Render(ctx, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
