package replay_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"duet/collab/history"
	"duet/collab/replay"
	"duet/store"
)

// newSession creates a session in st, as the hub does.
func newSession(t *testing.T, st store.Store, language string) store.Session {
	t.Helper()
	now := time.Now().UTC()
	s := store.Session{ID: uuid.NewString(), Language: language, CreatedAt: now, LastActive: now}
	if err := st.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTimelineBuckets summarises a 10,000-update session with long pauses and runs:
// at most 300 buckets, together covering the log in order, with the playback clock
// compressing every pause to MaxReplayPause.
func TestTimelineBuckets(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := store.NewMemory()
	rd := replay.New(st)
	info := newSession(t, st, "python")
	const n = 10_000
	users := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	created := info.CreatedAt
	at := created
	var wantClock time.Duration
	updates := make([]store.Update, n)
	for i := range updates {
		gap := 150 * time.Millisecond
		switch {
		case i%1000 == 999:
			gap = 10 * time.Minute // a long pause, played as 2 s
		case i%7 == 0:
			gap = 3 * time.Second
		}
		at = at.Add(gap)
		wantClock += min(gap, replay.MaxPause)
		user := users[0]
		if i >= 6000 {
			user = users[1+(i/10)%2] // two others take turns, ten updates each
		}
		changes := fmt.Appendf(nil, `[%d,[0,"x"]]`, i)
		if i == 0 {
			changes = []byte(`[[0,"x"]]`)
		}
		updates[i] = store.Update{ClientID: "c", UserID: user, Changes: changes, Time: at}
	}
	if err := st.AppendUpdates(ctx, info.ID, 0, updates); err != nil {
		t.Fatal(err)
	}
	runs := []store.Run{
		{ID: "r1", UserID: users[0], UserName: "Ada", Title: "main.py", Version: 10, Started: created.Add(time.Minute), Status: "ok"},
		{ID: "r2", UserID: users[1], UserName: "Bob", Title: "main.py", Version: 9_000, Started: at, Status: "error"},
		{ID: "r3", UserID: "someone-who-never-typed", UserName: "Carol\u202e", Title: "main.py", Version: n, Started: at.Add(time.Second)},
	}
	for _, r := range runs {
		if err := st.AppendRun(ctx, info.ID, r); err != nil {
			t.Fatal(err)
		}
	}

	tl, err := rd.Timeline(ctx, info.ID, 0)
	if err != nil {
		t.Fatalf("Timeline() error = %v", err)
	}
	if len(tl.Buckets) != replay.DefaultTimelineBuckets {
		t.Fatalf("Timeline() has %d buckets, want %d", len(tl.Buckets), replay.DefaultTimelineBuckets)
	}
	next := 0
	for i, b := range tl.Buckets {
		if b.From != next || b.To <= b.From || b.To-b.From > n/replay.DefaultTimelineBuckets+1 {
			t.Fatalf("bucket %d covers %d..%d after %d", i, b.From, b.To, next)
		}
		if b.Length != b.To { // every update inserts one unit
			t.Errorf("bucket %d: length %d at version %d, want %d", i, b.Length, b.To, b.To)
		}
		if !b.Start.Equal(updates[b.From].Time) || !b.End.Equal(updates[b.To-1].Time) || b.ClockEnd < b.Clock {
			t.Errorf("bucket %d: times %v..%v, clock %v..%v", i, b.Start, b.End, b.Clock, b.ClockEnd)
		}
		if i > 0 && b.Clock != tl.Buckets[i-1].ClockEnd {
			t.Errorf("bucket %d starts at clock %v, the previous one ends at %v", i, b.Clock, tl.Buckets[i-1].ClockEnd)
		}
		switch {
		case b.To <= 6000 && (b.Author != users[0] || b.Authors != 1):
			t.Errorf("bucket %d (%d..%d): author %s of %d, want Ada alone", i, b.From, b.To, b.Author, b.Authors)
		case b.From >= 6000 && (b.Author == users[0] || b.Authors != 2):
			t.Errorf("bucket %d (%d..%d): author %s of %d, want one of the two who took turns", i, b.From, b.To, b.Author, b.Authors)
		}
		long := b.To/1000 > b.From/1000 // holds an update i with i%1000 == 999
		if long != (b.Pause == 10*time.Minute) || !long && b.Pause > 3*time.Second {
			t.Errorf("bucket %d (%d..%d): longest pause %v", i, b.From, b.To, b.Pause)
		}
		next = b.To
	}
	if next != n || tl.Version != n {
		t.Errorf("buckets end at %d, version %d; want %d", next, tl.Version, n)
	}
	if tl.Duration != wantClock || tl.Buckets[len(tl.Buckets)-1].ClockEnd != wantClock {
		t.Errorf("Duration = %v, want %v (pauses cut to %v)", tl.Duration, wantClock, replay.MaxPause)
	}
	if !tl.End.Equal(at) || !tl.Created.Equal(created) {
		t.Errorf("Timeline() times %v..%v, want %v..%v", tl.Created, tl.End, created, at)
	}

	var gotRuns []string
	for _, r := range tl.Runs {
		gotRuns = append(gotRuns, fmt.Sprintf("%s@%d %s %s %d", r.ID, r.Version, r.UserName, r.Status, len(r.Output)))
	}
	if want := "r1@10 Ada ok 0,r2@9000 Bob error 0,r3@10000 Carol  0"; strings.Join(gotRuns, ",") != want {
		t.Errorf("Timeline().Runs = %q, want %q", strings.Join(gotRuns, ","), want)
	}
	if tl.Runs[2].Clock != wantClock {
		t.Errorf("run at the last version: clock %v, want %v", tl.Runs[2].Clock, wantClock)
	}

	var authors []string
	colors := map[string]bool{}
	for _, a := range tl.Authors {
		authors = append(authors, fmt.Sprintf("%s %d %d", a.Name, a.Updates, a.Runs))
		colors[a.Color] = true
	}
	if want := "Ada 6000 1,Bob 2000 1, 2000 0,Carol 0 1"; strings.Join(authors, ",") != want {
		t.Errorf("Timeline().Authors = %q, want %q (names from the runs)", strings.Join(authors, ","), want)
	}
	if len(colors) != 4 {
		t.Errorf("four authors have %d colors, want each their own", len(colors))
	}
	again, err := rd.Timeline(ctx, info.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range again.Authors {
		if a.Color != tl.Authors[i].Color {
			t.Errorf("author %d: color %s, then %s: want the same every time", i, tl.Authors[i].Color, a.Color)
		}
	}

	// Fewer updates than buckets: one bucket per update.
	small, err := rd.Timeline(ctx, info.ID, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(small.Buckets) != n {
		t.Errorf("Timeline(max 20000) has %d buckets, want one per update (%d)", len(small.Buckets), n)
	}

	r, err := rd.Run(ctx, info.ID, "r2")
	if err != nil || r.ID != "r2" || r.Status != "error" {
		t.Errorf("Run(r2) = %+v, %v", r, err)
	}
	if _, err := rd.Run(ctx, info.ID, "nope"); !errors.Is(err, replay.ErrRunNotFound) {
		t.Errorf("Run(nope) error = %v, want ErrRunNotFound", err)
	}
}

// TestTimelineEmpty: a session nobody typed in has no buckets and no duration.
func TestTimelineEmpty(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	rd := replay.New(st)
	info := newSession(t, st, "javascript")
	tl, err := rd.Timeline(t.Context(), info.ID, 0)
	if err != nil || tl.Version != 0 || len(tl.Buckets) != 0 || tl.Duration != 0 || tl.Language != "javascript" {
		t.Errorf("Timeline(empty) = %+v, %v", tl, err)
	}
	f, err := rd.FrameAt(t.Context(), info.ID, 3)
	if err != nil || f.Version != 0 || f.Text.Len() != 0 || f.UserID != "" {
		t.Errorf("FrameAt(empty, 3) = %+v, %v", f, err)
	}
	if _, err := rd.Timeline(t.Context(), uuid.NewString(), 0); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("Timeline(unknown) error = %v, want ErrNotFound", err)
	}
}

// TestFrameChangedLines: a frame knows which lines the update that led to it touched.
func TestFrameChangedLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		changes string // applied to "a\nb\nc\nd" (7 units)
		want    [2]int
	}{
		{"insert in line 2", `[3,[0,"x"],4]`, [2]int{2, 2}},
		{"insert lines at the end", `[7,[0,"","e","f"]]`, [2]int{4, 6}},
		{"delete a line", `[2,[2],3]`, [2]int{2, 2}},
		{"delete everything", `[[7]]`, [2]int{1, 1}},
		{"two places", `[[1,"A"],5,[1,"D"]]`, [2]int{1, 4}},
		{"replace across lines", `[1,[3,"-"],3]`, [2]int{1, 1}},
		{"nothing", `[7]`, [2]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := store.NewMemory()
			rd := replay.New(st)
			info := newSession(t, st, "python")
			err := st.AppendUpdates(ctx, info.ID, 0, []store.Update{
				{ClientID: "c", UserID: "u", Changes: []byte(`[[0,"a","b","c","d"]]`), Time: info.CreatedAt},
				{ClientID: "c", UserID: "u", Changes: []byte(tt.changes), Time: info.CreatedAt},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, snapshot := range []bool{false, true} {
				if snapshot { // the frame then starts from a snapshot at its own version
					if err := st.SaveSnapshot(ctx, info.ID, store.Snapshot{Version: 2, Text: mustTextAt(t, st, info.ID, 2)}); err != nil {
						t.Fatal(err)
					}
				}
				f, err := rd.FrameAt(ctx, info.ID, 2)
				if err != nil || f.Changed != tt.want {
					t.Errorf("FrameAt(2) with snapshot %v: Changed = %v, %v; want %v", snapshot, f.Changed, err, tt.want)
				}
			}
		})
	}
}

func mustTextAt(t *testing.T, st store.Store, id string, v int) []byte {
	t.Helper()
	text, err := history.TextAt(t.Context(), st, id, v)
	if err != nil {
		t.Fatal(err)
	}
	return text.AppendJSON(nil)
}
