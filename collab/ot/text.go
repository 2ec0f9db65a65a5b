package ot

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Text is an immutable document text counted in UTF-16 code units, the unit
// CodeMirror uses for every length and position. Unpaired surrogates are kept
// exactly: a client may cut a surrogate pair in half, and the server's text
// must then hold the same half as every client's.
//
// Text is a persistent rope (an AVL tree of chunks of at most ropeLeafMax
// units). Editing returns a new Text that shares all untouched chunks with the
// old one, so a one-unit edit of a 1 MiB document costs a few small
// allocations instead of a 2 MiB copy (see BenchmarkTextEdit), and a snapshot
// is just a copy of the value. The zero value is the empty text.
type Text struct {
	root *ropeNode
}

// ropeLeafMax is the largest chunk a leaf holds. Editing a chunk copies it, and
// the tree gets deeper as chunks shrink; in BenchmarkTextEdit and
// BenchmarkDocumentPush, 256 to 2048 were within noise of each other and 4096
// was clearly slower.
const ropeLeafMax = 1024

// ropeNode is a leaf (left == right == nil, leaf non-empty) or a branch
// holding the concatenation of its children. Nodes are never modified once
// built: every edit builds new nodes along one path and shares the rest.
type ropeNode struct {
	left, right *ropeNode
	leaf        []uint16
	n           int // length in UTF-16 units
	h           int // height: 0 for a leaf
}

// NewText returns the text of s. Line breaks are normalised to "\n" (from
// "\r\n" and "\r"), as CodeMirror does when it builds a document, so that
// positions agree with the browser's. Invalid UTF-8 in s becomes U+FFFD.
func NewText(s string) Text {
	units := make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == '\r' {
				if i < len(s) && s[i] == '\n' {
					i++
				}
				c = '\n'
			}
			units = append(units, uint16(c))
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		units = utf16.AppendRune(units, r)
		i += size
	}
	return textOwning(units)
}

// TextFromUTF16 returns a text holding a copy of units, as they are: no line
// break normalisation, unpaired surrogates kept.
func TextFromUTF16(units []uint16) Text {
	return textOwning(append([]uint16(nil), units...))
}

// textOwning builds a text that takes ownership of units; the caller must not
// modify them afterwards.
func textOwning(units []uint16) Text {
	return Text{root: buildRope(units)}
}

// Len returns the length of the text in UTF-16 code units.
func (t Text) Len() int {
	if t.root == nil {
		return 0
	}
	return t.root.n
}

// Units returns a copy of the text's UTF-16 code units.
func (t Text) Units() []uint16 {
	return t.AppendUnits(make([]uint16, 0, t.Len()))
}

// AppendUnits appends the text's UTF-16 code units to dst.
func (t Text) AppendUnits(dst []uint16) []uint16 {
	t.eachLeaf(func(leaf []uint16) { dst = append(dst, leaf...) })
	return dst
}

// String returns the text as UTF-8 for display and logs. It is lossy: an
// unpaired surrogate becomes U+FFFD. Never feed it back into a document; use
// AppendJSON or Units to keep the text exactly.
func (t Text) String() string {
	return string(utf16.Decode(t.Units()))
}

// AppendJSON appends the text as a JSON string literal that decodes to exactly
// these code units in JavaScript: paired surrogates as UTF-8, unpaired ones as
// \udxxx escapes. <, >, &, U+2028 and U+2029 are escaped as encoding/json
// does, so the literal is also safe inside HTML.
func (t Text) AppendJSON(dst []byte) []byte {
	w := json16Writer{dst: append(dst, '"')}
	t.eachLeaf(w.write)
	w.flush()
	return append(w.dst, '"')
}

// MarshalJSON implements json.Marshaler with AppendJSON, so a Text field in a
// message struct is encoded without loss.
func (t Text) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, t.Len()+2)), nil
}

// UnmarshalJSON implements json.Unmarshaler. It keeps unpaired surrogate
// escapes as they are and does not normalise line breaks: a JSON text is
// taken to be a document already, not user input. JSON null leaves t as it is.
func (t *Text) UnmarshalJSON(data []byte) error {
	start := skipJSONSpace(data, 0)
	end := len(data)
	for end > start && isJSONSpace(data[end-1]) {
		end--
	}
	data = data[start:end]
	if string(data) == "null" {
		return nil
	}
	units, n, err := decodeJSONString16(nil, data)
	if err != nil {
		return fmt.Errorf("decode text: %w", err)
	}
	if n != len(data) {
		return fmt.Errorf("decode text: %w: data after the string", errJSONString)
	}
	*t = textOwning(units)
	return nil
}

