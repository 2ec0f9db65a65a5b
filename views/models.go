// Package views renders duet's pages and fragments with templ. It is pure: plain data
// in, HTML out, no I/O and no knowledge of HTTP or of the collab domain.
package views

import "strconv"

// Head is what every page tells the layout.
type Head struct {
	Title string // shown before " · duet" in the tab
}

// LanguageOption is one choice of a language picker.
type LanguageOption struct {
	Value    string // "python"
	Label    string // "Python"
	Selected bool
}

// HomePage is the start page: pick a language, start an interview.
type HomePage struct {
	Languages []LanguageOption
	Questions []QuestionOption // to start from; none without a library
	Name      string           // the name this browser used last, to prefill
	Error     string           // shown above the form when starting failed
}

// PadPage is the session page, the link people share.
type PadPage struct {
	ID       string // session id (a UUID)
	Title    string // "Interview 3f2a1b9c"
	ShareURL string // absolute link to this page
	Version  int    // document version Content is at
	Content  string // document text at Version, shown before the editor starts
	// Interviewer: the viewer is an interviewer of the session (handlers' role
	// rule): they see the interviewer link, the replay and the End button.
	Interviewer    bool
	InterviewerURL string // the secret link that makes co-interviewers; "" unless Interviewer
	UserName       string // their name; "" until they have joined
	Presence       Presence
	Runner         RunnerPanel
	// Questions is the pad's question part; nil without a question library.
	Questions *PadQuestions
	// QuestionCount is how many questions the page shows the session was given:
	// the event stream compares it with the store's, in case one came meanwhile.
	QuestionCount int
	EndedAt       string // when the interview was ended, as shown ("3 Dec 2026, 14:05 UTC"); "" while it runs
}

// eventsURL is the pad's event stream.
func eventsURL(m PadPage) string {
	u := "/s/" + m.ID + "/events"
	if m.Questions != nil {
		u += "?questions=" + strconv.Itoa(m.QuestionCount)
	}
	return u
}

// Ended reports whether the interview was ended (the ended page is shown).
func (m PadPage) Ended() bool { return m.EndedAt != "" }

// Joined reports whether this browser has given a name, so the pad (rather than the
// join form) is shown.
func (m PadPage) Joined() bool { return m.UserName != "" }

// Presence is the live part of the pad: the language and who is here. The page
// renders it first; the event stream re-renders it on every change.
type Presence struct {
	SessionID string
	Languages []LanguageOption // the selected one is the session's
	People    []PersonView
	Ended     bool // the session was deleted: nobody is here any more
}

// Language returns the selected language's value.
func (p Presence) Language() string {
	for _, l := range p.Languages {
		if l.Selected {
			return l.Value
		}
	}
	return ""
}

// PersonView is one participant in the list.
type PersonView struct {
	Name    string
	Color   string // "#e06c75"
	You     bool
	Typing  bool
	Running bool
	// Interviewer: shown with an "Interviewer" badge, to everyone (who is who is no
	// secret; what interviewers write is).
	Interviewer bool
}

// ErrorPage is any failure rendered as a page.
type ErrorPage struct {
	Status  int    // HTTP status, shown small
	Title   string // "Session not found"
	Message string // one sentence for a person
	Home    bool   // offer a way to start a new session
}
