package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"duet/static"
)

// The harness of every browser test in this package: the real duet (run, as main
// starts it), headless Chromium profiles driven with chromedp, and tabs with the
// helpers the tests share (evaluate, wait, type, screenshot). Every tab is watched:
// an uncaught exception, a console.error or a Content Security Policy violation on
// its page fails the test that opened it.
//
// `go test -short` skips the browser tests; otherwise they need Debian's chromium on
// PATH and the built assets (`make assets`), and fail without them.

// Every wait in a browser test is bounded by one of these.
const (
	stepTimeout = 20 * time.Second // one navigation, one wait for a condition
	syncTimeout = 45 * time.Second // convergence after a reconnection (backoff included)
)

// mustChromium skips the test under -short; otherwise it returns the path of
// Chromium, and fails the test when Chromium or one of the named assets is missing.
func mustChromium(t *testing.T, assets ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the headless Chromium tests")
	}
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser tests need Debian's chromium on PATH (apt-get install chromium), or -short to skip them: %v", err)
	}
	built, err := static.New(static.Embedded())
	if err != nil {
		t.Fatalf("the browser tests need the built assets: %v", err)
	}
	for _, name := range assets {
		if _, ok := built.Lookup(name); !ok {
			t.Fatalf("%s is not built: run `make assets` (go run ./cmd/buildassets), then test again", name)
		}
	}
	return exe
}

// ---- the server ----

// startDuet runs the real program (its default SQLite store, in a temporary folder)
// on a free port until the test ends.
func startDuet(t *testing.T) string {
	t.Helper()
	base, _ := startDuetIn(t, t.TempDir())
	return base
}

// startDuetIn runs the real program with its data in dir, until stop is called or
// the test ends. It answers pulls 4 KiB at a time, so that an editor coming back
// from offline or a restart follows answers marked "more" to catch up.
func startDuetIn(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	return startRun(t, "-data-dir", dir, "-pull-bytes", "4096")
}

// createSession starts a Python session through the API.
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

// becomeInterviewer makes the browser's profile an interviewer of a session, as
// a person does: by opening the interviewer link (which lands on the pad).
func (b *browser) becomeInterviewer(t *testing.T, base, id, token string) {
	t.Helper()
	tb := b.open(t, b.name+" opens the interviewer link")
	defer tb.close()
	tb.navigate(base + "/s/" + id + "/interviewer/" + token)
	tb.waitUntil(`location.pathname === "/s/`+id+`"`, stepTimeout, "the pad after the interviewer link")
}

// ---- browsers ----

// browser is one Chromium with its own profile: its own cookies and localStorage.
type browser struct {
	name string
	ctx  context.Context
	dark bool // its tabs prefer the dark color scheme
}

// startPair starts two browsers at once (a cold Chromium takes seconds here): the
// first in the light color scheme, the second in the dark one.
func startPair(t *testing.T, exe, light, dark string) (*browser, *browser) {
	t.Helper()
	var l, d *browser
	var errL, errD error
	var wg sync.WaitGroup
	wg.Go(func() { l, errL = startBrowser(t, exe, light, false) })
	wg.Go(func() { d, errD = startBrowser(t, exe, dark, true) })
	wg.Wait()
	if err := errors.Join(errL, errD); err != nil {
		t.Fatal(err)
	}
	return l, d
}

// startBrowser starts a Chromium with a fresh profile; it stops when the test ends.
func startBrowser(t *testing.T, exe, name string, dark bool) (*browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1280, 860),
		chromedp.UserDataDir(t.TempDir()),
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

// ---- tabs ----

// tab is one page of a browser. Its helpers fail the test in t (tests that share a
// tab between subtests point t at the running one) with what the page shows.
type tab struct {
	t      *testing.T
	name   string // the participant's name
	ctx    context.Context
	cancel context.CancelFunc
	// cspScope, when set, limits the CSP violations that fail the test to those whose
	// report contains it; the others are logged, for the tests of the other islands
	// on the same page judge those.
	cspScope string

	mu       sync.Mutex
	problems []string // exceptions and console errors of the page
	closed   bool
}

// open makes a new tab; it is closed, and checked for script errors and Content
// Security Policy violations, when the test ends.
func (b *browser) open(t *testing.T, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb := &tab{t: t, name: name, ctx: ctx, cancel: cancel}
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // creates the target
		t.Fatalf("open a tab in %s's browser: %v", b.name, err)
	}
	watchPage(ctx, tb.problem)
	tb.onNewDocument(cspRecorder)
	tb.setDark(b.dark)
	t.Cleanup(tb.check)
	return tb
}

// onNewDocument runs js in every document the tab loads from now on, before the
// page's own scripts.
func (tb *tab) onNewDocument(js string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		tb.t.Fatalf("%s's page: add a script: %v", tb.name, err)
	}
}

// setDark makes the page prefer the dark color scheme, or the light one.
func (tb *tab) setDark(dark bool) {
	tb.t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	features := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features}); err != nil {
		tb.t.Fatalf("%s's page: emulate %s color scheme: %v", tb.name, scheme, err)
	}
}

