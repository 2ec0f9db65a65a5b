package views

import "strconv"

// RunnerPanel is the output panel of the pad, where the runner island mounts.
type RunnerPanel struct {
	SessionID string
	Language  string       // "python" or "javascript"
	Tests     *RunnerTests // what "Run tests" runs; nil: no such button
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

// runnerIntro is what the panel says before anything ran.
func (m RunnerPanel) runnerIntro() string {
	if m.Language == "javascript" {
		return "JavaScript runs in a worker in your browser (no DOM, no network)."
	}
	return "Python runs in your browser; it loads on the first run."
}
