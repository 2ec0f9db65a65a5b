package collab

import (
	"sync/atomic"
	"time"
)

// Observer is told what the hub does, so that metrics can count it without the hub
// knowing about any (cmd/duet gives it package metrics' one). Its methods are called
// on the hot path, from every connection's goroutines at once: they must be cheap and
// must never block. The hub's counters (Stats) cover the rest: sessions, connections,
// accepted updates and refusals.
type Observer interface {
	// Handled: a client message of type typ was handled in took, refused or not. typ
	// is the type the client named, anything at all, or "" for a frame that is not
	// a JSON object with a type.
	Handled(typ string, took time.Duration)
	// Sent: a server message of type typ is being written to a client's socket,
	// counted just before the write so that a client that has it finds it counted (the
	// updates joined into one message count once).
	Sent(typ string)
	// FannedOut: the update of an accepted edit has been written to every client of
	// the session that was there to get it, took after it was accepted.
	FannedOut(took time.Duration)
	// Disconnected: a connection that had joined a session ended, for reason: an
	// error code (rate_limited, too_slow, too_large, session_deleted, session_full),
	// or client, lost, ping, shutdown, error.
	Disconnected(reason string)
}

type nopObserver struct{}

func (nopObserver) Handled(string, time.Duration) {}
func (nopObserver) Sent(string)                   {}
func (nopObserver) FannedOut(time.Duration)       {}
func (nopObserver) Disconnected(string)           {}

// outgoing is a message queued for clients. A broadcast is one outgoing shared by all
// its recipients, so that the last one to be written to can tell the fan-out's end.
type outgoing struct {
	msg []byte
	typ string  // the message's type, for the observer
	fan *fanOut // for the update of an accepted edit; nil for other messages

	// For the update of an accepted edit: the version its updates start from and how
	// many there are, so that a writer may join it with the next ones (joinUpdates).
	// count is 0 for every other message.
	from, count int
}

// fanOut follows one broadcast until no recipient is left waiting for it.
type fanOut struct {
	accepted time.Time
	left     atomic.Int64 // recipients not yet written to (nor cut off)
}

func newOutgoing(msg []byte) *outgoing {
	return &outgoing{msg: msg, typ: messageType(msg)}
}

// done is called once per recipient, when the message was written to it or dropped
// with the recipient.
func (o *outgoing) done(obs Observer) {
	if o.fan != nil && o.fan.left.Add(-1) == 0 {
		obs.FannedOut(time.Since(o.fan.accepted))
	}
}

// messageType reads the type of a server message, which newMsg starts with it.
func messageType(msg []byte) string {
	const prefix = `{"type":"`
	if len(msg) <= len(prefix) || string(msg[:len(prefix)]) != prefix {
		return ""
	}
	rest := msg[len(prefix):]
	for i, b := range rest {
		if b == '"' {
			return string(rest[:i])
		}
	}
	return ""
}
