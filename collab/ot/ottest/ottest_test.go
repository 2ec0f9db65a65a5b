package ottest_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"duet/collab/ot"
	"duet/collab/ot/ottest"
)

// TestGenerated: what the generators make is what the engine accepts, over a
// document of the length asked for, and covers what the tests count on: lone
// surrogates, line breaks, deletions, and the extra text of EditJSON.
func TestGenerated(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 2000 {
		n := rng.IntN(40)
		sets := map[string][]byte{"change set": ottest.ChangeSetJSON(rng, n, 1+rng.IntN(8)), "edit": ottest.EditJSON(rng, n, "<b>&")}
		for kind, data := range sets {
			cs, err := ot.ParseChangeSet(data)
			if err != nil || cs.Len() != n {
				t.Fatalf("generated %s %s for length %d: %v, length %v", kind, data, n, err, cs)
			}
			text, err := cs.Apply(ot.TextFromUTF16(make([]uint16, n)))
			if err != nil {
				t.Fatalf("generated %s %s: %v", kind, data, err)
			}
			units := text.Units()
			seen["lone"] = seen["lone"] || hasLoneSurrogate(units)
			seen["break"] = seen["break"] || slices.Contains(units, '\n')
			seen["delete"] = seen["delete"] || text.Len() < n
			seen["extra"] = seen["extra"] || kind == "edit" && strings.Contains(text.String(), "<b>&")
		}
	}
	for _, want := range []string{"lone", "break", "delete", "extra"} {
		if !seen[want] {
			t.Errorf("2000 change sets and edits: none with %s", want)
		}
	}
}

func hasLoneSurrogate(units []uint16) bool {
	for i, u := range units {
		high, low := u >= 0xd800 && u < 0xdc00, u >= 0xdc00 && u < 0xe000
		next := i+1 < len(units) && units[i+1] >= 0xdc00 && units[i+1] < 0xe000
		prev := i > 0 && units[i-1] >= 0xd800 && units[i-1] < 0xdc00
		if high && !next || low && !prev {
			return true
		}
	}
	return false
}

// TestBytes: a fuzz input is a finite program; once used up, every choice is 0.
func TestBytes(t *testing.T) {
	t.Parallel()
	src := ottest.NewBytes([]byte{7, 200, 1, 2})
	got := []int{src.IntN(5), src.IntN(1000), src.IntN(1000), src.IntN(3)}
	if want := []int{2, (200<<8 | 1) % 1000, 2, 0}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("IntN draws = %v, want %v", got, want)
	}
}
