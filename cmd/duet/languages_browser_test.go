package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"
)

// The browser tests of TypeScript, SQL and the Vim keys, with the runner
// tests' harness: the real duet, Ada's Chromium (light) and Bob's (dark) on one
// session. Ada runs; Bob's page shows her runs. The scenarios run in order in the same
// tabs. Figures are logged as BENCH lines (go test -v), not asserted.

func TestLanguagesBrowser(t *testing.T) {
	exe := mustChromium(t, "runner.js", "runner-js-worker.js", "runner-sql-worker.js", "sql-wasm.wasm")
	base, _ := startRun(t, "-store", "memory")
	adaBrowser, bobBrowser := startPair(t, exe, "Ada", "Bob")
	ada, bob := openRunnerTab(t, adaBrowser, "Ada"), openRunnerTab(t, bobBrowser, "Bob")

	ada.navigate(base + "/")
	pad := evalAs[string](ada, `fetch("/s", {method: "POST", body: new URLSearchParams({language: "sql", name: "Ada"})}).then(r => r.url)`)
	if !strings.Contains(pad, "/s/") {
		t.Fatalf("starting a session ended at %q", pad)
	}
	ada.navigate(pad)
	ada.waitPad()
	bob.navigate(base + "/")
	evalAs[string](bob, `fetch(`+jsString(pad+"/name")+`, {method: "POST", body: new URLSearchParams({name: "Bob"})}).then(r => r.url)`)
	bob.navigate(pad)
	bob.waitPad()
	for _, tb := range []*tab{ada, bob} {
		tb.waitUntil(`document.getElementById("editor").dataset.languageLoaded === "sql"`, stepTimeout, "the SQL grammar")
	}

	t.Run("SQLSeeded", func(t *testing.T) {
		ada.t, bob.t = t, t
		if !evalAs[bool](ada, `!document.querySelector("[data-runner-sql]").hidden && document.getElementById("sql-seed").checked`) {
			t.Error("the SQL options are not shown, or the example database is not the default")
		}
		ada.setCode("-- who earns most in Engineering\nSELECT name, salary FROM employees WHERE department_id = 1 ORDER BY salary DESC;\n")
		start := time.Now()
		ada.click("#run-button")
		ada.waitStatus("ok", runnerLoad)
		t.Logf("BENCH SQL cold load to the end of the first run (click → status seen by the test): %v; %s",
			time.Since(start).Round(time.Millisecond), ada.bytesLoaded())
		want := [][]string{{"name", "salary"}, {"Amara Okafor", "185000"}, {"Lin Wei", "162000"}, {"Diego Fernández", "138000"},
			{"Priya Raman", "112000"}, {"Tomás Novak", "108000"}}
		checkTable(t, ada, `#runner-log .run:last-child`, 0, want, "5 rows.")

		ada.setCode("CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_id INTEGER REFERENCES employees(id));\n" +
			"INSERT INTO pets (name, owner_id) VALUES ('Rex', 1), ('Mochi', 7);\n" +
			"SELECT p.name AS pet, e.name AS owner, d.name AS department\n  FROM pets p JOIN employees e ON e.id = p.owner_id JOIN departments d ON d.id = e.department_id\n  ORDER BY pet;\n")
		start = time.Now()
		ada.click("#run-button")
		ada.waitStatus("ok", stepTimeout)
		t.Logf("BENCH SQL warm run (click → status seen by the test): %v", time.Since(start).Round(time.Millisecond))
		if out := ada.lastOutput(); !strings.Contains(out, "2 rows inserted.") {
			t.Errorf("output lacks the INSERT's count:\n%s", out)
		}
		want = [][]string{{"pet", "owner", "department"}, {"Mochi", "Kenji Watanabe", "Design"}, {"Rex", "Amara Okafor", "Engineering"}}
		checkTable(t, ada, `#runner-log .run:last-child`, 0, want, "2 rows.")
		bob.waitUntil(`[...document.querySelectorAll("#runner-log .run[data-mine=false]")].some(r => r.dataset.status === "ok" &&
			r.querySelector(".run-table td")?.textContent === "Mochi")`, stepTimeout, "Ada's table on Bob's page")
		checkTable(t, bob, `#runner-log .run[data-mine=false]:last-child`, 0, want, "2 rows.")
		ada.screenshot("sql-table-ada")
		bob.screenshot("sql-table-bob")
	})

	t.Run("SQLErrors", func(t *testing.T) {
		ada.t, bob.t = t, t
		ada.setCode("SELECT 1 AS one;\n\nSELEC name\n  FROM employees;\n")
		ada.click("#run-button")
		ada.waitStatus("error", stepTimeout)
		out := ada.lastOutput()
		for _, want := range []string{`Error: near "SELEC": syntax error`, "at main.sql:3:1", "3 | SELEC name"} {
			if !strings.Contains(out, want) {
				t.Errorf("syntax error output lacks %q:\n%s", want, out)
			}
		}
		checkTable(t, ada, `#runner-log .run:last-child`, 0, [][]string{{"one"}, {"1"}}, "1 row.") // what ran before the error

		ada.setCode("INSERT INTO departments (id, name, city) VALUES (9, 'Legal', 'Rome');\nUPDATE employees\n   SET department_id = 42\n WHERE id = 1 AND nope = 1;\n")
		ada.click("#run-button")
		ada.waitStatus("error", stepTimeout)
		if out := ada.lastOutput(); !strings.Contains(out, "1 row inserted.") || !strings.Contains(out, "no such column: nope") || !strings.Contains(out, "main.sql:2:") {
			t.Errorf("a failing second statement shows as:\n%s", out)
		}

		// An empty database instead of the example.
		ada.click("#sql-seed")
		ada.setCode("SELECT count(*) FROM employees;\n")
		ada.click("#run-button")
		ada.waitStatus("error", stepTimeout)
		if out := ada.lastOutput(); !strings.Contains(out, "no such table: employees") {
			t.Errorf("with an empty database, the example's table should not exist:\n%s", out)
		}
		ada.click("#sql-seed")
		ada.click("#run-button")
		ada.waitStatus("ok", stepTimeout)
		checkTable(t, ada, `#runner-log .run:last-child`, 0, [][]string{{"count(*)"}, {"16"}}, "1 row.")
	})

	t.Run("SQLManyRows", func(t *testing.T) {
		ada.t, bob.t = t, t
		ada.setCode("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)\nSELECT i, i * i AS square, printf('row %d', i) AS label FROM n;\n")
		longBefore := evalAs[float64](ada, `(window.__longTasks || []).length`)
		start := time.Now()
		ada.click("#run-button")
		ada.waitStatus("ok", stepTimeout)
		took := time.Since(start)
		lag := evalAs[float64](ada, `new Promise(r => { const t = performance.now(); setTimeout(() => r(performance.now() - t), 0); })`)
		t.Logf("BENCH 100,000 rows (click → status seen by the test): %v; timer lag right after: %.1f ms; main-thread long tasks during the run (ms): %s",
			took.Round(time.Millisecond), lag, evalAs[string](ada, fmt.Sprintf(`JSON.stringify((window.__longTasks || []).slice(%v).map(Math.round))`, longBefore)))
		if n := evalAs[float64](ada, `document.querySelectorAll("#runner-log .run:last-child .run-table tbody tr").length`); n != 1000 {
			t.Errorf("the page shows %v rows of 100,000, want the first 1,000", n)
		}
		if got := evalAs[string](ada, `document.querySelector("#runner-log .run:last-child .run-table-count").textContent`); got != "Showing the first 1,000 of 100,000 rows." {
			t.Errorf("row count = %q", got)
		}
		// Bob gets as many rows as fit in one message, and the same count of all.
		bob.waitUntil(`(document.querySelector("#runner-log .run[data-mine=false]:last-child .run-table-count")?.textContent ?? "").endsWith(" of 100,000 rows.")`,
			stepTimeout, "the big table on Bob's page")
		t.Logf("Bob's page: %s", evalAs[string](bob, `document.querySelector("#runner-log .run[data-mine=false]:last-child .run-table-count").textContent`))
	})

	t.Run("SQLStopAndLimit", func(t *testing.T) {
		ada.t, bob.t = t, t
		endless := "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)\nSELECT count(*) FROM n;\n"
		ada.setCode(endless)
		ada.click("#run-button")
		ada.waitUntil(`document.querySelector("#runner-log .run:last-child")?.dataset.status === "running"`, stepTimeout, "the run to start")
		ada.sleepFor(300 * time.Millisecond) // let it get going: not an assertion
		start := time.Now()
		ada.click("#stop-button")
		ada.waitStatus("stopped", stepTimeout)
		t.Logf("BENCH Stop of an endless SQL query: %v", time.Since(start).Round(time.Millisecond))
		ada.setCode("SELECT 'after stop' AS said;\n")
		ada.click("#run-button")
		ada.waitStatus("ok", stepTimeout)
		checkTable(t, ada, `#runner-log .run:last-child`, 0, [][]string{{"said"}, {"after stop"}}, "1 row.")

		ada.setLimit(2)
		ada.setCode(endless)
		ada.click("#run-button")
		ada.waitStatus("timeout", stepTimeout)
		if !strings.Contains(evalAs[string](ada, `document.querySelector("#runner-log .run:last-child").textContent`), "time limit") {
			t.Error("the run does not say it hit the time limit")
		}
		ada.setLimit(10)

		// SQLite was fetched once for all these runs and workers, and may be cached for good.
		wasm := `performance.getEntriesByType("resource").filter(e => e.name.includes("/static/sql-wasm-"))`
		if n := evalAs[float64](ada, wasm+`.length`); n != 1 {
			t.Errorf("the page fetched SQLite's wasm %v times, want once", n)
		}
		if cc := evalAs[string](ada, `fetch(`+wasm+`[0].name).then(r => r.headers.get("Cache-Control"))`); !strings.Contains(cc, "immutable") {
			t.Errorf("sql-wasm is served with Cache-Control %q, want it immutable", cc)
		}
	})

	t.Run("SwitchWhileTyping", func(t *testing.T) {
		ada.t, bob.t = t, t
		ada.setCode("")
		ada.eval(`document.querySelector("#editor .cm-content").focus()`)
		typed := "let total: number = 0; // typed during the switch"
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, ch := range typed {
				ada.keys(string(ch))
			}
		})
		bob.eval(`(() => { const s = document.getElementById("language"); s.value = "typescript"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
		wg.Wait()
		for _, tb := range []*tab{ada, bob} {
			tb.waitUntil(`document.getElementById("editor").dataset.languageLoaded === "typescript" &&
				document.getElementById("output").dataset.language === "typescript" &&
				document.getElementById("connection-status").dataset.pending === "0"`, stepTimeout, "TypeScript on "+tb.name+"'s page")
		}
		got := sameText(t, ada, bob)
		if got != typed {
			t.Errorf("text after switching while Ada typed = %q, want %q", got, typed)
		}
		if n := evalAs[float64](ada, `[...document.querySelectorAll("#editor .tok-keyword")].filter(k => k.textContent === "let").length`); n != 1 {
			t.Errorf("TypeScript highlighting marks %v let keywords, want 1", n)
		}
		if !evalAs[bool](ada, `document.querySelector("[data-runner-sql]").hidden`) {
			t.Error("the SQL options are still shown in TypeScript")
		}
	})

	t.Run("TypeScript", func(t *testing.T) {
		ada.t, bob.t = t, t
		ada.setCode(`interface Point { x: number; y: number }
function largest<T>(items: T[], score: (item: T) => number): T | undefined {
  let best: T | undefined;
  for (const item of items) if (best === undefined || score(item) > score(best)) best = item;
  return best;
}
enum Direction { Up, Down }
const points: Point[] = [{ x: 1, y: 2 }, { x: 5, y: 1 }];
console.log("largest:", largest<Point>(points, (p) => p.x), Direction[Direction.Down]);
`)
		start := time.Now()
		ada.click("#run-button")
		ada.waitStatus("ok", runnerLoad)
		t.Logf("BENCH TypeScript first run, compiler loaded on the click (click → status seen by the test): %v", time.Since(start).Round(time.Millisecond))
		if got, want := ada.lastOutput(), "largest: { x: 5, y: 1 } Down\n"; got != want {
			t.Errorf("output = %q, want %q", got, want)
		}
		start = time.Now()
		ada.click("#run-button")
		ada.waitStatus("ok", stepTimeout)
		t.Logf("BENCH TypeScript warm run (click → status seen by the test): %v", time.Since(start).Round(time.Millisecond))

		code := `type Account = { id: number; balance: number };
const refuse = (account: Account, why: string): never => { throw new Error(why); };
function withdraw(account: Account, amount: number): number {
  if (amount > account.balance) refuse(account, "insufficient funds: " + account.balance + " < " + amount);
  return account.balance - amount;
}
console.log(withdraw({ id: 1, balance: 10 }, 3));
withdraw({ id: 2, balance: 5 }, 8);
`
		lines := strings.Split(code, "\n")
		col := func(line int, s string) string {
			return fmt.Sprintf("main.ts:%d:%d", line, strings.Index(lines[line-1], s)+1)
		}
		ada.setCode(code)
		ada.click("#run-button")
		ada.waitStatus("error", stepTimeout)
		out := ada.lastOutput()
		for _, want := range []string{"7\n", "Uncaught Error: insufficient funds: 5 < 8", "at refuse (" + col(2, "new Error") + ")",
			"at withdraw (" + col(4, "refuse(account") + ")", col(8, "withdraw(")} {
			if !strings.Contains(out, want) {
				t.Errorf("TypeScript error lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "main.js") {
			t.Errorf("the error names main.js, not the TypeScript:\n%s", out)
		}
		ada.screenshot("typescript-error-ada")
		bob.waitUntil(`[...document.querySelectorAll("#runner-log .run[data-mine=false]")].some(r => r.querySelector(".run-out").textContent.includes("insufficient funds: 5 < 8"))`,
			stepTimeout, "Ada's TypeScript error on Bob's page")
		bob.screenshot("typescript-error-bob")

		ada.setCode("let ok = true;\nlet x: = 1;\n")
		ada.click("#run-button")
		ada.waitStatus("error", stepTimeout)
		if out := ada.lastOutput(); !strings.Contains(out, "Uncaught SyntaxError: Unexpected token") || !strings.Contains(out, "main.ts:2:8") {
			t.Errorf("a syntax error on line 2 shows as:\n%s", out)
		}

		ada.setCode("let n: number = 0;\nwhile (true) { n++; }\n")
		ada.click("#run-button")
		ada.waitUntil(`document.querySelector("#runner-log .run:last-child")?.dataset.status === "running"`, stepTimeout, "the run to start")
		ada.sleepFor(300 * time.Millisecond) // let it get going: not an assertion
		start = time.Now()
		ada.click("#stop-button")
		ada.waitStatus("stopped", stepTimeout)
		t.Logf("BENCH Stop of a TypeScript loop: %v", time.Since(start).Round(time.Millisecond))

		ada.setLimit(2)
		ada.setCode("const spin = (): void => { for (;;) {} };\nspin();\n")
		ada.click("#run-button")
		ada.waitStatus("timeout", stepTimeout)
		ada.setLimit(10)

		// The compiler (sucrase: the chunk with its option names) came once, as a chunk
		// that may be cached for good.
		sucrase := `performance.getEntriesByType("resource").map(e => e.name).filter(n => /\/static\/chunk-/.test(n))`
		chunks := evalAs[[]string](ada, sucrase)
		var compiler []string
		for _, u := range chunks {
			if evalAs[bool](ada, `fetch(`+jsString(u)+`).then(r => r.text()).then(s => s.includes("enableLegacyTypeScriptModuleInterop"))`) {
				compiler = append(compiler, u)
			}
		}
		if len(compiler) != 1 {
			t.Errorf("the page fetched the TypeScript compiler %d times (%q), want once", len(compiler), compiler)
		} else if cc := evalAs[string](ada, `fetch(`+jsString(compiler[0])+`).then(r => r.headers.get("Cache-Control"))`); !strings.Contains(cc, "immutable") {
			t.Errorf("the compiler's chunk is served with Cache-Control %q, want it immutable", cc)
		}
	})

	t.Run("Vim", func(t *testing.T) {
		ada.t, bob.t = t, t
		ada.setCode("const shared = 1;\n")
		before := evalAs[float64](ada, `performance.getEntriesByType("resource").length`)
		start := time.Now()
		ada.eval(`(() => { const s = document.getElementById("keymap"); s.value = "vim"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
		ada.waitUntil(`document.getElementById("editor").dataset.keymap === "vim" && !!document.querySelector("#editor .cm-vim-panel")`, stepTimeout, "Vim keys on Ada's page")
		t.Logf("BENCH Vim keys, first pick (change → Vim's panel seen by the test): %v", time.Since(start).Round(time.Millisecond))
		t.Logf("scripts Ada's page loaded for Vim: %s", evalAs[string](ada, `JSON.stringify(performance.getEntriesByType("resource").slice(`+fmt.Sprint(before)+`).map(e => [new URL(e.name).pathname, e.transferSize]))`))
		if evalAs[string](bob, `document.getElementById("editor").dataset.keymap`) != "default" {
			t.Error("Ada's keys changed Bob's")
		}
		ada.eval(`document.querySelector("#editor .cm-content").focus()`)
		// Normal mode: G goes to the last line, o opens a line below it; type; Escape.
		ada.press("Go")
		ada.press("let fromVim = 2;")
		ada.press(kb.Escape)
		bob.eval(`(() => { const view = document.querySelector("#editor .cm-content").cmTile.root.view;
			view.dispatch({changes: {from: 0, insert: "// Bob\n"}}); })()`)
		want := "// Bob\nconst shared = 1;\n\nlet fromVim = 2;"
		if got := sameText(t, ada, bob); got != want && got != "// Bob\nconst shared = 1;\nlet fromVim = 2;\n" {
			t.Errorf("text after typing in Vim = %q", got)
		}
		// u in normal mode undoes Ada's typing, then the line o opened (CodeMirror's
		// history keeps them as two steps), never Bob's line.
		ada.press("u")
		ada.waitUntil(`!document.getElementById("editor").duetEditor.getText().includes("fromVim")`, stepTimeout, "Vim's undo")
		for i := 0; ; i++ {
			got := sameText(t, ada, bob)
			if !strings.HasPrefix(got, "// Bob\nconst shared = 1;\n") {
				t.Fatalf("after %d more u the text is %q: Bob's line or the shared text was undone", i, got)
			}
			if got == "// Bob\nconst shared = 1;\n" {
				break
			}
			if i == 3 {
				t.Fatalf("u left %q, want Ada's insert gone", got)
			}
			ada.press("u")
		}
		ada.screenshot("vim-ada")
		// Back to the standard keys: typing inserts at once.
		ada.eval(`(() => { const s = document.getElementById("keymap"); s.value = "default"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
		ada.waitUntil(`document.getElementById("editor").dataset.keymap === "default" && !document.querySelector("#editor .cm-vim-panel")`, stepTimeout, "the standard keys")
	})

	t.Run("Replay", func(t *testing.T) {
		ada.t = t
		ada.navigate(pad + "/replay")
		ada.waitUntil(`document.querySelectorAll(".run-link").length > 0`, stepTimeout, "the replay's runs")
		// The second run of the session: the pets table.
		ada.eval(`document.querySelectorAll(".run-link")[1].click()`)
		ada.waitUntil(`!!document.querySelector("#replay-run .run-table")`, stepTimeout, "the run's table on the replay")
		want := [][]string{{"pet", "owner", "department"}, {"Mochi", "Kenji Watanabe", "Design"}, {"Rex", "Amara Okafor", "Engineering"}}
		checkTable(t, ada, "#replay-run", 0, want, "2 rows.")
		ada.eval(`document.getElementById("replay-run").scrollIntoView()`)
		ada.screenshot("replay-sql-table-ada")
	})
	ada.t, bob.t = t, t
}

// checkTable compares the i-th result table inside the element sel with want (the
// header row first) and its row count line.
func checkTable(t *testing.T, tb *tab, sel string, i int, want [][]string, count string) {
	t.Helper()
	tb.waitUntil(fmt.Sprintf(`document.querySelectorAll(%s).length > %d`, jsString(sel+" .run-table"), i), stepTimeout, "a result table")
	js := fmt.Sprintf(`(() => { const t = document.querySelectorAll(%s)[%d];
		return JSON.stringify({rows: [...t.querySelectorAll("tr")].map(r => [...r.children].map(c => c.textContent)),
			count: t.querySelector(".run-table-count").textContent}); })()`, jsString(sel+" .run-table"), i)
	got := evalAs[string](tb, js)
	wantJSON := fmt.Sprintf(`{"rows":%s,"count":%s}`, mustJSON(want), jsString(count))
	if got != wantJSON {
		t.Errorf("%s's table %d in %s = %s, want %s", tb.name, i, sel, got, wantJSON)
	}
}

// sameText waits until both editors have confirmed everything and show one text.
func sameText(t *testing.T, a, b *tab) string {
	t.Helper()
	settled := `document.getElementById("connection-status").dataset.pending === "0"`
	a.waitUntil(settled, stepTimeout, "Ada's edits confirmed")
	b.waitUntil(settled, stepTimeout, "Bob's edits confirmed")
	text := evalAs[string](a, `document.getElementById("editor").duetEditor.getText()`)
	b.waitUntil(`document.getElementById("editor").duetEditor.getText() === `+jsString(text), stepTimeout, "Bob's editor to show Ada's text")
	return text
}

// press types s as a keyboard does: each key a keydown carrying its text, so that a
// keymap that handles the keydown (Vim's normal mode) also keeps the text out.
// chromedp's KeyEvent sends the text in a separate char event, which would insert it
// anyway. kb.Escape is sent as the Escape key.
func (tb *tab) press(s string) {
	tb.t.Helper()
	for _, r := range s {
		key, text, code := string(r), string(r), int64(0)
		if s == kb.Escape {
			key, text, code = "Escape", "", 27
		}
		tb.do(stepTimeout, chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Text: text, UnmodifiedText: text,
				WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code}
			if _, err := cdp.Call(ctx, target, input.DispatchKeyEvent, down); err != nil {
				return err
			}
			up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: key, WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code}
			_, err := cdp.Call(ctx, target, input.DispatchKeyEvent, up)
			return err
		}))
	}
}

// setLimit picks the runner's time limit, in seconds.
func (tb *tab) setLimit(s int) {
	tb.t.Helper()
	tb.eval(fmt.Sprintf(`(() => { const s = document.getElementById("run-limit"); s.value = "%d"; s.dispatchEvent(new Event("change")); })()`, s))
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // [][]string always marshals
	return string(b)
}

// TestLanguageBudget measures what the pad loads before anyone presses Run in each
// language (at most 200 KB of JavaScript, gzipped, workers included), with the
// browser tests' budget scenario on a session switched to that language.
func TestLanguageBudget(t *testing.T) {
	exe := mustChromium(t, "editor.js")
	base := startDuet(t)
	ada, err := startBrowser(t, exe, "ada", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"python", "javascript", "typescript", "sql"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t, base, ada, nil)
			setLanguage(t, e, lang)
			budget(t, e)
		})
	}
}

// setLanguage switches a session's language as a participant would, over the socket.
func setLanguage(t *testing.T, e *env, lang string) {
	t.Helper()
	conn, _ := e.dialHub(t)
	defer conn.Close(websocket.StatusNormalClosure, "")
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"language","language":"`+lang+`"}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the language change: %v", err)
		}
		if strings.Contains(string(data), `"type":"language"`) {
			return
		}
	}
}
