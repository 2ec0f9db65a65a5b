package ot

import (
	"errors"
	"fmt"
	"slices"
)

var (
	// ErrVersionAhead is wrapped when a client names a version the document
	// has not reached.
	ErrVersionAhead = errors.New("version ahead of the document")
	// ErrInvalidVersion is wrapped when a version is negative.
	ErrInvalidVersion = errors.New("invalid version")
	// ErrDocTooLarge is wrapped when accepting a push would make the document
	// exceed Limits.MaxLength.
	ErrDocTooLarge = errors.New("document too large")
	// ErrResync is wrapped when a version is older than the updates kept in
	// memory: the client must start again from a fresh snapshot (or the
	// caller must read the older updates from its store).
	ErrResync = errors.New("version no longer in memory, resync needed")
	// ErrRebaseTooCostly is wrapped when rebasing a push would cost more than
	// Limits.MaxRebaseWork: the client must pull, then push on a recent version.
	ErrRebaseTooCostly = errors.New("push too far behind to rebase")
)

// Defaults of Limits.
const (
	// DefaultMaxLength is 1 MiB of UTF-16 units, far above any interview's code.
	DefaultMaxLength = 1 << 20
	// DefaultMaxParts is far above what typing, pasting or multi-cursor edits
	// produce (a few parts per changed range; a replace-all of 5,000 matches
	// fits), yet it keeps the work done for one rebase step small (see
	// BenchmarkMap).
	DefaultMaxParts = 10_000
	// DefaultMaxUpdates bounds the rebase work of one push (pushed updates ×
	// updates accepted since). A client offline for long can hold more
	// unconfirmed updates; it can push them in slices of at most this many,
	// since each accepted one confirms the first still pending.
	DefaultMaxUpdates = 1_000
	// DefaultTailSize keeps a few minutes of a busy session in memory, enough
	// for every reconnecting client but those gone for long.
	DefaultTailSize = 10_000
	// DefaultTailBytes bounds that tail in memory: typing costs a few hundred
	// bytes an update, so 10,000 of them fit many times over, while a client
	// that pastes and deletes megabytes over and over cannot make the session
	// hold more than this.
	DefaultTailBytes = 8 << 20
	// DefaultMaxRebaseWork is about 0.1 s of mapping (BenchmarkMap: a
	// 10,000-part set maps in 0.6 ms). Honest clients pull before pushing after
	// a long absence and stay far below it.
	DefaultMaxRebaseWork = 2_000_000
)

// Limits bounds what a document accepts. Zero or negative fields take the
// defaults.
type Limits struct {
	MaxLength     int // largest document, in UTF-16 units; a push may shrink a document already larger
	MaxParts      int // most parts in one update's change set
	MaxUpdates    int // most updates in one push
	TailSize      int // accepted updates kept in memory at least (at most twice as many), bytes allowing
	TailBytes     int // the most bytes (Update.MemSize) the kept updates hold; older ones are dropped first
	MaxRebaseWork int // most parts pushed × updates accepted since the push's version
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxLength, DefaultMaxLength)
	def(&l.MaxParts, DefaultMaxParts)
	def(&l.MaxUpdates, DefaultMaxUpdates)
	def(&l.TailSize, DefaultTailSize)
	def(&l.TailBytes, DefaultTailBytes)
	def(&l.MaxRebaseWork, DefaultMaxRebaseWork)
	return l
}

// State is what a document is made of, to save it and rebuild it: a store
// keeps a snapshot (Text at Version) and the log, and restores a document
// from the latest snapshot plus the updates logged after it.
type State struct {
	Version int      // number of updates accepted since the document was created
	Text    Text     // the text at Version
	Tail    []Update // the last len(Tail) updates of the log, the last one ending at Version; may be empty
}

// Document is the authority of one shared document: the single place where
// changes are accepted, rebased and applied (the "central authority" of
// @codemirror/collab). It keeps the text, the version (the number of accepted
// updates) and the recent tail of the log.
//
// A Document is not safe for concurrent use: its owner (the hub's room)
// serialises every call under its own lock, which also covers storing what
// is accepted between Prepare and Commit.
//
// Invariant: text is the result of applying every accepted update, and
// tail[i] took the document from version base+i to base+i+1, where
// base = version-len(tail); sizes[i] is tail[i].MemSize() and tailBytes their
// sum. Only Commit changes any of them.
type Document struct {
	lim       Limits
	version   int
	text      Text
	tail      []Update
	sizes     []int
	tailBytes int
}

// NewDocument returns a document restored from st. A tail that does not end
// at st.Text, or whose updates do not follow each other, is dropped (a client
// behind it then resyncs) rather than trusted: rebasing over an inconsistent
// history would hand clients a document the authority does not have.
func NewDocument(st State, lim Limits) *Document {
	d := &Document{lim: lim.withDefaults(), version: max(st.Version, 0), text: st.Text}
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
	d.keep(tail, nil, d.lim.TailBytes)
	return d
}

// keep makes the tail the newest updates of tail that fit: at most TailSize of them,
// holding at most maxBytes. sizes are their MemSize, or nil to measure them. The
// kept updates are copied to slices of their own, so that what is dropped can be
// collected.
func (d *Document) keep(tail []Update, sizes []int, maxBytes int) {
	if sizes == nil {
		sizes = make([]int, len(tail))
		for i, u := range tail {
			sizes[i] = u.MemSize()
		}
	}
	from, bytes := len(tail), 0
	for from > 0 && len(tail)-from < d.lim.TailSize && bytes+sizes[from-1] <= maxBytes {
		from--
		bytes += sizes[from]
	}
	d.tail, d.sizes, d.tailBytes = slices.Clone(tail[from:]), slices.Clone(sizes[from:]), bytes
}

