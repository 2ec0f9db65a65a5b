package collab

import (
	"context"
	"fmt"
)

// QuestionAdded tells a session's pages that it was given another question (the
// handlers store it; the hub knows nothing of questions): every watcher gets a
// presence whose Questions has moved on, and fetches its question pane again, as
// its own role may see it. The document is not touched.
func (h *Hub) QuestionAdded(ctx context.Context, id string) error {
	r, err := h.room(ctx, id)
	if err != nil {
		return fmt.Errorf("question added to %s: %w", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return fmt.Errorf("question added to %s: %w", id, ErrNotFound)
	}
	r.questions++
	r.notifyLocked()
	return nil
}
