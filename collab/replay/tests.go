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

// tallyTests returns the count of a run's test results, or nil for a run that
// reported none (an ordinary run).
func tallyTests(out []store.RunOutput) *Tests {
	var text strings.Builder
	for _, o := range out {
		if o.Stream == "tests" {
			text.WriteString(o.Text)
		}
	}
	if text.Len() == 0 {
		return nil
	}
	var t Tests
	planned, results := 0, 0
	for line := range strings.Lines(text.String()) {
		var m struct {
			Type   string `json:"type"`
			Tests  int    `json:"tests"`
			Passed bool   `json:"passed"`
		}
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		switch m.Type {
		case "plan":
			planned = max(m.Tests, 0)
		case "result":
			results++
			if m.Passed {
				t.Passed++
			}
		}
	}
	t.Total = max(planned, results)
	return &t
}
