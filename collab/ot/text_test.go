package ot

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestNewText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantLen  int
		wantJSON string
	}{
		{name: "empty", in: "", wantLen: 0, wantJSON: `""`},
		{name: "ascii", in: "print(1)\n", wantLen: 9, wantJSON: `"print(1)\n"`},
		{name: "CRLF becomes LF", in: "a\r\nb\r\n", wantLen: 4, wantJSON: `"a\nb\n"`},
		{name: "lone CR becomes LF", in: "a\rb\r", wantLen: 4, wantJSON: `"a\nb\n"`},
		{name: "CR CR LF is two breaks", in: "a\r\r\nb", wantLen: 4, wantJSON: `"a\n\nb"`},
		{name: "LF CR is two breaks", in: "a\n\rb", wantLen: 4, wantJSON: `"a\n\nb"`},
		{name: "accented letter is one unit", in: "é", wantLen: 1, wantJSON: `"é"`},
		{name: "combining accent is two units", in: "e\u0301", wantLen: 2, wantJSON: "\"e\u0301\""},
		{name: "CJK is one unit each", in: "中文", wantLen: 2, wantJSON: `"中文"`},
		{name: "emoji is two units", in: "😀", wantLen: 2, wantJSON: `"😀"`},
		{name: "flag is four units", in: "🇫🇷", wantLen: 4, wantJSON: `"🇫🇷"`},
		{name: "family is eight units", in: "👨‍👩‍👧", wantLen: 8, wantJSON: `"👨‍👩‍👧"`},
		{name: "invalid UTF-8 becomes U+FFFD", in: "a\xffb", wantLen: 3, wantJSON: "\"a\ufffdb\""},
		{name: "html-sensitive characters are escaped", in: "<script>&", wantLen: 9, wantJSON: `"\u003cscript\u003e\u0026"`},
		{name: "long text spans many leaves", in: strings.Repeat("ab😀\n", 1000), wantLen: 5000, wantJSON: `"` + strings.Repeat(`ab😀\n`, 1000) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NewText(tt.in)
			checkRope(t, got.root)
			if got.Len() != tt.wantLen {
				t.Errorf("NewText(%q).Len() = %d, want %d", tt.in, got.Len(), tt.wantLen)
			}
			if gotJSON := string(got.AppendJSON(nil)); gotJSON != tt.wantJSON {
				t.Errorf("NewText(%q).AppendJSON = %s, want %s", tt.in, gotJSON, tt.wantJSON)
			}
			var back Text
			if err := json.Unmarshal([]byte(tt.wantJSON), &back); err != nil || !back.Equal(got) {
				t.Errorf("Unmarshal(%s) = %s, %v; want it back", tt.wantJSON, back.AppendJSON(nil), err)
			}
		})
	}
}

func TestTextLoneSurrogates(t *testing.T) {
	t.Parallel()
	units := []uint16{'a', 0xd83d, 'b', 0xde00}
	text := TextFromUTF16(units)
	if got, want := text.Len(), 4; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if got, want := string(text.AppendJSON(nil)), `"a\ud83db\ude00"`; got != want {
		t.Errorf("AppendJSON = %s, want %s", got, want)
	}
	if got, want := text.String(), "a\ufffdb\ufffd"; got != want {
		t.Errorf("String() = %q, want %q (lossy, for display)", got, want)
	}
	// Splitting a pair across a replace and joining it again gives the pair back.
	joined := TextFromUTF16([]uint16{0xd83d}).Append(TextFromUTF16([]uint16{0xde00}))
	if got, want := string(joined.AppendJSON(nil)), `"😀"`; got != want {
		t.Errorf("joined halves = %s, want %s", got, want)
	}
	// Through encoding/json, as the hub will send it.
	msg, err := json.Marshal(struct {
		Content Text `json:"content"`
	}{text})
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if got, want := string(msg), `{"content":"a\ud83db\ude00"}`; got != want {
		t.Errorf("json.Marshal = %s, want %s", got, want)
	}
	var back struct {
		Content Text `json:"content"`
	}
	if err := json.Unmarshal(msg, &back); err != nil || !slices.Equal(back.Content.Units(), units) {
		t.Errorf("json.Unmarshal(%s) = %x, %v; want %x", msg, back.Content.Units(), err, units)
	}
}

func TestTextUnmarshalJSONErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`1`, `"a" "b"`, `"unterminated`, `["a"]`} {
		var text Text
		if err := text.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%s) = nil error, want one", in)
		}
	}
	text := NewText("keep")
	if err := text.UnmarshalJSON([]byte(" null ")); err != nil || text.String() != "keep" {
		t.Errorf("UnmarshalJSON(null) = %v, text %q; want no error and text unchanged", err, text)
	}
}

func TestTextReplaceTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		from, to int
		ins      string
		want     string
	}{
		{name: "insert into empty", text: "", from: 0, to: 0, ins: "abc", want: "abc"},
		{name: "delete everything", text: "abc", from: 0, to: 3, ins: "", want: ""},
		{name: "insert after emoji", text: "😀x", from: 2, to: 2, ins: "y", want: "😀yx"},
		{name: "replace CJK", text: "中文字", from: 1, to: 2, ins: "-", want: "中-字"},
		{name: "no-op", text: "abc", from: 1, to: 1, ins: "", want: "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NewText(tt.text).Replace(tt.from, tt.to, NewText(tt.ins))
			checkRope(t, got.root)
			if got.String() != tt.want {
				t.Errorf("Replace(%d, %d, %q) on %q = %q, want %q", tt.from, tt.to, tt.ins, tt.text, got, tt.want)
			}
		})
	}
}

// TestTextRandomEdits compares the rope with a plain slice over many random
// edits of every size, checking the tree's invariants after each.
func TestTextRandomEdits(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var flat []uint16
	var text Text
	snapshots := []struct {
		text Text
		flat []uint16
	}{}
	for i := range 3000 {
		from := rng.IntN(len(flat) + 1)
		to := from + rng.IntN(len(flat)-from+1)
		if rng.IntN(4) != 0 {
			to = from + min(len(flat)-from, rng.IntN(3)) // mostly small edits
		}
		var ins []uint16
		switch rng.IntN(5) {
		case 0:
			ins = make([]uint16, rng.IntN(3*ropeLeafMax))
		case 1, 2:
			ins = make([]uint16, rng.IntN(3))
		default:
			ins = make([]uint16, rng.IntN(60))
		}
		for j := range ins {
			ins[j] = uint16(rng.IntN(0x10000))
		}
		if len(flat)+len(ins) > 40_000 {
			to = len(flat) // keep the test fast: drop the tail now and then
		}
		flat = slices.Concat(flat[:from], ins, flat[to:])
		text = text.Replace(from, to, TextFromUTF16(ins))
		checkRope(t, text.root)
		if i%100 == 0 {
			if !slices.Equal(text.Units(), flat) {
				t.Fatalf("edit %d: rope and slice differ", i)
			}
			snapshots = append(snapshots, struct {
				text Text
				flat []uint16
			}{text, slices.Clone(flat)})
			a := rng.IntN(len(flat) + 1)
			b := a + rng.IntN(len(flat)-a+1)
			if got := text.Slice(a, b).Units(); !slices.Equal(got, flat[a:b]) {
				t.Fatalf("edit %d: Slice(%d, %d) differs", i, a, b)
			}
		}
	}
	// Edits never change an older text: snapshots stay valid for free.
	for i, s := range snapshots {
		if !slices.Equal(s.text.Units(), s.flat) {
			t.Fatalf("snapshot %d changed after later edits", i)
		}
	}
}

