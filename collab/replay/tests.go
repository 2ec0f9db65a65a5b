package replay

import (
	"encoding/json"
	"strings"

	"duet/store"
)

// Tests counts the results of a test run, read from its "tests" output: one compact
// JSON object per line (docs/protocol.md). Lines it cannot read are skipped, so a run
// cut short counts what it reported.
type Tests struct {
	Passed int
	Total  int // the tests the run meant to run (its plan), or the results if it had none
}

// TestResult is one result of a test run, as shared (a hidden test's has no name,
// values or output).
type TestResult struct {
	Name     string  `json:"name"`
	Hidden   bool    `json:"hidden"`
	Passed   bool    `json:"passed"`
	Ms       float64 `json:"ms"`
	Expected *string `json:"expected"`
	Got      *string `json:"got"`
	Error    string  `json:"error"`
	Output   string  `json:"output"`
}

// ReadTests reads a run's "tests" output: how many tests it planned to run (0 when
// it said nothing), and the results it reported; nil results for an ordinary run.
func ReadTests(out []store.RunOutput) (planned int, results []TestResult) {
	var text strings.Builder
	for _, o := range out {
		if o.Stream == "tests" {
			text.WriteString(o.Text)
		}
	}
	if text.Len() == 0 {
		return 0, nil
	}
	results = []TestResult{}
	for line := range strings.Lines(text.String()) {
		var m struct {
			Type  string `json:"type"`
			Tests int    `json:"tests"`
		}
		var r TestResult
		switch {
		case json.Unmarshal([]byte(line), &m) != nil:
		case m.Type == "plan":
			planned = max(m.Tests, 0)
		case m.Type == "result" && json.Unmarshal([]byte(line), &r) == nil:
			results = append(results, r)
		}
	}
	return planned, results
}

// tallyTests returns the count of a run's test results, or nil for a run that
// reported none (an ordinary run).
func tallyTests(out []store.RunOutput) *Tests {
	planned, results := ReadTests(out)
	if results == nil {
		return nil
	}
	t := Tests{Total: max(planned, len(results))}
	for _, r := range results {
		if r.Passed {
			t.Passed++
		}
	}
	return &t
}
