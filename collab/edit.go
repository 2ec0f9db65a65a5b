package collab

import (
	"context"
	"errors"
	"time"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/store"
)

// handle runs one decoded client message. It returns a refusal for the client, or
// nil; a refusal changes nothing.
func (r *room) handle(ctx context.Context, c *client, m *clientMessage) *protocolError {
	switch m.Type {
	case "edit":
		return r.edit(ctx, c, m)
	case "pull":
		return r.pull(ctx, c, m)
	case "cursor":
		return r.cursor(c, m)
	case "language":
		return r.language(ctx, c, m)
	case "run":
		return r.run(c, m)
	case "signal":
		return r.signal(ctx, c, m)
	}
	return refuse(CodeUnknownType, "unknown message type %q", m.Type)
}

// maxClientIDBytes bounds a client id; @codemirror/collab makes short random ones.
const maxClientIDBytes = 128

// edit accepts a client's updates. The order is what makes an edit safe, so it
// reads top to bottom: parse; then, under the room's lock, prepare (validate,
// rebase and apply aside, changing nothing), store, commit to the document,
// broadcast. Nobody sees an update before it is stored, and a failed store
// leaves the document as it was.
func (r *room) edit(ctx context.Context, c *client, m *clientMessage) *protocolError {
	version, updates, perr := parseEdit(m, c.person.ID, r.hub.now().UTC(), r.hub.limits.MaxParts)
	if perr != nil {
		return perr
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return nil // the client is being cut off already
	}
	p, err := r.prepareLocked(ctx, version, updates)
	if err == nil && len(p.Accepted) > 0 {
		err = r.hub.store.AppendUpdates(ctx, r.id, p.From, history.Encode(p.Accepted))
		if errors.Is(err, store.ErrConflict) && r.hub.bus != nil {
			r.hub.stats.conflicts.Add(1)
			p, err = r.appendContendedLocked(ctx, version, updates)
		}
	}
	var refused *refusedPush
	switch {
	case errors.As(err, &refused):
		return refusePush(refused.err)
	case errors.Is(err, store.ErrQuota):
		// Nothing was stored, so nothing changes, and the client may go on
		// reading; another edit will be refused as well.
		return refuse(CodeQuotaExceeded, "this session has stored all it may: the edit was not saved")
	case err != nil:
		r.storeFailed(c, err)
		return nil
	case len(p.Accepted) == 0:
		// Everything was accepted before (a resend): tell the sender where the
		// document is, so it pulls what it lacks.
		c.queue(updateMessage(p.From, nil, false))
		return nil
	}
	r.doc.Commit(p)
	r.hub.stats.accepted.Add(int64(len(p.Accepted)))
	out := newUpdateOutgoing(p.From, p.Accepted)
	out.fan = &fanOut{accepted: time.Now()}
	r.broadcastOutLocked(out, nil)
	if r.hub.bus != nil {
		r.publishLocked(busEvent{Type: evUpdates, From: p.From, Updates: encodeUpdates(p.Accepted)})
	}
	r.editedLocked(c.person.ID) // (appending to the log counts as activity in the store)
	if r.doc.Version()-r.snapshotAt >= r.hub.limits.SnapshotEvery {
		r.saveSnapshotLocked(ctx)
	}
	return nil
}

// refusedPush is a push the document refused (see refusePush), told apart from the
// store's errors.
type refusedPush struct{ err error }

func (e *refusedPush) Error() string { return e.err.Error() }
func (e *refusedPush) Unwrap() error { return e.err }

// prepareLocked prepares a push on the document (ot.Document.Prepare). A push on a
// version this process has not heard of yet, which the client saw through another
// process, is prepared again once the document has caught up from the store.
func (r *room) prepareLocked(ctx context.Context, version int, updates []ot.Update) (ot.Prepared, error) {
	for {
		p, err := r.doc.Prepare(version, updates)
		if err != nil && r.aheadLocked(ctx, err) {
			continue
		}
		if err != nil {
			return p, &refusedPush{err}
		}
		return p, nil
	}
}

// appendContendedLocked stores a push whose append another process beat to the
// log. It catches the document up with what the others stored, then appends while
// the store holds the session's log (store.LockedAppender), after rebasing the push
// over whatever was stored in between. Without the hold, a process slower to read
// the log than the others are to append to it would lose every race, and its
// client's push would never be stored.
func (r *room) appendContendedLocked(ctx context.Context, version int, updates []ot.Update) (ot.Prepared, error) {
	if err := r.catchUpLocked(ctx, -1); err != nil {
		return ot.Prepared{}, err
	}
	from := r.doc.Version()
	var p ot.Prepared
	err := r.hub.store.(store.LockedAppender).AppendLocked(ctx, r.id, from, func(stored []store.Update) ([]store.Update, error) {
		// Called again after a broken connection, it gets back updates it applied.
		applied := min(r.doc.Version()-from, len(stored))
		us, err := history.DecodeAll(from+applied, stored[applied:])
		if err != nil {
			return nil, err
		}
		if err := r.applyRemoteLocked(us); err != nil {
			return nil, err
		}
		if p, err = r.prepareLocked(ctx, version, updates); err != nil {
			return nil, err
		}
		return history.Encode(p.Accepted), nil
	})
	return p, err
}

