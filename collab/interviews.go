package collab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"duet/store"
)

// ErrNoInterviews is a hub whose store cannot list interviews.
var ErrNoInterviews = errors.New("this store cannot list interviews")

// InterviewQuery asks for a page of someone's interviews (store.InterviewQuery).
type InterviewQuery = store.InterviewQuery

// InterviewCursor is where a page of interviews ends (store.InterviewCursor).
type InterviewCursor = store.InterviewCursor

// Interview is one row of someone's interviews.
type Interview struct {
	ID           string
	Language     string
	CreatedAt    time.Time
	LastActive   time.Time
	Ended        time.Time // zero while it runs
	Participants []string  // names, the first few, in the order they joined
	Runs         int
	Notes        int
	Excerpt      string // the first lines of the code at its newest snapshot
	Connected    int    // people connected now (0 for a session not live)
	Cursor       InterviewCursor
}

// Interviews returns a page of interviews, newest first, with who is connected
// now: one query to the store, then a look at the live rooms.
func (h *Hub) Interviews(ctx context.Context, q InterviewQuery) ([]Interview, error) {
	st, ok := h.store.(store.Interviews)
	if !ok {
		return nil, ErrNoInterviews
	}
	rows, err := st.ListInterviews(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list interviews: %w", err)
	}
	out := make([]Interview, len(rows))
	for i, iv := range rows {
		out[i] = Interview{
			ID: iv.ID, Language: iv.Language, CreatedAt: iv.CreatedAt, LastActive: iv.LastActive, Ended: iv.Ended,
			Participants: iv.Participants, Runs: iv.Runs, Notes: iv.Notes, Excerpt: excerpt(iv.Excerpt), Cursor: iv.Cursor(),
		}
		h.mu.Lock()
		r := h.rooms[iv.ID]
		h.mu.Unlock()
		if r != nil {
			r.mu.Lock()
			out[i].Connected = len(r.people)
			r.mu.Unlock()
		}
	}
	return out, nil
}

// SetTeam gives a session to a team: its starter's, so that the team sees it.
func (h *Hub) SetTeam(ctx context.Context, id, team string) error {
	st, ok := h.store.(store.Interviews)
	if !ok {
		return ErrNoInterviews
	}
	if err := st.SetTeam(ctx, id, team); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("set team: %w", ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("set team: %w", err)
	}
	return nil
}

// Bounds of an excerpt.
const (
	excerptLines = 4
	excerptWidth = 80 // characters a line
)

// excerpt is the first non-blank lines of a snapshot's text, given as the start of
// its JSON string literal (cut anywhere, even inside an escape).
func excerpt(lit []byte) string {
	var text string
	for cut := len(lit); cut > 0 && cut >= len(lit)-12; cut-- {
		if json.Unmarshal(lit[:cut], &text) == nil || json.Unmarshal(append(lit[:cut:cut], '"'), &text) == nil {
			break
		}
		text = ""
	}
	var lines []string
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, " \t\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if utf8.RuneCountInString(line) > excerptWidth {
			line = string([]rune(line)[:excerptWidth-1]) + "…"
		}
		lines = append(lines, line)
		if len(lines) == excerptLines {
			break
		}
	}
	return strings.Join(lines, "\n")
}
