package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"
)

// The browser end-to-end tests of the pad: the real duet (run, as main starts it)
// behind a small proxy that can cut its WebSockets, driven in two headless Chromium
// profiles (Ada's and Bob's). Each scenario has its own session and proxy, so the
// scenarios run in parallel on the two browsers, each in its own tabs. The harness is
// in browser_harness_test.go; the scenario's environment (proxy, session, the pad's
// helpers) in browser_pad_test.go.

func TestBrowser(t *testing.T) {
	exe := mustChromium(t, "editor.js")
	base := startDuet(t)
	ada, bob := startPair(t, exe, "ada", "bob")

	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"TypeTogether", typeTogether},
		{"CaretFollowsJoinedTyping", caretFollowsJoinedTyping},
		{"CutWhileTyping", cutWhileTyping},
		{"ReloadOffline", reloadOffline},
		{"CatchUpInSteps", catchUpInSteps},
		{"TwoTabsOffline", twoTabsOffline},
		{"ServerRestart", serverRestart},
		{"RandomEdits", randomEdits},
		{"UndoOwnChanges", undoOwnChanges},
		{"Participants", participants},
		{"LanguageSwitch", languageSwitch},
		{"SessionEnded", sessionEnded},
		{"Budget", budget},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, newEnv(t, base, ada, bob))
		})
	}
}

// ---- scenarios ----

// typeTogether: Ada and Bob type at once (ASCII keystrokes, emoji and CJK inserted
// as text, a paste of 3000 lines); both editors and the server end with the same
// text, in which each one's input is whole.
func typeTogether(t *testing.T, e *env) {
	a, b := e.openBoth(t)

	a.focusEditor()
	a.keys("# warm-up\n")
	waitSame(t, a, b)
	a.ctrlKey(kb.Home) // Ada writes before the text, Bob after it
	b.focusEditor()
	b.ctrlKey(kb.End)

	paste := pasteText(3000)
	var wg sync.WaitGroup
	wg.Go(func() {
		a.keys("ada types ")
		a.insertText("😀 ")
		a.keys("and ")
		a.insertText("中文 ")
		a.paste(paste)
		a.keys("done\n")
	})
	wg.Go(func() {
		b.keys("bob types ")
		b.insertText("中文 😀")
		b.keys(" while ada pastes")
		b.insertText(" 👨‍👩‍👧 🇫🇷")
	})
	wg.Wait()

	want := "ada types 😀 and 中文 " + paste + "done\n" + "# warm-up\n" + "bob types 中文 😀 while ada pastes 👨‍👩‍👧 🇫🇷"
	text := waitSame(t, a, b)
	if text != want {
		t.Errorf("text after typing together:\n got %q…%q (%d units)\nwant %q…%q (%d units)",
			head(text), tail(text), len16(text), head(want), tail(want), len16(want))
	}
	e.checkServer(t, text, a, b)

	// Bob moves: Ada sees his caret with his name.
	b.keys(" ")
	a.waitUntil(`[...document.querySelectorAll("#editor .cm-remoteCaret-label")].some(l => l.textContent === "Bob")`,
		stepTimeout, "Bob's named cursor on Ada's page")
	a.focusEditor()
	a.keys("!")
	b.waitUntil(`[...document.querySelectorAll("#editor .cm-remoteCaret-label")].some(l => l.textContent === "Ada")`,
		stepTimeout, "Ada's named cursor on Bob's page")
	waitSame(t, a, b)
	// Bob selects his line: Ada sees the selection in his colour.
	b.do(stepTimeout, chromedp.KeyEvent(kb.Home, chromedp.KeyModifiers(chromedp.ModifierShift)))
	a.waitUntil(`document.querySelectorAll("#editor .cm-remoteSelection").length > 0`, stepTimeout, "Bob's selection on Ada's page")
	for _, tb := range []*tab{a, b} { // the parser catches up with a big paste in the background
		tb.waitUntil(`document.querySelectorAll("#editor .cm-content .tok-number").length > 10`, stepTimeout, "highlighting")
	}
	a.eval(`document.querySelector("#editor .cm-scroller").scrollTop = 1e9`) // down to Bob's line
	a.waitUntil(`document.querySelectorAll("#editor .cm-remoteSelection").length > 0`, stepTimeout, "Bob's selection drawn")
	a.screenshot("type-together-ada")
	b.screenshot("type-together-bob")
}

