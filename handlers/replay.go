package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"duet/collab"
	"duet/collab/replay"
	"duet/questions"
	"duet/views"
)

// Replays is what the replay page needs of the history of sessions (replay.Reader).
type Replays interface {
	Timeline(ctx context.Context, id string, maxBuckets int) (replay.Timeline, error)
	FrameAt(ctx context.Context, id string, version int) (replay.Frame, error)
	Run(ctx context.Context, id, runID string) (replay.RunMark, error)
}

var _ Replays = (*replay.Reader)(nil)

// replayBuckets bounds the marks of the timeline, whatever the length of the log.
const replayBuckets = replay.DefaultTimelineBuckets

// replayPauseMark is the shortest pause the timeline marks.
const replayPauseMark = time.Minute

// replay shows a session's history, to its interviewers only, at one version (?v=N; the last one without it),
// with a run's output when ?run=ID names one. An htmx request gets only the frame (and
// the steps and run output, out of band), and its URL bar is set to the canonical
// address of what it shows.
//
// Versions: a whole number outside 0..the session's version is clamped to the nearest
// end, so links stay valid; anything else is 400. An unknown session or run is 404.
func (h *Handler) replay(c echo.Context) error {
	rp := h.replays
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	if err := h.requireInterviewer(c, id); err != nil {
		return err
	}
	v, err := parseVersion(c.QueryParam("v"))
	if err != nil {
		return err
	}
	runID := c.QueryParam("run")
	ctx := c.Request().Context()
	hd := c.Response().Header()
	hd.Set("Vary", "HX-Request")
	hd.Set("Cache-Control", "no-store") // the session may go on, or be deleted

	if partial(c) {
		f, err := rp.FrameAt(ctx, id, v)
		if err != nil {
			return err
		}
		run, err := replayRun(ctx, rp, id, runID, f.Created)
		if err != nil {
			return err
		}
		hd.Set("HX-Replace-Url", views.ReplayURL(id, f.Version, runID))
		return h.render(c, http.StatusOK, views.ReplayUpdate(frameView(f, f.Latest), run))
	}

	tl, err := rp.Timeline(ctx, id, replayBuckets)
	if err != nil {
		return err
	}
	f, err := rp.FrameAt(ctx, id, min(v, tl.Version)) // the log may have grown since
	if err != nil {
		return err
	}
	run, err := replayRun(ctx, rp, id, runID, tl.Created)
	if err != nil {
		return err
	}
	m := replayPage(tl, f, run)
	if h.questions != nil {
		given, err := h.questions.SessionQuestions(ctx, id)
		if err != nil {
			return err
		}
		m.Timeline.Questions = questionMarks(tl, given)
	}
	return h.render(c, http.StatusOK, views.Replay(m))
}

// partial reports whether to answer with the frame only: an htmx request that is
// neither boosted nor restoring history (those want the whole page).
func partial(c echo.Context) bool {
	hd := c.Request().Header
	return isHTMX(c) && hd.Get("HX-Boosted") != "true" && hd.Get("HX-History-Restore-Request") != "true"
}

// parseVersion reads ?v: "" is the last version (math.MaxInt, clamped later), a
// whole number is taken as it is, even out of range; anything else is refused.
func parseVersion(s string) (int, error) {
	if s == "" {
		return math.MaxInt, nil
	}
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, badRequest("invalid_version", "The version must be a whole number, such as ?v=120.")
	}
	v, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) { // beyond any log: the nearest end
		if s[0] == '-' {
			return 0, nil
		}
		return math.MaxInt, nil
	}
	return v, err
}

// replayRun reads the run to show, or nil for none.
func replayRun(ctx context.Context, rp Replays, id, runID string, created time.Time) (*views.ReplayRunOutput, error) {
	if runID == "" {
		return nil, nil
	}
	r, err := rp.Run(ctx, id, runID)
	if errors.Is(err, replay.ErrRunNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	out := &views.ReplayRunOutput{ReplayRun: runView(id, r, created), Truncated: r.Truncated}
	if !r.Ended.IsZero() {
		out.Took = took(r.Ended.Sub(r.Started))
	}
	for _, o := range r.Output {
		if o.Stream != "tests" { // shown once, read, below
			out.Chunks = append(out.Chunks, views.ReplayChunk(o))
		}
	}
	if planned, results := replay.ReadTests(r.Output); results != nil {
		out.Chunks = append(out.Chunks, views.ReplayChunk{Stream: "tests", Text: testsText(planned, results)})
	}
	return out, nil
}

// testsText is a test run's results as lines to read: one per test, with what failed.
func testsText(planned int, results []replay.TestResult) string {
	var b strings.Builder
	hidden := 0
	for _, r := range results {
		mark := "✓"
		if !r.Passed {
			mark = "✗"
		}
		name := r.Name
		if r.Hidden && name == "" {
			hidden++
			name = fmt.Sprintf("hidden test %d", hidden)
		}
		fmt.Fprintf(&b, "%s %s (%s ms)\n", mark, name, strconv.FormatFloat(r.Ms, 'f', -1, 64))
		if !r.Passed && r.Expected != nil && r.Got != nil {
			fmt.Fprintf(&b, "    expected %s, got %s\n", *r.Expected, *r.Got)
		} else if !r.Passed && r.Error != "" {
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(r.Error, "\n", "\n    "))
		}
	}
	if n := planned - len(results); n > 0 {
		fmt.Fprintf(&b, "%d more did not run\n", n)
	}
	return b.String()
}