// Equal reports whether t and u hold the same code units.
func (t Text) Equal(u Text) bool {
	if t.Len() != u.Len() {
		return false
	}
	var a, b [][]uint16
	t.eachLeaf(func(l []uint16) { a = append(a, l) })
	u.eachLeaf(func(l []uint16) { b = append(b, l) })
	for len(a) > 0 && len(b) > 0 {
		n := min(len(a[0]), len(b[0]))
		for i := range n {
			if a[0][i] != b[0][i] {
				return false
			}
		}
		if a[0] = a[0][n:]; len(a[0]) == 0 {
			a = a[1:]
		}
		if b[0] = b[0][n:]; len(b[0]) == 0 {
			b = b[1:]
		}
	}
	return true
}

// Slice returns the units from..to of the text. It panics if the range is out
// of bounds, like slicing a Go slice; callers check positions first.
func (t Text) Slice(from, to int) Text {
	t.checkRange(from, to)
	if from == 0 && to == t.Len() {
		return t
	}
	_, r := ropeSplit(t.root, from)
	l, _ := ropeSplit(r, to-from)
	return Text{root: l}
}

// Append returns the concatenation of t and u.
func (t Text) Append(u Text) Text {
	return Text{root: ropeJoin(t.root, u.root)}
}

// Replace returns the text with the units from..to replaced by ins. It panics
// if the range is out of bounds; callers check positions first.
func (t Text) Replace(from, to int, ins Text) Text {
	t.checkRange(from, to)
	if from == to && ins.Len() == 0 {
		return t
	}
	return Text{root: ropeReplace(t.root, from, to, ins.root)}
}

func (t Text) checkRange(from, to int) {
	if from < 0 || from > to || to > t.Len() {
		panic(fmt.Sprintf("collab: text range %d..%d out of bounds for length %d", from, to, t.Len()))
	}
}

// eachLeaf calls fn with every chunk of the text, in order. fn must not keep
// or modify the chunk.
func (t Text) eachLeaf(fn func([]uint16)) {
	var walk func(*ropeNode)
	walk = func(n *ropeNode) {
		for n != nil {
			if n.h == 0 {
				fn(n.leaf)
				return
			}
			walk(n.left)
			n = n.right
		}
	}
	walk(t.root)
}

// ropeNodeBytes is what a rope node costs beside its units: the struct and the
// allocator's rounding of it.
const ropeNodeBytes = 64

// memSize is about the bytes the text holds in memory: its units and its nodes.
// Nodes shared with another text are counted in both.
func (t Text) memSize() int {
	n := 0
	var walk func(*ropeNode)
	walk = func(r *ropeNode) {
		for r != nil {
			n += ropeNodeBytes + 2*cap(r.leaf)
			walk(r.left)
			r = r.right
		}
	}
	walk(t.root)
	return n
}

func ropeLeaf(units []uint16) *ropeNode {
	if len(units) == 0 {
		return nil
	}
	return &ropeNode{leaf: units, n: len(units)}
}

func ropeBranch(l, r *ropeNode) *ropeNode {
	return &ropeNode{left: l, right: r, n: l.n + r.n, h: max(l.h, r.h) + 1}
}

// buildRope builds a perfectly balanced rope over units, which it owns.
func buildRope(units []uint16) *ropeNode {
	if len(units) <= ropeLeafMax {
		return ropeLeaf(units)
	}
	// Split on a chunk boundary so that every leaf but the last is full.
	chunks := (len(units) + ropeLeafMax - 1) / ropeLeafMax
	mid := chunks / 2 * ropeLeafMax
	return ropeBranch(buildRope(units[:mid:mid]), buildRope(units[mid:]))
}

