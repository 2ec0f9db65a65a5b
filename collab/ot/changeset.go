package ot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The algorithms in this file are literal ports of @codemirror/state 6.7.6
// (ChangeSet.fromJSON, toJSON, apply, compose, map and mapPos, in its
// src/change.ts), checked against vectors the library computed (the tests read
// them from ../shared/testdata/changeset). They look as if they
// could be simplified, and they must not be: the exact JSON the server emits
// depends on the library's shortcuts and on which adjacent parts it does or
// does not merge, and clients compare nothing, they just trust it. Where the
// library would loop forever or throw, these functions return an error.

var (
	// ErrInvalidChanges is wrapped by every error about changes that are
	// malformed or do not fit the document they are applied to.
	ErrInvalidChanges = errors.New("invalid changes")
	// ErrTooManyChanges is wrapped, together with ErrInvalidChanges, when a
	// change set or a push is over a size limit.
	ErrTooManyChanges = errors.New("too many changes")
	// ErrPositionOutOfRange is wrapped when a position is outside the
	// document it is given for.
	ErrPositionOutOfRange = errors.New("position out of range")
)

// InvalidChangesError says what is wrong with refused changes. It matches
// ErrInvalidChanges with errors.Is, and Err too when it is set.
type InvalidChangesError struct {
	Update int    // index of the update within a push; -1 when not about one update
	Part   int    // index of the part within the change set's JSON array; -1 when not about one part
	Reason string // what is wrong, in lowercase words
	Err    error  // a more specific sentinel such as ErrTooManyChanges, or nil
}

// Error says what is wrong, with the update and part it concerns.
func (e *InvalidChangesError) Error() string {
	var b strings.Builder
	b.WriteString("invalid changes: ")
	if e.Update >= 0 {
		fmt.Fprintf(&b, "update %d: ", e.Update)
	}
	if e.Part >= 0 {
		fmt.Fprintf(&b, "part %d: ", e.Part)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap lets errors.Is find ErrInvalidChanges and Err.
func (e *InvalidChangesError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidChanges, e.Err}
	}
	return []error{ErrInvalidChanges}
}

func invalidChanges(part int, format string, args ...any) *InvalidChangesError {
	return &InvalidChangesError{Update: -1, Part: part, Reason: fmt.Sprintf(format, args...)}
}

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER. Beyond it the
// browser's arithmetic on positions is no longer exact, so no real client
// sends such a number, and it also keeps every sum below overflow in Go.
const maxSafeInteger = 1<<53 - 1

// MaxChangeSetParts is the most parts ParseChangeSet reads before refusing the
// input. It is a safety net sized far above anything an editor produces
// (DocumentLimits.MaxParts is the configurable limit); it bounds the memory a
// single message can make the parser allocate to a few MiB.
const MaxChangeSetParts = 1 << 18

// ChangeSet is a CodeMirror change set: a list of sections read left to right
// against the document it applies to, each keeping, deleting or replacing a
// run of UTF-16 units. It is immutable once built and safe to share.
//
// It mirrors the library's internal model: every JSON part is
// one section, nothing is merged or dropped, because the library's output
// depends on the input's exact shape.
type ChangeSet struct {
	// sections holds (len, ins) pairs: ins == -1 keeps len units, ins >= 0
	// deletes len units and inserts ins units.
	sections []int
	// inserted[k] is the text inserted by section k. It may be shorter than
	// the number of sections; missing entries are empty.
	inserted  []Text
	length    int // length of the document the set applies to
	newLength int // length of the document it produces
}

// newChangeSet wraps sections built by the algorithms below.
func newChangeSet(sections []int, inserted []Text) *ChangeSet {
	c := &ChangeSet{sections: sections, inserted: inserted}
	for i := 0; i < len(sections); i += 2 {
		c.length += sections[i]
		if sections[i+1] < 0 {
			c.newLength += sections[i]
		} else {
			c.newLength += sections[i+1]
		}
	}
	return c
}

// Len returns the length of the document the change set applies to.
func (c *ChangeSet) Len() int { return c.length }

// NewLen returns the length of the document the change set produces.
func (c *ChangeSet) NewLen() int { return c.newLength }

// Parts returns the number of parts (sections) of the change set.
func (c *ChangeSet) Parts() int { return len(c.sections) / 2 }

