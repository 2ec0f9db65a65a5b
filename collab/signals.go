package collab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"duet/store"
)

// What one connection may report: a burst of signals, then one a second. A paste
// or a tab switch is a person's act, far slower than this; a client past it is
// refused and nothing of what it sent is kept.
const (
	signalsPerSecond = 1
	signalBurst      = 20
)

// signalCount is what interviewers see of one person's signals.
type signalCount struct {
	pastes int  // pastes reported
	pasted int  // UTF-16 units they inserted
	away   int  // times the tab was hidden
	hidden bool // the tab is hidden now
}

// signal records what a candidate's browser reported (a paste's size, the tab
// hidden or shown again) and tells the session's interviewers. Interviewers' own
// signals are ignored: nobody watches them.
func (r *room) signal(ctx context.Context, c *client, m *clientMessage) *protocolError {
	if m.Kind == nil {
		return refuse(CodeBadMessage, `field "kind" is missing`)
	}
	size := 0
	if m.Size != nil {
		size = *m.Size
	}
	if problem := signalProblem(*m.Kind, size, r.hub.limits.MaxDocLength); problem != "" {
		return refuse(CodeBadMessage, "%s", problem)
	}
	now := r.hub.now().UTC()
	if c.signals == nil {
		c.signals = newTokenBucket(signalsPerSecond, signalBurst, now)
	}
	if !c.signals.allow(now) {
		return refuse(CodeRateLimited, "too many signals: at most %d a second", signalsPerSecond)
	}
	if c.person.Role == RoleInterviewer {
		return nil
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return nil
	}
	sig := store.Signal{UserID: c.person.ID, Kind: *m.Kind, Size: size, Version: r.doc.Version(), Time: now}
	// Past the session's budget of signals they are shown live but no longer kept:
	// the store refuses them, so a flooding client cannot grow it.
	if err := r.hub.store.AddSignal(ctx, r.id, sig); err != nil && !errors.Is(err, store.ErrQuota) {
		r.hub.logger.Warn("store a signal", "session", r.id, "err", err)
	}
	r.countSignal(sig)
	r.toInterviewersLocked(signalMessage(sig))
	r.notifyLocked()
	r.publishLocked(busEvent{Type: evSignal, UserID: sig.UserID, Kind: sig.Kind, Size: sig.Size, Version: sig.Version, Time: sig.Time})
	return nil
}

// signalProblem says what is wrong with a signal's kind and size, or "" when
// nothing is: the one rule for signals from a browser and from another process.
func signalProblem(kind string, size, maxDocLength int) string {
	switch kind {
	case store.SignalPaste:
		if size < 1 || size > maxDocLength {
			return fmt.Sprintf(`a paste needs "size": the UTF-16 units it inserted, 1 to %d`, maxDocLength)
		}
	case store.SignalHidden, store.SignalVisible:
		if size != 0 {
			return `only a paste has a "size"`
		}
	default:
		return `"kind" is one of "paste", "hidden" or "visible"`
	}
	return ""
}

// signalMessage is what interviewers are told of a signal.
func signalMessage(s store.Signal) []byte {
	return newMsg("signal").str("userId", s.UserID).str("kind", s.Kind).int("size", s.Size).
		int("version", s.Version).str("time", s.Time.Format(time.RFC3339Nano)).done()
}

// countSignal adds a signal to what interviewers see by its person's name. The room
// counts the stored signals when it loads, so the counts survive its eviction and
// a restart (past the stored budget, the live ones only while it lives).
func (r *room) countSignal(sig store.Signal) {
	n := r.signals[sig.UserID]
	if n == nil {
		n = &signalCount{}
		r.signals[sig.UserID] = n
	}
	switch sig.Kind {
	case store.SignalPaste:
		n.pastes++
		n.pasted += sig.Size
	case store.SignalHidden:
		n.away++
		n.hidden = true
	case store.SignalVisible:
		n.hidden = false
	}
}
