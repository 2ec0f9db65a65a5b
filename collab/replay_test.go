package collab_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/collab"
	"duet/collab/ot"
	"duet/store"
	"duet/store/sqlite"
)

// newReplayServer is newHubServer over any store.
func newReplayServer(t *testing.T, st store.Store, lim collab.Limits) *hubServer {
	t.Helper()
	hub := collab.NewHub(collab.HubConfig{Store: st, Limits: lim})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		q := r.URL.Query()
		hub.Serve(conn, strings.TrimPrefix(r.URL.Path, "/ws/"), collab.JoinParams{UserID: q.Get("userId"), UserName: q.Get("userName")})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return &hubServer{Server: srv, hub: hub, tokens: map[string]string{}}
}

// replayPieces are what generated edits insert: ASCII, emoji (a surrogate pair), CJK,
// line breaks, characters HTML and JSON escape, and lone surrogate halves, which a
// client may produce by cutting a pair.
var replayPieces = [][]uint16{
	{'a'}, {'b', 'c'}, {'\n'}, {0xd83d, 0xde00}, {0x4e2d, 0x6587}, {'<'}, {'&'}, {'"'}, {0xd83d}, {0xde00}, {'\t'},
}

// randomEdit returns the JSON of a random change set over a document of n units:
// an insertion, a deletion or a replacement anywhere, even inside a surrogate pair.
func randomEdit(rng *rand.Rand, n int) string {
	from := rng.IntN(n + 1)
	to := from
	if n > from && rng.IntN(3) == 0 {
		to = from + rng.IntN(min(n-from, 10)+1)
	}
	var ins []uint16
	if to == from || rng.IntN(2) == 0 {
		for range 1 + rng.IntN(4) {
			ins = append(ins, replayPieces[rng.IntN(len(replayPieces))]...)
		}
	}
	var parts []string
	if from > 0 {
		parts = append(parts, fmt.Sprint(from))
	}
	if len(ins) > 0 {
		var lines []string
		var b strings.Builder
		for _, u := range ins {
			switch {
			case u == '\n':
				lines = append(lines, `"`+b.String()+`"`)
				b.Reset()
			case u >= 0x20 && u < 0x7f && u != '"' && u != '\\':
				b.WriteByte(byte(u))
			default:
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		}
		lines = append(lines, `"`+b.String()+`"`)
		parts = append(parts, fmt.Sprintf("[%d,%s]", to-from, strings.Join(lines, ",")))
	} else if to > from {
		parts = append(parts, fmt.Sprintf("[%d]", to-from))
	}
	if n > to {
		parts = append(parts, fmt.Sprint(n-to))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// typeEdits connects as a participant and makes edits one at a time, each on the
// version the previous one reached, waiting for its confirmation. It returns the
// document's length and version at the end.
func typeEdits(t *testing.T, s *hubServer, id, userID, name string, edits int, rng *rand.Rand) {
	t.Helper()
	c := dial(t, s, id, url.Values{"userId": {userID}, "userName": {name}})
	defer c.conn.Close(websocket.StatusNormalClosure, "")
	sync := c.readType("sync")
	var text ot.Text
	if err := text.UnmarshalJSON(sync.Content); err != nil {
		t.Fatal(err)
	}
	version := sync.Version
	for range edits {
		changes := randomEdit(rng, text.Len())
		cs, err := ot.ParseChangeSet([]byte(changes))
		if err != nil {
			t.Fatalf("generated %s: %v", changes, err)
		}
		if text, err = cs.Apply(text); err != nil {
			t.Fatalf("generated %s: %v", changes, err)
		}
		c.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":%q,"changes":%s}]}`, version, name, changes))
		for {
			m := c.read()
			if m.Type == "error" {
				t.Fatalf("edit %s refused: %s %s", changes, m.Code, m.Message)
			}
			if m.Type == "update" && m.Version == version && len(m.Updates) == 1 {
				break
			}
		}
		version++
	}
}

// TestTextAtEveryVersion is issue 7's replay test at the service level: the text at
// version v is exactly what applying the first v updates of the log gives, for every
// v of a session made by two people typing emoji, CJK and lone surrogates, with
// snapshots every 7 updates, over both stores.
func TestTextAtEveryVersion(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"memory", func(*testing.T) store.Store { return store.NewMemory() }},
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "duet.db"), sqlite.Options{Sync: sqlite.SyncNormal})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
	for _, tt := range stores {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := tt.open(t)
			s := newReplayServer(t, st, collab.Limits{SnapshotEvery: 7})
			id := s.mustSession(t)
			ada, bob := uuid.NewString(), uuid.NewString()
			rng := rand.New(rand.NewPCG(7, 9))
			typeEdits(t, s, id, ada, "Ada", 90, rng)
			typeEdits(t, s, id, bob, "Bob", 60, rng)
			typeEdits(t, s, id, ada, "Ada", 30, rng)
			const total = 180

			ctx := t.Context()
			log, err := st.Updates(ctx, id, 0, total)
			if err != nil {
				t.Fatalf("Updates(0, %d) error = %v", total, err)
			}
			if snap, err := st.SnapshotAt(ctx, id, total); err != nil || snap.Version < total-7 {
				t.Fatalf("SnapshotAt(%d) = version %d, %v; want snapshots every 7 updates", total, snap.Version, err)
			}
			var want ot.Text
			lone := false
			for v := 0; v <= total; v++ {
				if v > 0 {
					cs, err := ot.ParseChangeSet(log[v-1].Changes)
					if err != nil {
						t.Fatal(err)
					}
					if want, err = cs.Apply(want); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.hub.TextAt(ctx, id, v)
				if err != nil {
					t.Fatalf("TextAt(v=%d) error = %v", v, err)
				}
				if !got.Equal(want) {
					t.Fatalf("TextAt(v=%d) = %q, want %q", v, got.AppendJSON(nil), want.AppendJSON(nil))
				}
				f, err := s.hub.FrameAt(ctx, id, v)
				if err != nil {
					t.Fatalf("FrameAt(v=%d) error = %v", v, err)
				}
				wantUser := ""
				if v > 0 {
					wantUser = log[v-1].UserID
				}
				if !f.Text.Equal(want) || f.Version != v || f.Latest != total || f.UserID != wantUser {
					t.Fatalf("FrameAt(v=%d) = version %d of %d by %q, want %d of %d by %q (text equal: %v)",
						v, f.Version, f.Latest, f.UserID, v, total, wantUser, f.Text.Equal(want))
				}
				lone = lone || strings.Contains(string(want.AppendJSON(nil)), `\ud`)
			}
			if !lone {
				t.Errorf("no version held a lone surrogate: the test does not test them")
			}
			for _, v := range []int{-1, total + 1} {
				if _, err := s.hub.TextAt(ctx, id, v); !errors.Is(err, ot.ErrInvalidVersion) && !errors.Is(err, ot.ErrVersionAhead) {
					t.Errorf("TextAt(v=%d) error = %v, want ErrInvalidVersion or ErrVersionAhead", v, err)
				}
			}
			for v, want := range map[int]int{-5: 0, total + 100: total} {
				if f, err := s.hub.FrameAt(ctx, id, v); err != nil || f.Version != want {
					t.Errorf("FrameAt(v=%d) = version %d, %v; want it clamped to %d", v, f.Version, err, want)
				}
			}
			if _, err := s.hub.TextAt(ctx, uuid.NewString(), 0); !errors.Is(err, collab.ErrNotFound) {
				t.Errorf("TextAt(unknown session) error = %v, want ErrNotFound", err)
			}

			// The timeline knows both people by the names they joined with (stored
			// apart from the join), each with a color of their own.
			deadline := time.Now().Add(10 * time.Second)
			for ps, _ := st.Participants(ctx, id); len(ps) < 2; ps, _ = st.Participants(ctx, id) {
				if time.Now().After(deadline) {
					t.Fatalf("Participants() = %v, want Ada and Bob", ps)
				}
				time.Sleep(10 * time.Millisecond)
			}
			tl, err := s.hub.Timeline(ctx, id, 0)
			if err != nil {
				t.Fatalf("Timeline() error = %v", err)
			}
			if tl.Version != total || len(tl.Buckets) != total {
				t.Errorf("Timeline() = version %d in %d buckets, want %d in %d", tl.Version, len(tl.Buckets), total, total)
			}
			var got []string
			for _, a := range tl.Authors {
				got = append(got, fmt.Sprintf("%s %s %d", a.UserID, a.Name, a.Updates))
			}
			if want := []string{ada + " Ada 120", bob + " Bob 60"}; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Timeline().Authors = %v, want %v", got, want)
			}
			if len(tl.Authors) == 2 && tl.Authors[0].Color == tl.Authors[1].Color {
				t.Errorf("Ada and Bob share the color %s", tl.Authors[0].Color)
			}
			if f, err := s.hub.FrameAt(ctx, id, 100); err != nil || f.Author.Name != "Bob" || f.Author.Color != tl.Authors[1].Color {
				t.Errorf("FrameAt(100).Author = %+v, %v; want Bob in %s", f.Author, err, tl.Authors[1].Color)
			}
		})
	}
}

