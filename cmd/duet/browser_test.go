package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/static"
)

// The browser end-to-end tests of issue 5: the real duet (run, as main starts it) behind
// a small proxy that can cut its WebSockets, driven in two headless Chromium profiles
// (Ada's and Bob's) with chromedp. Each scenario has its own session and proxy, so the
// scenarios run in parallel on the two browsers, each in its own tabs.
//
// `go test -short` skips them; otherwise they need Debian's chromium on PATH and the
// built assets (`make assets`), and fail without them.

// Every wait in a scenario is bounded by one of these.
const (
	stepTimeout = 20 * time.Second // one navigation, one wait for a condition
	syncTimeout = 45 * time.Second // convergence after a reconnection (backoff included)
)

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the headless Chromium tests")
	}
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser tests need Debian's chromium on PATH (apt-get install chromium), or -short to skip them: %v", err)
	}
	if _, ok := static.Lookup("editor.js"); !ok {
		t.Fatal("the editor island is not built: run `make assets` (go run ./cmd/buildassets), then test again")
	}
	base := startDuet(t)

	// Two profiles, started at once: a cold Chromium takes seconds here.
	var ada, bob *browser
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { ada, errA = startBrowser(t, exe, "ada", false) })
	wg.Go(func() { bob, errB = startBrowser(t, exe, "bob", true) })
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}

	scenarios := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"TypeTogether", typeTogether},
		{"CutWhileTyping", cutWhileTyping},
		{"ReloadOffline", reloadOffline},
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

// participants (the lead's side: #participants over SSE): both names within 2 s of
// joining, a "you" marker on one's own entry only, and Bob gone within 2 s of closing
// his tab.
func participants(t *testing.T, e *env) {
	a, b := e.openBoth(t)
	joined := time.Now() // Bob's editor is live: the hub has him
	names := `[...document.querySelectorAll("#participants li")].map(li => li.textContent.replace(/\s+/g, " ").trim())`
	both := names + `.length === 2 && ` + names + `.some(s => s.includes("Bob")) && ` + names + `.some(s => s.includes("Ada"))`
	a.waitUntil(both, stepTimeout, "both names in Ada's participants list")
	b.waitUntil(both, stepTimeout, "both names in Bob's participants list")
	if d := time.Since(joined); d > 2*time.Second {
		t.Errorf("the participants lists showed both names %v after Bob joined, want at most 2 s", d.Round(time.Millisecond))
	}
	you := `[...document.querySelectorAll("#participants li")].filter(li => /\byou\b/i.test(li.textContent)).map(li => li.textContent)`
	for _, tb := range []*tab{a, b} {
		if got := evalAs[[]string](tb, you); len(got) != 1 || !strings.Contains(got[0], tb.name) {
			t.Errorf(`%s's list marks %q with "you", want only %s's entry`, tb.name, got, tb.name)
		}
	}
	b.close()
	left := time.Now()
	a.waitUntil(names+`.length === 1 && !`+names+`.some(s => s.includes("Bob"))`, stepTimeout, "Bob gone from Ada's list")
	if d := time.Since(left); d > 2*time.Second {
		t.Errorf("Ada's list dropped Bob %v after his tab closed, want at most 2 s", d.Round(time.Millisecond))
	}
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
		if got := tb.statusText(); got != "This session was ended" {
			t.Errorf("%s's status text = %q, want %q", tb.name, got, "This session was ended")
		}
		if got := evalAs[string](tb, `document.querySelector("#editor .cm-content").contentEditable`); got != "false" {
			t.Errorf("%s's editor contentEditable = %q after the end, want false", tb.name, got)
		}
	}
	b.screenshot("session-ended-bob")
}

