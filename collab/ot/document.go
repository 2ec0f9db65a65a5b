package ot

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

var (
	// ErrVersionAhead is wrapped when a client names a version the document
	// has not reached.
	ErrVersionAhead = errors.New("version ahead of the document")
	// ErrInvalidVersion is wrapped when a version is negative.
	ErrInvalidVersion = errors.New("invalid version")
	// ErrDocTooLarge is wrapped when accepting a push would make the document
	// exceed DocumentLimits.MaxLength.
	ErrDocTooLarge = errors.New("document too large")
	// ErrResync is wrapped when a version is older than the updates kept in
	// memory: the client must start again from a fresh snapshot (or the
	// caller must read the older updates from its store).
	ErrResync = errors.New("version no longer in memory, resync needed")
)

// Defaults of DocumentLimits.
const (
	// DefaultMaxLength is 1 MiB of UTF-16 units (DESIGN §3).
	DefaultMaxLength = 1 << 20
	// DefaultMaxParts is far above what typing, pasting or multi-cursor edits
	// produce (a few parts per changed range; a replace-all of 5,000 matches
	// fits), yet it keeps the work done under the document's lock for one
	// rebase step small (see BenchmarkMap).
	DefaultMaxParts = 10_000
	// DefaultMaxUpdates bounds the rebase work of one push (pushed updates ×
	// updates accepted since). A client offline for long can hold more
	// unconfirmed updates; it can push them in slices of at most this many,
	// since each accepted one confirms the first still pending.
	DefaultMaxUpdates = 1_000
	// DefaultTailSize keeps a few minutes of a busy session in memory, enough
	// for every reconnecting client but those gone for long.
	DefaultTailSize = 10_000
)

// DocumentLimits bounds what a document accepts. Zero or negative fields take
// the defaults.
type DocumentLimits struct {
	MaxLength  int // largest document, in UTF-16 units; a push may shrink a document already larger
	MaxParts   int // most parts in one update's change set
	MaxUpdates int // most updates in one push
	TailSize   int // accepted updates kept in memory at least (at most twice as many)
}

func (l DocumentLimits) withDefaults() DocumentLimits {
	if l.MaxLength <= 0 {
		l.MaxLength = DefaultMaxLength
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxUpdates <= 0 {
		l.MaxUpdates = DefaultMaxUpdates
	}
	if l.TailSize <= 0 {
		l.TailSize = DefaultTailSize
	}
	return l
}

// DocumentState is what a document is made of, to save it and rebuild it: a
// store keeps a snapshot (Text at Version) and the log, and restores a
// document from the latest snapshot plus the updates logged after it.
type DocumentState struct {
	ID       string
	Language string
	Version  int      // number of updates accepted since the document was created
	Text     Text     // the text at Version
	Tail     []Update // the last len(Tail) updates of the log, the last one ending at Version; may be empty
}

// Document is the authority of one shared document: the single place where
// changes are accepted, rebased and applied (the "central authority" of
// @codemirror/collab). It keeps the text, the version (the number of accepted
// updates) and the recent tail of the log. It is safe for concurrent use.
//
// Invariant: text is the result of applying every accepted update, and
// tail[i] took the document from version base+i to base+i+1, where
// base = version-len(tail). Every method either keeps it or changes nothing.
type Document struct {
	id  string
	lim DocumentLimits

	mu      sync.Mutex
	lang    string
	version int
	text    Text
	tail    []Update
}

// NewDocument returns a document restored from st. A tail that does not end
// at st.Text, or whose updates do not follow each other, is dropped (a client
// behind it then resyncs) rather than trusted: rebasing over an inconsistent
// history would hand clients a document the authority does not have.
func NewDocument(st DocumentState, lim DocumentLimits) *Document {
	d := &Document{
		id:      st.ID,
		lim:     lim.withDefaults(),
		lang:    st.Language,
		version: max(st.Version, 0),
		text:    st.Text,
	}
	tail := st.Tail
	if len(tail) > d.version {
		tail = tail[len(tail)-d.version:]
	}
	n := d.text.Len()
	for i := len(tail) - 1; i >= 0; i-- {
		if tail[i].Changes == nil || tail[i].Changes.NewLen() != n {
			tail = nil
			break
		}
		n = tail[i].Changes.Len()
	}
	d.tail = slices.Clone(tail)
	return d
}

// ID returns the document's id.
func (d *Document) ID() string { return d.id }

// Version returns the number of accepted updates.
func (d *Document) Version() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.version
}

// Language returns the document's language.
func (d *Document) Language() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lang
}

// SetLanguage sets the document's language.
func (d *Document) SetLanguage(lang string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lang = lang
}

// Snapshot returns the document's current state. Text is immutable, so the
// copy is cheap; Tail is left nil (use Since for the log).
func (d *Document) Snapshot() DocumentState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DocumentState{ID: d.id, Language: d.lang, Version: d.version, Text: d.text}
}

