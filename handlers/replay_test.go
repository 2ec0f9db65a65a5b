package handlers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"duet/collab"
	"duet/collab/ot"
	"duet/collab/ot/ottest"
	"duet/collab/replay"
	"duet/handlers"
	"duet/store"
	"duet/store/sqlite"
)

// hostileCode is document text that is also markup: it must show as text.
const hostileCode = `</code></pre><script>alert("x")</script><img src=x onerror=alert(1)> & "q" '`

// replayFixture is a session with a known log, stored directly (with a snapshot every
// five updates, as the hub would save them) and served by the real handler over a hub
// on the same store.
type replayFixture struct {
	srv   *testServer // nil until serve
	hub   *collab.Hub
	st    store.Store
	id    string
	token string    // the session's owner token: the replay is for interviewers
	texts []ot.Text // the document at every version: texts[v] applies the first v updates
	users []string
}

// newReplayFixture stores n random edits by two people (ASCII, emoji, CJK, lone
// surrogates, line breaks and hostileCode), a snapshot every snapEvery of them, and a
// run with hostile output.
func newReplayFixture(t testing.TB, st store.Store, n, snapEvery int) *replayFixture {
	t.Helper()
	return newFixtureOf(t, st, n, snapEvery, func(rng *rand.Rand, n int) string {
		return string(ottest.EditJSON(rng, n, hostileCode, "    "))
	})
}

