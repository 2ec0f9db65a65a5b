package collab

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"duet/store"
)

// run relays an event of a client's run (start, output, end) to the others, and
// keeps the run to store it for the replay once it ends.
func (r *room) run(c *client, m *clientMessage) *protocolError {
	previous := c.runs.current
	now := r.hub.now().UTC()
	e, perr := c.runs.check(m, r.hub.limits, now)
	if perr != nil || e == nil {
		return perr
	}
	var done *store.Run // a run to store once the lock is released
	r.mu.Lock()
	switch e.event {
	case "start":
		if previous != "" && previous != e.runID { // a run that never said it ended
			r.runningLocked(c.person.ID, previous, false)
		}
		r.runningLocked(c.person.ID, e.runID, true)
		done = r.takeRunLocked(c) // stored without an end, if it never said it ended
		r.runLog[c] = &store.Run{
			ID: e.runID, UserID: c.person.ID, UserName: c.person.Name, Language: r.lang,
			Title: e.text, Version: r.doc.Version(), Started: now,
		}
	case "output":
		if run := r.runLog[c]; run != nil && run.ID == e.runID { // already capped by runTracker
			// What the session's runs in progress keep for the replay is bounded
			// too: past it, output is relayed but not kept.
			if r.runHeld+len(e.text) > runHeldMax*r.hub.limits.MaxRunBytes {
				run.Truncated = true
			} else {
				run.Output = append(run.Output, store.RunOutput{Stream: e.stream, Text: e.text})
				r.runHeld += len(e.text)
			}
			run.Truncated = run.Truncated || e.truncated
		}
	case "end":
		r.runningLocked(c.person.ID, e.runID, false)
		if run := r.runLog[c]; run != nil && run.ID == e.runID {
			done = r.takeRunLocked(c)
			run.Ended, run.Status, run.Truncated = now, e.status, run.Truncated || e.truncated
		}
	}
	msg := runMessage(c.person.ID, *e)
	r.broadcastLocked(msg, c)
	r.publishLocked(busEvent{Type: evRelay, Msg: msg})
	r.mu.Unlock()
	if done != nil {
		r.recordRun(done)
	}
	return nil
}

// runHeldMax is how many runs' worth of output (Limits.MaxRunBytes each) the runs in
// progress of one session keep in memory until they are stored, whatever the number
// of connections running them.
const runHeldMax = 4

// takeRunLocked removes a connection's run in progress, if any, and returns it to be
// stored.
func (r *room) takeRunLocked(c *client) *store.Run {
	run := r.runLog[c]
	if run != nil {
		delete(r.runLog, c)
		for _, o := range run.Output {
			r.runHeld -= len(o.Text)
		}
	}
	return run
}

// recordRun stores a finished or abandoned run for the replay. A failure costs only
// the replay's mark, so it is logged, not returned.
func (r *room) recordRun(run *store.Run) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.hub.store.AppendRun(ctx, r.id, *run)
	switch {
	case errors.Is(err, store.ErrQuota):
		// The session has stored all it may: the run was relayed, and the replay
		// will not show it.
		r.hub.logger.Debug("run not stored: session quota reached", "session", r.id, "run", run.ID)
	case err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrClosed):
		r.hub.logger.Warn("store run failed", "session", r.id, "run", run.ID, "err", err)
	}
}

// runningLocked records the start or end of someone's run.
func (r *room) runningLocked(userID, runID string, running bool) {
	runs := r.running[userID]
	if runs == nil {
		runs = map[string]bool{}
		r.running[userID] = runs
	}
	before := len(runs) > 0
	if running {
		runs[runID] = true
	} else {
		delete(runs, runID)
	}
	if len(runs) == 0 {
		delete(r.running, userID)
	}
	if before != (len(runs) > 0) {
		r.notifyLocked()
		r.markDirtyLocked()
	}
}

// runTracker caps the output of a client's runs that is relayed to the others, and
// the rate at which it starts runs.
type runTracker struct {
	current string       // the run in progress
	bytes   int          // output relayed for it
	capped  bool         // output was dropped
	starts  *tokenBucket // run starts; nil until the first
	refused string       // a run whose start was refused: the rest of it is dropped
}

// isRunEvent and isRunStream tell the events and output streams a run message may name.
// A "tests" stream carries the results of a test run, one compact JSON object per
// line (docs/protocol.md); the hub relays and stores it as any other output.
func isRunEvent(e string) bool {
	switch e {
	case "start", "output", "end":
		return true
	}
	return false
}

// The "table" stream carries a result table (SQL) as JSON: it is relayed whole or not
// at all, never cut (docs/protocol.md).
func isRunStream(s string) bool {
	switch s {
	case "stdout", "stderr", "stdin", "system", "table", "tests":
		return true
	}
	return false
}

const maxRunField = 64 // bytes of runId and status

// check validates a run message and applies the caps; a nil event with no refusal
// means the message is dropped (over the run's budget, or of a refused run).
func (t *runTracker) check(m *clientMessage, lim Limits, now time.Time) (*runEvent, *protocolError) {
	switch {
	case m.RunID == nil || *m.RunID == "" || len(*m.RunID) > maxRunField:
		return nil, refuse(CodeBadMessage, `field "runId" must be a string of 1 to %d bytes`, maxRunField)
	case m.Event == nil || !isRunEvent(*m.Event):
		return nil, refuse(CodeBadMessage, `field "event" must be start, output or end`)
	case m.Status != nil && len(*m.Status) > maxRunField:
		return nil, refuse(CodeBadMessage, `field "status" is longer than %d bytes`, maxRunField)
	}
	e := &runEvent{runID: *m.RunID, event: *m.Event}
	if m.Status != nil {
		e.status = *m.Status
	}
	if e.event != "start" && e.runID == t.refused {
		return nil, nil // its start was refused already: one error is enough
	}
	switch e.event {
	case "start":
		if t.starts == nil {
			t.starts = newTokenBucket(lim.RunsPerSecond, lim.RunBurst, now)
		}
		if !t.starts.allow(now) {
			t.refused = e.runID
			return nil, refuse(CodeTooManyRuns, "more than %g runs a second: run %q is not shared", lim.RunsPerSecond, e.runID)
		}
		t.current, t.bytes, t.capped = e.runID, 0, false
		if m.Text != nil { // what is run, as the runner names it: a title, not the code
			e.text = truncateUTF8(*m.Text, lim.MaxRunTitle)
		}
	case "output":
		if m.Stream == nil || !isRunStream(*m.Stream) {
			return nil, refuse(CodeBadMessage, `field "stream" must be stdout, stderr, stdin, system, table or tests`)
		}
		if m.Text == nil {
			return nil, refuse(CodeBadMessage, `field "text" is missing`)
		}
		if e.runID != t.current {
			return nil, refuse(CodeBadMessage, "run %q was not started", e.runID)
		}
		e.stream = *m.Stream
		left := min(lim.MaxRunText, lim.MaxRunBytes-t.bytes)
		if e.stream == "table" {
			if !json.Valid([]byte(*m.Text)) {
				return nil, refuse(CodeBadMessage, `a "table" output's text must be JSON`)
			}
			if len(*m.Text) > left { // cut JSON is no table: drop it whole
				left = 0
			}
		}
		if left <= 0 {
			t.capped = true
			return nil, nil
		}
		e.text = truncateUTF8(*m.Text, left)
		e.truncated = len(e.text) < len(*m.Text)
		t.capped = t.capped || e.truncated
		t.bytes += len(e.text)
	case "end":
		e.truncated = t.capped && e.runID == t.current
		if e.runID == t.current {
			t.current = ""
		}
	}
	return e, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
