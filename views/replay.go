package views

import (
	"net/url"
	"strconv"
)

// ReplayPage is the replay of a session: its timeline, the document at one version
// with controls to move through the versions, and its runs. Version 0 shows only
// "Nothing to replay yet".
type ReplayPage struct {
	ID       string // session id
	Title    string // "Interview 3f2a1b9c"
	PadURL   string // "/s/{id}"
	Language string // "Python"
	Started  string // when the session was created, "26 Nov 2026, 09:30 UTC"
	Length   string // from creation to the last update, "1:02:33"
	Frame    ReplayFrame
	Timeline ReplayTimeline
	Authors  []ReplayAuthor
	Runs     []ReplayRun
	Run      *ReplayRunOutput // the run whose output is shown; nil for none
}

// Empty reports whether there is nothing to replay.
func (m ReplayPage) Empty() bool { return m.Frame.Latest == 0 }

// ReplayFrame is the document at one version: the fragment htmx swaps as the version
// changes, with the step links that depend on it.
type ReplayFrame struct {
	SessionID string
	Version   int    // shown
	Latest    int    // the session's version: the last one
	Code      string // the document at Version, for display (lone surrogates shown as U+FFFD)
	Language  string // "python", "javascript", "typescript" or "sql": picks the highlighter
	Author    string // who made the update that led to Version; "" at version 0
	Color     string // their color
	At        string // when, since the session started: "+12:04"; "" at version 0
	Time      string // when, RFC 3339, for <time datetime>
	Changed   [2]int // first and last lines (from 1) the last update touched, marked; zero for none
}

// URL is the address of version v of the replay, which renders that version directly.
func (f ReplayFrame) URL(v int) string {
	return ReplayURL(f.SessionID, v, "")
}

// ReplayURL is the address of the replay of a session at version v, showing a run's
// output when runID is not "".
func ReplayURL(sessionID string, v int, runID string) string {
	u := "/s/" + sessionID + "/replay?v=" + strconv.Itoa(v)
	if runID != "" {
		u += "&run=" + url.QueryEscape(runID)
	}
	return u
}

// ReplayTimeline is the timeline drawn above the slider: bars of buckets of versions
// (each as wide as the versions it holds, as tall as the document is long at its
// end, in the color of its main author), pauses, runs and time ticks. Positions are
// percentages of the width, as SVG attributes (the Content Security Policy allows no
// style attribute), so that version v lines up with the slider at v.
type ReplayTimeline struct {
	Bars      []ReplayBar
	Pauses    []ReplayMark
	Runs      []ReplayRunMark
	Questions []ReplayQuestionMark // the questions the session was given, in order
	Ticks     []ReplayTick
	// The playback clock at the buckets' boundaries, for the replay script: version
	// ClockVersions[i] is reached ClockMillis[i] ms into playback at 1x. Comma-separated.
	ClockVersions string
	ClockMillis   string
}

// ReplayBar is one bucket of versions.
type ReplayBar struct {
	X, Width  string // "12.5%"
	Y, Height string // "40%": the document's length at the bucket's end, relative to the longest
	Color     string // of the bucket's main author
	Title     string // "Versions 101–134 · Ada · +3:02"
}

// ReplayMark is a labelled position on the timeline.
type ReplayMark struct {
	X     string
	Title string
}

// ReplayRunMark is a run on the timeline: a link to the version it ran at, with its output.
type ReplayRunMark struct {
	X      string
	Color  string // of who ran it
	Status string // "ok", "error", … or "" when unknown
	URL    string
	Title  string // "Ada ran main.py at +12:04: ok"
}

// ReplayQuestionMark is a question given to the session: a link to the version it
// was given at.
type ReplayQuestionMark struct {
	X      string
	Number string // "1", "2": which question of the interview
	URL    string
	Title  string // "Question 2 given: LRU cache, on version 412, +31:02"
}

// ReplayTick is a time label under the timeline.
type ReplayTick struct {
	X      string
	Anchor string // SVG text-anchor: start, middle or end
	Label  string // "+12:04"
}

// ReplayAuthor is one entry of the timeline's legend.
type ReplayAuthor struct {
	Name    string
	Color   string
	Updates int // edits made
	Runs    int
}

// counts says what an author did: "6,210 edits · 2 runs".
func (a ReplayAuthor) counts() string {
	s := count(a.Updates, "edit")
	if a.Runs > 0 {
		s += " · " + count(a.Runs, "run")
	}
	return s
}

// count writes n things: "1 edit", "10,000 edits".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return thousands(n) + " " + thing + "s"
}

// ReplayRun is one run in the list beside the code.
type ReplayRun struct {
	ID      string
	URL     string // the replay at the run's version, with its output
	Who     string
	Color   string
	Title   string // what was run
	Status  string // "ok", "error", … or "" when unknown
	Label   string // "ok", "error", "no end recorded"
	At      string // "+12:04"
	Version int    // the document version it ran
}

// ReplayRunOutput is the output of the run shown, as it was shared with everyone.
type ReplayRunOutput struct {
	ReplayRun
	Took      string // "1.2 s"; "" when the run never ended
	Truncated bool   // output over the cap was dropped
	Chunks    []ReplayChunk
}

// ReplayChunk is a piece of output of one stream.
type ReplayChunk struct {
	Stream string // stdout, stderr, stdin, system, table (a result table as JSON, see runtable.go) or tests
	Text   string
}

// thousands writes n with commas between groups of three digits: 10000 → "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