// MemSize is about the bytes the change set holds in memory: its sections, and the
// text it inserts with the rope nodes that hold it. Kept change sets (the log's
// tail in memory) are bounded by it.
func (c *ChangeSet) MemSize() int {
	n := 64 + 8*cap(c.sections) + 8*cap(c.inserted)
	for _, t := range c.inserted {
		n += t.memSize()
	}
	return n
}

// Empty reports whether the change set is empty in the library's sense: no
// sections, or one kept section. The library's shortcuts test exactly this, so
// [2,3], which changes nothing either, is not empty.
func (c *ChangeSet) Empty() bool {
	return len(c.sections) == 0 || len(c.sections) == 2 && c.sections[1] < 0
}

// text returns the inserted text of section k.
func (c *ChangeSet) text(k int) Text {
	if k < len(c.inserted) {
		return c.inserted[k]
	}
	return Text{}
}

// ParseChangeSet parses the JSON of ChangeSet.toJSON() with duet's strict rule
// (docs/protocol.md): an array whose parts are positive safe integers (kept units)
// or arrays of a non-negative safe integer (deleted units) followed by
// strings without "\n" or "\r" (inserted lines), and no part of zero length.
// The library accepts more, but never produces it, and some of it breaks its
// compose and map. Whether the lengths fit a document is checked by Apply and
// Document.Prepare, not here. Errors are *InvalidChangesError.
func ParseChangeSet(data []byte) (*ChangeSet, error) {
	return ParseChangeSetLimit(data, MaxChangeSetParts)
}

// ParseChangeSetLimit is ParseChangeSet refusing, with an error that also
// matches ErrTooManyChanges, a set of more than maxParts parts (capped at
// MaxChangeSetParts) before reading further.
func ParseChangeSetLimit(data []byte, maxParts int) (*ChangeSet, error) {
	maxParts = min(maxParts, MaxChangeSetParts)
	i := skipJSONSpace(data, 0)
	if i == len(data) || data[i] != '[' {
		return nil, invalidChanges(-1, "not a JSON array")
	}
	c := &ChangeSet{}
	i = skipJSONSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return finishParse(c, data, i+1)
	}
	var units []uint16
	for part := 0; ; part++ {
		if part >= maxParts {
			e := invalidChanges(part, "more than %d parts", maxParts)
			e.Err = ErrTooManyChanges
			return nil, e
		}
		if i == len(data) {
			return nil, invalidChanges(part, "unexpected end of input")
		}
		var n, ins int
		if data[i] == '[' {
			var err *InvalidChangesError
			n, units, i, err = parseReplacement(data, i, part, units[:0])
			if err != nil {
				return nil, err
			}
			ins = len(units)
			if n == 0 && ins == 0 {
				return nil, invalidChanges(part, "zero-length part (deletes and inserts nothing)")
			}
			if ins > 0 {
				// Padding keeps every text at its section's index.
				for len(c.inserted) < part {
					c.inserted = append(c.inserted, Text{})
				}
				c.inserted = append(c.inserted, TextFromUTF16(units))
			}
		} else {
			var reason string
			n, i, reason = parseSafeInt(data, i)
			if reason != "" {
				return nil, invalidChanges(part, "%s", reason)
			}
			if n == 0 {
				return nil, invalidChanges(part, "zero-length part (keeps nothing)")
			}
			ins = -1
		}
		c.sections = append(c.sections, n, ins)
		c.length += n
		if ins < 0 {
			c.newLength += n
		} else {
			c.newLength += ins
		}
		if c.length > maxSafeInteger || c.newLength > maxSafeInteger {
			return nil, invalidChanges(part, "length over 2^53-1")
		}
		i = skipJSONSpace(data, i)
		if i == len(data) {
			return nil, invalidChanges(part, "unexpected end of input")
		}
		switch data[i] {
		case ',':
			i = skipJSONSpace(data, i+1)
		case ']':
			return finishParse(c, data, i+1)
		default:
			return nil, invalidChanges(part, "unexpected %q after the part", data[i])
		}
	}
}

