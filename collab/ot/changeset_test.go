package ot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mustChangeSet parses a change set written in a test.
func mustChangeSet(t testing.TB, s string) *ChangeSet {
	t.Helper()
	c, err := ParseChangeSet([]byte(s))
	if err != nil {
		t.Fatalf("ParseChangeSet(%s): %v", s, err)
	}
	return c
}

func TestParseChangeSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		wantJSON    string // MarshalJSON of the result
		wantLen     int
		wantNewLen  int
		wantParts   int
		wantIsEmpty bool
	}{
		{name: "no parts", in: `[]`, wantJSON: `[]`, wantIsEmpty: true},
		{name: "keep all", in: `[5]`, wantJSON: `[5]`, wantLen: 5, wantNewLen: 5, wantParts: 1, wantIsEmpty: true},
		{name: "split keep is kept split and not empty", in: `[2,3]`, wantJSON: `[2,3]`, wantLen: 5, wantNewLen: 5, wantParts: 2},
		{name: "every kind of part", in: `[[2,"x","y"],3,[0,"😀"],1,[2],2]`, wantJSON: `[[2,"x","y"],3,[0,"😀"],1,[2],2]`, wantLen: 10, wantNewLen: 11, wantParts: 6},
		{name: "delete with empty insert serializes as delete", in: `[[2,""],1]`, wantJSON: `[[2],1]`, wantLen: 3, wantNewLen: 1, wantParts: 2},
		{name: "insert a line break", in: `[[0,"",""]]`, wantJSON: `[[0,"",""]]`, wantLen: 0, wantNewLen: 1, wantParts: 1},
		{name: "white space between tokens", in: " [ 1 , [ 2 , \"a\" , \"b\" ] ]\n", wantJSON: `[1,[2,"a","b"]]`, wantLen: 3, wantNewLen: 4, wantParts: 2},
		{name: "lone surrogate kept", in: `[[0,"\ud83d"],1]`, wantJSON: `[[0,"\ud83d"],1]`, wantLen: 1, wantNewLen: 2, wantParts: 2},
		{name: "escaped pair becomes UTF-8", in: `[[0,"\ud83d\ude00"]]`, wantJSON: `[[0,"😀"]]`, wantNewLen: 2, wantParts: 1},
		{name: "CJK counts one unit", in: `[[1,"中文"]]`, wantJSON: `[[1,"中文"]]`, wantLen: 1, wantNewLen: 2, wantParts: 1},
		{name: "html characters escaped on output", in: `[[0,"<&>"]]`, wantJSON: `[[0,"\u003c\u0026\u003e"]]`, wantNewLen: 3, wantParts: 1},
		{name: "largest safe integer", in: `[9007199254740991]`, wantJSON: `[9007199254740991]`, wantLen: 1<<53 - 1, wantNewLen: 1<<53 - 1, wantParts: 1, wantIsEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseChangeSet([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseChangeSet(%s): %v", tt.in, err)
			}
			got, _ := c.MarshalJSON()
			if string(got) != tt.wantJSON {
				t.Errorf("MarshalJSON = %s, want %s", got, tt.wantJSON)
			}
			if c.Len() != tt.wantLen || c.NewLen() != tt.wantNewLen || c.Parts() != tt.wantParts || c.Empty() != tt.wantIsEmpty {
				t.Errorf("Len, NewLen, Parts, Empty = %d, %d, %d, %v; want %d, %d, %d, %v",
					c.Len(), c.NewLen(), c.Parts(), c.Empty(), tt.wantLen, tt.wantNewLen, tt.wantParts, tt.wantIsEmpty)
			}
		})
	}
}

func TestParseChangeSetRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantPart int // -1: about the whole set
		wantText string
	}{
		{name: "empty input", in: ``, wantPart: -1, wantText: "not a JSON array"},
		{name: "object", in: `{"changes":[0]}`, wantPart: -1, wantText: "not a JSON array"},
		{name: "string", in: `"[1]"`, wantPart: -1, wantText: "not a JSON array"},
		{name: "zero kept", in: `[1,0]`, wantPart: 1, wantText: "zero-length"},
		{name: "zero deletion", in: `[[0]]`, wantPart: 0, wantText: "zero-length"},
		{name: "zero replacement", in: `[2,[0,""]]`, wantPart: 1, wantText: "zero-length"},
		{name: "negative", in: `[-1,2]`, wantPart: 0, wantText: "negative"},
		{name: "negative zero", in: `[-0]`, wantPart: 0, wantText: "negative"},
		{name: "negative deletion", in: `[[-1,"x"],2]`, wantPart: 0, wantText: "negative"},
		{name: "fraction", in: `[1.5]`, wantPart: 0, wantText: "not a plain integer"},
		{name: "integer with fraction", in: `[1.0]`, wantPart: 0, wantText: "not a plain integer"},
		{name: "exponent", in: `[1e3]`, wantPart: 0, wantText: "not a plain integer"},
		{name: "huge", in: `[1e300,-1e300]`, wantPart: 0, wantText: "not a plain integer"},
		{name: "over 2^53-1", in: `[9007199254740992]`, wantPart: 0, wantText: "over 2^53-1"},
		{name: "very long number", in: `[` + strings.Repeat("9", 400) + `]`, wantPart: 0, wantText: "over 2^53-1"},
		{name: "sum over 2^53-1", in: `[9007199254740991,1]`, wantPart: 1, wantText: "length over 2^53-1"},
		{name: "leading zero", in: `[01]`, wantPart: 0, wantText: "malformed number"},
		{name: "embedded newline", in: `[[0,"a\nb"],1]`, wantPart: 0, wantText: "line break"},
		{name: "embedded carriage return", in: `[[0,"a\rb"],1]`, wantPart: 0, wantText: "line break"},
		{name: "insert not a string", in: `[[1,2]]`, wantPart: 0, wantText: "not a string"},
		{name: "part head not a number", in: `[["a"]]`, wantPart: 0, wantText: "want a number"},
		{name: "empty part", in: `[[]]`, wantPart: 0, wantText: "want a number"},
		{name: "boolean", in: `[true]`, wantPart: 0, wantText: "want a number"},
		{name: "null", in: `[null]`, wantPart: 0, wantText: "want a number"},
		{name: "string part", in: `["a"]`, wantPart: 0, wantText: "want a number"},
		{name: "nested garbage", in: `[[1,["x"]]]`, wantPart: 0, wantText: "not a string"},
		{name: "trailing comma", in: `[1,]`, wantPart: 1, wantText: "want a number"},
		{name: "missing comma", in: `[1 2]`, wantPart: 0, wantText: "after the part"},
		{name: "unterminated", in: `[1,[2,"x"`, wantPart: 1, wantText: "end of input"},
		{name: "unterminated string", in: `[[0,"x]]`, wantPart: 0, wantText: "unterminated"},
		{name: "data after the array", in: `[1] [2]`, wantPart: -1, wantText: "data after"},
		{name: "invalid UTF-8", in: "[[0,\"\xff\"]]", wantPart: 0, wantText: "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseChangeSet([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseChangeSet(%s) = %v, want an error", tt.in, c)
			}
			var ice *InvalidChangesError
			if !errors.Is(err, ErrInvalidChanges) || !errors.As(err, &ice) {
				t.Fatalf("ParseChangeSet(%s) error = %v, want an *InvalidChangesError", tt.in, err)
			}
			if ice.Part != tt.wantPart || ice.Update != -1 || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("ParseChangeSet(%s) error = %v (part %d, update %d), want part %d, update -1, mentioning %q",
					tt.in, err, ice.Part, ice.Update, tt.wantPart, tt.wantText)
			}
			if errors.Is(err, ErrTooManyChanges) {
				t.Errorf("ParseChangeSet(%s) error = %v, matches ErrTooManyChanges", tt.in, err)
			}
		})
	}
}

