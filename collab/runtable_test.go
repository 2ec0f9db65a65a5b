package collab_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"duet/collab"
	"duet/store"
)

// TestRunTables: a "table" output (a SQL result as JSON) is relayed and stored whole,
// or dropped whole when it does not fit in the message or the run's cap, never cut;
// text that is not JSON is refused.
func TestRunTables(t *testing.T) {
	t.Parallel()
	srv := newHubServer(t, collab.Limits{MaxRunText: 60, MaxRunBytes: 90})
	id := srv.mustSession(t)
	a := dial(t, srv, id, url.Values{})
	a.readType("sync")
	b := dial(t, srv, id, url.Values{})
	b.readType("sync")

	small := `{"c":["id","name"],"r":[[1,"Ada"]],"n":1}` // 41 bytes
	big := `{"c":["x"],"r":[["` + strings.Repeat("y", 50) + `"]],"n":1}`
	a.send(`{"type":"run","runId":"q1","event":"start","text":"select"}`)
	a.send(fmt.Sprintf(`{"type":"run","runId":"q1","event":"output","stream":"table","text":%q}`, small))
	a.send(`{"type":"run","runId":"q1","event":"output","stream":"table","text":"{\"c\":[\"id\"],"}`)
	if m := a.readType("error"); m.Code != collab.CodeBadMessage {
		t.Errorf("a table that is not JSON: error %s, want %s", m.raw, collab.CodeBadMessage)
	}
	a.send(fmt.Sprintf(`{"type":"run","runId":"q1","event":"output","stream":"table","text":%q}`, big)) // over the 60 of a message
	a.send(`{"type":"run","runId":"q1","event":"output","stream":"system","text":"3 rows inserted.\n"}`)
	a.send(fmt.Sprintf(`{"type":"run","runId":"q1","event":"output","stream":"table","text":%q}`, small)) // 41+17+41 > 90
	a.send(`{"type":"run","runId":"q1","event":"end","status":"ok"}`)
	want := []string{
		"start  select false",
		"output table " + small + " false",
		"output system 3 rows inserted.\n false",
		"end   true",
	}
	for _, w := range want {
		m := b.readType("run")
		if got := fmt.Sprintf("%s %s %s %v", m.Event, m.Stream, m.Text, m.Truncated); got != w {
			t.Errorf("run message = %s, want %q", m.raw, w)
		}
	}

	// The store (what the replay reads) has the table as it was relayed.
	var runs []store.Run
	deadline := time.Now().Add(10 * time.Second)
	for len(runs) == 0 {
		var err error
		if runs, err = srv.store.Runs(t.Context(), id); err != nil {
			t.Fatalf("Runs() error = %v", err)
		}
		if len(runs) == 0 && time.Now().After(deadline) {
			t.Fatal("the run was not stored")
		}
		time.Sleep(20 * time.Millisecond) // the run is stored after it ends, in the background
	}
	got := fmt.Sprint(runs[0].Output)
	if wantOut := fmt.Sprint([]store.RunOutput{{Stream: "table", Text: small}, {Stream: "system", Text: "3 rows inserted.\n"}}); got != wantOut || !runs[0].Truncated {
		t.Errorf("stored run output = %s (truncated %v), want %s (truncated)", got, runs[0].Truncated, wantOut)
	}
}