// ropeJoin concatenates two ropes, keeping the AVL balance. Its cost is the
// difference of their heights ("Just Join for Parallel Ordered Sets",
// Blelloch, Ferizovic and Sun, with the branch itself as the middle key).
func ropeJoin(l, r *ropeNode) *ropeNode {
	switch {
	case l == nil:
		return r
	case r == nil:
		return l
	case l.h == 0 && r.h == 0 && l.n+r.n <= ropeLeafMax:
		// Merge small neighbours so that a stream of small edits does not
		// fragment the text into ever more tiny leaves.
		units := make([]uint16, 0, l.n+r.n)
		return ropeLeaf(append(append(units, l.leaf...), r.leaf...))
	case l.h > r.h+1:
		return ropeJoinRight(l, r)
	case r.h > l.h+1:
		return ropeJoinLeft(l, r)
	default:
		return ropeBranch(l, r)
	}
}

// ropeJoinRight joins r onto the right spine of the taller l (l.h > r.h+1).
func ropeJoinRight(l, r *ropeNode) *ropeNode {
	if l.right.h <= r.h+1 {
		t := ropeBranch(l.right, r)
		if t.h <= l.left.h+1 {
			return ropeBranch(l.left, t)
		}
		return ropeRotateLeft(ropeBranch(l.left, ropeRotateRight(t)))
	}
	t := ropeJoinRight(l.right, r)
	if t.h <= l.left.h+1 {
		return ropeBranch(l.left, t)
	}
	return ropeRotateLeft(ropeBranch(l.left, t))
}

// ropeJoinLeft is the mirror image of ropeJoinRight (r.h > l.h+1).
func ropeJoinLeft(l, r *ropeNode) *ropeNode {
	if r.left.h <= l.h+1 {
		t := ropeBranch(l, r.left)
		if t.h <= r.right.h+1 {
			return ropeBranch(t, r.right)
		}
		return ropeRotateRight(ropeBranch(ropeRotateLeft(t), r.right))
	}
	t := ropeJoinLeft(l, r.left)
	if t.h <= r.right.h+1 {
		return ropeBranch(t, r.right)
	}
	return ropeRotateRight(ropeBranch(t, r.right))
}

func ropeRotateLeft(t *ropeNode) *ropeNode {
	return ropeBranch(ropeBranch(t.left, t.right.left), t.right.right)
}

func ropeRotateRight(t *ropeNode) *ropeNode {
	return ropeBranch(t.left.left, ropeBranch(t.left.right, t.right))
}

// ropeSplit returns the ropes of the units before and after pos.
func ropeSplit(t *ropeNode, pos int) (*ropeNode, *ropeNode) {
	switch {
	case t == nil:
		return nil, nil
	case pos <= 0:
		return nil, t
	case pos >= t.n:
		return t, nil
	case t.h == 0:
		// Sharing the chunk is safe: leaves are never written to, and the
		// capacity limit keeps an append from reaching the right half.
		return ropeLeaf(t.leaf[:pos:pos]), ropeLeaf(t.leaf[pos:])
	case pos <= t.left.n:
		l, r := ropeSplit(t.left, pos)
		return l, ropeJoin(r, t.right)
	default:
		l, r := ropeSplit(t.right, pos-t.left.n)
		return ropeJoin(t.left, l), r
	}
}

// ropeReplace replaces from..to of t by ins. An edit inside one leaf, the
// common case of typing, rebuilds only that leaf and its ancestors.
func ropeReplace(t *ropeNode, from, to int, ins *ropeNode) *ropeNode {
	if t == nil {
		return ins
	}
	insLen := 0
	if ins != nil {
		insLen = ins.n
	}
	if t.h == 0 {
		size := t.n - (to - from) + insLen
		if size > 2*ropeLeafMax {
			return ropeJoin(ropeJoin(ropeLeaf(t.leaf[:from:from]), ins), ropeLeaf(t.leaf[to:]))
		}
		units := make([]uint16, 0, size)
		units = append(units, t.leaf[:from]...)
		units = Text{root: ins}.AppendUnits(units)
		units = append(units, t.leaf[to:]...)
		if size <= ropeLeafMax {
			return ropeLeaf(units)
		}
		half := size / 2
		return ropeBranch(ropeLeaf(units[:half:half]), ropeLeaf(units[half:]))
	}
	ln := t.left.n
	switch {
	case to <= ln:
		return ropeJoin(ropeReplace(t.left, from, to, ins), t.right)
	case from >= ln:
		return ropeJoin(t.left, ropeReplace(t.right, from-ln, to-ln, ins))
	default:
		l, _ := ropeSplit(t.left, from)
		_, r := ropeSplit(t.right, to-ln)
		return ropeJoin(ropeJoin(l, ins), r)
	}
}
