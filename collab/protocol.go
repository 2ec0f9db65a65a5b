package collab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"duet/collab/ot"
)

// The wire protocol of /ws/{sessionId} (docs/protocol.md): every message is one JSON object in
// one text frame, with a "type". Document text and change sets are written by hand
// with Text.AppendJSON and ChangeSet.AppendJSON, because encoding/json would turn lone
// surrogates into U+FFFD and clients would silently diverge.

// Error codes of the "error" message.
const (
	CodeBadJSON        = "bad_json"
	CodeUnknownType    = "unknown_type"
	CodeBadMessage     = "bad_message"
	CodeInvalidChanges = "invalid_changes"
	CodeVersionAhead   = "version_ahead"
	CodeVersionTooOld  = "version_too_old"
	CodeDocTooLarge    = "doc_too_large"
	CodeTooLarge       = "too_large"
	CodeRateLimited    = "rate_limited"
	CodeSessionFull    = "session_full"
	CodeSessionDeleted = "session_deleted"
	// CodeSessionEnded closes the connections of an interview an interviewer
	// ended, and refuses new ones: its history stays, it takes no more edits.
	CodeSessionEnded = "session_ended"
	CodeTooSlow      = "too_slow"
	// CodeQuotaExceeded refuses an edit that the store refused because the
	// session has stored all it may (store.ErrQuota).
	CodeQuotaExceeded = "quota_exceeded"
	// CodeTooManyRuns refuses a run start over the connection's rate of runs
	// (Limits.RunsPerSecond): the run is neither relayed nor stored.
	CodeTooManyRuns = "too_many_runs"
	// CodeTooManyJoins refuses a connection that would tell everyone of an
	// arrival or a rename past the session's budget of them (Limits.JoinsPerMinute).
	CodeTooManyJoins = "too_many_joins"
	// CodeTooManyConnections refuses a connection of someone who has
	// Limits.MaxPersonConnections open to the session already.
	CodeTooManyConnections = "too_many_connections"
)

// Close codes of the WebSocket beyond the standard ones.
const (
	StatusSessionDeleted = 4410 // the session was deleted (HTTP 410 Gone, in the private range)
	StatusSessionEnded   = 4410 // the interview was ended: gone for editing, as a deleted one
)

// clientMessage is any message a client sends; which fields matter depends on Type.
// Pointers tell a missing field from a zero one.
type clientMessage struct {
	Type     string          `json:"type"`
	Version  *int            `json:"version"`
	Updates  []clientUpdate  `json:"updates"`
	Changes  json.RawMessage `json:"changes"`  // the seed's single change set
	Ranges   []clientRange   `json:"ranges"`   // cursor
	Position *int            `json:"position"` // the seed's single cursor
	Language *string         `json:"language"`
	RunID    *string         `json:"runId"`
	Event    *string         `json:"event"`
	Stream   *string         `json:"stream"`
	Text     *string         `json:"text"`
	Status   *string         `json:"status"`
	Kind     *string         `json:"kind"` // signal
	Size     *int            `json:"size"` // signal: a paste's size
}

