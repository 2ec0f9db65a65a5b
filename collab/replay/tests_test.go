package replay_test

import (
	"fmt"
	"testing"
	"time"

	"duet/collab/replay"
	"duet/store"
)

// TestTestRunCounts: the timeline counts the results a test run shared on its
// "tests" stream, whatever the pieces it came in; an ordinary run has no count.
func TestTestRunCounts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := store.NewMemory()
	s := newSession(t, st, "python")
	plan := `{"type":"plan","tests":4,"hidden":1}` + "\n"
	pass := `{"type":"result","name":"small","passed":true,"ms":0.2}` + "\n"
	fail := `{"type":"result","name":"big","passed":false,"expected":"[0, 1]","got":"None"}` + "\n"
	hidden := `{"type":"result","hidden":true,"passed":true}` + "\n"
	runs := []struct {
		id   string
		out  []store.RunOutput
		want *replay.Tests
	}{
		{"plain", []store.RunOutput{{Stream: "stdout", Text: "hi\n"}}, nil},
		// cut in the middle of a line, and interleaved with what the code printed
		{"tests", []store.RunOutput{{Stream: "tests", Text: plan + pass[:10]}, {Stream: "stdout", Text: "x\n"},
			{Stream: "tests", Text: pass[10:] + fail + hidden}}, &replay.Tests{Passed: 2, Total: 4}},
		{"no plan", []store.RunOutput{{Stream: "tests", Text: pass + "not json\n" + fail}}, &replay.Tests{Passed: 1, Total: 2}},
	}
	for i, r := range runs {
		run := store.Run{ID: r.id, UserID: "u", Language: "python", Started: s.CreatedAt.Add(time.Duration(i) * time.Second), Output: r.out}
		if err := st.AppendRun(ctx, s.ID, run); err != nil {
			t.Fatal(err)
		}
	}
	tl, err := replay.New(st).Timeline(ctx, s.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Runs) != len(runs) {
		t.Fatalf("Timeline() has %d runs, want %d", len(tl.Runs), len(runs))
	}
	for i, r := range runs {
		if got := fmt.Sprint(tl.Runs[i].Tests); got != fmt.Sprint(r.want) {
			t.Errorf("run %s: Tests = %s, want %s", r.id, got, fmt.Sprint(r.want))
		}
	}
}