// TestTimelineBuckets summarises a 10,000-update session with long pauses and runs:
// at most 300 buckets, together covering the log in order, with the playback clock
// compressing every pause to MaxReplayPause.
func TestTimelineBuckets(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := store.NewMemory()
	hub := collab.NewHub(collab.HubConfig{Store: st})
	info, _, err := hub.CreateSession(ctx, "python")
	if err != nil {
		t.Fatal(err)
	}
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
		wantClock += min(gap, collab.MaxReplayPause)
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

	tl, err := hub.Timeline(ctx, info.ID, 0)
	if err != nil {
		t.Fatalf("Timeline() error = %v", err)
	}
	if len(tl.Buckets) != collab.DefaultTimelineBuckets {
		t.Fatalf("Timeline() has %d buckets, want %d", len(tl.Buckets), collab.DefaultTimelineBuckets)
	}
	next := 0
	for i, b := range tl.Buckets {
		if b.From != next || b.To <= b.From || b.To-b.From > n/collab.DefaultTimelineBuckets+1 {
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
		t.Errorf("Duration = %v, want %v (pauses cut to %v)", tl.Duration, wantClock, collab.MaxReplayPause)
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
	again, err := hub.Timeline(ctx, info.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range again.Authors {
		if a.Color != tl.Authors[i].Color {
			t.Errorf("author %d: color %s, then %s: want the same every time", i, tl.Authors[i].Color, a.Color)
		}
	}

	// Fewer updates than buckets: one bucket per update.
	small, err := hub.Timeline(ctx, info.ID, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(small.Buckets) != n {
		t.Errorf("Timeline(max 20000) has %d buckets, want one per update (%d)", len(small.Buckets), n)
	}

	r, err := hub.Run(ctx, info.ID, "r2")
	if err != nil || r.ID != "r2" || r.Status != "error" {
		t.Errorf("Run(r2) = %+v, %v", r, err)
	}
	if _, err := hub.Run(ctx, info.ID, "nope"); !errors.Is(err, collab.ErrRunNotFound) {
		t.Errorf("Run(nope) error = %v, want ErrRunNotFound", err)
	}
}

// TestTimelineEmpty: a session nobody typed in has no buckets and no duration.
func TestTimelineEmpty(t *testing.T) {
	t.Parallel()
	hub := collab.NewHub(collab.HubConfig{Store: store.NewMemory()})
	info, _, err := hub.CreateSession(t.Context(), "javascript")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := hub.Timeline(t.Context(), info.ID, 0)
	if err != nil || tl.Version != 0 || len(tl.Buckets) != 0 || tl.Duration != 0 || tl.Language != "javascript" {
		t.Errorf("Timeline(empty) = %+v, %v", tl, err)
	}
	f, err := hub.FrameAt(t.Context(), info.ID, 3)
	if err != nil || f.Version != 0 || f.Text.Len() != 0 || f.UserID != "" {
		t.Errorf("FrameAt(empty, 3) = %+v, %v", f, err)
	}
	if _, err := hub.Timeline(t.Context(), uuid.NewString(), 0); !errors.Is(err, collab.ErrNotFound) {
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
			hub := collab.NewHub(collab.HubConfig{Store: st})
			info, _, err := hub.CreateSession(ctx, "python")
			if err != nil {
				t.Fatal(err)
			}
			err = st.AppendUpdates(ctx, info.ID, 0, []store.Update{
				{ClientID: "c", UserID: "u", Changes: []byte(`[[0,"a","b","c","d"]]`), Time: info.CreatedAt},
				{ClientID: "c", UserID: "u", Changes: []byte(tt.changes), Time: info.CreatedAt},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, snapshot := range []bool{false, true} {
				if snapshot { // the frame then starts from a snapshot at its own version
					if err := st.SaveSnapshot(ctx, info.ID, store.Snapshot{Version: 2, Text: mustTextAt(t, hub, info.ID, 2)}); err != nil {
						t.Fatal(err)
					}
				}
				f, err := hub.FrameAt(ctx, info.ID, 2)
				if err != nil || f.Changed != tt.want {
					t.Errorf("FrameAt(2) with snapshot %v: Changed = %v, %v; want %v", snapshot, f.Changed, err, tt.want)
				}
			}
		})
	}
}

func mustTextAt(t *testing.T, hub *collab.Hub, id string, v int) []byte {
	t.Helper()
	text, err := hub.TextAt(t.Context(), id, v)
	if err != nil {
		t.Fatal(err)
	}
	return text.AppendJSON(nil)
}