// replayPage is the view of a whole replay page.
func replayPage(tl replay.Timeline, f replay.Frame, run *views.ReplayRunOutput) views.ReplayPage {
	m := views.ReplayPage{
		ID:       tl.ID,
		Title:    "Interview " + tl.ID[:8],
		PadURL:   "/s/" + tl.ID,
		Language: collab.LanguageLabel(tl.Language),
		Started:  tl.Created.UTC().Format("2 Jan 2006, 15:04 UTC"),
		Length:   clockText(tl.End.Sub(tl.Created)),
		Frame:    frameView(f, tl.Version),
		Timeline: timelineView(tl),
		Run:      run,
	}
	for _, a := range tl.Authors {
		m.Authors = append(m.Authors, views.ReplayAuthor{
			Name: personName(a.Name), Color: a.Color, Updates: a.Updates, Runs: a.Runs,
		})
	}
	for _, r := range tl.Runs {
		m.Runs = append(m.Runs, runView(tl.ID, r, tl.Created))
	}
	return m
}

// frameView is the view of the document at a version, out of latest.
func frameView(f replay.Frame, latest int) views.ReplayFrame {
	m := views.ReplayFrame{
		SessionID: f.ID, Version: f.Version, Latest: latest, Code: f.Text.String(), Language: f.Language, Changed: f.Changed,
	}
	if f.Version > 0 {
		m.Author, m.Color = personName(f.Author.Name), f.Author.Color
		m.At, m.Time = "+"+clockText(f.Time.Sub(f.Created)), f.Time.UTC().Format(time.RFC3339)
	}
	return m
}

// timelineView places the timeline's buckets, pauses and runs along the versions.
func timelineView(tl replay.Timeline) views.ReplayTimeline {
	var m views.ReplayTimeline
	n := len(tl.Buckets)
	if n == 0 {
		return m
	}
	pct := func(v int) string { return strconv.FormatFloat(float64(v)*100/float64(tl.Version), 'f', 3, 64) + "%" }
	longest := 1
	for _, b := range tl.Buckets {
		longest = max(longest, b.Length)
	}
	names, colors := map[string]string{}, map[string]string{}
	for _, a := range tl.Authors {
		names[a.UserID], colors[a.UserID] = personName(a.Name), a.Color
	}
	versions := make([]string, 0, n+1)
	millis := make([]string, 0, n+1)
	for _, b := range tl.Buckets {
		h := max(float64(b.Length)/float64(longest), 0.04) * 100
		who := names[b.Author]
		if b.Authors > 1 {
			who += fmt.Sprintf(" and %d other", b.Authors-1)
			if b.Authors > 2 {
				who += "s"
			}
		}
		span := "Version " + strconv.Itoa(b.To)
		if b.To-b.From > 1 {
			span = fmt.Sprintf("Versions %d–%d", b.From+1, b.To)
		}
		m.Bars = append(m.Bars, views.ReplayBar{
			X: pct(b.From), Width: pct(b.To - b.From),
			Y: strconv.FormatFloat(100-h, 'f', 2, 64) + "%", Height: strconv.FormatFloat(h, 'f', 2, 64) + "%",
			Color: colors[b.Author],
			Title: fmt.Sprintf("%s · %s · +%s", span, who, clockText(b.End.Sub(tl.Created))),
		})
		if b.Pause >= replayPauseMark {
			m.Pauses = append(m.Pauses, views.ReplayMark{X: pct(b.From), Title: "A pause of " + pauseText(b.Pause)})
		}
		versions = append(versions, strconv.Itoa(b.From))
		millis = append(millis, strconv.FormatInt(b.Clock.Milliseconds(), 10))
	}
	versions = append(versions, strconv.Itoa(tl.Version))
	millis = append(millis, strconv.FormatInt(tl.Duration.Milliseconds(), 10))
	m.ClockVersions, m.ClockMillis = strings.Join(versions, ","), strings.Join(millis, ",")

	for _, r := range tl.Runs {
		who := personName(r.Author.Name)
		m.Runs = append(m.Runs, views.ReplayRunMark{
			X: pct(min(r.Version, tl.Version)), Color: r.Author.Color, Status: r.Status,
			URL: views.ReplayURL(tl.ID, r.Version, r.ID),
			Title: fmt.Sprintf("%s ran %s on version %d, +%s: %s",
				who, runTitle(r.Title), r.Version, clockText(r.Started.Sub(tl.Created)), statusLabel(r)),
		})
	}

	// Time ticks at five bucket boundaries (two for a short log), as elapsed time.
	marks := []int{0, n}
	if n >= 8 {
		marks = []int{0, n / 4, n / 2, 3 * n / 4, n}
	}
	for i, j := range marks {
		v, at := tl.Version, tl.End
		if j < n {
			v, at = tl.Buckets[j].From, tl.Buckets[j].Start
			if j > 0 {
				at = tl.Buckets[j-1].End
			}
		}
		anchor := "middle"
		switch i {
		case 0:
			anchor, at = "start", tl.Created
		case len(marks) - 1:
			anchor = "end"
		}
		label := "+" + clockText(at.Sub(tl.Created))
		if k := len(m.Ticks); k > 0 && m.Ticks[k-1].Label == label { // a short session: one label per time
			if i == len(marks)-1 {
				m.Ticks[k-1] = views.ReplayTick{X: pct(v), Anchor: anchor, Label: label}
			}
			continue
		}
		m.Ticks = append(m.Ticks, views.ReplayTick{X: pct(v), Anchor: anchor, Label: label})
	}
	return m
}