// budget measures what the pad page loads before anyone presses Run (issue 5: at most
// 200 KB of JavaScript, gzipped), workers included: everything the browser fetched
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
		t.Errorf("the pad loads %d bytes of JavaScript gzipped before Run (%d in the page, the rest in workers), over the 200 KB budget of issue 5",
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

// ---- the environment of one scenario ----

type env struct {
	backend string // duet itself
	proxy   *cutProxy
	session string
	token   string
	ada     *browser
	bob     *browser
}

func newEnv(t *testing.T, backend string, ada, bob *browser) *env {
	t.Helper()
	e := &env{backend: backend, proxy: newCutProxy(t, backend), ada: ada, bob: bob}
	e.session, e.token = createSession(t, backend)
	return e
}

// padURL is the session page through the proxy.
func (e *env) padURL() string {
	return e.proxy.URL + "/s/" + e.session
}

// openBoth opens the pad in a tab of Ada's browser and one of Bob's.
func (e *env) openBoth(t *testing.T) (a, b *tab) {
	t.Helper()
	a, b = e.ada.open(t, "Ada"), e.bob.open(t, "Bob")
	a.openPad(e.padURL())
	b.openPad(e.padURL())
	return a, b
}

func createSession(t *testing.T, base string) (id, token string) {
	t.Helper()
	res, err := http.Post(base+"/sessions", "application/json", strings.NewReader(`{"language":"python"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s struct{ ID, OwnerToken string }
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /sessions = %d, %v", res.StatusCode, err)
	}
	return s.ID, s.OwnerToken
}

// checkServer compares the server's document (the hub's text, read by a socket of its
// own, and the version of GET /sessions/{id}) with want and with the pages' versions.
func (e *env) checkServer(t *testing.T, want string, tabs ...*tab) {
	t.Helper()
	version, text := e.hubState(t)
	if text != want {
		t.Errorf("server text = %q…%q (%d units), want the editors' %q…%q (%d units)",
			head(text), tail(text), len16(text), head(want), tail(want), len16(want))
	}
	res, err := http.Get(e.backend + "/sessions/" + e.session)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info struct{ Version int }
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Version != version {
		t.Errorf("GET /sessions/%s version = %d, hub's sync says %d", e.session, info.Version, version)
	}
	for _, tb := range tabs {
		if got := tb.syncedVersion(); got != version {
			t.Errorf("%s's editor is at version %d, server at %d", tb.name, got, version)
		}
	}
}

// hubState joins the session with a raw socket (to the server, not through the proxy)
// and returns the version and text of its sync message.
func (e *env) hubState(t *testing.T) (int, string) {
	t.Helper()
	conn, sync := e.dialHub(t)
	conn.Close(websocket.StatusNormalClosure, "")
	return sync.Version, sync.Content
}

type syncMsg struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	Content string `json:"content"`
}

func (e *env) dialHub(t *testing.T) (*websocket.Conn, syncMsg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.backend, "http") + "/ws/" + e.session + "?userName=test+observer&userId=" + uuid.NewString()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial the hub: %v", err)
	}
	conn.SetReadLimit(16 << 20)
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read sync: %v", err)
	}
	var m syncMsg
	if err := json.Unmarshal(data, &m); err != nil || m.Type != "sync" {
		t.Fatalf("first message %.100s: want sync (%v)", data, err)
	}
	return conn, m
}

// pushFromGo is another participant editing straight on the server: insert text at pos.
func (e *env) pushFromGo(t *testing.T, pos int, text string) {
	t.Helper()
	conn, sync := e.dialHub(t)
	defer conn.Close(websocket.StatusNormalClosure, "")
	n := len16(sync.Content)
	lines, _ := json.Marshal(strings.Split(text, "\n"))
	changes := fmt.Sprintf("[[0,%s]", strings.TrimPrefix(string(lines), "["))
	if pos > 0 {
		changes = fmt.Sprintf("[%d,%s", pos, strings.TrimPrefix(changes, "["))
	}
	if n > pos {
		changes = strings.TrimSuffix(changes, "]") + fmt.Sprintf(",%d]", n-pos)
	}
	msg := fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"go-test","changes":%s}]}`, sync.Version, changes)
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the confirmation of %s: %v", msg, err)
		}
		if strings.Contains(string(data), `"clientID":"go-test"`) {
			return
		}
		if strings.Contains(string(data), `"type":"error"`) {
			t.Fatalf("edit %s refused: %s", msg, data)
		}
	}
}

