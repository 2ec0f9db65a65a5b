package store

import (
	"context"
	"strings"
	"time"
)

// InterviewQuery asks for a page of someone's interviews: the sessions Principal is
// a member of and, when Team is not "", every session of that team; newest first
// (by CreatedAt, then by id, both descending).
type InterviewQuery struct {
	Principal string
	Team      string
	// Search keeps the sessions one of whose participants' names contains it,
	// letters A to Z in either case alike (other characters exactly); "" keeps all.
	Search string
	// After is the cursor of the last interview of the previous page (zero: the
	// first page). Pages are cut by keyset, never by offset, so a page costs the
	// same however deep it is and sessions created meanwhile shift nothing.
	After InterviewCursor
	Limit int // at most this many (at least 1, at most 200)
}

// InterviewCursor is where a page of interviews ends.
type InterviewCursor struct {
	Created time.Time
	ID      string
}

// IsZero tells the cursor of the first page.
func (c InterviewCursor) IsZero() bool { return c.ID == "" }

// Interview is one session as a list of interviews shows it.
type Interview struct {
	Session               // OwnerTokenHash and Bytes are not filled
	Participants []string // names, in the order they first joined; the first MaxListedParticipants
	Runs         int
	Notes        int // interviewers' notes
	// Excerpt is the start of the text at the newest snapshot, as stored (a JSON
	// string literal cut after ExcerptBytes bytes, so maybe not closed).
	Excerpt []byte
}

// Bounds of a list of interviews.
const (
	MaxListedParticipants = 8
	ExcerptBytes          = 400
	MaxInterviewPage      = 200
)

// Interviews lists interviews; every back end implements it beside Store, in one
// query a page.
type Interviews interface {
	ListInterviews(ctx context.Context, q InterviewQuery) ([]Interview, error)
	// SetTeam gives a session to a team (its starter's), or returns ErrNotFound.
	SetTeam(ctx context.Context, id, team string) error
}

// Cursor is the cursor after iv.
func (iv Interview) Cursor() InterviewCursor {
	return InterviewCursor{Created: iv.CreatedAt, ID: iv.ID}
}

// FoldASCII lower-cases the letters A to Z and nothing else: how Search compares,
// the same in every back end (SQLite's lower() folds only those).
func FoldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// ClampLimit is q.Limit within [1, MaxInterviewPage].
func (q InterviewQuery) ClampLimit() int {
	return min(max(q.Limit, 1), MaxInterviewPage)
}
