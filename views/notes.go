package views

import "strconv"

// NotesPanel is the interviewers' notes beside the editor: the form to write one and
// the notes so far. Candidates never get it.
type NotesPanel struct {
	SessionID string
	Notes     []NoteView // oldest first
	Text      string     // what the form holds: kept when saving failed
	Line      int        // the line the form pins to (the editor keeps it on the cursor's)
	Error     string     // why the last note was not saved; "" when it was
}

// NoteView is one note as the pad or the replay shows it.
type NoteView struct {
	ID          string
	Author      string // the writer's name
	Text        string
	Line        int    // the line its code is on in the code shown
	WrittenLine int    // the line when written
	Version     int    // the version it was written at
	At          string // when, "14:05 UTC" on the pad, "+12:04" on the replay
	Time        string // RFC 3339, for <time datetime>
	URL         string // the replay at its version, line highlighted; "" on the replay's own list
	Current     bool   // the replay shows its version now
}

// lineLabel says where a note is: "line 12", or "line 12 (written on 9)" once
// edits above it moved its code.
func (n NoteView) lineLabel() string {
	s := "line " + strconv.Itoa(n.Line)
	if n.Line != n.WrittenLine && n.WrittenLine > 0 {
		s += " (written on " + strconv.Itoa(n.WrittenLine) + ")"
	}
	return s
}

// NotesURL is where the pad's notes form posts.
func (m NotesPanel) NotesURL() string { return "/s/" + m.SessionID + "/notes" }

// NoteRetryPage is the page a note posted without JavaScript comes back to when it
// could not be saved: the form again, holding what was written.
type NoteRetryPage struct {
	Title  string
	PadURL string
	Notes  NotesPanel
}
