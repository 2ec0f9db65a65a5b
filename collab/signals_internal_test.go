package collab

import (
	"context"
	"testing"
	"time"

	"duet/store"
)

// TestSignalCountsSurviveAReload: a room loaded from the store (after an eviction
// or a restart) counts the signals stored before, so the interviewers' marks by a
// candidate's name do not start again from nothing.
func TestSignalCountsSurviveAReload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := store.NewMemory()
	first := NewHub(HubConfig{Store: st})
	s, _, err := first.CreateSession(ctx, "python")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for _, sig := range []store.Signal{
		{UserID: "cand", Kind: store.SignalPaste, Size: 42, Time: at},
		{UserID: "cand", Kind: store.SignalHidden, Time: at},
		{UserID: "cand", Kind: store.SignalVisible, Time: at},
		{UserID: "cand", Kind: store.SignalPaste, Size: 8, Time: at},
		{UserID: "other", Kind: store.SignalHidden, Time: at},
	} {
		if err := st.AddSignal(ctx, s.ID, sig); err != nil {
			t.Fatal(err)
		}
	}
	h := NewHub(HubConfig{Store: st}) // the process restarted
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		first.Shutdown(ctx)
	})
	r, err := h.room(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.signals["cand"]; got == nil || *got != (signalCount{pastes: 2, pasted: 50, away: 1}) {
		t.Errorf("the candidate's counts after a reload = %+v, want 2 pastes of 50, away once, not hidden now", got)
	}
	if got := r.signals["other"]; got == nil || *got != (signalCount{away: 1, hidden: true}) {
		t.Errorf("the other's counts after a reload = %+v, want away once, hidden now", got)
	}
}