// caretFollowsJoinedTyping: one message may hold several updates (the hub joins
// consecutive ones); when they are all one person's typing, that person's caret on
// the others' pages moves past it at once, as it does for a single update, not only
// with their next cursor message. The typist is a program on a socket of its own, so
// that the message surely holds two updates and no cursor message follows them.
func caretFollowsJoinedTyping(t *testing.T, e *env) {
	b := e.bob.open(t, "Bob")
	b.openPad(e.padURL())

	conn, sync := e.dialHub(t) // the test observer types here
	defer conn.Close(websocket.StatusNormalClosure, "")
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	send := func(msg string) {
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	// The typist's caret at the start of the text, then two updates typed there in one message.
	send(fmt.Sprintf(`{"type":"cursor","version":%d,"ranges":[{"anchor":0,"head":0}]}`, sync.Version))
	b.waitUntil(`[...document.querySelectorAll("#editor .cm-remoteCaret-label")].some(l => l.textContent === "test observer")`,
		stepTimeout, "the typist's caret on Bob's page")
	rest := ""
	if n := len16(sync.Content); n > 0 {
		rest = fmt.Sprintf(",%d", n)
	}
	send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"ada","changes":[[0,"abc"]%s]},{"clientID":"ada","changes":[3,[0,"def"]%s]}]}`,
		sync.Version, rest, rest))
	b.waitUntil(`document.querySelector("#editor .cm-line").textContent.startsWith("abcdef")`, stepTimeout, "the typing on Bob's page")
	// Where the typist's caret is drawn, against where "abcdef" ends on the first line.
	b.waitUntil(`(() => {
		const caret = document.querySelector("#editor .cm-remoteCaret").getBoundingClientRect();
		const texts = document.createTreeWalker(document.querySelector("#editor .cm-line"), NodeFilter.SHOW_TEXT);
		let node, at = 6;
		while ((node = texts.nextNode()) && node.length < at) at -= node.length;
		const r = document.createRange();
		r.setStart(node, at);
		r.collapse(true);
		return Math.abs(caret.left - r.getBoundingClientRect().left) < 3;
	})()`, stepTimeout, "the typist's caret after what was typed")
}

// cutWhileTyping: the proxy drops every socket and refuses new ones while Ada keeps
// typing; when sockets are allowed again her page reconnects and nothing is lost.
func cutWhileTyping(t *testing.T, e *env) {
	a, b := e.openBoth(t)
	a.focusEditor()
	a.keys("before the cut\n")
	waitSame(t, a, b)

	e.proxy.cut()
	a.waitUntil(`document.getElementById("connection-status").dataset.state !== "live"`, stepTimeout, "Ada's page to notice the cut")
	a.keys("typed while cut, ")
	a.insertText("with 😀 and 中文")
	a.keys("\nand a second line")
	a.waitUntil(`Number(document.getElementById("connection-status").dataset.pending) > 0`, stepTimeout, "unsaved changes in Ada's status")
	status := a.statusText()
	if !strings.Contains(status, "not saved yet") {
		t.Errorf("Ada's status while cut = %q, want it to count the changes not saved yet", status)
	}
	a.screenshot("cut-while-typing-ada-offline")

	e.proxy.restore()
	a.waitLive(syncTimeout)
	b.waitLive(syncTimeout)
	want := "before the cut\ntyped while cut, with 😀 and 中文\nand a second line"
	text := waitSame(t, a, b)
	if text != want {
		t.Errorf("text after the cut = %q, want %q", text, want)
	}
	e.checkServer(t, text, a, b)
}

// reloadOffline: Ada's page is reloaded while its socket is refused and it holds
// unconfirmed edits; the reloaded page shows them at once, and delivers them (rebased
// over what someone else wrote meanwhile) when sockets are back.
func reloadOffline(t *testing.T, e *env) {
	a := e.ada.open(t, "Ada")
	a.openPad(e.padURL())
	a.focusEditor()
	a.keys("first line\n")
	a.waitSaved()

	e.proxy.cut()
	a.waitUntil(`document.getElementById("connection-status").dataset.state !== "live"`, stepTimeout, "Ada's page to notice the cut")
	a.keys("offline ")
	a.insertText("😀 edit")
	a.waitUntil(`Object.keys(localStorage).some(k => k.startsWith("duet:pad:") && JSON.parse(localStorage.getItem(k)).pending.length === 9)`,
		stepTimeout, "the 9 updates of the offline edit saved in localStorage")
	a.do(stepTimeout, chromedp.Reload())
	a.waitUntil(`!!document.querySelector("#editor[data-ready] .cm-content")`, stepTimeout, "the editor after the reload")
	if got := a.text(); got != "first line\noffline 😀 edit" {
		t.Errorf("text right after reloading offline = %q, want the saved edit restored", got)
	}
	if got := a.statusState(); got == "live" {
		t.Errorf("status after reloading offline = live, want not live while sockets are refused")
	}
	a.screenshot("reload-offline-ada-restored")

	// Meanwhile someone else edits: the restored edit must be rebased over it.
	e.pushFromGo(t, 0, "someone else was here\n")

	e.proxy.restore()
	a.waitLive(syncTimeout)
	a.waitSaved()
	want := "someone else was here\nfirst line\noffline 😀 edit"
	if got := a.text(); got != want {
		t.Errorf("text after coming back = %q, want %q", got, want)
	}
	e.checkServer(t, want, a)
	a.waitUntil(`Object.keys(localStorage).filter(k => k.startsWith("duet:pad:")).length === 0`, stepTimeout,
		"no saved records left once everything is confirmed")
}

// catchUpInSteps: while Ada's page is cut off, someone else writes far more than
// one answer to a pull holds (the test server answers 4 KiB at a time). When she
// comes back, her editor pulls again after each answer marked "more", and is live
// as soon as it has the rest: not after the half minute of silence that would make
// it ask again otherwise.
func catchUpInSteps(t *testing.T, e *env) {
	a := e.ada.open(t, "Ada")
	a.openPad(e.padURL())
	a.focusEditor()
	a.keys("ada\n")
	a.waitSaved()
	before := a.syncedVersion()

	e.proxy.cut()
	a.waitUntil(`document.getElementById("connection-status").dataset.state !== "live"`, stepTimeout, "Ada's page to notice the cut")
	want := "ada\n"
	for i := range 8 { // 8 updates of 2,000 units: 16 KB, four answers at least
		line := strings.Repeat(string(rune('a'+i)), 1999) + "\n"
		e.pushFromGo(t, len16(want), line)
		want += line
	}

	e.proxy.restore()
	a.waitUntil(fmt.Sprintf(`Number(document.getElementById("editor").dataset.syncedVersion) > %d`, before), syncTimeout,
		"the first answer to Ada's pull")
	a.waitLive(5 * time.Second)
	if got := a.text(); got != want {
		t.Errorf("Ada's text after catching up = %q…%q (%d units), want %q…%q (%d units)",
			head(got), tail(got), len16(got), head(want), tail(want), len16(want))
	}
	e.checkServer(t, want, a)
}

// serverRestart: duet stops (sockets closed with 1001 "going away") while Ada keeps
// typing, and starts again on its data; both pages come back and nothing is lost.
func serverRestart(t *testing.T, e *env) {
	dir := t.TempDir()
	first, stop := startDuetIn(t, dir)
	e = newEnv(t, first, e.ada, e.bob) // this scenario's own duet
	a, b := e.openBoth(t)
	a.focusEditor()
	a.keys("before the restart\n")
	waitSame(t, a, b)

	stop()
	a.waitUntil(`document.getElementById("connection-status").dataset.state !== "live"`, stepTimeout, "Ada's page to notice the shutdown")
	a.keys("typed while duet was down")
	second, _ := startDuetIn(t, dir)
	e.backend = second
	e.proxy.setBackend(t, second)

	a.waitLive(syncTimeout)
	b.waitLive(syncTimeout)
	want := "before the restart\ntyped while duet was down"
	if got := waitSame(t, a, b); got != want {
		t.Errorf("text after the restart = %q, want %q", got, want)
	}
	e.checkServer(t, want, a, b)
}

// twoTabsOffline: two tabs of one browser on one session are two clients (their edits
// never pass for each other's); both are closed with unsent edits while sockets are
// cut; the next tab of that browser delivers both: its own editor adopts one, and the
// other goes out in the background.
func twoTabsOffline(t *testing.T, e *env) {
	a1 := e.ada.open(t, "Ada")
	a2 := e.ada.open(t, "Ada")
	a1.openPad(e.padURL())
	a2.openPad(e.padURL())
	a1.focusEditor()
	a1.keys("shared\n")
	waitSame(t, a1, a2)
	a2.focusEditor()
	a2.ctrlKey(kb.Home)
	var wg sync.WaitGroup
	wg.Go(func() { a1.keys("one at the end") })
	wg.Go(func() { a2.keys("two at the start ") })
	wg.Wait()
	if got, want := waitSame(t, a1, a2), "two at the start shared\none at the end"; got != want {
		t.Fatalf("two tabs typing at once: text %q, want %q", got, want)
	}

	e.proxy.cut()
	for _, tb := range []*tab{a1, a2} {
		tb.waitUntil(`document.getElementById("connection-status").dataset.state !== "live"`, stepTimeout, "the page to notice the cut")
	}
	a1.keys(" + offline one")
	a2.keys("offline two + ")
	records := `Object.keys(localStorage).filter(k => k.startsWith("duet:pad:` + e.session + `:")).length`
	a1.waitUntil(records+` === 2`, stepTimeout, "a saved record for each tab")
	a1.close()
	a2.close()
	e.proxy.restore()

	a3 := e.ada.open(t, "Ada")
	a3.openPad(e.padURL())
	a3.waitUntil(`document.getElementById("connection-status").dataset.pending === "0"`, syncTimeout, "both tabs' edits delivered")
	want := "two at the start offline two + shared\none at the end + offline one"
	if got := waitSame(t, a3); got != want {
		t.Errorf("text after reopening = %q, want %q", got, want)
	}
	e.checkServer(t, want, a3)
	a3.waitUntil(records+` === 0`, stepTimeout, "no saved records left after delivery")
}

// randomEdits: both type, move, select, replace and delete at random, near each other,
// through a socket cut in the middle; editors and server must agree at the end (and no
// page may have had to resync: that logs an error, which fails the test).
func randomEdits(t *testing.T, e *env) {
	a, b := e.openBoth(t)
	a.focusEditor()
	a.keys("alpha beta gamma\ndelta epsilon\nzeta eta theta\n")
	waitSame(t, a, b)
	b.focusEditor()
	const ops = 120
	var wg sync.WaitGroup
	for i, tb := range []*tab{a, b} {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i)+1, 42))
			for n := range ops {
				if i == 0 && n == ops/2 {
					e.proxy.cut()
				}
				if i == 0 && n == ops/2+20 {
					e.proxy.restore()
				}
				tb.randomOp(rng)
			}
		})
	}
	wg.Wait()
	e.proxy.restore()
	text := waitSame(t, a, b)
	e.checkServer(t, text, a, b)
}

// randomOp does one random editing action with the keyboard.
func (tb *tab) randomOp(rng *rand.Rand) {
	tb.t.Helper()
	words := []string{"x", "foo", "bar ", "(", ")", "  ", "#"}
	arrows := []string{kb.ArrowLeft, kb.ArrowRight, kb.ArrowUp, kb.ArrowDown, kb.Home, kb.End}
	switch r := rng.IntN(20); {
	case r < 7:
		tb.keys(words[rng.IntN(len(words))])
	case r < 10:
		tb.keys(arrows[rng.IntN(len(arrows))])
	case r < 12:
		tb.do(stepTimeout, chromedp.KeyEvent(arrows[rng.IntN(2)], chromedp.KeyModifiers(chromedp.ModifierShift)))
	case r < 14:
		tb.keys(kb.Backspace)
	case r < 15:
		tb.keys(kb.Delete)
	case r < 16:
		tb.keys("\n")
	case r < 18:
		tb.insertText([]string{"😀", "中文", "é", "🇫🇷", "a😀b"}[rng.IntN(5)])
	default:
		tb.do(stepTimeout, chromedp.KeyEvent(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift)),
			chromedp.KeyEvent(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift)))
		tb.keys("R")
	}
}

// undoOwnChanges: undo takes back one's own typing, never the other person's.
func undoOwnChanges(t *testing.T, e *env) {
	a, b := e.openBoth(t)
	b.focusEditor()
	b.keys("shared\n")
	waitSame(t, a, b)
	a.focusEditor()
	a.ctrlKey(kb.End)
	a.keys("ada was here")
	b.ctrlKey(kb.Home)
	b.keys("bob was here\n")
	waitSame(t, a, b)
	// Ada undoes until her text is gone (typing slowly makes several history events);
	// no step may touch Bob's text, and the last leaves exactly his.
	want := "bob was here\nshared\n"
	for i := 0; ; i++ {
		text := a.text()
		if !strings.Contains(text, "bob was here\n") {
			t.Fatalf("after %d undos Ada's text is %q: Bob's text was undone", i, text)
		}
		if !strings.Contains(text, "ada") {
			break
		}
		if i == 20 {
			t.Fatalf("20 undos left Ada's text at %q", text)
		}
		a.do(stepTimeout, chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	}
	if got := waitSame(t, a, b); got != want {
		t.Errorf("text after Ada's undo = %q, want %q", got, want)
	}
}

// participants (the lead's side: #participants over SSE): both names after joining,
// a "you" marker on one's own entry only, and Bob gone after closing his tab (how long
// each took is logged as a BENCH line, not asserted).
func participants(t *testing.T, e *env) {
	a, b := e.openBoth(t)
	joined := time.Now() // Bob's editor is live: the hub has him
	names := `[...document.querySelectorAll("#participants li")].map(li => li.textContent.replace(/\s+/g, " ").trim())`
	both := names + `.length === 2 && ` + names + `.some(s => s.includes("Bob")) && ` + names + `.some(s => s.includes("Ada"))`
	a.waitUntil(both, stepTimeout, "both names in Ada's participants list")
	b.waitUntil(both, stepTimeout, "both names in Bob's participants list")
	t.Logf("BENCH the participants lists showed both names %v after Bob joined", time.Since(joined).Round(time.Millisecond))
	you := `[...document.querySelectorAll("#participants li")].filter(li => /\byou\b/i.test(li.textContent)).map(li => li.textContent)`
	for _, tb := range []*tab{a, b} {
		if got := evalAs[[]string](tb, you); len(got) != 1 || !strings.Contains(got[0], tb.name) {
			t.Errorf(`%s's list marks %q with "you", want only %s's entry`, tb.name, got, tb.name)
		}
	}
	b.close()
	left := time.Now()
	a.waitUntil(names+`.length === 1 && !`+names+`.some(s => s.includes("Bob"))`, stepTimeout, "Bob gone from Ada's list")
	t.Logf("BENCH Ada's list dropped Bob %v after his tab closed", time.Since(left).Round(time.Millisecond))
}

// languageSwitch (the lead's side: select#language, POSTed by htmx): Ada switches to
// JavaScript; Bob's editor loads the grammar only then and highlights "const".
func languageSwitch(t *testing.T, e *env) {
	a, b := e.openBoth(t)
	a.focusEditor()
	a.keys("const answer = 42")
	waitSame(t, a, b)
	scripts := `performance.getEntriesByType("resource").map(r => r.name).filter(n => /\.js$/.test(n))`
	before := evalAs[[]string](b, scripts)
	if n := evalAs[int](b, `document.querySelectorAll("#editor .tok-keyword").length`); n != 0 {
		t.Errorf("Bob's Python highlighting marks %d keywords in %q, want none", n, "const answer = 42")
	}
	a.waitUntil(`!!document.querySelector("select#language")`, stepTimeout, "the language control on Ada's page")
	a.eval(`(() => { const s = document.querySelector("select#language"); s.value = "javascript"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
	b.waitUntil(`document.getElementById("editor").dataset.languageLoaded === "javascript" && [...document.querySelectorAll("#editor .tok-keyword")].some(k => k.textContent === "const")`,
		stepTimeout, "JavaScript highlighting on Bob's page")
	after := evalAs[[]string](b, scripts)
	t.Logf("scripts Bob's page loaded for JavaScript: %q", after[len(before):])
	if len(after) <= len(before) {
		t.Errorf("Bob's page fetched no script for JavaScript (before %d, after %d): the grammar should load only when used", len(before), len(after))
	}
	b.screenshot("language-switch-bob")
}

// sessionEnded: deleting the session ends every page: a connected one at once (close
// code 4410), and one that was offline meanwhile when it tries to come back. Both say
// so and become read-only.
func sessionEnded(t *testing.T, e *env) {
	a := e.ada.open(t, "Ada")
	b := e.bob.open(t, "Bob")
	a.openPad(e.padURL())
	b.openPad(newCutProxy(t, e.backend).URL + "/s/" + e.session) // Bob's sockets are never cut
	e.proxy.cut()
	a.waitUntil(`document.getElementById("connection-status").dataset.state !== "live"`, stepTimeout, "Ada's page to notice the cut")

	req, _ := http.NewRequest(http.MethodDelete, e.backend+"/sessions/"+e.session, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /sessions/%s = %d, want 204", e.session, res.StatusCode)
	}
	e.proxy.restore()
	for _, tb := range []*tab{b, a} {
		tb.waitUntil(`document.getElementById("connection-status").dataset.state === "ended"`, syncTimeout, "the ended status")
		if got := tb.statusText(); got != "This interview has ended" {
			t.Errorf("%s's status text = %q, want %q", tb.name, got, "This interview has ended")
		}
		if got := evalAs[string](tb, `document.querySelector("#editor .cm-content").contentEditable`); got != "false" {
			t.Errorf("%s's editor contentEditable = %q after the end, want false", tb.name, got)
		}
	}
	b.screenshot("session-ended-bob")
}

// budget measures what the pad page loads before anyone presses Run (the budget: at
// most 200 KB of JavaScript, gzipped), workers included: everything the browser fetched
// through the proxy until the network was quiet for two seconds.
func budget(t *testing.T, e *env) {
	a := e.ada.open(t, "Ada")
	a.openPad(e.padURL())
	const quiet = 2 * time.Second
	deadline := time.Now().Add(syncTimeout)
	var paths []string
	for {
		var idle time.Duration
		paths, idle = e.proxy.requests()
		if idle >= quiet {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page kept fetching for %v: %q", syncTimeout, paths)
		}
		select { // poll the request log until it has been quiet long enough
		case <-time.After(quiet - idle):
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
	// What the page itself fetched (the rest came from its workers).
	inPage := map[string]bool{}
	for _, u := range evalAs[[]string](a, `performance.getEntriesByType("resource").map(r => new URL(r.name).pathname)`) {
		inPage[u] = true
	}
	var all, page sizes
	var rows []string
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] || !strings.HasPrefix(p, "/static/") {
			continue
		}
		seen[p] = true
		var f sizes
		f.raw, f.gz, f.br = fetchSizes(t, e.backend+p)
		js := path.Ext(p) == ".js" || path.Ext(p) == ".mjs"
		who := "worker or browser"
		if inPage[p] {
			who = "page"
		}
		if !js {
			who += ", not JavaScript"
		}
		rows = append(rows, fmt.Sprintf("%9d %9d %9d  %s (%s)", f.raw, f.gz, f.br, p, who))
		if js {
			all.add(f)
			if inPage[p] {
				page.add(f)
			}
		}
	}
	t.Logf("files fetched before Run:\n%9s %9s %9s  file\n%s\nJavaScript of the page: %d raw, %d gzip, %d br\nJavaScript of the page and its workers: %d raw, %d gzip, %d br",
		"raw", "gzip", "br", strings.Join(rows, "\n"), page.raw, page.gz, page.br, all.raw, all.gz, all.br)
	if all.gz > 200_000 {
		t.Errorf("the pad loads %d bytes of JavaScript gzipped before Run (%d in the page, the rest in workers), over the budget of 200 KB",
			all.gz, page.gz)
	}

	// Time to a usable editor: the island's performance marks, in ms after navigation
	// start; first on a fresh profile, then reloaded with the files in the HTTP cache.
	const marks = `Object.fromEntries(["duet:editor-ready", "duet:editor-live"].map(n => [n, performance.getEntriesByName(n)[0]?.startTime ?? -1]))`
	cold := evalAs[map[string]float64](a, marks)
	a.do(stepTimeout, chromedp.Reload())
	a.waitLive(stepTimeout)
	warm := evalAs[map[string]float64](a, marks)
	t.Logf("editor usable / live after navigation start: first load %.0f / %.0f ms, reload %.0f / %.0f ms",
		cold["duet:editor-ready"], cold["duet:editor-live"], warm["duet:editor-ready"], warm["duet:editor-live"])
	if cold["duet:editor-ready"] <= 0 || warm["duet:editor-ready"] <= 0 {
		t.Errorf("no duet:editor-ready performance mark (first load %v, reload %v)", cold, warm)
	}
}
