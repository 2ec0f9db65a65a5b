package store

import (
	"slices"
	"testing"
)

func TestThinSnapshots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		versions []int
		keep     int
		want     []int // versions kept, ascending
	}{
		{"fewer than kept", []int{500, 1000}, 4, []int{500, 1000}},
		{"keep everything", []int{1, 2, 3, 4, 5}, -1, []int{1, 2, 3, 4, 5}},
		{"keep one: the newest", []int{3, 1, 2}, 1, []int{3}},
		// The newest 2 stay; of the older ones, the oldest of each span of 16 (at 8 there are still 8).
		{"thinned by doubling spans", []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 8, []int{10, 20, 40, 50, 70, 80, 90, 100}},
		{"in any order", []int{100, 10, 90, 20, 80, 30, 70, 40, 60, 50}, 8, []int{10, 20, 40, 50, 70, 80, 90, 100}},
	}
	for _, tt := range tests {
		drop := ThinSnapshots(tt.versions, tt.keep)
		var got []int
		for _, v := range tt.versions {
			if !slices.Contains(drop, v) {
				got = append(got, v)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ThinSnapshots(%v, %d) keeps %v, want %v", tt.name, tt.versions, tt.keep, got, tt.want)
		}
	}
}

// TestThinSnapshotsAsTheyCome saves a snapshot every 500 updates of a long session,
// thinning after each as a store does: at most keep remain, a snapshot once dropped
// is never wanted back, and any version is replayed from a snapshot at most a
// twelfth of the history before it.
func TestThinSnapshotsAsTheyCome(t *testing.T) {
	t.Parallel()
	const keep, every, n = 32, 500, 2000
	var kept []int
	for i := 1; i <= n; i++ {
		kept = append(kept, i*every)
		drop := ThinSnapshots(kept, keep)
		kept = slices.DeleteFunc(kept, func(v int) bool { return slices.Contains(drop, v) })
		if len(kept) > keep {
			t.Fatalf("after %d snapshots, %d kept, want at most %d", i, len(kept), keep)
		}
		if len(drop) > 0 && slices.Contains(drop, i*every) && len(kept) > keep/4 {
			t.Fatalf("after %d snapshots, the newest was dropped", i)
		}
		latest := i * every
		gap, prev := 0, 0
		for _, v := range kept {
			gap, prev = max(gap, v-prev), v
		}
		if i >= keep && gap > latest/12+2*every {
			t.Fatalf("after %d snapshots (version %d): a gap of %d updates between kept snapshots %v, want at most about %d",
				i, latest, gap, kept, latest/12)
		}
	}
}