func TestParseChangeSetLimit(t *testing.T) {
	t.Parallel()
	in := []byte(`[1,1,1,1,1]`)
	if _, err := ParseChangeSetLimit(in, 5); err != nil {
		t.Errorf("ParseChangeSetLimit(5 parts, 5) = %v, want no error", err)
	}
	_, err := ParseChangeSetLimit(in, 4)
	if !errors.Is(err, ErrTooManyChanges) || !errors.Is(err, ErrInvalidChanges) {
		t.Errorf("ParseChangeSetLimit(5 parts, 4) error = %v, want ErrTooManyChanges and ErrInvalidChanges", err)
	}
	// The hard cap holds whatever the caller asks for, without reading on.
	huge := []byte("[" + strings.Repeat("1,", MaxChangeSetParts) + "1]")
	if _, err := ParseChangeSetLimit(huge, 1<<30); !errors.Is(err, ErrTooManyChanges) {
		t.Errorf("ParseChangeSetLimit(%d parts) error = %v, want ErrTooManyChanges", MaxChangeSetParts+1, err)
	}
}

func TestChangeSetApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		changes string
		want    string
		wantErr bool
	}{
		{name: "every kind of part", doc: "abcdefghij", changes: `[[2,"x","y"],3,[0,"😀"],1,[2],2]`, want: "x\nycde😀fij"},
		{name: "empty doc, insert", doc: "", changes: `[[0,"hello"]]`, want: "hello"},
		{name: "empty doc, nothing", doc: "", changes: `[]`, want: ""},
		{name: "delete all", doc: "abc", changes: `[[3]]`, want: ""},
		{name: "after an emoji", doc: "😀a", changes: `[2,[1,"b"]]`, want: "😀b"},
		{name: "replace an emoji", doc: "a😀b", changes: `[1,[2,"中"],1]`, want: "a中b"},
		{name: "flag is four units", doc: "🇫🇷!", changes: `[4,[1,"?"]]`, want: "🇫🇷?"},
		{name: "CJK", doc: "日本語", changes: `[1,[1],1]`, want: "日語"},
		{name: "adjacent changes are one replacement", doc: "abcd", changes: `[1,[1],[0,"X"],[1,"Y"],1]`, want: "aXYd"},
		{name: "multi-line insert", doc: "ab", changes: `[1,[0,"x","","y"],1]`, want: "ax\n\nyb"},
		{name: "too short", doc: "abcd", changes: `[3]`, wantErr: true},
		{name: "too long", doc: "ab", changes: `[3]`, wantErr: true},
		{name: "lengths counted in code points", doc: "😀", changes: `[[1,"x"]]`, wantErr: true},
		{name: "empty set on non-empty doc", doc: "a", changes: `[]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustChangeSet(t, tt.changes)
			got, err := c.Apply(NewText(tt.doc))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidChanges) {
					t.Errorf("%s.Apply(%q) error = %v, want ErrInvalidChanges", tt.changes, tt.doc, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("%s.Apply(%q) = %q, %v; want %q", tt.changes, tt.doc, got, err, tt.want)
			}
		})
	}
}

func TestChangeSetApplySplitsSurrogates(t *testing.T) {
	t.Parallel()
	// Deleting the low half of 😀 leaves a lone high surrogate, exactly as in
	// the browser; the text must keep it, not turn it into U+FFFD.
	got, err := mustChangeSet(t, `[1,[1]]`).Apply(NewText("😀"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"\ud83d"`; string(got.AppendJSON(nil)) != want {
		t.Errorf("Apply = %s, want %s", got.AppendJSON(nil), want)
	}
	// Inserting the low half back pairs it up again.
	got, err = mustChangeSet(t, `[1,[0,"\ude00"]]`).Apply(got)
	if err != nil || got.String() != "😀" {
		t.Errorf("Apply = %s, %v; want 😀", got.AppendJSON(nil), err)
	}
}

func TestChangeSetCompose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		a, b    string
		want    string
		wantErr bool
	}{
		{name: "a empty: b as it is", a: `[3]`, b: `[1,1,[1,"x"]]`, want: `[1,1,[1,"x"]]`},
		{name: "b empty: a as it is", a: `[1,[0,""," "],2]`, b: `[5]`, want: `[1,[0,""," "],2]`},
		{name: "insert then delete inside it", a: `[1,[0,"abc"],1]`, b: `[2,[1],2]`, want: `[1,[0,"ac"],1]`},
		{name: "delete half of an inserted emoji", a: `[[0,"😀"],1]`, b: `[1,[1],1]`, want: `[[0,"\ud83d"],1]`},
		{name: "two inserts", a: `[[0,"a"],2]`, b: `[3,[0,"b"]]`, want: `[[0,"a"],2,[0,"b"]]`},
		{name: "lengths mismatch even where the library skips the check", a: `[5]`, b: `[3]`, wantErr: true},
		{name: "lengths mismatch", a: `[[1,"xy"],2]`, b: `[[3,"z"]]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mustChangeSet(t, tt.a).Compose(mustChangeSet(t, tt.b))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidChanges) {
					t.Errorf("%s.Compose(%s) error = %v, want ErrInvalidChanges", tt.a, tt.b, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Errorf("%s.Compose(%s) = %v, %v; want %s", tt.a, tt.b, got, err, tt.want)
			}
		})
	}
}

func TestChangeSetMap(t *testing.T) {
	t.Parallel()
	// Examples computed by the library.
	tests := []struct {
		name    string
		doc     string
		a, b    string
		before  bool
		want    string
		wantDoc string // b then want, applied to doc
	}{
		{name: "tie, a before", doc: "xyz", a: `[1,[0,"A"],2]`, b: `[1,[0,"B"],2]`, before: true, want: `[1,[0,"A"],3]`, wantDoc: "xAByz"},
		{name: "tie, b before", doc: "xyz", a: `[1,[0,"A"],2]`, b: `[1,[0,"B"],2]`, before: false, want: `[2,[0,"A"],2]`, wantDoc: "xBAyz"},
		{name: "insert inside a deleted range survives", doc: "abcde", a: `[2,[0,"I"],3]`, b: `[1,[3],1]`, before: true, want: `[1,[0,"I"],1]`, wantDoc: "aIe"},
		{name: "insert inside a replaced range goes after it", doc: "abcde", a: `[2,[0,"I"],3]`, b: `[1,[3,"R"],1]`, before: true, want: `[2,[0,"I"],1]`, wantDoc: "aRIe"},
		{name: "delete never deletes inserted text", doc: "abcde", a: `[1,[3],1]`, b: `[2,[0,"I"],3]`, before: false, want: `[1,[1],1,[2],1]`, wantDoc: "aIe"},
		{name: "text deleted by both is deleted once", doc: "abcde", a: `[1,[3],1]`, b: `[2,[3]]`, before: false, want: `[1,[1]]`, wantDoc: "a"},
		{name: "over an empty set: a as it is", doc: "abcde", a: `[[0,"q"],2,3]`, b: `[5]`, want: `[[0,"q"],2,3]`, wantDoc: "qabcde"},
		{name: "over a no-op that is not empty: rebuilt", doc: "abcde", a: `[[0,"q"],2,3]`, b: `[2,3]`, want: `[[0,"q"],5]`, wantDoc: "qabcde"},
		{name: "emoji kept whole", doc: "😀😀", a: `[2,[0,"x"],2]`, b: `[[2],2]`, want: `[[0,"x"],2]`, wantDoc: "x😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := mustChangeSet(t, tt.a), mustChangeSet(t, tt.b)
			got, err := a.Map(b, tt.before)
			if err != nil || got.String() != tt.want {
				t.Fatalf("%s.Map(%s, %v) = %v, %v; want %s", tt.a, tt.b, tt.before, got, err, tt.want)
			}
			doc, err := applyAll(NewText(tt.doc), b, got)
			if err != nil || doc.String() != tt.wantDoc {
				t.Errorf("b then a mapped = %q, %v; want %q", doc, err, tt.wantDoc)
			}
			// Convergence: the other order gives the same document.
			other, err := b.Map(a, !tt.before)
			if err != nil {
				t.Fatalf("b.Map(a): %v", err)
			}
			doc, err = applyAll(NewText(tt.doc), a, other)
			if err != nil || doc.String() != tt.wantDoc {
				t.Errorf("a then b mapped = %q, %v; want %q", doc, err, tt.wantDoc)
			}
		})
	}
}

// TestChangeSetMapMismatchedLengths checks the cases where the library's map
// loops forever: they must return an error, quickly.
func TestChangeSetMapMismatchedLengths(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b string }{
		{a: `[1]`, b: `[[2]]`},
		{a: `[[1]]`, b: `[[2]]`},
		{a: `[[1,"x"]]`, b: `[[2,"y"]]`},
		{a: `[1,[1]]`, b: `[[3]]`},
		{a: `[[1,"x"],4]`, b: `[9]`}, // the library's shortcut returns a unchecked
		{a: `[3]`, b: `[1]`},
	}
	for _, tt := range tests {
		a, b := mustChangeSet(t, tt.a), mustChangeSet(t, tt.b)
		withTimeout(t, fmt.Sprintf("%s.Map(%s)", tt.a, tt.b), func() {
			if got, err := a.Map(b, false); !errors.Is(err, ErrInvalidChanges) {
				t.Errorf("%s.Map(%s) = %v, %v; want ErrInvalidChanges", tt.a, tt.b, got, err)
			}
		})
		// The internal algorithm must not loop either, should a caller ever
		// skip the length check.
		withTimeout(t, fmt.Sprintf("mapSet(%s, %s)", tt.a, tt.b), func() {
			if got, err := mapSet(a, b, false); !errors.Is(err, ErrInvalidChanges) {
				t.Errorf("mapSet(%s, %s) = %v, %v; want ErrInvalidChanges", tt.a, tt.b, got, err)
			}
			if got, err := composeSets(a, b); !errors.Is(err, ErrInvalidChanges) && a.NewLen() != b.Len() {
				t.Errorf("composeSets(%s, %s) = %v, %v; want ErrInvalidChanges", tt.a, tt.b, got, err)
			}
		})
	}
}

// withTimeout runs fn and fails the test if it does not return in time, so a
// regression to an endless loop shows up as a failure, not a hung test.
func withTimeout(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

func TestChangeSetMapPos(t *testing.T) {
	t.Parallel()
	// [2,[0,"xy"],2,[3,"Q"],1], computed by the library in the modes Simple / TrackDel /
	// TrackBefore / TrackAfter; -1 stands for the library's null.
	c := mustChangeSet(t, `[2,[0,"xy"],2,[3,"Q"],1]`)
	tests := []struct {
		pos, assoc int
		want       [4]int
	}{
		{pos: 4, assoc: -1, want: [4]int{6, 6, 6, -1}},
		{pos: 5, assoc: -1, want: [4]int{6, -1, -1, -1}},
		{pos: 5, assoc: 1, want: [4]int{7, -1, -1, -1}},
		{pos: 7, assoc: 1, want: [4]int{7, 7, -1, 7}},
		{pos: 2, assoc: -1, want: [4]int{2, 2, 2, 2}}, // before the insertion
		{pos: 2, assoc: 1, want: [4]int{4, 4, 4, 4}},  // after it
		{pos: 0, assoc: 1, want: [4]int{0, 0, 0, 0}},
		{pos: 8, assoc: 1, want: [4]int{8, 8, 8, 8}},
	}
	for _, tt := range tests {
		for mode := MapSimple; mode <= MapTrackAfter; mode++ {
			got, deleted, err := c.MapPos(tt.pos, tt.assoc, mode)
			if deleted {
				got = -1
			}
			if err != nil || got != tt.want[mode] {
				t.Errorf("MapPos(%d, %d, %d) = %d, %v; want %d", tt.pos, tt.assoc, mode, got, err, tt.want[mode])
			}
		}
	}
	for _, pos := range []int{-1, 9} {
		if _, _, err := c.MapPos(pos, 1, MapSimple); !errors.Is(err, ErrPositionOutOfRange) {
			t.Errorf("MapPos(%d) error = %v, want ErrPositionOutOfRange", pos, err)
		}
	}
	if _, _, err := c.MapPos(0, 1, MapMode(7)); err == nil {
		t.Errorf("MapPos with mode 7: no error, want one")
	}
}

func TestChangeSetIterChangedRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		changes string
		want    string // fromA-toA>fromB-toB of each range
	}{
		{`[5]`, ""},
		{`[[0,"ab"],3]`, "0-0>0-2"},
		{`[2,[0,"xy"],2,[3,"Q"],1]`, "2-2>2-4 4-7>6-7"},
		{`[1,[2],[0,"z"],2]`, "1-3>1-2"}, // a deletion and an adjacent insertion are one range
		{`[[1,"a","b"],1,[1]]`, "0-1>0-3 2-3>4-4"},
		{`[[0,"😀"]]`, "0-0>0-2"}, // UTF-16 units
	}
	for _, tt := range tests {
		var got []string
		mustChangeSet(t, tt.changes).IterChangedRanges(func(fromA, toA, fromB, toB int) {
			got = append(got, fmt.Sprintf("%d-%d>%d-%d", fromA, toA, fromB, toB))
		})
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s.IterChangedRanges = %q, want %q", tt.changes, strings.Join(got, " "), tt.want)
		}
	}
}

// benchDoc returns a document of about n units: ASCII, or with an astral
// character (a surrogate pair) every few units.
func benchDoc(n int, astral bool) string {
	unit := "abcdefghi\n"
	if astral {
		unit = "ab😀cd中ef\n"
	}
	return strings.Repeat(unit, n/10) // both units are 10 UTF-16 units long
}

// benchChanges returns the JSON of a change set over a document of length n
// with edits (a small replacement each) spread evenly.
func benchChanges(n, edits, offset int, ins string) string {
	var b strings.Builder
	b.WriteByte('[')
	step := n / edits
	pos := 0
	for i := range edits {
		at := i*step + offset
		if at+2 > n {
			break
		}
		if at > pos {
			b.WriteString(strconv.Itoa(at-pos) + ",")
		}
		b.WriteString(`[2,"` + ins + `"],`)
		pos = at + 2
	}
	b.WriteString(strconv.Itoa(n-pos) + "]")
	return b.String()
}

func BenchmarkChangeSet(b *testing.B) {
	for _, size := range []struct {
		name  string
		n     int
		edits int
	}{{"small", 1000, 5}, {"1MiB", 1 << 20, 50}} {
		for _, astral := range []bool{false, true} {
			name := size.name + "/ascii"
			ins := "xyz"
			if astral {
				name, ins = size.name+"/astral", "x🎉z"
			}
			doc := NewText(benchDoc(size.n, astral))
			n := doc.Len()
			a := mustChangeSet(b, benchChanges(n, size.edits, 0, ins))
			c := mustChangeSet(b, benchChanges(n, size.edits, 1, ins)) // concurrent with a, overlapping
			bAfterA := mustChangeSet(b, benchChanges(a.NewLen(), size.edits, 3, ins))
			b.Run("Apply/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := a.Apply(doc); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Compose/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := a.Compose(bAfterA); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Map/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := a.Map(c, true); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	// A set at the DefaultMaxParts limit, mapped over another one: the
	// worst single step of a rebase under the default limits.
	doc := benchDoc(1<<20, false)
	a := mustChangeSet(b, benchChanges(len(doc), DefaultMaxParts/2, 0, "x"))
	c := mustChangeSet(b, benchChanges(len(doc), DefaultMaxParts/2, 1, "y"))
	b.Run("Map/maxParts", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Map(c, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parse/maxParts", func(b *testing.B) {
		data := []byte(a.String())
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := ParseChangeSet(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
