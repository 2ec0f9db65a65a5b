package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"duet/collab/replay"
	"duet/views"
)

// replaySignalsListed bounds the signals listed beside the code (the newest), and
// replaySignalMarks the marks on the timeline: signals closer than one mark's width
// share a mark, whatever their number.
const (
	replaySignalsListed = 100
	replaySignalMarks   = 200
)

// parseLine reads ?line, the line of a note to highlight: "" is none.
func parseLine(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strings.Trim(s, "0123456789") != "" {
		return 0, badRequest("invalid_line", "The line must be a whole number from 1, such as ?line=12.")
	}
	return n, nil
}

// noteURL is the replay at a note's moment, its line highlighted.
func noteURL(id string, version, line int) string {
	return views.ReplayURL(id, version, "") + "&line=" + strconv.Itoa(line)
}

// replayNotesView is what the replay shows its interviewers of notes and signals.
func replayNotesView(tl replay.Timeline, a replay.Annotations) *views.ReplayNotes {
	m := &views.ReplayNotes{}
	pct := func(v int) string {
		if tl.Version == 0 {
			return "0%"
		}
		return strconv.FormatFloat(float64(min(v, tl.Version))*100/float64(tl.Version), 'f', 3, 64) + "%"
	}
	since := func(t time.Time) string { return "+" + clockText(t.Sub(tl.Created)) }
	flags := map[int]int{} // version → its flag in m.NoteMarks
	for _, n := range a.Notes {
		who := personName(n.Author.Name)
		m.Notes = append(m.Notes, views.NoteView{
			ID: n.ID, Author: who, Text: n.Text, Line: n.Line, WrittenLine: n.Line, Version: n.Version,
			At: since(n.Created), Time: n.Created.UTC().Format(time.RFC3339), URL: noteURL(tl.ID, n.Version, n.Line),
		})
		title := fmt.Sprintf("%s's note on line %d, %s: %s", who, n.Line, since(n.Created), excerpt(n.Text, 80))
		if k, ok := flags[n.Version]; ok {
			m.NoteMarks[k].Title += "\n" + title // notes at one version share a flag
			continue
		}
		flags[n.Version] = len(m.NoteMarks)
		m.NoteMarks = append(m.NoteMarks, views.ReplayNoteMark{
			X: pct(n.Version), URL: noteURL(tl.ID, n.Version, n.Line), Color: n.Author.Color, Title: title,
		})
	}

	pastes, pasted, away := 0, 0, 0
	for i, s := range a.Signals {
		switch s.Kind {
		case "paste":
			pastes++
			pasted += s.Size
		case "hidden":
			away++
		}
		if i < len(a.Signals)-replaySignalsListed {
			continue
		}
		m.Signals = append(m.Signals, views.ReplaySignal{
			Who: personName(s.Author.Name), Color: s.Author.Color, Kind: s.Kind, Text: signalText(s),
			At: since(s.Time), URL: views.ReplayURL(tl.ID, s.Version, ""),
		})
	}
	m.SignalsMore = max(len(a.Signals)-replaySignalsListed, 0)
	for i, j := 0, len(m.Signals)-1; i < j; i, j = i+1, j-1 { // newest first
		m.Signals[i], m.Signals[j] = m.Signals[j], m.Signals[i]
	}
	m.SignalTotals = "no pastes"
	if pastes > 0 {
		m.SignalTotals = fmt.Sprintf("%s (%s)", plural(pastes, "paste"), plural(pasted, "character"))
	}
	m.SignalTotals += " · " + leftTheTab(away)

	// One mark per slot of the timeline's width that has signals.
	type slot struct {
		version, n int
		kinds      map[string]bool
		title      []string
	}
	slots := map[int]*slot{}
	var order []int
	for _, s := range a.Signals {
		k := 0
		if tl.Version > 0 {
			k = min(s.Version, tl.Version) * replaySignalMarks / tl.Version
		}
		sl := slots[k]
		if sl == nil {
			sl = &slot{version: s.Version, kinds: map[string]bool{}}
			slots[k] = sl
			order = append(order, k)
		}
		sl.n++
		sl.kinds[s.Kind] = true
		if len(sl.title) < 5 {
			sl.title = append(sl.title, personName(s.Author.Name)+" "+signalText(s)+", "+since(s.Time))
		}
	}
	for _, k := range order {
		sl := slots[k]
		kind := "mixed"
		if len(sl.kinds) == 1 {
			for k := range sl.kinds {
				kind = k
			}
		}
		title := strings.Join(sl.title, "\n")
		if sl.n > len(sl.title) {
			title += fmt.Sprintf("\nand %d more", sl.n-len(sl.title))
		}
		m.SignalMarks = append(m.SignalMarks, views.ReplaySignalMark{X: pct(sl.version), URL: views.ReplayURL(tl.ID, sl.version, ""), Kind: kind, Title: title})
	}
	return m
}

func signalText(s replay.SignalMark) string {
	switch s.Kind {
	case "paste":
		return "pasted " + plural(s.Size, "character")
	case "hidden":
		return "left the tab"
	}
	return "came back to the tab"
}

// leftTheTab says how often someone left the tab.
func leftTheTab(n int) string {
	switch n {
	case 0:
		return "never left the tab"
	case 1:
		return "left the tab once"
	}
	return "left the tab " + strconv.Itoa(n) + " times"
}

// excerpt is the start of s, at most n runes, with an ellipsis when cut.
func excerpt(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// notedFrame marks a note's line in the frame, instead of the lines the last update
// changed, when a note's link asked for one the frame has.
func notedFrame(f views.ReplayFrame, line int) views.ReplayFrame {
	if line > 0 && line <= strings.Count(f.Code, "\n")+1 {
		f.Changed = [2]int{line, line}
		f.Noted = line
	}
	return f
}

// lineQuery is the ?line part of a replay address; "" for none.
func lineQuery(line int) string {
	if line <= 0 {
		return ""
	}
	return "&line=" + strconv.Itoa(line)
}
