package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/views"
)

// Interviews lists someone's interviews and gives a session to a team (collab.Hub).
type Interviews interface {
	Interviews(ctx context.Context, q collab.InterviewQuery) ([]collab.Interview, error)
	SetTeam(ctx context.Context, id, team string) error
}

// interviewsPerPage is the length of a page of My interviews.
const interviewsPerPage = 25

// interviewsPage is GET /interviews: the interviews of the request's principal
// (and, signed in, of its team), newest first, a keyset page at a time (?after=),
// searchable by participant (?q=). A browser that was never an interviewer sees
// an empty list: the query is by membership, so nobody sees a session they were
// not an interviewer of (or, signed in, their team's).
func (h *Handler) interviewsPage(c echo.Context) error {
	q := collab.InterviewQuery{Principal: h.principal(c), Limit: interviewsPerPage}
	if u, ok := h.account(c); ok {
		q.Team = u.Team
	}
	search := strings.TrimSpace(c.QueryParam("q"))
	if len(search) > 100 {
		return badRequest("bad_query", "A search is at most 100 characters.")
	}
	q.Search = search
	after, err := parseCursor(c.QueryParam("after"))
	if err != nil {
		return err
	}
	q.After = after
	m := views.InterviewsPage{Account: h.accountBar(c), Query: search, Team: q.Team}
	if q.Principal != "" || q.Team != "" {
		start := time.Now()
		ivs, err := h.interviews.Interviews(c.Request().Context(), q)
		if err != nil {
			return err
		}
		log(c).Debug("interviews listed", "rows", len(ivs), "took", time.Since(start))
		for _, iv := range ivs {
			m.Interviews = append(m.Interviews, interviewRow(iv))
		}
		if len(ivs) == q.Limit {
			m.Older = interviewsURL(search, formatCursor(ivs[len(ivs)-1].Cursor))
		}
	}
	if !after.IsZero() {
		m.Newest = interviewsURL(search, "")
	}
	c.Response().Header().Set("Vary", "HX-Request")
	c.Response().Header().Set("Cache-Control", "no-store")
	if isHTMX(c) && c.Request().Header.Get("HX-Boosted") == "" {
		return h.render(c, http.StatusOK, views.InterviewList(m))
	}
	return h.render(c, http.StatusOK, views.Interviews(m))
}

func interviewsURL(search, after string) string {
	v := url.Values{}
	if search != "" {
		v.Set("q", search)
	}
	if after != "" {
		v.Set("after", after)
	}
	if len(v) == 0 {
		return "/interviews"
	}
	return "/interviews?" + v.Encode()
}

// A cursor in a URL is "<created, Unix nanoseconds>_<session id>".
func formatCursor(c collab.InterviewCursor) string {
	return strconv.FormatInt(c.Created.UnixNano(), 10) + "_" + c.ID
}

func parseCursor(s string) (collab.InterviewCursor, error) {
	if s == "" {
		return collab.InterviewCursor{}, nil
	}
	ns, id, ok := strings.Cut(s, "_")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return collab.InterviewCursor{}, badRequest("bad_cursor", "That page link is damaged: start from the newest interviews.")
	}
	return collab.InterviewCursor{Created: time.Unix(0, n).UTC(), ID: id}, nil
}

func interviewRow(iv collab.Interview) views.InterviewRow {
	end := iv.LastActive
	state, label := "idle", "Idle"
	switch {
	case !iv.Ended.IsZero():
		end, state, label = iv.Ended, "ended", "Ended"
	case iv.Connected > 0:
		state, label = "live", fmt.Sprintf("Live · %d here", iv.Connected)
	}
	return views.InterviewRow{
		PadURL: "/s/" + iv.ID, ReplayURL: "/s/" + iv.ID + "/replay",
		When: iv.CreatedAt.UTC().Format("2 Jan 2006, 15:04 UTC"), WhenISO: iv.CreatedAt.UTC().Format(time.RFC3339),
		Duration: duration(end.Sub(iv.CreatedAt)), Language: collab.LanguageLabel(iv.Language),
		State: state, StateLabel: label, Participants: names(iv.Participants), Runs: iv.Runs, Notes: iv.Notes, Excerpt: iv.Excerpt,
	}
}

// duration says how long an interview lasted, to the minute.
func duration(d time.Duration) string {
	switch m := int(d.Round(time.Minute) / time.Minute); {
	case m < 1:
		return "under a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	default:
		return fmt.Sprintf("%d h %02d min", m/60, m%60)
	}
}

// names lists a few participants: "Ada, Grace and 3 more".
func names(ns []string) string {
	const shown = 4
	if len(ns) <= shown {
		return strings.Join(ns, ", ")
	}
	return strings.Join(ns[:shown], ", ") + fmt.Sprintf(" and %d more", len(ns)-shown)
}