// Push accepts updates made on top of version, all from one client, in order:
// the first applies to the document at version, each next one to the result
// of the previous one. It returns the version the accepted updates start
// from and the accepted updates, which may be fewer than pushed, or none:
// updates already accepted before (the client resent them) are dropped.
//
// A push made on an older version is rebased over the updates accepted since,
// with SequentialRebase. A version older than the tail kept in memory is
// refused with ErrResync: the client must pull (or resync) and push again.
// A version ahead of the document is refused with ErrVersionAhead, changes
// that do not fit with ErrInvalidChanges (also matching ErrTooManyChanges
// when over a limit), and a result over MaxLength with ErrDocTooLarge.
//
// commit, if not nil, is called with the result under the document's lock,
// before anything changes and only when something is accepted; if it returns
// an error, Push returns it and nothing changes. The hub uses it to make the
// updates durable before anyone sees them. On any error nothing changes.
func (d *Document) Push(version int, updates []Update, commit func(from int, accepted []Update) error) (from int, accepted []Update, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkVersion(version); err != nil {
		return d.version, nil, fmt.Errorf("push: %w", err)
	}
	if len(updates) > d.lim.MaxUpdates {
		return d.version, nil, fmt.Errorf("push: %w", &InvalidChangesError{Update: -1, Part: -1, Err: ErrTooManyChanges,
			Reason: fmt.Sprintf("%d updates in one push, the limit is %d", len(updates), d.lim.MaxUpdates)})
	}
	// Lengths first, before any map: the library's map loops forever on
	// mismatched sets (README §6.2), and deduplication never compares the
	// content, so this is where a push that does not fit is caught.
	n := d.lengthAt(version)
	for i, u := range updates {
		switch {
		case u.Changes == nil:
			return d.version, nil, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1, Reason: "no changes"})
		case u.ClientID != updates[0].ClientID:
			return d.version, nil, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1,
				Reason: "updates of one push from different clients"})
		case u.Changes.Parts() > d.lim.MaxParts:
			return d.version, nil, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1, Err: ErrTooManyChanges,
				Reason: fmt.Sprintf("%d parts, the limit is %d", u.Changes.Parts(), d.lim.MaxParts)})
		case u.Changes.Len() != n:
			return d.version, nil, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1, Reason: fmt.Sprintf(
				"changes of length %d do not fit the document at that point, of length %d", u.Changes.Len(), n)})
		}
		n = u.Changes.NewLen()
	}
	rebased, err := SequentialRebase(updates, d.tail[version-d.base():])
	if err != nil {
		return d.version, nil, fmt.Errorf("push: rebase: %w", err)
	}
	if len(rebased) == 0 {
		return d.version, nil, nil
	}
	text := d.text
	for i, u := range rebased {
		// Check the size before applying, so that an oversized push is
		// refused before it allocates.
		if newLen := u.Changes.NewLen(); newLen > d.lim.MaxLength && newLen > text.Len() {
			return d.version, nil, fmt.Errorf("push: update %d: %w: %d units, the limit is %d", i, ErrDocTooLarge, newLen, d.lim.MaxLength)
		}
		if text, err = u.Changes.Apply(text); err != nil {
			return d.version, nil, fmt.Errorf("push: update %d: %w", i, err)
		}
	}
	accepted = slices.Clone(rebased) // rebased may alias the caller's slice
	if commit != nil {
		if err := commit(d.version, accepted); err != nil {
			return d.version, nil, err
		}
	}
	from = d.version
	d.text = text
	d.version += len(accepted)
	d.tail = append(d.tail, accepted...)
	if len(d.tail) > 2*d.lim.TailSize {
		// Trim by copying, now and then, so the dropped updates can be
		// collected; the store keeps the whole log.
		d.tail = slices.Clone(d.tail[len(d.tail)-d.lim.TailSize:])
	}
	return from, accepted, nil
}

// Since returns the updates accepted after version. It returns ErrResync when
// they are no longer all in memory.
func (d *Document) Since(version int) ([]Update, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkVersion(version); err != nil {
		return nil, fmt.Errorf("updates since %d: %w", version, err)
	}
	return slices.Clone(d.tail[version-d.base():]), nil
}

// MapPos maps pos, a position in the document at version, to the current
// version through the updates accepted since, as the library's mapPos does
// in its simple mode (used to relay cursors). assoc < 0 keeps the position
// before text inserted at it.
func (d *Document) MapPos(version, pos, assoc int) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkVersion(version); err != nil {
		return 0, fmt.Errorf("map position: %w", err)
	}
	if n := d.lengthAt(version); pos < 0 || pos > n {
		return 0, fmt.Errorf("map position: %w: %d not in 0..%d at version %d", ErrPositionOutOfRange, pos, n, version)
	}
	for _, u := range d.tail[version-d.base():] {
		var err error
		if pos, _, err = u.Changes.MapPos(pos, assoc, MapSimple); err != nil {
			return 0, fmt.Errorf("map position: %w", err)
		}
	}
	return pos, nil
}

// base is the version the in-memory tail starts from.
func (d *Document) base() int { return d.version - len(d.tail) }

// checkVersion tells whether the tail holds what happened since version.
func (d *Document) checkVersion(version int) error {
	switch {
	case version < 0:
		return fmt.Errorf("%w: %d", ErrInvalidVersion, version)
	case version > d.version:
		return fmt.Errorf("%w: version %d, the document is at %d", ErrVersionAhead, version, d.version)
	case version < d.base():
		return fmt.Errorf("%w: version %d, memory starts at %d", ErrResync, version, d.base())
	}
	return nil
}

// lengthAt returns the length of the document at version, which checkVersion
// accepted: every update records the length it applied to.
func (d *Document) lengthAt(version int) int {
	if version == d.version {
		return d.text.Len()
	}
	return d.tail[version-d.base()].Changes.Len()
}
