// Package ottest makes random change sets for tests, as the JSON a client sends:
// any valid change set (for fuzzing the engine) or one person's edit (for driving
// a session). It imports nothing of duet, so that the engine's own tests can use
// it too; only tests import it.
package ottest

import (
	"strconv"
	"unicode/utf16"
)

// Source is what the generators draw from: a *rand.Rand in tests, Bytes in
// fuzzers.
type Source interface {
	IntN(n int) int
}

// Bytes turns fuzz input into choices. Once the input is used up it answers 0,
// so every input is a finite, valid program for the generators.
type Bytes struct {
	data []byte
}

// NewBytes returns a Source that draws from data.
func NewBytes(data []byte) *Bytes { return &Bytes{data: data} }

// IntN returns a choice in 0..n-1 made of the next one or two bytes.
func (s *Bytes) IntN(n int) int {
	if n <= 1 || len(s.data) == 0 {
		return 0
	}
	v := int(s.data[0])
	s.data = s.data[1:]
	if n > 256 && len(s.data) > 0 {
		v = v<<8 | int(s.data[0])
		s.data = s.data[1:]
	}
	return v % n
}

// pieces are what generated text is made of: the cases that matter for UTF-16
// (a pair, lone halves, CJK), line breaks, and characters JSON and HTML escape.
// Fuzz inputs saved in testdata are programs over this list: changing it
// changes what they test.
var pieces = [...][]uint16{
	{'a'}, {'b'}, {'\n'}, {0xd83d, 0xde00} /* 😀 */, {0xd83d} /* lone high */, {0xde00}, /* lone low */
	{0x4e2d} /* 中 */, {'<'}, {'"'}, {'\\'}, {0x2028}, {0xe9}, {'\t'},
}

// Units returns up to maxPieces random pieces of text.
func Units(src Source, maxPieces int) []uint16 {
	return appendPieces(nil, src, src.IntN(maxPieces+1), nil)
}

// appendPieces appends n random pieces, drawn from pieces and extra.
func appendPieces(units []uint16, src Source, n int, extra [][]uint16) []uint16 {
	for range n {
		i := src.IntN(len(pieces) + len(extra))
		if i < len(pieces) {
			units = append(units, pieces[i]...)
		} else {
			units = append(units, extra[i-len(pieces)]...)
		}
	}
	return units
}

// ChangeSetJSON returns a random valid change set over a document of length n,
// with at most maxParts parts, including the non-canonical shapes a client may
// send (split kept runs, split deletions, [n, ""], adjacent insertions).
func ChangeSetJSON(src Source, n, maxParts int) []byte {
	b := []byte{'['}
	part := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	for pos, parts := 0, 0; ; parts++ {
		rem := n - pos
		if rem == 0 && (parts >= maxParts || src.IntN(3) == 0) {
			break
		}
		if parts >= maxParts { // keep the rest, then stop
			part()
			b = strconv.AppendInt(b, int64(rem), 10)
			break
		}
		switch op := src.IntN(5); {
		case rem > 0 && op <= 1: // keep
			k := 1 + src.IntN(rem)
			part()
			b = strconv.AppendInt(b, int64(k), 10)
			pos += k
		default: // delete, replace or insert
			d := 0
			if rem > 0 && op != 4 {
				d = 1 + src.IntN(min(rem, 8))
			}
			ins := Units(src, 4)
			if d == 0 && len(ins) == 0 {
				ins = []uint16{'x'}
			}
			part()
			b = appendReplace(b, d, ins, len(ins) > 0 || src.IntN(4) == 0)
			pos += d
		}
	}
	return append(b, ']')
}

// EditJSON returns one edit on a document of n units, as someone typing makes
// it: an insertion, a deletion or a replacement anywhere, even inside a
// surrogate pair (a client may cut one). What it inserts is made of the usual
// pieces and of extra, such as text a test needs to see go through.
func EditJSON(src Source, n int, extra ...string) []byte {
	more := make([][]uint16, len(extra))
	for i, s := range extra {
		more[i] = utf16.Encode([]rune(s))
	}
	from := src.IntN(n + 1)
	to := from
	if n > from && src.IntN(3) == 0 {
		to = from + src.IntN(min(n-from, 10)+1)
	}
	var ins []uint16
	if to == from || src.IntN(2) == 0 {
		ins = appendPieces(nil, src, 1+src.IntN(4), more)
	}
	b := []byte{'['}
	if from > 0 {
		b = strconv.AppendInt(b, int64(from), 10)
	}
	if len(ins) > 0 || to > from {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendReplace(b, to-from, ins, len(ins) > 0)
	}
	if n > to {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n-to), 10)
	}
	return append(b, ']')
}

// appendReplace appends the part [d, "line", ...] that deletes d units and
// inserts ins, its lines split at line breaks; with lines false, [d].
func appendReplace(b []byte, d int, ins []uint16, lines bool) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(d), 10)
	if lines {
		start := 0
		for i := 0; i <= len(ins); i++ {
			if i == len(ins) || ins[i] == '\n' {
				b = append(b, ',')
				b = appendString(b, ins[start:i])
				start = i + 1
			}
		}
	}
	return append(b, ']')
}

// appendString appends units as a JSON string: printable ASCII as it is, every
// other unit escaped, so that lone surrogates go through exactly.
func appendString(b []byte, units []uint16) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, u := range units {
		if u >= 0x20 && u < 0x7f && u != '"' && u != '\\' {
			b = append(b, byte(u))
			continue
		}
		b = append(b, '\\', 'u', hex[u>>12], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
	}
	return append(b, '"')
}