// parseEdit reads an edit message: the version it was made on and its updates,
// stamped with who made them and when.
func parseEdit(m *clientMessage, userID string, now time.Time, maxParts int) (int, []ot.Update, *protocolError) {
	if m.Version == nil {
		return 0, nil, refuse(CodeBadMessage, `field "version" is missing`)
	}
	var wire []clientUpdate
	switch {
	case m.Updates != nil && m.Changes != nil:
		return 0, nil, refuse(CodeBadMessage, `give "updates" or "changes", not both`)
	case m.Updates != nil:
		wire = m.Updates
	case m.Changes != nil:
		wire = []clientUpdate{{ClientID: &userID, Changes: m.Changes}}
	default:
		return 0, nil, refuse(CodeBadMessage, `field "updates" is missing`)
	}
	if len(wire) == 0 {
		return 0, nil, refuse(CodeBadMessage, `field "updates" is empty`)
	}
	updates := make([]ot.Update, len(wire))
	for i, w := range wire {
		switch {
		case w.ClientID == nil || *w.ClientID == "":
			return 0, nil, refuse(CodeBadMessage, "update %d has no clientID", i)
		case len(*w.ClientID) > maxClientIDBytes:
			return 0, nil, refuse(CodeBadMessage, "update %d: clientID longer than %d bytes", i, maxClientIDBytes)
		case w.Changes == nil:
			return 0, nil, refuse(CodeBadMessage, "update %d has no changes", i)
		}
		cs, err := ot.ParseChangeSetLimit(w.Changes, maxParts)
		if err != nil {
			return 0, nil, refuse(CodeInvalidChanges, "update %d: %v", i, err)
		}
		updates[i] = ot.Update{ClientID: *w.ClientID, Changes: cs, UserID: userID, Time: now}
	}
	return *m.Version, updates, nil
}

// refusePush maps a push the document refused to what the client is told.
func refusePush(err error) *protocolError {
	switch {
	case errors.Is(err, ot.ErrVersionAhead):
		return refuse(CodeVersionAhead, "%v", err)
	case errors.Is(err, ot.ErrInvalidVersion):
		return refuse(CodeBadMessage, "%v", err)
	case errors.Is(err, ot.ErrResync), errors.Is(err, ot.ErrRebaseTooCostly):
		return refuse(CodeVersionTooOld, "pull from your version, then push again: %v", err)
	case errors.Is(err, ot.ErrDocTooLarge):
		return refuse(CodeDocTooLarge, "%v", err)
	}
	return refuse(CodeInvalidChanges, "%v", err)
}

// storeFailed cuts off a client whose updates the store did not take: nothing was
// accepted, and it resends them after reconnecting instead of waiting for a
// confirmation that never comes.
func (r *room) storeFailed(c *client, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.kick(closeReason{status: StatusSessionDeleted, code: CodeSessionDeleted, message: "the session was deleted"})
	case errors.Is(err, context.Canceled), errors.Is(err, store.ErrClosed):
		c.kick(closeReason{status: statusGoingAway, message: "server shutting down"})
	default:
		r.hub.logger.Error("store update failed", "session", r.id, "user", c.person.ID, "err", err)
		c.kick(closeReason{status: statusInternalError, message: "could not save the update"})
	}
}

// pullBatch caps the updates of one update message answering a pull.
const pullBatch = 1000

// pull sends a client the updates after its version: from memory, or from the
// store when memory no longer has them. One answer holds about PullBytes of them
// (one at least), so that a client far behind never makes the server read or queue
// a whole history at once: its last message says "more", and the client pulls again
// from where it got to.
func (r *room) pull(ctx context.Context, c *client, m *clientMessage) *protocolError {
	if m.Version == nil {
		return refuse(CodeBadMessage, `field "version" is missing`)
	}
	v := *m.Version
	r.mu.Lock()
	defer r.mu.Unlock()
	updates, err := r.doc.Since(v)
	if err != nil && r.aheadLocked(ctx, err) {
		updates, err = r.doc.Since(v)
	}
	if errors.Is(err, ot.ErrResync) {
		// Older than memory: the store has the whole log.
		updates, err = history.Read(ctx, r.hub.store, r.id, v, r.doc.Version(), r.hub.limits.PullBytes)
	}
	switch {
	case errors.Is(err, ot.ErrVersionAhead):
		return refuse(CodeVersionAhead, "%v", err)
	case errors.Is(err, ot.ErrInvalidVersion):
		return refuse(CodeBadMessage, "%v", err)
	case err != nil:
		r.hub.logger.Error("pull failed", "session", r.id, "user", c.person.ID, "version", v, "err", err)
		c.queue(r.syncLocked(c.person)) // a client that cannot pull starts again from the full state
		return nil
	}
	if len(updates) == 0 {
		c.queue(updateMessage(v, nil, false))
	}
	for _, msg := range pullAnswer(v, updates, r.doc.Version(), r.hub.limits.PullBytes) {
		c.queue(msg)
	}
	return nil
}

// pullAnswer is the answer to a pull from version from: updates (which follow
// from) in messages of at most pullBatch, until the messages hold budget bytes or
// more. When they stop short of latest, the last one says "more".
func pullAnswer(from int, updates []ot.Update, latest, budget int) [][]byte {
	var msgs [][]byte
	start, size := from, 0 // version of the message being built; bytes of those built
	list := []byte{'['}
	for i, u := range updates {
		if v := from + i; v > start {
			list = append(list, ',')
		}
		list = appendUpdateJSON(list, u)
		end := from + i + 1
		full := size+len(list) >= budget
		if full || end-start == pullBatch || i == len(updates)-1 {
			msg := updateList(start, append(list, ']'), (full || i == len(updates)-1) && end < latest)
			msgs = append(msgs, msg)
			size += len(msg)
			start, list = end, []byte{'['}
		}
		if full {
			break
		}
	}
	return msgs
}