// sizes are the bytes of files as sent raw, gzipped and in brotli.
type sizes struct{ raw, gz, br int }

func (s *sizes) add(f sizes) {
	s.raw += f.raw
	s.gz += f.gz
	s.br += f.br
}

// fetchSizes returns the bytes of one static file as sent raw, gzipped and in brotli.
func fetchSizes(t *testing.T, u string) (raw, gz, br int) {
	t.Helper()
	size := func(enc string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept-Encoding", enc) // set by hand: the transport then leaves the body as sent
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		n, _ := io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", u, res.StatusCode)
		}
		if got := res.Header.Get("Content-Encoding"); enc != "identity" && got != enc {
			t.Errorf("GET %s with Accept-Encoding %s: Content-Encoding %q", u, enc, got)
		}
		return int(n)
	}
	return size("identity"), size("gzip"), size("br")
}

// ---- the server and the proxy ----

// startDuet runs the real program (its default SQLite store, in a temporary folder)
// on a free port until the test ends.
func startDuet(t *testing.T) string {
	t.Helper()
	base, _ := startDuetIn(t, t.TempDir())
	return base
}

// startDuetIn runs the real program with its data in dir, until stop is called or
// the test ends.
func startDuetIn(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	return startRun(t, "-data-dir", dir)
}

// cutProxy passes everything to duet (WebSockets included, which httputil supports)
// and can cut the sockets: drop every open one and refuse new ones with 503, while
// pages and everything else are still served.
type cutProxy struct {
	*httptest.Server
	mu      sync.Mutex
	backend *url.URL // where requests go; switched when duet restarts
	isCut   bool
	conns   map[net.Conn]struct{} // client sides of the proxied sockets
	fetched []string              // request paths, in order
	last    time.Time             // when the last request came
}

func newCutProxy(t *testing.T, backend string) *cutProxy {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{backend: target, conns: map[net.Conn]struct{}{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		p.mu.Lock()
		to := p.backend
		p.mu.Unlock()
		r.SetURL(to)
		r.Out.Host = r.In.Host // same-origin sockets stay same-origin for duet's origin check
	}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusBadGateway) // duet is down (ServerRestart): quietly
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.fetched = append(p.fetched, r.URL.Path)
		p.last = time.Now()
		p.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/ws/") {
			p.mu.Lock()
			cut := p.isCut
			p.mu.Unlock()
			if cut {
				http.Error(w, "sockets are cut by the test", http.StatusServiceUnavailable)
				return
			}
			w = &hijackRecorder{ResponseWriter: w, p: p}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		p.cut()
		p.Close()
	})
	return p
}

// cut drops every proxied socket and refuses new ones.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// requests returns the paths requested so far, and how long ago the last one came.
func (p *cutProxy) requests() ([]string, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.fetched), time.Since(p.last)
}

// setBackend sends the next requests to another duet (a restarted one).
func (p *cutProxy) setBackend(t *testing.T, base string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backend = u
}

// restore lets sockets through again.
func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = false
}

// hijackRecorder records the connection ReverseProxy hijacks for an upgrade.
type hijackRecorder struct {
	http.ResponseWriter
	p *cutProxy
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	if h.p.isCut {
		conn.Close() // cut while this one was being set up
	} else {
		h.p.conns[conn] = struct{}{}
	}
	return conn, rw, nil
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// ---- browsers and tabs ----

// browser is one Chromium with its own profile: its own cookies and localStorage.
type browser struct {
	name string
	ctx  context.Context
	dark bool
}

func startBrowser(t *testing.T, exe, name string, dark bool) (*browser, error) {
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 820),
		chromedp.UserDataDir(dir),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	// The first run starts the browser; no timeout on it (it would end the browser).
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			return nil, fmt.Errorf("start %s's chromium: %w", name, err)
		}
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s's chromium did not start within a minute", name)
	}
	return &browser{name: name, ctx: ctx, dark: dark}, nil
}