type clientUpdate struct {
	ClientID *string         `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
}

type clientRange struct {
	Anchor *int `json:"anchor"`
	Head   *int `json:"head"`
}

// protocolError is a refused message: what the client is told.
type protocolError struct {
	code    string
	message string
}

func (e *protocolError) Error() string { return e.code + ": " + e.message }

func refuse(code, format string, args ...any) *protocolError {
	return &protocolError{code: code, message: fmt.Sprintf(format, args...)}
}

// decodeClientMessage parses one frame. Unknown fields are ignored, so clients can
// grow the protocol; missing or mistyped ones are refused by the handlers of each type.
func decodeClientMessage(data []byte) (*clientMessage, *protocolError) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, refuse(CodeBadJSON, "a message must be one JSON object")
	}
	var m clientMessage
	// Unmarshal checks that the whole of data is valid JSON before it decodes any of
	// it, so a syntax error is all it reports for a frame that is not JSON.
	if err := json.Unmarshal(data, &m); err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return nil, refuse(CodeBadJSON, "a message must be one JSON object")
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, refuse(CodeBadMessage, "field %q has the wrong type", te.Field)
		}
		return nil, refuse(CodeBadMessage, "%v", err)
	}
	if m.Type == "" {
		return nil, refuse(CodeBadMessage, `field "type" is missing`)
	}
	return &m, nil
}

// msgWriter builds one server message. Strings go through encoding/json (valid UTF-8
// by then); text and change sets through their exact encoders.
type msgWriter struct{ b []byte }

func newMsg(typ string) *msgWriter {
	w := &msgWriter{b: make([]byte, 0, 128)}
	w.b = append(w.b, `{"type":`...)
	w.b = strconv.AppendQuote(w.b, typ) // types are ASCII identifiers
	return w
}

func (w *msgWriter) key(k string) *msgWriter {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
	return w
}

func (w *msgWriter) str(k, v string) *msgWriter {
	w.key(k)
	w.b = appendJSONString(w.b, v)
	return w
}

func (w *msgWriter) int(k string, v int) *msgWriter {
	w.key(k)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
	return w
}

func (w *msgWriter) raw(k string, v []byte) *msgWriter {
	w.key(k)
	w.b = append(w.b, v...)
	return w
}

func (w *msgWriter) done() []byte { return append(w.b, '}') }

// appendJSONString appends s as a JSON string the way encoding/json writes it
// (escaping <, > and & too, so no text can end a script element).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	// Printable ASCII that needs no escape (ids, names, client ids): as it is, without
	// the allocation of encoding/json.
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// personJSON is a participant as the protocol shows it.
func personJSON(p Person) []byte {
	b := []byte(`{"id":`)
	b = appendJSONString(b, p.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, p.Name)
	b = append(b, `,"color":`...)
	b = appendJSONString(b, p.Color)
	b = append(b, `,"role":`...)
	b = appendJSONString(b, string(p.Role))
	return append(b, '}')
}

// syncMessage is the full state of a session at version, for one client.
func syncMessage(version int, text ot.Text, language string, you Person, users []Person) []byte {
	list := []byte{'['}
	for i, u := range users {
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, personJSON(u)...)
	}
	list = append(list, ']')
	return newMsg("sync").int("version", version).raw("content", text.AppendJSON(nil)).
		str("language", language).raw("you", personJSON(you)).raw("users", list).done()
}

// updateMessage carries updates starting from version; with none it only tells a
// client the current version. more says that the answer to a pull stops short of
// the document's version: the client pulls again for the rest.
func updateMessage(version int, updates []ot.Update, more bool) []byte {
	list := []byte{'['}
	for i, u := range updates {
		if i > 0 {
			list = append(list, ',')
		}
		list = appendUpdateJSON(list, u)
	}
	return updateList(version, append(list, ']'), more)
}

// updateList is the update message of a list of updates already in JSON.
func updateList(version int, list []byte, more bool) []byte {
	w := newMsg("update").int("version", version).raw("updates", list)
	if more {
		w.raw("more", []byte("true"))
	}
	return w.done()
}

// appendUpdateJSON appends an update as the protocol shows it.
func appendUpdateJSON(dst []byte, u ot.Update) []byte {
	dst = append(dst, `{"clientID":`...)
	dst = appendJSONString(dst, u.ClientID)
	dst = append(dst, `,"changes":`...)
	dst = u.Changes.AppendJSON(dst)
	dst = append(dst, `,"userId":`...)
	dst = appendJSONString(dst, u.UserID)
	return append(dst, '}')
}

func presenceMessage(typ string, p Person) []byte {
	return newMsg(typ).str("userId", p.ID).str("userName", p.Name).str("color", p.Color).str("role", string(p.Role)).done()
}

func errorMessage(code, message string) []byte {
	return newMsg("error").str("code", code).str("message", message).done()
}

// cursorRange is a selection range in UTF-16 units.
type cursorRange struct{ anchor, head int }

func cursorMessage(userID string, version int, ranges []cursorRange) []byte {
	list := []byte{'['}
	for i, r := range ranges {
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, `{"anchor":`...)
		list = strconv.AppendInt(list, int64(r.anchor), 10)
		list = append(list, `,"head":`...)
		list = strconv.AppendInt(list, int64(r.head), 10)
		list = append(list, '}')
	}
	list = append(list, ']')
	return newMsg("cursor").str("userId", userID).int("version", version).raw("ranges", list).done()
}

func languageMessage(lang, userID string) []byte {
	return newMsg("language").str("language", lang).str("userId", userID).done()
}

// runEvent is one event of a participant's run, relayed to the others.
type runEvent struct {
	runID, event, stream, text, status string
	truncated                          bool
}

func runMessage(userID string, e runEvent) []byte {
	w := newMsg("run").str("userId", userID).str("runId", e.runID).str("event", e.event)
	if e.stream != "" {
		w.str("stream", e.stream)
	}
	if e.event == "output" || e.text != "" {
		w.str("text", e.text)
	}
	if e.status != "" {
		w.str("status", e.status)
	}
	if e.truncated {
		w.raw("truncated", []byte("true"))
	}
	return w.done()
}

// newUpdateOutgoing is the update message of updates accepted from version, to be
// broadcast, marked so that a writer may join it with the ones that follow it.
func newUpdateOutgoing(version int, updates []ot.Update) *outgoing {
	o := newOutgoing(updateMessage(version, updates, false))
	o.from, o.count = version, len(updates)
	return o
}

// updatePrefix and updateSuffix frame the list of updates in an update message
// without "more" (updateList): the prefix is followed by the version, then
// updatesKey and the updates, then the suffix.
const (
	updatePrefix = `{"type":"update","version":`
	updatesKey   = `,"updates":[`
	updateSuffix = `]}`
)

// updateItems is the list of updates of o, an outgoing made by newUpdateOutgoing,
// without its brackets: the updates' JSON objects, separated by commas.
func updateItems(o *outgoing) []byte {
	start := len(updatePrefix) + digits(o.from) + len(updatesKey)
	return o.msg[start : len(o.msg)-len(updateSuffix)]
}

func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// joinUpdates appends to dst one update message holding the updates of run, update
// messages made by newUpdateOutgoing whose versions follow on from each other. A
// client reads it as it reads the messages one after the other: it applies the
// updates in order (one at a time while it has unconfirmed ones), and recognises its
// own among them.
func joinUpdates(dst []byte, run []*outgoing) []byte {
	dst = append(dst, updatePrefix...)
	dst = strconv.AppendInt(dst, int64(run[0].from), 10)
	dst = append(dst, updatesKey...)
	for i, o := range run {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, updateItems(o)...)
	}
	return append(dst, updateSuffix...)
}
