package collab

import (
	"context"
	"fmt"
	"time"
)

// typingWindow is how long after their last accepted edit someone shows as typing.
const typingWindow = 2500 * time.Millisecond

// PersonState is a connected person and what they are doing now.
type PersonState struct {
	Person
	Typing  bool // made an edit in the last few seconds
	Running bool // has a run in progress
}

// Presence is what a session's page shows live: who is here and the language.
type Presence struct {
	Language string
	People   []PersonState // in the order they came
	// Questions counts the questions the session was given since its room went
	// live: a watcher that sees it change shows the session's question again.
	Questions int
}

// Watch follows a session's presence: the returned channel gets the current state at
// once and then every change, coalesced (a slow reader only misses intermediate
// states). It is closed when ctx ends, the session is deleted or the hub shuts down.
func (h *Hub) Watch(ctx context.Context, id string) (<-chan Presence, error) {
	r, err := h.room(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", id, err)
	}
	ch := make(chan Presence, 1)
	r.mu.Lock()
	if r.gone {
		r.mu.Unlock()
		return nil, fmt.Errorf("watch %s: %w", id, ErrNotFound)
	}
	r.watchers[ch] = struct{}{}
	r.stopIdleLocked()
	ch <- r.presenceLocked()
	r.mu.Unlock()

	go func() {
		select {
		case <-ctx.Done():
		case <-h.ctx.Done():
		case <-r.ended:
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.watchers[ch]; ok {
			delete(r.watchers, ch)
			close(ch)
			r.maybeIdleLocked()
		}
	}()
	return ch, nil
}

// presenceLocked is the room's presence now.
func (r *room) presenceLocked() Presence {
	now := r.hub.now()
	people := r.peopleLocked()
	p := Presence{Language: r.lang, People: make([]PersonState, len(people)), Questions: r.questions}
	for i, person := range people {
		p.People[i] = PersonState{
			Person:  person,
			Typing:  now.Sub(r.lastEdit[person.ID]) < typingWindow,
			Running: len(r.running[person.ID]) > 0,
		}
	}
	return p
}

// notifyLocked sends the current presence to every watcher, replacing any state it
// has not read yet: watchers want the newest state, not every step.
func (r *room) notifyLocked() {
	// A room that is gone has nothing more to show: its watchers are about to be
	// closed, and the people leaving as they are cut off must not reach them first.
	if len(r.watchers) == 0 || r.gone {
		return
	}
	p := r.presenceLocked()
	for ch := range r.watchers {
		select {
		case <-ch: // drop the unread older state; only this goroutine sends
		default:
		}
		ch <- p
	}
}

// editedLocked records an accepted edit for the typing indicator.
func (r *room) editedLocked(userID string) {
	wasTyping := r.hub.now().Sub(r.lastEdit[userID]) < typingWindow
	r.lastEdit[userID] = r.hub.now()
	if !wasTyping {
		r.notifyLocked()
	}
	// One timer per room tells watchers when someone stops typing.
	if r.typingTimer != nil {
		r.typingTimer.Stop()
	}
	r.typingTimer = time.AfterFunc(typingWindow+50*time.Millisecond, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.notifyLocked()
	})
}
