package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/collab/ot"
)

// TestReplayBrowser is the replay page in a real browser against the real program:
// Ada types a small program over a WebSocket (as the editor island would), runs it,
// and edits it again; the replay page then shows each version's text as the slider,
// the steps, a run mark and playback move through them, in light and dark.
func TestReplayBrowser(t *testing.T) {
	exe := mustChromium(t, "replay.js")
	base := startDuet(t)
	id, token := createSession(t, base)
	texts, runVersion := typeProgram(t, base, id)
	last := len(texts) - 1

	light, dark := startPair(t, exe, "light", "dark")
	light.becomeInterviewer(t, base, id, token) // the replay is for interviewers
	dark.becomeInterviewer(t, base, id, token)
	replay := base + "/s/" + id + "/replay"

	t.Run("Scrub", func(t *testing.T) {
		tb := light.open(t, "viewer")
		tb.navigate(replay)
		waitReplay(tb)
		checkShown(t, tb, texts, last)

		// The slider, as a person drags it: input events, then it stops.
		tb.eval(`(() => { const s = document.getElementById("replay-slider");
			for (const v of [20, 11, 7, 5]) { s.value = String(v); s.dispatchEvent(new Event("input", {bubbles: true})); } })()`)
		waitVersion(tb, 5)
		checkShown(t, tb, texts, 5)
		if u := evalAs[string](tb, `location.pathname + location.search`); u != "/s/"+id+"/replay?v=5" {
			t.Errorf("URL after moving the slider = %s, want ?v=5", u)
		}
		tb.do(stepTimeout, chromedp.Click(chromedp.ID("replay-next")))
		waitVersion(tb, 6)
		checkShown(t, tb, texts, 6)
		tb.waitUntil(`document.getElementById("replay-slider").value === "6"`, stepTimeout, "the slider to follow Next")
		tb.do(stepTimeout, chromedp.Click(chromedp.ID("replay-prev")))
		waitVersion(tb, 5)
		checkShown(t, tb, texts, 5)

		// A run: its mark leads to the version it ran, with what it printed.
		tb.do(stepTimeout, chromedp.Click(chromedp.CSS(".run-link")))
		waitVersion(tb, runVersion)
		checkShown(t, tb, texts, runVersion)
		tb.waitUntil(`(document.querySelector("#replay-run .run-out")?.textContent ?? "").includes("Hello, <b>Ada</b> & 中文 👋")`,
			stepTimeout, "the run's output")
		tb.screenshot("replay-light")

		// Reloading the address shows the same version, rendered by the server.
		tb.do(stepTimeout, chromedp.Reload())
		waitReplay(tb)
		checkShown(t, tb, texts, runVersion)
	})

	t.Run("Play", func(t *testing.T) {
		tb := dark.open(t, "viewer")
		tb.navigate(replay + "?v=0")
		waitReplay(tb)
		checkShown(t, tb, texts, 0)
		// Count the frames htmx asks for, and record every version shown.
		tb.eval(`window.__frames = 0; window.__seen = [];
			document.body.addEventListener("htmx:beforeRequest", () => window.__frames++);
			document.addEventListener("htmx:load", (e) => { if (e.target.id === "replay-frame") window.__seen.push(Number(e.target.dataset.version)); });`)
		tb.do(stepTimeout, chromedp.Click(chromedp.CSS(`[data-speed="4"]`)))
		start := time.Now()
		tb.do(stepTimeout, chromedp.Click(chromedp.ID("replay-play")))
		// Half way, what is shown is the text of the version shown.
		tb.waitUntil(`Number(document.getElementById("replay-frame").dataset.version) >= 10`, stepTimeout, "playback to pass version 10")
		v := evalAs[int](tb, `Number(document.getElementById("replay-frame").dataset.version)`)
		checkShown(t, tb, texts, v)
		tb.waitUntil(`Number(document.getElementById("replay-frame").dataset.version) === `+fmt.Sprint(last)+
			` && document.getElementById("replay-play").getAttribute("aria-pressed") === "false"`, 2*stepTimeout, "playback to reach the end and stop")
		took := time.Since(start)
		checkShown(t, tb, texts, last)
		seen := evalAs[[]int](tb, `window.__seen`)
		frames := evalAs[int](tb, `window.__frames`)
		for i := 1; i < len(seen); i++ {
			if seen[i] < seen[i-1] {
				t.Errorf("playback went back: versions shown %v", seen)
				break
			}
		}
		// At most one request per 250 ms, plus the last one.
		if limit := int(took/(250*time.Millisecond)) + 2; frames > limit || frames < 2 {
			t.Errorf("playback of %v asked for %d frames (shown %v), want 2 to %d", took, frames, seen, limit)
		}
		t.Logf("playback at 4×: %v, %d frames, versions shown %v", took.Round(time.Millisecond), frames, seen)
		tb.eval(`document.getElementById("replay-slider").value = "12"; document.getElementById("replay-slider").dispatchEvent(new Event("input", {bubbles: true}))`)
		waitVersion(tb, 12)
		tb.screenshot("replay-dark")
	})

	t.Run("WithoutJavaScript", func(t *testing.T) {
		tb := light.open(t, "no-js")
		if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		tb.navigate(replay + "?v=3")
		tb.waitUntil(`document.readyState === "complete"`, stepTimeout, "the page")
		checkShown(t, tb, texts, 3)
		// The slider is a GET form with a button.
		tb.do(stepTimeout, chromedp.SetValue(chromedp.ID("replay-slider"), "9"))
		tb.do(stepTimeout, chromedp.Click(chromedp.CSS("#replay-form button")))
		tb.waitUntil(`location.search === "?v=9"`, stepTimeout, "the page at the link")
		checkShown(t, tb, texts, 9)
		tb.do(stepTimeout, chromedp.Click(chromedp.ID("replay-end")))
		tb.waitUntil(`location.search === "?v=`+fmt.Sprint(last)+`" && document.readyState === "complete"`, stepTimeout, "the page at the link")
		checkShown(t, tb, texts, last)
	})
}

