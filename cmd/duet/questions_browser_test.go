package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestQuestionsBrowser is an interview started from the two-sum example, with two real
// browser profiles: Ada (light) starts it and so is its interviewer; Bob (dark) joins
// by the link and so is the candidate. Ada writes a solution that passes the visible
// tests and fails a hidden one and runs the tests; Bob sees the prompt and the
// visible tests, is told hidden tests exist, runs the visible ones, and sees Ada's
// run with the hidden results reduced to passed or failed. Every byte that reaches
// Bob's page (documents, fetches, socket frames, event streams) is searched for the
// hidden tests' text: none may hold it. The replay shows both test runs with their
// counts. Then every example runs its tests against its reference solution
// (questions/testdata/solutions), in its own pad: all must pass.
//
// Screenshots of the library, a question page and both pads, light and dark, desktop
// and phone, go to testout/.
func TestQuestionsBrowser(t *testing.T) {
	exe := mustChromium(t, "runner.js", "runner-worker.js", "runner-js-worker.js", "pyodide/", "app.css")
	base, _ := startRun(t, "-store", "memory")
	adaBrowser, bobBrowser := startPair(t, exe, "Ada", "Bob")
	ada, bob := openRunnerTab(t, adaBrowser, "Ada"), openRunnerTab(t, bobBrowser, "Bob")
	seen := watchBytes(t, bob)

	// What only an interviewer may read: the hidden tests' names and code, the rubric.
	var example struct {
		Rubric string
		Tests  []struct {
			Name, Code string
			Hidden     bool
		}
	}
	mustGetJSON(t, base+"/questions/example-two-sum-python", &example)
	var canaries []string
	for _, tc := range example.Tests {
		if tc.Hidden {
			canaries = append(canaries, tc.Name, tc.Code)
		}
	}
	canaries = append(canaries, "one pass with a hash map") // from the rubric
	if len(canaries) != 7 {
		t.Fatalf("two-sum has %d hidden tests, want 3", (len(canaries)-1)/2)
	}

	var pad string
	t.Run("StartFromTheExample", func(t *testing.T) {
		ada.t = t
		ada.navigate(base + "/library")
		ada.waitUntil(`document.querySelectorAll(".question-row").length === 6`, stepTimeout, "the six examples")
		ada.click(`a.question-row-title[href="/library/example-two-sum-python"]`)
		ada.waitUntil(`location.pathname === "/library/example-two-sum-python" && !!document.querySelector(".start-question")`, stepTimeout, "the question page")
		ada.eval(`document.getElementById("start-name").value = "Ada"`)
		ada.click(`.start-question button[type=submit]`)
		ada.waitUntil(`location.pathname.startsWith("/s/")`, stepTimeout, "the pad")
		ada.waitPad()
		pad = evalAs[string](ada, `location.href`)
		if got := evalAs[string](ada, `document.getElementById("editor").duetEditor.getText()`); !strings.HasPrefix(got, "def two_sum(nums, target):") {
			t.Errorf("the pad starts with %q, want two-sum's starter code", got)
		}
		if n := evalAs[int](ada, `document.querySelectorAll("#question .test-item[data-hidden]").length`); n != 3 {
			t.Errorf("Ada's pane lists %d hidden tests, want 3", n)
		}
		if !evalAs[bool](ada, `!!document.querySelector("#question .question-rubric")`) {
			t.Error("Ada's pane has no rubric")
		}
	})

	t.Run("CandidateJoins", func(t *testing.T) {
		bob.t = t
		bob.navigate(base + "/")
		evalAs[string](bob, `fetch(`+jsString(pad+"/name")+`, {method: "POST", body: new URLSearchParams({name: "Bob"})}).then(r => r.url)`)
		bob.navigate(pad)
		bob.waitPad()
		if got := evalAs[string](bob, `document.querySelector("#question .question-prompt").textContent`); !strings.Contains(got, "return the indices of the two numbers") {
			t.Errorf("Bob's prompt = %q", got)
		}
		if got := evalAs[string](bob, `document.querySelector("[data-hidden-tests]")?.textContent ?? ""`); !strings.Contains(got, "Hidden tests exist (3)") {
			t.Errorf("Bob is told %q, want that 3 hidden tests exist", got)
		}
		if evalAs[bool](bob, `!!document.querySelector(".question-rubric") || document.querySelectorAll("#question .test-item").length !== 2`) {
			t.Error("Bob's pane shows a rubric, or other than the 2 visible tests")
		}
	})

	// Fails "negative numbers": it skips every number above the target.
	const wrong = "def two_sum(nums, target):\n    seen = {}\n    for i, n in enumerate(nums):\n        if n > target:\n            continue\n" +
		"        if target - n in seen:\n            return [seen[target - n], i]\n        seen[n] = i\n"
	t.Run("InterviewerRunsAllTests", func(t *testing.T) {
		ada.t = t
		ada.setCode(wrong)
		start := time.Now()
		ada.click("#tests-button")
		ada.waitStatus("failed", runnerLoad)
		t.Logf("BENCH Run tests with a cold Pyodide (click → table): %v", time.Since(start).Round(time.Millisecond))
		if got := ada.testSummary(); got != "4 of 5 passed" {
			t.Errorf("Ada's test run: %q, want 4 of 5 passed", got)
		}
		failed := evalAs[[]string](ada, `[...document.querySelectorAll("#runner-log .run:last-child tbody[data-passed=false]")].map(b => b.textContent.replace(/\s+/g, " ").trim())`)
		if len(failed) != 1 || !strings.Contains(failed[0], "negative numbers") || !strings.Contains(failed[0], "expected[2, 4]") || !strings.Contains(failed[0], "gotNone") {
			t.Errorf("Ada's failed rows = %q, want negative numbers with expected [2, 4] and got None", failed)
		}
		bob.t = t
		bob.waitUntil(`[...document.querySelectorAll("#runner-log .run[data-mine=false]")].some(r => r.dataset.status === "failed" &&
			r.querySelector(".test-summary")?.textContent === "4 of 5 passed")`, stepTimeout, "Ada's test run on Bob's page")
		rows := evalAs[[]string](bob, `[...document.querySelectorAll("#runner-log .run[data-mine=false] tbody .test-name")].map(n => n.textContent.trim())`)
		if got := strings.Join(rows, "|"); got != "the example|not the first element|Hidden test 1|Hidden test 2|Hidden test 3" {
			t.Errorf("Ada's run on Bob's page lists %q", got)
		}
	})

	t.Run("CandidateRunsVisibleTests", func(t *testing.T) {
		bob.t = t
		bob.eval(`document.getElementById("tests-button").dispatchEvent(new PointerEvent("pointerenter"))`)
		bob.click("#tests-button")
		bob.waitStatus("ok", runnerLoad)
		if got := bob.testSummary(); got != "2 of 2 passed" {
			t.Errorf("Bob's test run: %q, want 2 of 2 passed (the visible tests only)", got)
		}
		ada.t = t
		ada.waitUntil(`[...document.querySelectorAll("#runner-log .run[data-mine=false]")].some(r => r.dataset.status === "ok" &&
			r.querySelector(".test-summary")?.textContent === "2 of 2 passed")`, stepTimeout, "Bob's test run on Ada's page")
	})

	t.Run("Screenshots", func(t *testing.T) {
		// Every run's table open, the first (Ada's, with the failed hidden test) in view.
		for _, tb := range []*tab{ada, bob} {
			tb.t = t
			tb.eval(`document.querySelectorAll("#runner-log .run details").forEach((d) => (d.open = true)); document.getElementById("runner-log").scrollTop = 0`)
		}
		shoot := func(name string, both bool) {
			for _, tb := range []*tab{ada, bob} {
				who := strings.ToLower(tb.name)
				for _, dark := range []bool{false, true} {
					tb.setDark(dark)
					tb.sleepFor(300 * time.Millisecond) // the buttons' colour transitions end
					scheme := map[bool]string{false: "light", true: "dark"}[dark]
					tb.screenshot(fmt.Sprintf("questions-%s-%s-%s", name, who, scheme))
				}
				if !both {
					return
				}
			}
		}
		shoot("pad-desktop", true)
		for _, tb := range []*tab{ada, bob} {
			tb.emulatePhone(390, 844)
		}
		shoot("pad-phone", true)
		for _, tb := range []*tab{ada, bob} {
			tb.eval(`document.getElementById("output").scrollIntoView()`)
		}
		shoot("pad-phone-output", true)
		for _, page := range []struct{ name, path, ready string }{
			{"library", "/library", `document.querySelectorAll(".question-row").length === 6`},
			{"question", "/library/example-two-sum-python", `!!document.querySelector(".start-question")`},
		} {
			for _, size := range []string{"phone", "desktop"} {
				if size == "desktop" {
					ada.do(stepTimeout, chromedp.EmulateViewport(1280, 860))
				}
				ada.navigate(base + page.path)
				ada.waitUntil(`document.readyState === "complete" && `+page.ready, stepTimeout, "the "+page.name+" page")
				shoot(page.name+"-"+size, false)
			}
		}
		bob.do(stepTimeout, chromedp.EmulateViewport(1280, 860))
	})

	t.Run("Replay", func(t *testing.T) {
		ada.t = t
		ada.navigate(pad + "/replay")
		ada.waitUntil(`document.querySelectorAll(".run-link").length === 2`, stepTimeout, "the two test runs on the replay")
		labels := evalAs[[]string](ada, `[...document.querySelectorAll(".run-link")].map(a => a.textContent.replace(/\s+/g, " ").trim())`)
		if len(labels) != 2 || !strings.Contains(labels[0], "4 of 5 tests passed") || !strings.Contains(labels[1], "2 of 2 tests passed") {
			t.Errorf("replay runs = %q, want Ada's 4 of 5 and Bob's 2 of 2", labels)
		}
		ada.click(".run-link")
		ada.waitUntil(`(document.querySelector("#replay-run pre")?.textContent ?? "").includes("✓ the example")`, stepTimeout, "the test run's results on the replay")
		out := evalAs[string](ada, `document.querySelector("#replay-run pre").textContent`)
		if !strings.Contains(out, "✗ hidden test 2") || strings.Contains(out, "negative numbers") || strings.Contains(out, `"type"`) {
			t.Errorf("the replay shows the test run as %q, want one line per test, the hidden ones without their names", out)
		}
		marks := evalAs[[]string](ada, `[...document.querySelectorAll(".timeline-run title, .timeline-run")].map(e => e.getAttribute("data-status") ?? e.textContent)`)
		if !strings.Contains(strings.Join(marks, " "), "4 of 5 tests passed") {
			t.Errorf("the timeline's run marks = %q, want the pass counts", marks)
		}
	})

	// A second question, later in the hour: Ada adds the LRU cache from her pad.
	var lru struct {
		Title, StarterCode string
		Rubric             string
		Tests              []struct {
			Name, Code string
			Hidden     bool
		}
	}
	mustGetJSON(t, base+"/questions/example-lru-cache-python", &lru)
	for _, tc := range lru.Tests {
		if tc.Hidden {
			canaries = append(canaries, tc.Name, tc.Code)
		}
	}
	canaries = append(canaries, lru.Rubric[:60])
	t.Run("SecondQuestion", func(t *testing.T) {
		ada.t, bob.t = t, t
		ada.setDark(false) // before the page loads: its light screenshot catches no colour transition
		bob.setDark(false)
		ada.navigate(pad)
		ada.waitPad()
		code := evalAs[string](bob, `document.getElementById("editor").duetEditor.getText()`)
		if evalAs[bool](bob, `!!document.getElementById("question-add")`) {
			t.Error("Bob, the candidate, is offered to add a question")
		}
		ada.eval(`document.getElementById("question-add").open = true; document.getElementById("add-question").value = "example-lru-cache-python"`)
		start := time.Now()
		ada.click(`#question-add button[type=submit]`)
		for _, tb := range []*tab{bob, ada} {
			tb.waitUntil(`document.querySelector("#question .question-pane-title")?.textContent === `+jsString(lru.Title)+` &&
				JSON.parse(document.getElementById("runner-tests").textContent).tests.some(t => t.name === "missing key") &&
				!document.getElementById("tests-button").hidden`, stepTimeout, "the LRU cache in "+tb.name+"'s pane, and its tests in the runner")
			t.Logf("BENCH second question, Ada's click → %s's pane and runner show it (polled): %v", tb.name, time.Since(start).Round(time.Millisecond))
		}
		if got := evalAs[string](bob, `document.getElementById("question-news").textContent`); got != "New question: "+lru.Title {
			t.Errorf("Bob's status line says %q, want the new question's title", got)
		}
		if got := evalAs[string](bob, `document.getElementById("editor").duetEditor.getText()`); got != code {
			t.Errorf("adding a question changed Bob's code from %q to %q", code, got)
		}
		if evalAs[bool](bob, `!!document.querySelector(".question-rubric, #starter-code, [data-insert-code]") ||
			JSON.parse(document.getElementById("runner-tests").textContent).tests.some(t => t.hidden)`) {
			t.Error("Bob's new pane holds the rubric, the starter code or hidden tests")
		}
		if got := evalAs[string](bob, `document.querySelector("[data-hidden-tests]")?.textContent ?? ""`); !strings.Contains(got, "Hidden tests exist (2)") {
			t.Errorf("Bob is told %q, want that 2 hidden tests exist", got)
		}
		if n := evalAs[int](ada, `JSON.parse(document.getElementById("runner-tests").textContent).tests.filter(t => t.hidden).length`); n != 2 {
			t.Errorf("Ada's runner has %d hidden tests of the LRU cache, want 2", n)
		}

		// Ada inserts the starter code: an ordinary edit, below Bob's work, on both pads.
		ada.eval(`document.querySelector("#question .question-starter").open = true`)
		ada.click(`[data-insert-code="starter-code"]`)
		want := code + "\n" + lru.StarterCode
		if !strings.HasSuffix(code, "\n") {
			want = code + "\n\n" + lru.StarterCode
		}
		bob.waitUntil(`document.getElementById("editor").duetEditor.getText() === `+jsString(want), stepTimeout, "the starter code below Bob's code")
		shoot := func(name string) {
			for _, tb := range []*tab{ada, bob} {
				for _, dark := range []bool{false, true} {
					tb.setDark(dark)
					tb.sleepFor(300 * time.Millisecond)
					tb.screenshot(fmt.Sprintf("questions-%s-%s-%s", name, strings.ToLower(tb.name), map[bool]string{false: "light", true: "dark"}[dark]))
				}
			}
		}
		ada.eval(`window.scrollTo(0, 0); document.getElementById("question").scrollTop = 0`)
		shoot("second-question-desktop")

		for _, tb := range []*tab{ada, bob} {
			tb.emulatePhone(390, 844)
			tb.eval(`window.scrollTo(0, 0); document.getElementById("question").scrollTop = 0`)
		}
		shoot("second-question-phone")
		for _, tb := range []*tab{ada, bob} {
			tb.do(stepTimeout, chromedp.EmulateViewport(1280, 860))
		}

		ada.navigate(pad + "/replay")
		ada.waitUntil(`document.querySelectorAll(".timeline-question").length === 2`, stepTimeout, "the two questions on the replay's timeline")
		if got := evalAs[string](ada, `document.querySelectorAll(".timeline-question title")[1].textContent`); !strings.Contains(got, "Question 2 given: "+lru.Title) {
			t.Errorf("the replay's second question mark says %q", got)
		}
		ada.screenshot("questions-second-question-replay-ada-dark")
	})

	t.Run("HiddenTestsNeverReachTheCandidate", func(t *testing.T) {
		bob.t = t
		dom := evalAs[string](bob, `document.documentElement.outerHTML + JSON.stringify(localStorage)`)
		for _, c := range canaries {
			if strings.Contains(dom, c) {
				t.Errorf("Bob's page holds %q", c)
			}
			for _, got := range seen() {
				if strings.Contains(got.body, c) {
					t.Errorf("%s reached Bob's browser holding %q", got.what, c)
				}
			}
		}
		// The watch saw what carries a question: the pad itself, the second question's
		// part, and Ada's shared results with the hidden ones reduced to passed or failed.
		kinds := map[string]int{}
		var pads, redacted, fragments int
		for _, got := range seen() {
			kinds[strings.Fields(got.what)[0]]++
			if strings.HasPrefix(got.what, "document") && strings.Contains(got.body, "Hidden tests exist (3)") {
				pads++
			}
			// The second question's part, fetched on the stream's question event.
			if strings.HasPrefix(got.what, "xhr") && strings.HasSuffix(got.what, "/question") && strings.Contains(got.body, "Hidden tests exist (2)") {
				fragments++
			}
			if got.what == "frame" && strings.Contains(got.body, `\"hidden\":true,\"passed\":false`) {
				redacted++
			}
		}
		if pads == 0 || redacted == 0 || fragments == 0 {
			t.Errorf("the watch of Bob's browser saw %d pads, %d frames of hidden results and %d question parts (%v): it does not see what it must",
				pads, redacted, fragments, kinds)
		}
		t.Logf("searched what reached Bob's browser: %v", kinds)
	})

	// Every example's tests pass against its reference solution, hidden ones included
	// (Ada starts each interview, so she runs them all).
	t.Run("ReferenceSolutions", func(t *testing.T) {
		ada.t = t
		files, err := filepath.Glob(filepath.Join("..", "..", "questions", "testdata", "solutions", "example-*"))
		if err != nil || len(files) != 6 {
			t.Fatalf("reference solutions: %v, %v; want 6", files, err)
		}
		for _, f := range files {
			id := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			code, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ada.navigate(base + "/")
			u := evalAs[string](ada, `fetch("/s", {method: "POST", body: new URLSearchParams({question: `+jsString(id)+`, name: "Ada"})}).then(r => r.url)`)
			ada.navigate(u)
			ada.waitPad()
			ada.setCode(string(code))
			ada.click("#tests-button")
			ada.waitStatus("ok", runnerLoad)
			total := evalAs[int](ada, `JSON.parse(document.getElementById("runner-tests").textContent).tests.length`)
			if got, want := ada.testSummary(), fmt.Sprintf("%d of %d passed", total, total); got != want {
				t.Errorf("%s against its reference solution: %q, want %q", id, got, want)
			}
		}
	})
}

