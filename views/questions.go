package views

// LibraryPage lists the question library, with search, import and export.
type LibraryPage struct {
	Query     string        // the search, "" for all
	Questions []QuestionRow // what matches it
	Notice    string        // what the last action did ("Imported 3 questions.")
	Error     string        // why it failed
}

// QuestionRow is one question of the list.
type QuestionRow struct {
	URL      string // "/library/{id}"
	Title    string
	Language string // "Python"
	Tests    int    // visible tests
	Hidden   int    // hidden tests
	Example  bool   // shipped with duet
	Summary  string // the start of the prompt, as text
}

// QuestionPage is one question, as its interviewer reads it before an interview.
type QuestionPage struct {
	ID          string
	Title       string
	Language    string // "Python"
	PromptHTML  string // sanitised
	StarterCode string
	RubricHTML  string // sanitised; "" for none
	Tests       []TestView
	Example     bool
	Name        string // this browser's name, to start an interview with
}

// TestView is one test of a question.
type TestView struct {
	Name   string
	Code   string
	Hidden bool
}

// QuestionForm edits a question (or a new one). It works without JavaScript: it
// always has blank test rows, and "More test rows" posts it back with more.
type QuestionForm struct {
	Action      string // where it posts
	Heading     string // "New question", "Edit “Two sum”"
	Cancel      string // where Cancel leads
	Title       string
	Languages   []LanguageOption
	Prompt      string
	StarterCode string
	Rubric      string
	Tests       []TestView // filled rows, then blank ones
	Error       string     // why the last save failed
}

// QuestionOption is a question the start form offers.
type QuestionOption struct {
	ID       string
	Label    string // "Two sum · Python"
	Selected bool
}

// PadQuestions is the question part of the pad: the session's current question,
// the tests "Run tests" runs, and for interviewers the control that adds another.
// It is also the fragment the pad fetches again when the session is given one.
type PadQuestions struct {
	SessionID string
	Question  *PadQuestion // the newest question given; nil for none
	Tests     *RunnerTests // nil when the question has no tests (or there is none)
	Add       *AddQuestion // interviewers only; nil for everyone else
	Refreshed bool         // fetched again by the pad (not its first render)
}

// PadQuestion is the question of an interview, as one participant may see it.
type PadQuestion struct {
	Title      string
	Language   string // "Python"
	PromptHTML string // sanitised
	Tests      []TestView
	Hidden     int    // hidden tests, shown or not
	Private    bool   // this browser sees the rubric and the hidden tests
	RubricHTML string // "" unless Private
	// StarterCode is the question's, for an interviewer to insert into the code
	// (adding a question never replaces what the candidate wrote); "" unless Private.
	StarterCode string
	Number      int // 1 for the first question of the interview, 2 for the next…
}

// AddQuestion is the interviewers' control that gives the interview another
// question of the library.
type AddQuestion struct {
	Options []QuestionOption
	Full    bool // the interview has as many questions as it may
}

// RunnerTests is what the runner's "Run tests" runs, as a JSON script of the pad:
// the hidden tests are in it only for a browser that may see them.
type RunnerTests struct {
	Language string           `json:"language"`
	Tests    []RunnerTestCase `json:"tests"`
	Hidden   int              `json:"hidden"` // how many hidden tests the question has
}

// RunnerTestCase is one test the runner runs.
type RunnerTestCase struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Hidden bool   `json:"hidden"`
}