// parseReplacement parses the part [n, "line", ...] starting at data[i] ==
// '['. It returns n, the inserted units (lines joined with "\n") appended to
// units, and the index just past the closing bracket.
func parseReplacement(data []byte, i, part int, units []uint16) (int, []uint16, int, *InvalidChangesError) {
	i = skipJSONSpace(data, i+1)
	if i == len(data) {
		return 0, units, i, invalidChanges(part, "unexpected end of input")
	}
	n, next, reason := parseSafeInt(data, i)
	if reason != "" {
		return 0, units, i, invalidChanges(part, "deleted length: %s", reason)
	}
	i = next
	for line := 0; ; line++ {
		i = skipJSONSpace(data, i)
		if i == len(data) {
			return 0, units, i, invalidChanges(part, "unexpected end of input")
		}
		switch data[i] {
		case ']':
			return n, units, i + 1, nil
		case ',':
		default:
			return 0, units, i, invalidChanges(part, "unexpected %q in the part", data[i])
		}
		i = skipJSONSpace(data, i+1)
		if i == len(data) || data[i] != '"' {
			return 0, units, i, invalidChanges(part, "inserted line %d is not a string", line)
		}
		if line > 0 {
			units = append(units, '\n')
		}
		start := len(units)
		var size int
		var err error
		units, size, err = decodeJSONString16(units, data[i:])
		if err != nil {
			return 0, units, i, invalidChanges(part, "inserted line %d: %v", line, err)
		}
		for _, u := range units[start:] {
			if u == '\n' || u == '\r' {
				// The library would keep the string as one "line" and
				// serialize it back unchanged, which a text cannot do.
				return 0, units, i, invalidChanges(part, "inserted line %d contains a line break", line)
			}
		}
		i += size
	}
}

// parseSafeInt parses a JSON number that must be a non-negative integer no
// larger than 2^53-1 written in plain decimal, the only form JSON.stringify
// gives such a number. It returns the value, the index after it, and a reason
// when the number is refused.
func parseSafeInt(data []byte, i int) (int, int, string) {
	start := i
	for i < len(data) && (data[i] >= '0' && data[i] <= '9' || data[i] == '-' || data[i] == '+' || data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		i++
	}
	tok := data[start:i]
	switch {
	case len(tok) == 0:
		if start < len(data) {
			return 0, i, fmt.Sprintf("unexpected %q, want a number", data[start])
		}
		return 0, i, "unexpected end of input, want a number"
	case tok[0] == '-':
		return 0, i, fmt.Sprintf("negative number %.20s", tok)
	case len(tok) > 1 && tok[0] == '0':
		return 0, i, fmt.Sprintf("malformed number %.20s", tok)
	}
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, i, fmt.Sprintf("not a plain integer: %.20s", tok)
		}
	}
	if len(tok) > 16 {
		return 0, i, fmt.Sprintf("number over 2^53-1: %.20s…", tok)
	}
	v, err := strconv.Atoi(string(tok))
	if err != nil || v > maxSafeInteger {
		return 0, i, fmt.Sprintf("number over 2^53-1: %s", tok)
	}
	return v, i, ""
}

// finishParse returns c if nothing but white space follows the array at i.
func finishParse(c *ChangeSet, data []byte, i int) (*ChangeSet, error) {
	if i = skipJSONSpace(data, i); i != len(data) {
		return nil, invalidChanges(-1, "data after the array")
	}
	return c, nil
}

// UnmarshalJSON implements json.Unmarshaler with ParseChangeSet, so a
// *ChangeSet field of a message is parsed strictly. Only call it on a new
// ChangeSet: change sets are otherwise immutable.
func (c *ChangeSet) UnmarshalJSON(data []byte) error {
	p, err := ParseChangeSet(data)
	if err != nil {
		return err
	}
	*c = *p
	return nil
}

// MarshalJSON implements json.Marshaler. The output is what
// ChangeSet.toJSON() gives for the same set.
func (c *ChangeSet) MarshalJSON() ([]byte, error) {
	return c.AppendJSON(nil), nil
}