// questionMarks places on the timeline the questions the session was given, at the
// version each was given at, each a link to that version.
func questionMarks(tl replay.Timeline, given []questions.SessionQuestion) []views.ReplayQuestionMark {
	var out []views.ReplayQuestionMark
	for i, q := range given {
		v := min(max(q.Version, 0), tl.Version)
		x := "0%"
		if tl.Version > 0 {
			x = strconv.FormatFloat(float64(v)*100/float64(tl.Version), 'f', 3, 64) + "%"
		}
		what := "Started from the question"
		if i > 0 || q.Version > 0 {
			what = fmt.Sprintf("Question %d given", i+1)
		}
		out = append(out, views.ReplayQuestionMark{
			X: x, URL: views.ReplayURL(tl.ID, v, ""), Number: strconv.Itoa(i + 1),
			Title: fmt.Sprintf("%s: %s, on version %d, +%s", what, q.Title, v, clockText(q.Added.Sub(tl.Created))),
		})
	}
	return out
}

// runView is one run in the list.
func runView(sessionID string, r replay.RunMark, created time.Time) views.ReplayRun {
	return views.ReplayRun{
		ID: r.ID, URL: views.ReplayURL(sessionID, r.Version, r.ID), Who: personName(r.Author.Name), Color: r.Author.Color,
		Title: runTitle(r.Title), Status: r.Status, Label: statusLabel(r),
		At: "+" + clockText(r.Started.Sub(created)), Version: r.Version,
	}
}

func runTitle(t string) string {
	if t == "" {
		return "the code"
	}
	return t
}

// statusLabel says how a run ended; a test run says how many of its tests passed.
func statusLabel(r replay.RunMark) string {
	if t := r.Tests; t != nil {
		label := fmt.Sprintf("%d of %d tests passed", t.Passed, t.Total)
		if r.Status != "" && r.Status != "ok" && r.Status != "failed" {
			label += " (" + r.Status + ")"
		}
		return label
	}
	switch {
	case r.Status != "":
		return r.Status
	case r.Ended.IsZero():
		return "no end recorded"
	}
	return "ended"
}

// personName is a name to show: the one recorded, or "Guest" for someone whose name
// was not (a session records a few hundred people at most; see docs/protocol.md).
func personName(name string) string {
	if name != "" {
		return name
	}
	return "Guest"
}

// clockText writes a duration as m:ss, or h:mm:ss from an hour on.
func clockText(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// pauseText writes a long pause: "3 min", "1 h 20 min".
func pauseText(d time.Duration) string {
	m := int64(d / time.Minute)
	if m >= 60 {
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d min", m)
}

// took writes how long a run took: "0.4 s", "12 s", "2 min 5 s".
func took(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s"
	}
	return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
}