func TestTextEqual(t *testing.T) {
	t.Parallel()
	a := NewText(strings.Repeat("x", 3000))
	b := NewText(strings.Repeat("x", 1000)).Append(NewText(strings.Repeat("x", 2000)))
	c := a.Replace(2999, 3000, NewText("y"))
	tests := []struct {
		name string
		x, y Text
		want bool
	}{
		{name: "same units, different leaves", x: a, y: b, want: true},
		{name: "last unit differs", x: a, y: c, want: false},
		{name: "different lengths", x: a, y: a.Slice(0, 10), want: false},
		{name: "empty", x: Text{}, y: NewText(""), want: true},
	}
	for _, tt := range tests {
		if got := tt.x.Equal(tt.y); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// checkRope verifies the rope invariants: lengths and heights add up, the
// tree is AVL-balanced, and leaves are non-empty and not oversized.
func checkRope(t testing.TB, n *ropeNode) {
	t.Helper()
	var check func(n *ropeNode) error
	check = func(n *ropeNode) error {
		if n == nil {
			return nil
		}
		if n.h == 0 {
			if n.left != nil || n.right != nil || len(n.leaf) == 0 || len(n.leaf) != n.n || n.n > ropeLeafMax {
				return fmt.Errorf("bad leaf: %d units, n = %d", len(n.leaf), n.n)
			}
			return nil
		}
		if n.left == nil || n.right == nil || n.leaf != nil {
			return fmt.Errorf("bad branch at height %d", n.h)
		}
		if n.n != n.left.n+n.right.n || n.h != max(n.left.h, n.right.h)+1 {
			return fmt.Errorf("branch sums wrong: n %d = %d+%d, h %d", n.n, n.left.n, n.right.n, n.h)
		}
		if d := n.left.h - n.right.h; d < -1 || d > 1 {
			return fmt.Errorf("unbalanced branch: heights %d and %d", n.left.h, n.right.h)
		}
		if err := check(n.left); err != nil {
			return err
		}
		return check(n.right)
	}
	if err := check(n); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTextEdit measures one-unit edits at random positions of a 1 MiB
// text, the case that decided the representation: the rope against a flat
// []uint16 copied per edit (what an immutable flat text costs) and edited in
// place (what a mutable one costs, snapshots then needing a copy).
func BenchmarkTextEdit(b *testing.B) {
	const size = 1 << 20
	base := make([]uint16, size)
	for i := range base {
		base[i] = uint16('a' + i%26)
	}
	b.Run("rope", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 1))
		text := TextFromUTF16(base)
		ins := NewText("x")
		for b.Loop() {
			pos := rng.IntN(text.Len())
			if rng.IntN(2) == 0 {
				text = text.Replace(pos, pos, ins)
			} else {
				text = text.Replace(pos, pos+1, Text{})
			}
		}
	})
	b.Run("flat-copy", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 1))
		flat := slices.Clone(base)
		for b.Loop() {
			pos := rng.IntN(len(flat))
			if rng.IntN(2) == 0 {
				flat = slices.Concat(flat[:pos], []uint16{'x'}, flat[pos:])
			} else {
				flat = slices.Concat(flat[:pos], flat[pos+1:])
			}
		}
	})
	b.Run("flat-in-place", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 1))
		flat := slices.Clone(base)
		for b.Loop() {
			pos := rng.IntN(len(flat))
			if rng.IntN(2) == 0 {
				flat = slices.Insert(flat, pos, 'x')
			} else {
				flat = slices.Delete(flat, pos, pos+1)
			}
		}
	})
}

func BenchmarkTextAppendJSON(b *testing.B) {
	for _, bc := range []struct{ name, unit string }{{"ascii", "abcd"}, {"astral", "a😀中"}} {
		text := NewText(strings.Repeat(bc.unit, (1<<20)/len(utf16.Encode([]rune(bc.unit)))))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(2 * text.Len()))
			buf := make([]byte, 0, 4<<20)
			for b.Loop() {
				buf = text.AppendJSON(buf[:0])
			}
		})
	}
}