// newFixtureOf stores n edits that edit makes (change sets over a document of n units).
func newFixtureOf(t testing.TB, st store.Store, n, snapEvery int, edit func(rng *rand.Rand, n int) string) *replayFixture {
	t.Helper()
	hub := collab.NewHub(collab.HubConfig{Store: st})
	ctx := context.Background()
	info, token, err := hub.CreateSession(ctx, "python")
	if err != nil {
		t.Fatal(err)
	}
	f := &replayFixture{hub: hub, st: st, id: info.ID, token: token, texts: []ot.Text{{}}, users: []string{uuid.NewString(), uuid.NewString()}}
	for i, name := range []string{"Ada", "Bob"} {
		if err := st.SaveParticipant(ctx, info.ID, store.Participant{UserID: f.users[i], Name: name, Joined: info.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	at := info.CreatedAt
	batch := make([]store.Update, 0, 500)
	flush := func() {
		if err := st.AppendUpdates(ctx, info.ID, len(f.texts)-1-len(batch), batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for v := 1; v <= n; v++ {
		text := f.texts[v-1]
		changes := edit(rng, text.Len())
		cs, err := ot.ParseChangeSet([]byte(changes))
		if err != nil {
			t.Fatalf("edit %s: %v", changes, err)
		}
		if text, err = cs.Apply(text); err != nil {
			t.Fatalf("edit %s: %v", changes, err)
		}
		f.texts = append(f.texts, text)
		at = at.Add(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		if v%97 == 0 {
			at = at.Add(5 * time.Minute)
		}
		batch = append(batch, store.Update{ClientID: "c", UserID: f.users[v/10%2], Changes: []byte(changes), Time: at})
		if v%snapEvery == 0 || len(batch) == cap(batch) || v == n {
			flush()
			if v%snapEvery == 0 {
				if err := st.SaveSnapshot(ctx, info.ID, store.Snapshot{Version: v, Text: text.AppendJSON(nil)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	run := store.Run{
		ID: "run-1", UserID: f.users[1], UserName: "Bob", Language: "python", Title: "main.py <b>", Version: n / 2,
		Started: info.CreatedAt.Add(time.Minute), Ended: info.CreatedAt.Add(time.Minute + 1200*time.Millisecond), Status: "error",
		Output: []store.RunOutput{{Stream: "stdout", Text: "hello " + hostileCode + "\n"}, {Stream: "stderr", Text: "Traceback…\n"}},
	}
	if err := st.AppendRun(ctx, info.ID, run); err != nil {
		t.Fatal(err)
	}
	return f
}

// newReplayServer is a fixture of n updates in memory, served.
func newReplayServer(t *testing.T, n int) *replayFixture {
	t.Helper()
	f := newReplayFixture(t, store.NewMemory(), n, 5)
	f.srv = newTestServer(t, func(c *handlers.Config) { c.Sessions, c.Sockets, c.Replays = f.hub, f.hub, replay.New(f.st) })
	return f
}

// shownText is the code a reader sees in a replay page or fragment: the text of the
// highlighted code without its line numbers.
func shownText(t testing.TB, doc *goquery.Document) string {
	t.Helper()
	code := doc.Find("#replay-frame pre.chroma > code")
	if code.Length() != 1 {
		t.Fatalf("no #replay-frame pre.chroma > code")
	}
	code = code.Clone()
	code.Find(".ln").Remove()
	return code.Text()
}

// displayed is what the page must show of a text: its UTF-8 form (a lone surrogate as
// U+FFFD), a carriage return as ␍.
func displayed(text ot.Text) string {
	return strings.ReplaceAll(text.String(), "\r", "\u240d")
}

// get asks for target as an interviewer of the fixture's session (its owner token).
func (f *replayFixture) get(t *testing.T, target string, hd http.Header) response {
	t.Helper()
	hd = hd.Clone()
	if hd == nil {
		hd = http.Header{}
	}
	hd.Set("Authorization", "Bearer "+f.token)
	return f.srv.do(t, "GET", target, hd, "")
}

// TestReplayShowsTheTextOfEveryVersion is the replay's exactness test through HTTP: the page
// at version v, and the frame htmx fetches for it, show exactly the text that applying
// the first v updates gives, for every v, with snapshots every five versions; hostile
// markup in the code stays text.
func TestReplayShowsTheTextOfEveryVersion(t *testing.T) {
	t.Parallel()
	f := newReplayServer(t, 60)
	hostile := false
	for v, want := range f.texts {
		target := "/s/" + f.id + "/replay?v=" + strconv.Itoa(v)
		for _, htmx := range []bool{false, true} {
			var hd http.Header
			if htmx {
				hd = http.Header{"Hx-Request": {"true"}}
			}
			res := f.get(t, target, hd)
			if res.status != http.StatusOK {
				t.Fatalf("GET %s (htmx %v) = %d", target, htmx, res.status)
			}
			doc := mustDoc(t, res.body)
			if got := shownText(t, doc); got != displayed(want) {
				t.Fatalf("GET %s (htmx %v) shows %q, want %q", target, htmx, got, displayed(want))
			}
			if got := doc.Find("#replay-frame").AttrOr("data-version", ""); got != strconv.Itoa(v) {
				t.Errorf("GET %s (htmx %v): data-version %q", target, htmx, got)
			}
			if n := doc.Find("#replay-frame script, #replay-frame img, #replay-frame [onerror]").Length(); n != 0 {
				t.Fatalf("GET %s (htmx %v): the code became %d elements", target, htmx, n)
			}
		}
		hostile = hostile || strings.Contains(want.String(), "<script>")
	}
	if !hostile {
		t.Errorf("no version held the hostile code: the test does not test escaping")
	}
}

// TestReplayPage checks the page's parts at one version.
func TestReplayPage(t *testing.T) {
	t.Parallel()
	f := newReplayServer(t, 40)
	res := f.get(t, "/s/"+f.id+"/replay?v=20", nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET replay = %d", res.status)
	}
	for k, want := range map[string]string{"Vary": "HX-Request", "Cache-Control": "no-store", "Content-Type": "text/html; charset=UTF-8"} {
		if got := res.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	doc := mustDoc(t, res.body)
	base := "/s/" + f.id + "/replay"
	checks := []struct {
		sel  string
		want int
	}{
		{`header a[href="/s/` + f.id + `"]`, 1}, // back to the pad
		{`form#replay-form[method="get"][action="` + base + `"][hx-get="` + base + `"]`, 1},
		{`#replay-form input#replay-slider[type="range"][name="v"][min="0"][max="40"][value="20"]`, 1},
		{`#replay-form noscript`, 1}, // the submit button without JavaScript
		{`label[for="replay-slider"]`, 1},
		{`#replay-steps a#replay-start[href="` + base + `?v=0"]`, 1},
		{`#replay-steps a#replay-prev[href="` + base + `?v=19"]`, 1},
		{`#replay-steps a#replay-next[href="` + base + `?v=21"]`, 1},
		{`#replay-steps a#replay-end[href="` + base + `?v=40"]`, 1},
		{`#replay-steps[hx-swap-oob]`, 0},
		{`.timeline-bars rect:not(.timeline-track)`, 40}, // one bucket per update below 300
		{`a.timeline-run[href="` + base + `?v=20&run=run-1"][data-status="error"]`, 1},
		{`.run-list a.run-link[href="` + base + `?v=20&run=run-1"]`, 1},
		{`#replay-run .panel-empty`, 1}, // no run picked
		{`[data-replay-playback][hidden] button.replay-speed`, 3},
		{`script[src*="/static/replay-"]`, 1},
		{`#replay-frame .frame-author time`, 1},
		{`#replay-frame .line.hl`, 1}, // the lines the last update touched
	}
	for _, c := range checks {
		if got := doc.Find(c.sel).Length(); got != c.want {
			t.Errorf("%s: found %d, want %d", c.sel, got, c.want)
		}
	}
	if src := doc.Find(`script[src*="/static/replay-"]`).AttrOr("src", ""); f.srv.do(t, "GET", src, nil, "").status != http.StatusOK {
		t.Errorf("the replay script %q does not load: were the assets built (make assets)?", src)
	}
	if got := doc.Find(".timeline-legend .legend-name").Map(func(_ int, s *goquery.Selection) string { return s.Text() }); strings.Join(got, ",") != "Ada,Bob" {
		t.Errorf("legend = %v, want Ada and Bob", got)
	}
	if got := doc.Find("#replay-frame .frame-version").Text(); !strings.Contains(got, "20") || !strings.Contains(got, "of 40") {
		t.Errorf("frame head = %q", got)
	}
	if got := doc.Find("head > title").Text(); got != "Replay · Interview "+f.id[:8]+" · duet" {
		t.Errorf("title = %q", got)
	}
	// The clock of the playback: one bound per bucket and the end, rising.
	form := doc.Find("#replay-form")
	versions := strings.Split(form.AttrOr("data-clock-versions", ""), ",")
	millis := strings.Split(form.AttrOr("data-clock-ms", ""), ",")
	if len(versions) != 41 || len(millis) != 41 || versions[40] != "40" {
		t.Fatalf("clock data: %d versions, %d times", len(versions), len(millis))
	}
	for i := 1; i < len(millis); i++ {
		a, _ := strconv.Atoi(millis[i-1])
		b, _ := strconv.Atoi(millis[i])
		if b < a || b-a > int(replay.MaxPause/time.Millisecond) {
			t.Errorf("clock goes from %d to %d ms between versions %s and %s", a, b, versions[i-1], versions[i])
		}
	}

	// Ends: no step past them.
	for _, tt := range []struct {
		v        string
		disabled []string
	}{
		{"0", []string{"replay-start", "replay-prev"}},
		{"40", []string{"replay-next", "replay-end"}},
	} {
		doc := mustDoc(t, f.get(t, base+"?v="+tt.v, nil).body)
		for _, id := range tt.disabled {
			if doc.Find(`span#`+id+`[aria-disabled="true"]`).Length() != 1 || doc.Find("a#"+id).Length() != 0 {
				t.Errorf("v=%s: %s is not disabled", tt.v, id)
			}
		}
	}
	if doc := mustDoc(t, f.get(t, base+"?v=0", nil).body); doc.Find("#replay-frame .frame-author time").Length() != 0 {
		t.Errorf("version 0 names an author")
	}
}

// TestReplayVersionParameter: a whole number is clamped into 0..version, so links stay
// valid; anything else is 400. An htmx request is told the canonical URL.
func TestReplayVersionParameter(t *testing.T) {
	t.Parallel()
	f := newReplayServer(t, 12)
	tests := []struct {
		v           string
		wantStatus  int
		wantVersion string // data-version and, for htmx, the v of HX-Replace-Url
	}{
		{"", 200, "12"},
		{"0", 200, "0"},
		{"5", 200, "5"},
		{"+5", 200, "5"},
		{"007", 200, "7"},
		{"-3", 200, "0"},
		{"13", 200, "12"},
		{"999999999", 200, "12"},
		{"99999999999999999999999999", 200, "12"},
		{"-99999999999999999999999999", 200, "0"},
		{"abc", 400, ""},
		{"1.5", 400, ""},
		{"0x10", 400, ""},
		{"--4", 400, ""},
		{"4 ", 400, ""},
		{"-", 400, ""},
	}
	for _, tt := range tests {
		for _, htmx := range []bool{false, true} {
			target := "/s/" + f.id + "/replay?v=" + url.QueryEscape(tt.v)
			var hd http.Header
			if htmx {
				hd = http.Header{"Hx-Request": {"true"}}
			}
			res := f.get(t, target, hd)
			if res.status != tt.wantStatus {
				t.Errorf("GET %s (htmx %v) = %d, want %d", target, htmx, res.status, tt.wantStatus)
				continue
			}
			if tt.wantStatus != 200 {
				if got := mustDoc(t, res.body).Find("main h1").Text(); got != "Bad Request" {
					t.Errorf("GET %s: error page heading %q", target, got)
				}
				continue
			}
			if got := mustDoc(t, res.body).Find("#replay-frame").AttrOr("data-version", ""); got != tt.wantVersion {
				t.Errorf("GET %s (htmx %v) shows version %q, want %s", target, htmx, got, tt.wantVersion)
			}
			wantURL := ""
			if htmx {
				wantURL = "/s/" + f.id + "/replay?v=" + tt.wantVersion
			}
			if got := res.header.Get("HX-Replace-Url"); got != wantURL {
				t.Errorf("GET %s (htmx %v): HX-Replace-Url = %q, want %q", target, htmx, got, wantURL)
			}
		}
	}
}

// TestReplayFragments: htmx gets the frame with the steps (and a picked run's output)
// out of band, not the page; a restore of history gets the page.
func TestReplayFragments(t *testing.T) {
	t.Parallel()
	f := newReplayServer(t, 30)
	base := "/s/" + f.id + "/replay"
	tests := []struct {
		name       string
		target     string
		header     http.Header
		wantStatus int
		wantURL    string
		want       map[string]int // selector → count
	}{
		{
			name: "a version", target: base + "?v=3", header: http.Header{"Hx-Request": {"true"}},
			wantStatus: 200, wantURL: base + "?v=3",
			want: map[string]int{"html": 0, "#replay-frame": 1, `nav#replay-steps[hx-swap-oob="true"]`: 1, "#replay-run": 0, "#replay-form": 0},
		},
		{
			name: "a run", target: base + "?v=15&run=run-1", header: http.Header{"Hx-Request": {"true"}},
			wantStatus: 200, wantURL: base + "?v=15&run=run-1",
			want: map[string]int{"#replay-frame": 1, `#replay-run[hx-swap-oob="true"] .run-out .out-stderr`: 1, "#replay-run script": 0, "#replay-run img": 0},
		},
		{
			name: "a run, without htmx", target: base + "?v=15&run=run-1",
			wantStatus: 200,
			want:       map[string]int{"html": 1, "#replay-form": 1, `#replay-run .run-out .out-stdout`: 1, "#replay-run[hx-swap-oob]": 0, "#replay-run script": 0},
		},
		{
			name: "an unknown run", target: base + "?v=15&run=nope", header: http.Header{"Hx-Request": {"true"}},
			wantStatus: 404,
		},
		{
			name: "history restore", target: base + "?v=3", header: http.Header{"Hx-Request": {"true"}, "Hx-History-Restore-Request": {"true"}},
			wantStatus: 200,
			want:       map[string]int{"html": 1, "#replay-form": 1, "#replay-steps[hx-swap-oob]": 0},
		},
		{
			name: "boosted", target: base + "?v=3", header: http.Header{"Hx-Request": {"true"}, "Hx-Boosted": {"true"}},
			wantStatus: 200,
			want:       map[string]int{"#replay-form": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := f.get(t, tt.target, tt.header)
			if res.status != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d", tt.target, res.status, tt.wantStatus)
			}
			if got := res.header.Get("HX-Replace-Url"); got != tt.wantURL {
				t.Errorf("HX-Replace-Url = %q, want %q", got, tt.wantURL)
			}
			body := string(res.body)
			if want, ok := tt.want["html"]; ok && want == 0 && strings.Contains(body, "<html") {
				t.Errorf("fragment holds a whole page")
			}
			doc := mustDoc(t, res.body)
			for sel, want := range tt.want {
				if sel == "html" {
					continue
				}
				if got := doc.Find(sel).Length(); got != want {
					t.Errorf("%s: found %d, want %d", sel, got, want)
				}
			}
			if out := doc.Find("#replay-run .run-out"); out.Length() == 1 && !strings.Contains(out.Text(), hostileCode) {
				t.Errorf("run output = %q, want the hostile text as text", out.Text())
			}
		})
	}
}

// TestReplayNotFound: unknown sessions are 404 pages.
func TestReplayNotFound(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	for _, target := range []string{"/s/" + uuid.NewString() + "/replay", "/s/nope/replay", "/s/" + uuid.NewString() + "/replay?v=3"} {
		for _, hd := range []http.Header{nil, {"Hx-Request": {"true"}}} {
			res := srv.do(t, "GET", target, hd, "")
			if res.status != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", target, res.status)
				continue
			}
			if got := mustDoc(t, res.body).Find("main h1").Text(); got != "Session not found" {
				t.Errorf("GET %s heading = %q", target, got)
			}
		}
	}
}

// TestReplayEmptySession: nothing typed yet is a friendly page with the way back.
func TestReplayEmptySession(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "javascript")
	res := srv.do(t, "GET", "/s/"+id+"/replay", bearer(token), "")
	if res.status != http.StatusOK {
		t.Fatalf("GET replay of an empty session = %d", res.status)
	}
	doc := mustDoc(t, res.body)
	if got := doc.Find("main h2").Text(); got != "Nothing to replay yet" {
		t.Errorf("heading = %q, want Nothing to replay yet", got)
	}
	if doc.Find(`main a[href="/s/`+id+`"]`).Length() != 1 || doc.Find("#replay-form, #replay-frame").Length() != 0 {
		t.Errorf("empty replay: want a link back to the pad and no player")
	}
	if got := doc.Find(".badge").Text(); got != "JavaScript" {
		t.Errorf("language badge = %q", got)
	}
}

// TestReplayNamesTheUnrecordedGuest: someone whose name the session did not record
// (past its bound of recorded people) is "Guest" in the replay.
func TestReplayNamesTheUnrecordedGuest(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	at := time.Now().UTC()
	if err := srv.store.AppendUpdates(t.Context(), id, 0, []store.Update{{ClientID: "c", UserID: "Kj8xWq3nR5tY7uI9oP1aSd", Changes: []byte(`[[0,"x"]]`), Time: at}}); err != nil {
		t.Fatal(err)
	}
	doc := mustDoc(t, srv.do(t, "GET", "/s/"+id+"/replay", bearer(token), "").body)
	if got := doc.Find(".timeline-legend .legend-name").Text(); got != "Guest" {
		t.Errorf("the unrecorded author is named %q, want Guest", got)
	}
	if got := doc.Find(".frame-author").Text(); !strings.Contains(got, "Guest") {
		t.Errorf("frame author = %q, want Guest", got)
	}
}

// TestPadLinksToReplay: the pad's header leads its interviewers to the replay.
func TestPadLinksToReplay(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	hd := bearer(token)
	hd.Set("Cookie", "duet_name=Ada")
	doc := mustDoc(t, srv.do(t, "GET", "/s/"+id, hd, "").body)
	if doc.Find(`header a[href="/s/`+id+`/replay"]`).Length() != 1 {
		t.Errorf("the pad has no link to its replay")
	}
}

// TestReplayWithoutReplays: without a replay service there is no replay route.
func TestReplayWithoutReplays(t *testing.T) {
	t.Parallel()
	id := uuid.NewString()
	srv := newTestServer(t, func(c *handlers.Config) {
		c.Sessions = fakeSessions{info: collab.SessionInfo{ID: id, Language: "python"}}
		c.Replays = nil
	})
	if res := srv.do(t, "GET", "/s/"+id+"/replay", nil, ""); res.status != http.StatusNotFound {
		t.Errorf("GET replay = %d, want 404", res.status)
	}
}

// TestReplayTimelineIsBounded: a long session draws at most 300 bars, with its run.
func TestReplayTimelineIsBounded(t *testing.T) {
	t.Parallel()
	f := newReplayServer(t, 1200)
	doc := mustDoc(t, f.get(t, "/s/"+f.id+"/replay", nil).body)
	if got := doc.Find(".timeline-bars rect:not(.timeline-track)").Length(); got != 300 {
		t.Errorf("bars = %d, want 300", got)
	}
	if got := doc.Find("a.timeline-run").Length(); got != 1 {
		t.Errorf("run marks = %d, want 1", got)
	}
	if got := doc.Find(".timeline-pause").Length(); got == 0 || got > 300 {
		t.Errorf("pause marks = %d, want some (one every 97 updates), at most one per bar", got)
	}
	if got := shownText(t, doc); got != displayed(f.texts[1200]) {
		t.Errorf("the page without ?v shows %q, want the last version", got)
	}
}

// typingProgram is what the benchmark's session types, one character per update.
const typingProgram = `def fizzbuzz(n: int) -> list[str]:
    """Return the FizzBuzz sequence up to n."""
    out = []
    for i in range(1, n + 1):
        if i % 15 == 0:
            out.append("FizzBuzz")
        elif i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        else:
            out.append(str(i))
    return out


print(fizzbuzz(20))
`

// BenchmarkReplay measures the replay of a 10,000-update session in the SQLite store,
// typed one character per update, through HTTP: the whole page (the timeline reads the
// whole log) and frames (a snapshot, then 0 to 499 updates, as with the hub's
// snapshots every 500).
func BenchmarkReplay(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "duet.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	typed := 0                                                                 // bytes of typingProgram typed so far (ASCII: as many units)
	f := newFixtureOf(b, st, 10_000, 500, func(rng *rand.Rand, n int) string { // snapshots as often as the hub saves them
		if n > 1 && rng.IntN(10) == 0 { // a typo, undone
			typed--
			return fmt.Sprintf("[%d,[1]]", n-1)
		}
		c := typingProgram[typed%len(typingProgram)]
		typed++
		ins := strconv.Quote(string(c)) // ASCII: also its JSON
		if c == '\n' {
			ins = `"",""`
		}
		if n == 0 {
			return "[[0," + ins + "]]"
		}
		return fmt.Sprintf("[%d,[0,%s]]", n, ins)
	})
	b.Logf("document: %d bytes at version 5000, %d at 10000", len(f.texts[5000].String()), len(f.texts[10000].String()))
	h, err := handlers.New(handlers.Config{Sessions: f.hub, Sockets: f.hub, Replays: replay.New(f.st), Static: embeddedAssets(b)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := &http.Client{}
	get := func(b *testing.B, target string, hd http.Header) int {
		req, _ := http.NewRequest("GET", srv.URL+target, nil)
		req.Header = hd.Clone()
		req.Header.Set("Authorization", "Bearer "+f.token)
		if req.Header.Get("Accept-Encoding") == "" {
			req.Header.Set("Accept-Encoding", "identity")
		}
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		n := 0
		buf := make([]byte, 32<<10)
		for {
			k, err := res.Body.Read(buf)
			n += k
			if err != nil {
				break
			}
		}
		if res.StatusCode != 200 {
			b.Fatalf("GET %s = %d", target, res.StatusCode)
		}
		return n
	}
	base := "/s/" + f.id + "/replay"
	b.Run("page", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = get(b, base+"?v=5003", http.Header{})
		}
		b.ReportMetric(float64(n), "bytes")
		b.ReportMetric(float64(get(b, base+"?v=5003", http.Header{"Accept-Encoding": {"gzip"}})), "gzip-bytes")
	})
	b.Run("frame", func(b *testing.B) {
		n := 0
		i := 0
		for b.Loop() {
			i++
			n = get(b, base+"?v="+strconv.Itoa(5000+i%500), http.Header{"Hx-Request": {"true"}})
		}
		b.ReportMetric(float64(n), "bytes")
		b.ReportMetric(float64(get(b, base+"?v=5499", http.Header{"Hx-Request": {"true"}, "Accept-Encoding": {"gzip"}})), "gzip-bytes")
	})
}