// emulatePhone gives the page the viewport of a phone held upright, width × height
// CSS pixels, honouring the page's viewport meta tag, until the tab closes.
func (tb *tab) emulatePhone(width, height int64) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.EmulateViewport(width, height, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
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
	problems := slices.Clone(tb.problems)
	tb.mu.Unlock()
	if !closed {
		problems = append(problems, tb.cspViolations()...)
	}
	for _, p := range problems {
		tb.t.Errorf("%s's page: %s", tb.name, p)
	}
}

// cspViolations returns the page's Content Security Policy violations within the
// tab's cspScope, and logs the others.
func (tb *tab) cspViolations() []string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`))
	if err != nil {
		return nil // the page is gone: nothing left to ask
	}
	var out []string
	for _, s := range v {
		if !strings.Contains(s, tb.cspScope) {
			tb.t.Logf("%s's page: CSP violation, outside %s: %s", tb.name, tb.cspScope, s)
			continue
		}
		out = append(out, "CSP violation: "+s)
	}
	return out
}

// close closes the tab (the participant leaves).
func (tb *tab) close() {
	for _, p := range tb.cspViolations() {
		tb.problem(p)
	}
	tb.mu.Lock()
	tb.closed = true
	tb.mu.Unlock()
	tb.cancel()
}

// do runs actions under a timeout; a failure ends the test.
func (tb *tab) do(d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s's page: %v\n%s", tb.name, err, tb.describe())
	}
}

// navigate loads u in the tab.
func (tb *tab) navigate(u string) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.Navigate(u))
}

// click clicks the element sel selects (CSS).
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.Click(chromedp.CSS(sel)))
}

// eval runs a script for its effects (awaiting the promise it returns, if any).
func (tb *tab) eval(js string) {
	tb.t.Helper()
	evalAs[chromedp.Void](tb, js)
}

// evalAs evaluates a script (awaiting the promise it returns, if any) and decodes its
// value.
func evalAs[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s's page: evaluate %s: %v\n%s", tb.name, js, err, tb.describe())
	}
	return v
}

// waitUntil waits up to d for a script to be true, across navigations of the page;
// on timeout it fails, showing the page's state.
func (tb *tab) waitUntil(js string, d time.Duration, what string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(0)))
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			tb.t.Fatalf("%s's page: waiting for %s: %v\n%s", tb.name, what, err, tb.describe())
		}
		// The page navigated under the poll (its script context is gone): poll the new one.
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sleepFor lets the page run for d; never an assertion.
func (tb *tab) sleepFor(d time.Duration) {
	tb.t.Helper()
	tb.do(d+stepTimeout, chromedp.Sleep(d))
}

// describe says what the page shows (its address, and the editor's and the runner's
// state where it has them), for failure messages.
func (tb *tab) describe() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.ctx), 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const st = document.getElementById("connection-status");
		const ed = document.getElementById("editor")?.duetEditor;
		const text = ed ? ed.getText() : null;
		return JSON.stringify({url: location.href, status: st && [st.dataset.state, st.dataset.pending, st.textContent],
			textLength: text && text.length, textStart: text && text.slice(0, 120), textEnd: text && text.slice(-120),
			runner: document.getElementById("runner-status")?.textContent,
			failure: document.querySelector("[data-runner-failure]")?.textContent,
			lastRun: document.querySelector("#runner-log .run:last-child")?.textContent?.slice(-600)});
	})()`))
	if err != nil {
		return fmt.Sprintf("(%s's page state unavailable: %v)", tb.name, err)
	}
	return fmt.Sprintf("%s's page: %s", tb.name, s)
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

// screenshot saves the page into testout/ (gitignored) at the repository root, for
// people to look at.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("..", "..", "testout")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- watching pages ----

// watchPage reports every uncaught exception and console.error of the page in ctx.
// htmx's "[object Event]" for a dropped event stream is left out: tests cut the
// server on purpose.
func watchPage(ctx context.Context, report func(string)) {
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	console := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			report(fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		}
	}()
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				continue
			}
			var parts []string
			for _, a := range ev.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			where := ""
			if ev.StackTrace != nil && len(ev.StackTrace.CallFrames) > 0 {
				f := ev.StackTrace.CallFrames[0]
				where = fmt.Sprintf(" (at %s:%d)", f.URL, f.LineNumber)
				if strings.Contains(f.URL, "/static/htmx-") && len(parts) == 1 && parts[0] == `"[object Event]"` {
					continue
				}
			}
			report("console.error: " + strings.Join(parts, " ") + where)
		}
	}()
}

// cspRecorder collects the page's Content Security Policy violations. One kind is left
// out: a style attribute set by no script (no source file) is Chromium's own
// contenteditable editing, which wraps text in styled spans when typing replaces a
// selection across lines. The policy drops the attribute and CodeMirror redraws the
// line from its document at once, so nothing is lost or shown wrong.
const cspRecorder = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  if (e.violatedDirective === "style-src-attr" && !e.sourceFile) return;
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " from " + e.sourceFile + ":" + e.lineNumber + " " + JSON.stringify(e.sample));
});`