// AppendJSON appends the JSON of ChangeSet.toJSON() to dst: n for a kept
// section, [n] for a deletion, [n, "line", ...] for a replacement, the lines
// being the inserted text split on "\n".
func (c *ChangeSet) AppendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i := 0; i < len(c.sections); i += 2 {
		if i > 0 {
			dst = append(dst, ',')
		}
		n, ins := c.sections[i], c.sections[i+1]
		if ins < 0 {
			dst = strconv.AppendInt(dst, int64(n), 10)
			continue
		}
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(n), 10)
		if ins > 0 {
			w := json16Writer{dst: append(dst, ',', '"')}
			c.text(i >> 1).eachLeaf(func(leaf []uint16) {
				for len(leaf) > 0 {
					j := 0
					for j < len(leaf) && leaf[j] != '\n' {
						j++
					}
					w.write(leaf[:j])
					if j == len(leaf) {
						break
					}
					w.flush()
					w.dst = append(w.dst, '"', ',', '"')
					leaf = leaf[j+1:]
				}
			})
			w.flush()
			dst = append(w.dst, '"')
		}
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

// String returns the JSON form, for tests and logs.
func (c *ChangeSet) String() string {
	return string(c.AppendJSON(nil))
}

// Apply applies the change set to t and returns the new text. It refuses a
// text whose length is not Len(), as the library does.
func (c *ChangeSet) Apply(t Text) (Text, error) {
	if c.length != t.Len() {
		return Text{}, invalidChanges(-1, "changes of length %d applied to a document of length %d", c.length, t.Len())
	}
	c.iterChanges(true, func(fromA, toA, fromB, _ int, text Text) {
		t = t.Replace(fromB, fromB+(toA-fromA), text)
	})
	return t, nil
}

// errMismatchedLengths is the library's "Mismatched change set lengths",
// returned where it would throw, and where it would loop forever.
func errMismatchedLengths(format string, args ...any) error {
	return invalidChanges(-1, "mismatched change set lengths: "+format, args...)
}

// Compose returns the change set that applies c and then b: b must apply to
// the document c produces. The lengths are checked first, also where the
// library takes a shortcut without checking: its compose and map loop forever
// on some mismatched sets.
func (c *ChangeSet) Compose(b *ChangeSet) (*ChangeSet, error) {
	if c.newLength != b.length {
		return nil, errMismatchedLengths("compose %d->%d with %d->%d", c.length, c.newLength, b.length, b.newLength)
	}
	switch {
	case c.Empty():
		return b, nil
	case b.Empty():
		return c, nil
	}
	return composeSets(c, b)
}

// Map returns c transformed to apply after b, both applying to the same
// document (operational transformation). When both insert at the same
// position, before == true puts c's text first. The lengths are checked
// first, also where the library takes a shortcut without checking: the
// library's own map loops forever on some mismatched sets.
func (c *ChangeSet) Map(b *ChangeSet, before bool) (*ChangeSet, error) {
	if c.length != b.length {
		return nil, errMismatchedLengths("map a set of length %d over one of length %d", c.length, b.length)
	}
	if b.Empty() {
		return c, nil
	}
	return mapSet(c, b, before)
}

// IterChangedRanges calls fn with each range the change set replaces, as the
// library's iterChangedRanges does: fromA..toA in the old document, fromB..toB
// in the new one, in order, with adjacent changes joined into one range.
func (c *ChangeSet) IterChangedRanges(fn func(fromA, toA, fromB, toB int)) {
	c.iterChanges(false, func(fromA, toA, fromB, toB int, _ Text) { fn(fromA, toA, fromB, toB) })
}

// iterChanges is the library's iterChanges: fn gets each run of consecutive
// changes as one replacement, with the text it inserts when withText is set.
func (c *ChangeSet) iterChanges(withText bool, fn func(fromA, toA, fromB, toB int, text Text)) {
	s := c.sections
	for posA, posB, i := 0, 0, 0; i < len(s); {
		n, ins := s[i], s[i+1]
		i += 2
		if ins < 0 {
			posA += n
			posB += n
			continue
		}
		endA, endB := posA, posB
		var text Text
		for {
			endA += n
			endB += ins
			if withText && ins != 0 {
				text = text.Append(c.text((i - 2) >> 1))
			}
			if i == len(s) || s[i+1] < 0 {
				break
			}
			n, ins = s[i], s[i+1]
			i += 2
		}
		fn(posA, endA, posB, endB, text)
		posA, posB = endA, endB
	}
}

// MapMode says when MapPos reports a position as deleted.
type MapMode int

const (
	// MapSimple always maps the position.
	MapSimple MapMode = iota
	// MapTrackDel reports deletion when a deletion spans the position
	// (starts before it and ends after it).
	MapTrackDel
	// MapTrackBefore reports deletion when the unit before the position is deleted.
	MapTrackBefore
	// MapTrackAfter reports deletion when the unit after the position is deleted.
	MapTrackAfter
)

