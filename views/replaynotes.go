package views

import "strconv"

// ReplayNotes are the notes and signals a replay shows its interviewers: marks on
// the timeline and lists beside the code.
type ReplayNotes struct {
	Notes        []NoteView         // the notes, in the order written; URL jumps to each
	NoteMarks    []ReplayNoteMark   // on the timeline
	Signals      []ReplaySignal     // the newest ones listed beside the code
	SignalsMore  int                // how many older ones the list leaves out
	SignalMarks  []ReplaySignalMark // on the timeline, grouped where they crowd
	SignalTotals string             // "3 pastes (412 characters) · left the tab 2 times"
}

// ReplayNoteMark is a note on the timeline: a link to its moment.
type ReplayNoteMark struct {
	X     string
	URL   string
	Color string
	Title string // "Ivy's note on line 12, +12:04: uses a set…"
}

// ReplaySignalMark is one or more signals close together on the timeline.
type ReplaySignalMark struct {
	X     string
	URL   string
	Kind  string // "paste", "hidden" or "mixed"
	Title string // "Bob pasted 120 characters, +3:02"
}

// ReplaySignal is one signal in the list beside the code.
type ReplaySignal struct {
	Who   string
	Color string
	Kind  string
	Text  string // "pasted 120 characters", "left the tab", "came back"
	At    string // "+3:02"
	URL   string // the replay at its version
}

// noteCount says how many notes: "1 note", "12 notes".
func noteCount(n int) string {
	if n == 1 {
		return "1 note"
	}
	return strconv.Itoa(n) + " notes"
}
