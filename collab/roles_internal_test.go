package collab

import (
	"context"
	"testing"
	"time"

	"duet/store"
)

// TestToInterviewers checks that a message for interviewers reaches every
// connection that joined as an interviewer and none that joined as a candidate
// (or without a role), and that a person's tabs keep the role they joined with.
func TestToInterviewers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := store.NewMemory()
	h := NewHub(HubConfig{Store: st})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	})
	s, _, err := h.CreateSession(ctx, "python")
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.room(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	joins := []struct {
		name, id string
		role     Role
		want     bool // receives the message
	}{
		{"interviewer", "p-ada", RoleInterviewer, true},
		{"candidate", "p-bob", RoleCandidate, false},
		{"no role", "p-cy", "", false},
		{"second interviewer", "p-dee", RoleInterviewer, true},
		{"a candidate's tab as interviewer", "p-bob", RoleInterviewer, true},
	}
	clients := make([]*client, len(joins))
	for i, j := range joins {
		c, perr := r.join(j.id, j.name, j.role)
		if perr != nil {
			t.Fatalf("join(%s) error = %v", j.name, perr)
		}
		clients[i] = c
	}
	drain := func(c *client) (got []string) {
		for _, o := range c.take(nil, c.room.hub.limits.SendQueue) {
			got = append(got, string(o.msg))
		}
		return got
	}
	for _, c := range clients {
		drain(c) // syncs and arrivals
	}
	const secret = `{"type":"note","text":"canary 7f3a"}`
	r.mu.Lock()
	r.toInterviewersLocked([]byte(secret))
	r.mu.Unlock()
	for i, j := range joins {
		got := drain(clients[i])
		if has := len(got) == 1 && got[0] == secret; has != j.want || len(got) > 1 {
			t.Errorf("%s (role %q) received %q, want the message: %v", j.name, j.role, got, j.want)
		}
	}
}
