package views

import "strconv"

// RunnerPanel is the output panel of the pad, where the runner island mounts.
type RunnerPanel struct {
	SessionID string
	Language  string // "python", "javascript", "typescript" or "sql"
	// Questions: the session has a question library, so "Run tests" may be needed
	// (it shows once the pad has tests: PadQuestions.Tests).
	Questions bool
	HasTests  bool // the pad has tests now
}

// runLimits are the time limits offered, in seconds; defaultRunLimit is selected.
var runLimits = []int{2, 5, 10, 30, 60, 300}

const defaultRunLimit = 10

func limitLabel(s int) string {
	if s < 60 {
		return strconv.Itoa(s) + " s"
	}
	return strconv.Itoa(s/60) + " min"
}

// runnerIntro is what the panel says before anything ran (the island says the same).
func (m RunnerPanel) runnerIntro() string {
	switch m.Language {
	case "javascript":
		return "JavaScript runs in a worker in your browser (no DOM, no network)."
	case "typescript":
		return "TypeScript runs in a worker in your browser, as JavaScript once its types are taken out (types are not checked)."
	case "sql":
		return "SQL runs on SQLite in your browser; it loads on the first run."
	}
	return "Python runs in your browser; it loads on the first run."
}

// ExampleTable is a table of the SQL runner's example database.
type ExampleTable struct {
	Name    string
	Columns []string
}

// ExampleTables are the tables of the example database that SQL runs start from,
// listed in the output panel. assets/runner/seed.sql creates them; TestExampleTables
// checks that the two agree.
var ExampleTables = []ExampleTable{
	{"departments", []string{"id", "name", "city"}},
	{"employees", []string{"id", "name", "department_id", "manager_id", "title", "salary", "hired"}},
	{"projects", []string{"id", "name", "department_id", "budget", "started", "finished"}},
	{"assignments", []string{"employee_id", "project_id", "role", "hours"}},
}