// tab is one page of a browser, for one scenario.
type tab struct {
	t      *testing.T
	name   string // the participant's name
	ctx    context.Context
	cancel context.CancelFunc
	dark   bool

	mu       sync.Mutex
	problems []string // exceptions and console errors of the page
	closed   bool
}

// open makes a new tab; it is closed, and checked for script errors and Content
// Security Policy violations, when the scenario ends.
func (b *browser) open(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb := &tab{t: t, name: name, ctx: ctx, cancel: cancel, dark: b.dark}
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // creates the target
		t.Fatalf("open a tab in %s's browser: %v", b.name, err)
	}
	watchPage(ctx, tb.problem)
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: cspRecorder,
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.dark {
		features := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(tb.check)
	return tb
}

func (tb *tab) problem(p string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.problems = append(tb.problems, p)
}

// check fails the test for what the page reported: exceptions, console errors, and
// Content Security Policy violations.
func (tb *tab) check() {
	tb.mu.Lock()
	closed := tb.closed
	problems := tb.problems
	tb.mu.Unlock()
	if !closed {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		defer cancel()
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`)); err == nil {
			for _, s := range v {
				problems = append(problems, "CSP violation: "+s)
			}
		}
	}
	for _, p := range problems {
		tb.t.Errorf("%s's page: %s", tb.name, p)
	}
}

// close closes the tab (the participant leaves).
func (tb *tab) close() {
	tb.mu.Lock()
	tb.closed = true
	tb.mu.Unlock()
	if v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`)); err == nil {
		for _, s := range v {
			tb.problem("CSP violation: " + s)
		}
	}
	tb.cancel()
}

// do runs actions under a timeout; a failure ends the scenario.
func (tb *tab) do(d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s's page: %v\n%s", tb.name, err, tb.describe())
	}
}

// eval runs a script for its effects.
func (tb *tab) eval(js string) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.Evaluate[chromedp.Void](js, chromedp.EvalAwaitPromise))
}

// evalAs evaluates a script and decodes its value.
func evalAs[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s's page: evaluate %s: %v", tb.name, js, err)
	}
	return v
}

// waitUntil waits for a script to be true; on timeout it fails, showing the page's state.
func (tb *tab) waitUntil(js string, d time.Duration, what string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(25*time.Millisecond)))
	if err != nil {
		tb.t.Fatalf("%s's page: waiting for %s: %v\n%s", tb.name, what, err, tb.describe())
	}
}

