package store

import (
	"maps"
	"slices"
	"unicode/utf8"
)

// Limits bound what one session may keep in a store, whatever its clients send. The
// zero value of a field takes its default.
type Limits struct {
	// SessionBytes is how many bytes one session may store: its log, its runs and
	// its snapshots, counted as Update.Bytes, Run.Bytes and Snapshot.Bytes (64 MiB,
	// hours of typing and hundreds of runs). An append or a snapshot past it is
	// refused with ErrQuota; a run is stored without the output that does not fit,
	// marked truncated. Negative: no limit (to copy stores).
	SessionBytes int64
	// Snapshots is how many snapshots one session keeps (32): saving one more thins
	// the older ones (ThinSnapshots), so that an old history costs what its kept
	// snapshots do, not one snapshot for every few hundred updates. Negative: all.
	Snapshots int
	// Notes is how many notes one session keeps (2,000); one more is refused with
	// ErrQuota. Negative: no limit.
	Notes int
	// Signals is how many signals (pastes, leaving the tab) one session keeps
	// (10,000): hours of a restless candidate. One more is refused with ErrQuota, so
	// a flooding client cannot grow the store. Negative: no limit.
	Signals int
}

// Defaults of Limits.
const (
	DefaultSessionBytes = 64 << 20
	DefaultSnapshots    = 32
	DefaultNotes        = 2000
	DefaultSignals      = 10000
)

// WithDefaults returns l with its zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.SessionBytes == 0 {
		l.SessionBytes = DefaultSessionBytes
	}
	if l.Snapshots == 0 {
		l.Snapshots = DefaultSnapshots
	}
	if l.Notes == 0 {
		l.Notes = DefaultNotes
	}
	if l.Signals == 0 {
		l.Signals = DefaultSignals
	}
	return l
}

// Fits tells whether a session that stores have bytes may store n more.
func (l Limits) Fits(have, n int64) bool {
	return l.SessionBytes < 0 || have+n <= l.SessionBytes
}

// RowBytes is what a stored row costs beside the bytes it was given: keys,
// versions, times and the back end's own overhead, about. Back ends that count in
// SQL write it as 32.
const RowBytes = 32

// Bytes is what the update costs in a store: its changes and ids, and the rest of
// its row. Stores count it towards a session's quota and bound reads of the log by it.
func (u Update) Bytes() int {
	return RowBytes + len(u.ClientID) + len(u.UserID) + len(u.Changes)
}

// Bytes is what the snapshot costs in a store: its text and the rest of its row.
func (s Snapshot) Bytes() int {
	return RowBytes + len(s.Text)
}

// Bytes is what the run costs in a store: its fields, its output, and the rest of
// its rows.
func (r Run) Bytes() int {
	n := r.headBytes()
	for _, o := range r.Output {
		n += o.bytes()
	}
	return n
}

func (r Run) headBytes() int {
	return RowBytes + len(r.ID) + len(r.UserID) + len(r.UserName) + len(r.Language) + len(r.Title) + len(r.Status)
}

// FitRun returns the run as a store keeps it for a session that stores have bytes:
// whole if it fits within SessionBytes, else with the output that fits (chunks in
// order, the first that does not fit cut at a character boundary, the rest dropped)
// and marked truncated. It returns false when not even the run without output fits.
func (l Limits) FitRun(r Run, have int64) (Run, bool) {
	if l.SessionBytes < 0 {
		return r, true
	}
	left := l.SessionBytes - have - int64(r.headBytes())
	if left < 0 {
		return Run{}, false
	}
	for i, o := range r.Output {
		n := int64(o.bytes())
		if n <= left {
			left -= n
			continue
		}
		out := r.Output[:i:i]
		if keep := left - int64(o.bytes()-len(o.Text)); keep > 0 {
			if o.Text = cutUTF8(o.Text, int(keep)); o.Text != "" {
				out = append(out, o)
			}
		}
		r.Output, r.Truncated = out, true
		break
	}
	return r, true
}

// cutUTF8 cuts s to at most n bytes, not in the middle of a character.
func cutUTF8(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (o RunOutput) bytes() int { return RowBytes + len(o.Stream) + len(o.Text) }

// UpTo returns how many of the updates a read bounded by maxBytes returns (see
// Store.Updates): all with maxBytes <= 0, else up to the one that brings their Bytes
// to maxBytes or more.
func UpTo(updates []Update, maxBytes int) int {
	if maxBytes <= 0 {
		return len(updates)
	}
	n := 0
	for i, u := range updates {
		if n >= maxBytes {
			return i
		}
		n += u.Bytes()
	}
	return len(updates)
}

// Full reports whether updates, as a read bounded by maxBytes returned them, reached
// the bound: a read that returns fewer than asked must have.
func Full(updates []Update, maxBytes int) bool {
	n := 0
	for _, u := range updates {
		n += u.Bytes()
	}
	return maxBytes > 0 && n >= maxBytes
}

// ThinSnapshots returns the versions of the snapshots to delete so that at most keep
// remain of those at versions (in any order): none when they fit, or keep is
// negative. The newest quarter of keep stay, dense, for loading a session and
// replaying what just happened. The older ones are kept one per span of versions
// (the oldest of each, so that a snapshot dropped is never wanted back), the span
// doubling until they fit: the replay then starts at most two spans before any
// version, about a twelfth of the history with 32 kept, whatever its length.
func ThinSnapshots(versions []int, keep int) []int {
	if keep < 0 || len(versions) <= keep {
		return nil
	}
	vs := slices.Sorted(slices.Values(versions))
	newest := max(1, keep/4)
	older, slots := vs[:len(vs)-newest], keep-newest
	if slots == 0 {
		return older
	}
	for span := 1; ; span *= 2 {
		var kept, drop []int
		for _, v := range older {
			if len(kept) > 0 && kept[len(kept)-1]/span == v/span {
				drop = append(drop, v)
			} else {
				kept = append(kept, v)
			}
		}
		if len(kept) <= slots {
			return drop
		}
	}
}

// Thin is ThinSnapshots for a store: given the text length of every snapshot a
// session keeps, by version, it returns the versions to delete under l.Snapshots and
// the bytes (Snapshot.Bytes) that frees.
func (l Limits) Thin(textLen map[int]int64) (drop []int, freed int64) {
	drop = ThinSnapshots(slices.Collect(maps.Keys(textLen)), l.Snapshots)
	for _, v := range drop {
		freed += RowBytes + textLen[v]
	}
	return drop, freed
}