// MapPos maps pos in the old document to the new one, as the library's
// mapPos does. assoc < 0 keeps the position before text inserted at it,
// anything else moves it after. deleted is true where the library returns
// null (only in the tracking modes). pos must be in 0..Len().
func (c *ChangeSet) MapPos(pos, assoc int, mode MapMode) (newPos int, deleted bool, err error) {
	if pos < 0 {
		return 0, false, fmt.Errorf("%w: position %d is negative", ErrPositionOutOfRange, pos)
	}
	if mode < MapSimple || mode > MapTrackAfter {
		return 0, false, fmt.Errorf("map position: unknown mode %d", mode)
	}
	posA, posB := 0, 0
	for i := 0; i < len(c.sections); i += 2 {
		n, ins := c.sections[i], c.sections[i+1]
		endA := posA + n
		if ins < 0 {
			if endA > pos {
				return posB + (pos - posA), false, nil
			}
			posB += n
		} else {
			if mode != MapSimple && endA >= pos &&
				(mode == MapTrackDel && posA < pos && endA > pos ||
					mode == MapTrackBefore && posA < pos ||
					mode == MapTrackAfter && endA > pos) {
				return 0, true, nil
			}
			if endA > pos || endA == pos && assoc < 0 && n == 0 {
				if pos == posA || assoc < 0 {
					return posB, false, nil
				}
				return posB + ins, false, nil
			}
			posB += ins
		}
		posA = endA
	}
	if pos > posA {
		return 0, false, fmt.Errorf("%w: position %d is out of range for changeset of length %d", ErrPositionOutOfRange, pos, posA)
	}
	return posB, false, nil
}

// addSection appends a section, merging it with the previous one exactly
// where the library does (and nowhere else).
func addSection(s []int, n, ins int, forceJoin bool) []int {
	if n == 0 && ins <= 0 {
		return s
	}
	last := len(s) - 2
	switch {
	case last >= 0 && ins <= 0 && ins == s[last+1]: // kept+kept or deletion+deletion
		s[last] += n
	case last >= 0 && n == 0 && s[last] == 0: // insertion after a pure insertion
		s[last+1] += ins
	case forceJoin: // extend the previous change
		s[last] += n
		s[last+1] += ins
	default:
		s = append(s, n, ins)
	}
	return s
}

// addInsert attaches inserted text to the last section of s.
func addInsert(values []Text, s []int, value Text) []Text {
	if value.Len() == 0 {
		return values
	}
	index := (len(s) - 2) >> 1
	if index < len(values) {
		values[len(values)-1] = values[len(values)-1].Append(value)
		return values
	}
	for len(values) < index {
		values = append(values, Text{})
	}
	return append(values, value)
}

// sectionIter walks the sections of a change set, as the library's SectionIter.
type sectionIter struct {
	set  *ChangeSet
	i    int // index just past the current section in set.sections
	n    int // remaining length of the current section (the library's len)
	ins  int // remaining insert length; -1 kept; -2 when done
	off  int // how far into the current section we are
	done bool
}

func newSectionIter(set *ChangeSet) *sectionIter {
	it := &sectionIter{set: set}
	it.next()
	return it
}

func (it *sectionIter) next() {
	if it.i < len(it.set.sections) {
		it.n, it.ins = it.set.sections[it.i], it.set.sections[it.i+1]
		it.i += 2
	} else {
		it.n, it.ins, it.done = 0, -2, true
	}
	it.off = 0
}

// len2 is the length of the current section in the new document.
func (it *sectionIter) len2() int {
	if it.ins < 0 {
		return it.n
	}
	return it.ins
}

func (it *sectionIter) text() Text {
	return it.set.text((it.i - 2) >> 1)
}

// textBit returns n units of the current insert, from off.
func (it *sectionIter) textBit(n int) Text {
	k := (it.i - 2) >> 1
	if k >= len(it.set.inserted) && n == 0 {
		return Text{}
	}
	return it.set.text(k).Slice(it.off, it.off+n)
}

// forward advances n units in the old document.
func (it *sectionIter) forward(n int) {
	if n == it.n {
		it.next()
	} else {
		it.n -= n
		it.off += n
	}
}