// describe says what the page shows, for failure messages.
func (tb *tab) describe() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.ctx), 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const st = document.getElementById("connection-status");
		const ed = document.getElementById("editor")?.duetEditor;
		const text = ed ? ed.getText() : null;
		return JSON.stringify({url: location.href, status: st && [st.dataset.state, st.dataset.pending, st.textContent],
			textLength: text && text.length, textStart: text && text.slice(0, 120), textEnd: text && text.slice(-120)});
	})()`))
	if err != nil {
		return fmt.Sprintf("(%s's page state unavailable: %v)", tb.name, err)
	}
	return fmt.Sprintf("%s's page: %s", tb.name, s)
}

// openPad opens the session page, joins with the tab's name if the page asks for
// one (the join form, #join-name), and waits for a live editor.
func (tb *tab) openPad(u string) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.Navigate(u))
	tb.waitUntil(`!!(document.querySelector("#editor[data-ready] .cm-content") || document.getElementById("join-name"))`,
		stepTimeout, "the editor or the join form")
	if evalAs[bool](tb, `!!document.getElementById("join-name")`) {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer cancel()
		err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("join-name"), tb.name))
		if err == nil {
			_, err = chromedp.RunResponse(ctx, chromedp.Submit(chromedp.ID("join-name")))
		}
		if err != nil {
			tb.t.Fatalf("%s's page: join as %q: %v\n%s", tb.name, tb.name, err, tb.describe())
		}
		tb.waitUntil(`!!document.querySelector("#editor[data-ready] .cm-content")`, stepTimeout, "the editor after joining")
	}
	tb.waitLive(stepTimeout)
}

func (tb *tab) waitLive(d time.Duration) {
	tb.t.Helper()
	tb.waitUntil(`document.getElementById("connection-status")?.dataset.state === "live"`, d, "a live connection")
}

// waitSaved waits until the server has confirmed every edit of the page.
func (tb *tab) waitSaved() {
	tb.t.Helper()
	tb.waitUntil(`(() => { const s = document.getElementById("connection-status");
		return s.dataset.state === "live" && s.dataset.pending === "0"; })()`, syncTimeout, "every edit confirmed")
}

func (tb *tab) focusEditor() {
	tb.t.Helper()
	tb.eval(`document.querySelector("#editor .cm-content").focus()`)
}

// keys types with real key events (ASCII; "\n" is Enter).
func (tb *tab) keys(s string) {
	tb.t.Helper()
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			tb.do(stepTimeout, enter)
		}
		if line != "" {
			tb.do(stepTimeout, chromedp.KeyEvent(line))
		}
	}
}

// enter presses Enter as a keyboard does: a keydown carrying the text, so that the
// editor's handling of the keydown (a newline with indentation) prevents the default
// text input. chromedp's KeyEvent sends a separate char event that would insert a
// second newline.
var enter chromedp.Action[chromedp.Void] = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", Text: "\r", UnmodifiedText: "\r",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
	if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
		return err
	}
	up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
	_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
	return err
})

func (tb *tab) ctrlKey(key string) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.KeyEvent(key, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
}

// insertText types text as an input method would (emoji, CJK): CDP Input.insertText.
func (tb *tab) insertText(s string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: s}); err != nil {
		tb.t.Fatalf("%s's page: insert %q: %v", tb.name, s, err)
	}
}

// paste pastes text into the editor, through a paste event as the clipboard gives it.
func (tb *tab) paste(s string) {
	tb.t.Helper()
	tb.eval(`(() => { const dt = new DataTransfer(); dt.setData("text/plain", ` + jsString(s) + `);
		document.querySelector("#editor .cm-content").dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true})); })()`)
}

func (tb *tab) text() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.getElementById("editor").duetEditor.getText()`)
}

func (tb *tab) statusState() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.getElementById("connection-status").dataset.state`)
}

func (tb *tab) statusText() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.getElementById("connection-status").textContent`)
}

// syncedVersion is the version the page's editor has synced to.
func (tb *tab) syncedVersion() int {
	tb.t.Helper()
	return evalAs[int](tb, `Number(document.getElementById("editor").dataset.syncedVersion)`)
}

// screenshot saves the page into testout/ (gitignored) at the repository root.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	saveScreenshot(tb.t, tb.ctx, stepTimeout, name)
}

// waitSame waits until every page is live with nothing unconfirmed and shows the same
// text, and returns it.
func waitSame(t *testing.T, tabs ...*tab) string {
	t.Helper()
	for _, tb := range tabs {
		tb.waitSaved()
	}
	deadline := time.Now().Add(syncTimeout)
	for {
		texts := make([]string, len(tabs))
		same := true
		for i, tb := range tabs {
			texts[i] = tb.text()
			same = same && texts[i] == texts[0]
		}
		if same {
			return texts[0]
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, tb := range tabs {
				fmt.Fprintf(&b, "\n%s: %q…%q (%d units)", tb.name, head(texts[i]), tail(texts[i]), len16(texts[i]))
			}
			t.Fatalf("the editors did not converge:%s", b.String())
		}
		// Pages confirm on their own schedule; poll the text again shortly.
		select {
		case <-time.After(50 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// ---- small helpers ----

// pasteText is n lines of code-like text.
func pasteText(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line_%04d = compute(%d) + offset  # pasted\n", i, i)
	}
	return b.String()
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func len16(s string) int { return len(utf16.Encode([]rune(s))) }

func head(s string) string {
	r := []rune(s)
	return string(r[:min(len(r), 60)])
}

func tail(s string) string {
	r := []rune(s)
	return string(r[max(0, len(r)-60):])
}
