package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

var _ Interviews = (*Memory)(nil)

// ListInterviews returns a page of interviews, newest first.
func (m *Memory) ListInterviews(ctx context.Context, q InterviewQuery) ([]Interview, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("list interviews: %w", ErrClosed)
	}
	search := FoldASCII(q.Search)
	out := []Interview{}
	for _, s := range m.sessions {
		mine := q.Team != "" && s.Team == q.Team
		for _, mem := range s.members {
			mine = mine || (q.Principal != "" && mem.Principal == q.Principal)
		}
		if !mine || !q.After.IsZero() && !before(s.Session, q.After) {
			continue
		}
		iv := Interview{Session: s.Session, Runs: len(s.runs), Notes: len(s.notes), Participants: []string{}}
		iv.OwnerTokenHash, iv.Bytes = nil, 0
		found := search == ""
		for _, p := range s.people {
			found = found || strings.Contains(FoldASCII(p.Name), search)
			if len(iv.Participants) < MaxListedParticipants {
				iv.Participants = append(iv.Participants, p.Name)
			}
		}
		if !found {
			continue
		}
		if n := len(s.snaps); n > 0 {
			t := s.snaps[n-1].Text
			iv.Excerpt = slices.Clone(t[:min(len(t), ExcerptBytes)])
		}
		out = append(out, iv)
	}
	slices.SortFunc(out, func(a, b Interview) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out[:min(len(out), q.ClampLimit())], nil
}

// SetTeam gives a session to a team.
func (m *Memory) SetTeam(ctx context.Context, id, team string) error {
	return m.with(ctx, id, func(s *memSession) error {
		s.Team = team
		return nil
	})
}

// before tells whether s comes after the cursor in the newest-first order.
func before(s Session, c InterviewCursor) bool {
	return s.CreatedAt.Before(c.Created) || s.CreatedAt.Equal(c.Created) && s.ID < c.ID
}