// Version returns the number of accepted updates.
func (d *Document) Version() int { return d.version }

// Text returns the current text. Text is immutable, so this is cheap and the
// result stays valid whatever the document does next.
func (d *Document) Text() Text { return d.text }

// State returns the current version and text; Tail is left nil (use Since
// for the log).
func (d *Document) State() State { return State{Version: d.version, Text: d.text} }

// Prepared is a push checked, rebased and applied aside by Prepare, waiting
// to be stored and committed. It belongs to the document that prepared it,
// at the version it was prepared at.
type Prepared struct {
	From     int      // the document's version when prepared: Accepted starts there
	Accepted []Update // what to append to the log; empty when every pushed update was accepted before
	text     Text     // the text after Accepted
}

// Prepare does all the work of accepting updates made on top of version, all
// from one client, in order (the first applies to the document at version,
// each next one to the result of the previous one), and changes nothing: the
// caller stores p.Accepted and then calls Commit(p), or drops p. Updates
// accepted before (the client resent them) are dropped from p.Accepted, which
// may end up empty.
//
// A push made on an older version is rebased over the updates accepted since,
// with SequentialRebase. A version older than the tail kept in memory is
// refused with ErrResync: the client must pull (or resync) and push again.
// A version ahead of the document is refused with ErrVersionAhead, a rebase
// over MaxRebaseWork with ErrRebaseTooCostly, changes that do not fit with
// ErrInvalidChanges (also matching ErrTooManyChanges when over a limit), and
// a result over MaxLength with ErrDocTooLarge.
//
// Because nothing changes until Commit, a caller whose store refuses the
// append (another writer got there first) can catch the document up with what
// the store holds, then Prepare the same push again.
func (d *Document) Prepare(version int, updates []Update) (p Prepared, err error) {
	p.From = d.version
	if err := d.checkVersion(version); err != nil {
		return p, fmt.Errorf("push: %w", err)
	}
	if len(updates) > d.lim.MaxUpdates {
		return p, fmt.Errorf("push: %w", &InvalidChangesError{Update: -1, Part: -1, Err: ErrTooManyChanges,
			Reason: fmt.Sprintf("%d updates in one push, the limit is %d", len(updates), d.lim.MaxUpdates)})
	}
	// Lengths first, before any map: the library's map loops forever on
	// mismatched sets, and deduplication never compares the content, so this
	// is where a push that does not fit is caught.
	n, parts := d.lengthAt(version), 0
	for i, u := range updates {
		switch {
		case u.Changes == nil:
			return p, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1, Reason: "no changes"})
		case u.ClientID != updates[0].ClientID:
			return p, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1,
				Reason: "updates of one push from different clients"})
		case u.Changes.Parts() > d.lim.MaxParts:
			return p, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1, Err: ErrTooManyChanges,
				Reason: fmt.Sprintf("%d parts, the limit is %d", u.Changes.Parts(), d.lim.MaxParts)})
		case u.Changes.Len() != n:
			return p, fmt.Errorf("push: %w", &InvalidChangesError{Update: i, Part: -1, Reason: fmt.Sprintf(
				"changes of length %d do not fit the document at that point, of length %d", u.Changes.Len(), n)})
		}
		n = u.Changes.NewLen()
		parts += u.Changes.Parts()
	}
	// Rebasing costs about (parts pushed) × (updates accepted since): a push
	// that would cost more must be pulled up to a recent version first.
	if behind := d.version - version; parts*behind > d.lim.MaxRebaseWork {
		return p, fmt.Errorf("push: %w: %d updates behind with %d parts to rebase", ErrRebaseTooCostly, behind, parts)
	}
	rebased, err := SequentialRebase(updates, d.tail[version-d.base():])
	if err != nil {
		return p, fmt.Errorf("push: rebase: %w", err)
	}
	text := d.text
	for i, u := range rebased {
		// Check the size before applying, so that an oversized push is
		// refused before it allocates.
		if newLen := u.Changes.NewLen(); newLen > d.lim.MaxLength && newLen > text.Len() {
			return p, fmt.Errorf("push: update %d: %w: %d units, the limit is %d", i, ErrDocTooLarge, newLen, d.lim.MaxLength)
		}
		if text, err = u.Changes.Apply(text); err != nil {
			return p, fmt.Errorf("push: update %d: %w", i, err)
		}
	}
	p.Accepted = slices.Clone(rebased) // rebased may alias the caller's slice
	p.text = text
	return p, nil
}

// Commit makes a prepared push part of the document. p must come from Prepare
// on this document with nothing committed since: anything else is a bug in
// the caller that would corrupt the document, so Commit panics instead.
// Committing a p with nothing accepted does nothing.
func (d *Document) Commit(p Prepared) {
	if len(p.Accepted) == 0 {
		return
	}
	if p.From != d.version {
		panic(fmt.Sprintf("ot: commit of a push prepared at version %d onto version %d", p.From, d.version))
	}
	d.text = p.text
	d.version += len(p.Accepted)
	d.tail = append(d.tail, p.Accepted...)
	for _, u := range p.Accepted {
		n := u.MemSize()
		d.sizes = append(d.sizes, n)
		d.tailBytes += n
	}
	if len(d.tail) > 2*d.lim.TailSize || d.tailBytes > d.lim.TailBytes {
		// Trim by copying, now and then, so the dropped updates can be
		// collected; the store keeps the whole log. Trimming to half the byte
		// budget leaves room for more pushes before the next copy.
		d.keep(d.tail, d.sizes, d.lim.TailBytes/2)
	}
}

// Since returns the updates accepted after version. It returns ErrResync when
// they are no longer all in memory.
func (d *Document) Since(version int) ([]Update, error) {
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