// waitReplay waits for the replay page with its script started.
func waitReplay(tb *tab) {
	tb.t.Helper()
	tb.waitUntil(`!!document.getElementById("replay-frame") && !document.querySelector("[data-replay-playback]").hidden && !!window.htmx`,
		stepTimeout, "the replay page")
}

func waitVersion(tb *tab, v int) {
	tb.t.Helper()
	tb.waitUntil(fmt.Sprintf(`document.getElementById("replay-frame").dataset.version === "%d"`, v), stepTimeout, fmt.Sprintf("version %d", v))
}

// checkShown fails unless the page shows version v with its text.
func checkShown(t *testing.T, tb *tab, texts []string, v int) {
	t.Helper()
	got := evalAs[[]string](tb, `(() => { const f = document.getElementById("replay-frame");
		const code = f.querySelector("pre.chroma > code").cloneNode(true);
		code.querySelectorAll(".ln").forEach((n) => n.remove());
		return [f.dataset.version, code.textContent]; })()`)
	if got[0] != fmt.Sprint(v) || got[1] != texts[v] {
		t.Errorf("page shows version %s with %q, want version %d with %q", got[0], got[1], v, texts[v])
	}
}

// replayProgram is what Ada types, a few characters at a time.
const replayProgram = "def greet(name):\n    return f\"Hello, {name} 👋\"\n\nprint(greet(\"<b>Ada</b> & 中文\"))\n"

// typeProgram has Ada type replayProgram in small pieces, run it (its output shared as
// the runner island shares it), then change "Hello" into "Hi". It returns the text at
// every version and the version the run ran at.
func typeProgram(t *testing.T, base, id string) (texts []string, runVersion int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws/" + id + "?userName=Ada&userId=" + uuid.NewString()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close(websocket.StatusNormalClosure, "")
	send := func(v any) {
		b, _ := json.Marshal(v)
		if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	var text ot.Text
	texts = []string{""}
	edit := func(changes string) {
		cs, err := ot.ParseChangeSet([]byte(changes))
		if err == nil {
			text, err = cs.Apply(text)
		}
		if err != nil {
			t.Fatalf("edit %s: %v", changes, err)
		}
		send(map[string]any{"type": "edit", "version": len(texts) - 1,
			"updates": []any{map[string]any{"clientID": "ada", "changes": json.RawMessage(changes)}}})
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for the confirmation of %s: %v", changes, err)
			}
			if strings.Contains(string(data), `"type":"error"`) {
				t.Fatalf("edit %s refused: %s", changes, data)
			}
			if strings.Contains(string(data), `"clientID":"ada"`) {
				break
			}
		}
		texts = append(texts, text.String())
		time.Sleep(120 * time.Millisecond) // typing takes time: playback follows it
	}
	insert := func(s string) {
		n := text.Len()
		lines, _ := json.Marshal(strings.Split(s, "\n"))
		if n == 0 {
			edit(fmt.Sprintf("[[0,%s]", lines[1:]))
		} else {
			edit(fmt.Sprintf("[%d,[0,%s]", n, lines[1:]))
		}
	}
	for rs := []rune(replayProgram); len(rs) > 0; { // four characters at a time
		n := min(4, len(rs))
		insert(string(rs[:n]))
		rs = rs[n:]
	}
	runVersion = len(texts) - 1
	runID := uuid.NewString()
	send(map[string]any{"type": "run", "runId": runID, "event": "start", "text": "main.py"})
	send(map[string]any{"type": "run", "runId": runID, "event": "output", "stream": "stdout", "text": "Hello, <b>Ada</b> & 中文 👋\n"})
	send(map[string]any{"type": "run", "runId": runID, "event": "end", "status": "ok"})
	time.Sleep(300 * time.Millisecond)
	at := strings.Index(text.String(), "Hello") // ASCII before it: units = bytes
	edit(fmt.Sprintf("[%d,[5,\"Hi\"],%d]", at, text.Len()-at-5))
	insert("# done\n")
	return texts, runVersion
}
