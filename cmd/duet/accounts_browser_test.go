package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserSignIn runs duet with -auth password in Chromium: My interviews sends
// a signed-out browser to sign in; a wrong password is refused in place (htmx);
// the right one lands on My interviews; an interview started from the home page is
// listed there, and the search finds it by participant. A second profile, with
// JavaScript off, does the same with plain forms. Screenshots of the sign-in page
// and of My interviews, light and dark, desktop and phone, go to testout/.
func TestBrowserSignIn(t *testing.T) {
	exe := mustChromium(t, "app.css", "htmx.js")
	dir := t.TempDir()
	env := func(k string) string {
		if k == "DATA_DIR" {
			return dir
		}
		return ""
	}
	var out strings.Builder
	if err := runUser(context.Background(), []string{"add", "-login", "ada@example.com", "-name", "Ada Lovelace", "-team", "platform"}, env,
		strings.NewReader("correct horse battery\n"), &out); err != nil {
		t.Fatalf("duet user add: %v\n%s", err, out.String())
	}
	base, _ := startRun(t, "-data-dir", dir, "-auth", "password")
	js, nojs := startPair(t, exe, "ada", "ada-without-js")

	signIn := func(tb *tab, scripts bool) {
		tb.navigate(base + "/interviews")
		tb.waitUntil(`location.pathname === "/login" && !!document.getElementById("login")`, stepTimeout, "the sign-in page")
		tb.eval(`document.getElementById("login").value = "ada@example.com"; document.getElementById("password").value = "wrong password!"`)
		tb.click(`form.signin-form button[type=submit]`)
		tb.waitUntil(`(document.querySelector(".form-error")?.textContent ?? "").includes("do not match")`, stepTimeout, "the refusal")
		if scripts && evalAs[string](tb, `location.pathname`) != "/login" {
			t.Error("with htmx, a refused login should stay on the page")
		}
		tb.eval(`document.getElementById("login").value = "ada@example.com"; document.getElementById("password").value = "correct horse battery"`)
		tb.click(`form.signin-form button[type=submit]`)
		tb.waitUntil(`location.pathname === "/interviews" && !!document.querySelector("main.interviews")`, stepTimeout, "My interviews after signing in")
	}

	a := js.open(t, "ada")
	signIn(a, true)
	if n := evalAs[int](a, `document.querySelectorAll(".interview-row").length`); n != 0 {
		t.Errorf("a new account lists %d interviews, want none", n)
	}
	a.navigate(base + "/")
	a.waitUntil(`!!document.querySelector("form.start")`, stepTimeout, "the start form, signed in")
	a.eval(`document.getElementById("start-name").value = "Ada Lovelace"`)
	a.click(`form.start button[type=submit]`)
	a.waitUntil(`location.pathname.startsWith("/s/") && document.getElementById("connection-status")?.dataset.state === "live"`, stepTimeout, "the pad")
	id := strings.TrimPrefix(evalAs[string](a, `location.pathname`), "/s/")
	a.navigate(base + "/interviews")
	a.waitUntil(`document.querySelectorAll(".interview-row").length === 1`, stepTimeout, "the interview listed")
	if got := evalAs[string](a, `document.querySelector(".interview-row .state").textContent`); !strings.Contains(got, "Live") {
		t.Errorf("state of an interview open in another tab = %q, want Live", got)
	}
	a.eval(`{ const q = document.getElementById("interviews-q"); q.value = "lovelace"; q.dispatchEvent(new Event("input", {bubbles: true})) }`)
	a.waitUntil(`location.search === "?q=lovelace" && document.querySelectorAll(".interview-row").length === 1`, stepTimeout, "the search by participant")
	a.eval(`{ const q = document.getElementById("interviews-q"); q.value = "nobody"; q.dispatchEvent(new Event("input", {bubbles: true})) }`)
	a.waitUntil(`document.querySelectorAll(".interview-row").length === 0 && !!document.querySelector(".panel-empty")`, stepTimeout, "an empty search")

	// JavaScript off: the same with plain forms.
	b := nojs.open(t, "ada without js")
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	signIn(b, false)
	b.waitUntil(`document.querySelector(".interview-row a.interview-when")?.getAttribute("href") === "/s/`+id+`"`, stepTimeout, "the interview, listed without JavaScript")
	b.eval(`document.getElementById("interviews-q").value = "LOVELACE"`)
	b.eval(`document.querySelector("form.library-search").submit()`)
	b.waitUntil(`location.search === "?q=LOVELACE" && document.querySelectorAll(".interview-row").length === 1`, stepTimeout, "the search without JavaScript")

	// Screenshots: both pages in each variant (a signed-out tab for the sign-in page).
	for _, v := range []struct {
		name        string
		dark, phone bool
	}{{"desktop-light", false, false}, {"desktop-dark", true, false}, {"phone-light", false, true}, {"phone-dark", true, true}} {
		tb := js.open(t, "ada "+v.name)
		tb.setDark(v.dark)
		if v.phone {
			tb.emulatePhone(390, 844)
		}
		tb.navigate(base + "/interviews")
		tb.waitUntil(`document.querySelectorAll(".interview-row").length === 1`, stepTimeout, "My interviews")
		tb.screenshot(fmt.Sprintf("interviews-%s", v.name))
		tb.eval(`document.cookie = ""`) // HttpOnly: unreadable and untouched; sign out with the form instead
		tb.click(`form.signout button[type=submit]`)
		tb.waitUntil(`location.pathname === "/" && !!document.querySelector("a[href='/login']")`, stepTimeout, "home, signed out")
		tb.screenshot(fmt.Sprintf("home-signed-out-%s", v.name))
		tb.navigate(base + "/login")
		tb.waitUntil(`!!document.getElementById("login")`, stepTimeout, "the sign-in page")
		tb.screenshot(fmt.Sprintf("login-%s", v.name))
		signIn(tb, true)
		tb.close()
	}
}