// testSummary is the summary of the newest run's test table.
func (tb *tab) testSummary() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.querySelector("#runner-log .run:last-child .test-summary")?.textContent ?? ""`)
}

// received is something that reached a browser: a response body, a socket frame,
// an event of a stream.
type received struct {
	what string // "frame", "event", "document /s/…", "fetch /…"
	body string
}

// watchBytes records everything the tab's page receives from the network, from now
// on: socket frames, server-sent events, and the bodies of its documents and fetches.
func watchBytes(t *testing.T, tb *tab) func() []received {
	t.Helper()
	var mu sync.Mutex
	var got []received
	add := func(r received) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
	}
	kinds := map[network.RequestID]string{}
	var bodies sync.WaitGroup
	err := chromedp.Listen(tb.ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventWebSocketFrameReceived:
			add(received{"frame", string(e.Response.PayloadData)})
		case *network.EventEventSourceMessageReceived:
			add(received{"event", e.Data})
		case *network.EventResponseReceived:
			switch e.Type {
			case network.ResourceTypeDocument, network.ResourceTypeXHR, network.ResourceTypeFetch, network.ResourceTypeScript:
				mu.Lock()
				kinds[e.RequestID] = strings.ToLower(e.Type.String()) + " " + e.Response.URL
				mu.Unlock()
			}
		case *network.EventLoadingFinished:
			mu.Lock()
			what, ok := kinds[e.RequestID]
			mu.Unlock()
			if !ok {
				return
			}
			bodies.Add(1)
			go func() { // not from the listener: it would wait for itself
				defer bodies.Done()
				ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
				defer cancel()
				res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: e.RequestID})
				if err == nil && !res.Base64encoded {
					add(received{what, string(res.Body)})
				}
			}()
		}
	})
	if err != nil {
		t.Fatalf("watch %s's page: %v", tb.name, err)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("watch %s's page: %v", tb.name, err)
	}
	return func() []received {
		bodies.Wait()
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func mustGetJSON(t *testing.T, u string, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", u, res.StatusCode, err)
	}
}