// forward2 advances n units in the new document.
func (it *sectionIter) forward2(n int) {
	switch {
	case it.ins == -1:
		it.forward(n)
	case n == it.ins:
		it.next()
	default:
		it.ins -= n
		it.off += n
	}
}

// mapSet is the library's mapSet with texts: a mapped over b, both starting
// in the same document. The caller has checked that the lengths are equal.
func mapSet(setA, setB *ChangeSet, before bool) (*ChangeSet, error) {
	var s []int
	var insert []Text
	a, b := newSectionIter(setA), newSectionIter(setB)
	inserted := -1 // a.i of the last section of A whose text was emitted
	for {
		switch {
		case a.done && b.n != 0 || b.done && a.n != 0:
			return nil, errMismatchedLengths("map")
		case a.ins == -1 && b.ins == -1: // both keep
			n := min(a.n, b.n)
			s = addSection(s, n, -1, false)
			a.forward(n)
			b.forward(n)
		case b.ins >= 0 && (a.ins < 0 || inserted == a.i || a.off == 0 && (b.n < a.n || b.n == a.n && !before)):
			// B's change comes first: keep B's inserted text, consume the A
			// sections it covers, emitting A insertions that lie inside it.
			n := b.n
			s = addSection(s, b.ins, -1, false)
			for n != 0 {
				if a.done {
					// The library loops forever here.
					return nil, errMismatchedLengths("map")
				}
				piece := min(a.n, n)
				if a.ins >= 0 && inserted < a.i && a.n <= piece {
					s = addSection(s, 0, a.ins, false)
					insert = addInsert(insert, s, a.text())
					inserted = a.i
				}
				a.forward(piece)
				n -= piece
			}
			b.next()
		case a.ins >= 0:
			// A's change: its length shrinks by what B deleted inside it.
			n, left := 0, a.n
			for left != 0 {
				if b.ins == -1 {
					piece := min(left, b.n)
					n += piece
					left -= piece
					b.forward(piece)
				} else if b.ins == 0 && b.n < left {
					left -= b.n
					b.next()
				} else {
					break
				}
			}
			if inserted < a.i {
				s = addSection(s, n, a.ins, false)
				insert = addInsert(insert, s, a.text())
			} else {
				s = addSection(s, n, 0, false)
			}
			inserted = a.i
			a.forward(a.n - left)
		case a.done && b.done:
			return newChangeSet(s, insert), nil
		default:
			return nil, errMismatchedLengths("map")
		}
	}
}

// composeSets is the library's composeSets with texts: a then b. The caller
// has checked that a's new length is b's length.
func composeSets(setA, setB *ChangeSet) (*ChangeSet, error) {
	var s []int
	var insert []Text
	a, b := newSectionIter(setA), newSectionIter(setB)
	open := false
	for {
		switch {
		case a.done && b.done:
			return newChangeSet(s, insert), nil
		case a.ins == 0: // deletion in A
			s = addSection(s, a.n, 0, open)
			a.next()
		case b.n == 0 && !b.done: // insertion in B
			s = addSection(s, 0, b.ins, open)
			insert = addInsert(insert, s, b.text())
			b.next()
		case a.done || b.done:
			return nil, errMismatchedLengths("compose")
		default:
			n := min(a.len2(), b.n)
			sizeBefore := len(s)
			if a.ins == -1 {
				insB := b.ins
				if b.ins != -1 && b.off != 0 {
					insB = 0
				}
				s = addSection(s, n, insB, open)
				if insB != 0 { // b.text() is empty for a kept section
					insert = addInsert(insert, s, b.text())
				}
			} else if b.ins == -1 {
				lenA := a.n
				if a.off != 0 {
					lenA = 0
				}
				s = addSection(s, lenA, n, open)
				insert = addInsert(insert, s, a.textBit(n))
			} else {
				lenA, insB := a.n, b.ins
				if a.off != 0 {
					lenA = 0
				}
				if b.off != 0 {
					insB = 0
				}
				s = addSection(s, lenA, insB, open)
				if b.off == 0 {
					insert = addInsert(insert, s, b.text())
				}
			}
			open = (a.ins > n || b.ins >= 0 && b.n > n) && (open || len(s) > sizeBefore)
			a.forward2(n)
			b.forward(n)
		}
	}
}
