package main

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestRolesBrowser is roles in two real browsers on one interview: Ada (light)
// starts it from the home page and is its interviewer; Cy (dark) opens the share
// link and is its candidate. Ada's pad has the interviewer link, the replay and End;
// Cy's has none of them, not even in its HTML, and the replay answers Cy 403. Both
// see who the interviewer is. Ada ends the interview: Cy's editor stops, and both
// pads then say it has ended (Ada's with the code and the replay).
func TestRolesBrowser(t *testing.T) {
	exe := mustChromium(t, "editor.js", "app.css")
	base := startDuet(t)
	adaBrowser, cyBrowser := startPair(t, exe, "Ada", "Cy")
	ada, cy := adaBrowser.open(t, "Ada"), cyBrowser.open(t, "Cy")

	ada.navigate(base + "/")
	pad := evalAs[string](ada, `fetch("/s", {method: "POST", body: new URLSearchParams({language: "python", name: "Ada"})}).then(r => r.url)`)
	if !strings.Contains(pad, "/s/") {
		t.Fatalf("starting an interview ended at %q", pad)
	}
	id := pad[strings.LastIndex(pad, "/")+1:]
	ada.openPad(pad)
	cy.openPad(pad)
	for _, tb := range []*tab{ada, cy} {
		tb.waitUntil(`document.getElementById("connection-status").dataset.state === "live" &&
			document.querySelectorAll("#participants .participant").length === 2`, stepTimeout, "both people on the pad")
	}

	t.Run("WhoIsWho", func(t *testing.T) {
		ada.t, cy.t = t, t
		for _, tb := range []*tab{ada, cy} {
			// Exactly one badge, next to Ada's name, on both pages.
			got := evalAs[[]string](tb, `[...document.querySelectorAll("#participants .participant")].filter(p => p.querySelector(".participant-role")).map(p => p.querySelector(".participant-name").textContent)`)
			if len(got) != 1 || got[0] != "Ada" {
				t.Errorf("%s's page marks %q as interviewers, want only Ada", tb.name, got)
			}
		}
		link := evalAs[string](ada, `document.getElementById("interviewer-url")?.value ?? ""`)
		if !strings.HasPrefix(link, base+"/s/"+id+"/interviewer/") {
			t.Errorf("Ada's interviewer link = %q", link)
		}
		if n := evalAs[int](ada, `document.querySelectorAll("form.end button, header a[href$='/replay']").length`); n != 2 {
			t.Errorf("Ada's bar has %d of End and Replay, want both", n)
		}
		// The link is behind a disclosure: open it for the screenshot.
		ada.eval(`document.querySelector(".interviewer-link").open = true`)
		ada.screenshot("roles-pad-interviewer-light")
		ada.eval(`document.querySelector(".interviewer-link").open = false`)
		cy.screenshot("roles-pad-candidate-dark")

		token := link[strings.LastIndex(link, "/")+1:]
		html := evalAs[string](cy, `document.documentElement.outerHTML`)
		if strings.Contains(html, "/interviewer/") || (token != "" && strings.Contains(html, token)) {
			t.Errorf("Cy's page holds the interviewer link")
		}
		if n := evalAs[int](cy, `document.querySelectorAll("#interviewer-url, form.end, a[href$='/replay']").length`); n != 0 {
			t.Errorf("Cy's page has %d of the interviewer link, End and Replay, want none", n)
		}
		if got := evalAs[int](cy, `fetch(location.pathname + "/replay").then(r => r.status)`); got != 403 {
			t.Errorf("Cy's fetch of the replay = %d, want 403", got)
		}
		if got := evalAs[int](cy, `fetch(location.pathname + "/replay?v=0", {headers: {"HX-Request": "true"}}).then(r => r.status)`); got != 403 {
			t.Errorf("Cy's fetch of a replay frame = %d, want 403", got)
		}
		for _, phone := range []bool{false, true} {
			if phone {
				for _, tb := range []*tab{ada, cy} {
					tb.emulatePhone(390, 844)
				}
			}
			suffix := map[bool]string{false: "desktop", true: "phone"}[phone]
			ada.screenshot("roles-pad-interviewer-" + suffix)
			cy.screenshot("roles-pad-candidate-" + suffix)
		}
		for _, tb := range []*tab{ada, cy} {
			tb.do(stepTimeout, chromedp.EmulateViewport(1280, 860))
		}
	})

	t.Run("CandidateReplay", func(t *testing.T) {
		cy.t = t
		cy.navigate(pad + "/replay")
		cy.waitUntil(`document.readyState === "complete"`, stepTimeout, "the replay answer")
		if got := evalAs[string](cy, `document.querySelector("main h1")?.textContent ?? ""`); got != "For interviewers only" {
			t.Errorf("Cy's replay page says %q, want For interviewers only", got)
		}
		if n := evalAs[int](cy, `document.querySelectorAll("#replay-frame, #replay-form").length`); n != 0 {
			t.Errorf("Cy's 403 page shows %d parts of the replay", n)
		}
		cy.screenshot("roles-replay-403-dark")
		cy.openPad(pad)
		cy.waitUntil(`document.getElementById("connection-status").dataset.state === "live"`, stepTimeout, "Cy back on the pad")
	})

	t.Run("End", func(t *testing.T) {
		ada.t, cy.t = t, t
		ada.setCode("def solve():\n    return 42\n")
		cy.waitUntil(`document.getElementById("editor").duetEditor.getText().includes("return 42")`, stepTimeout, "Ada's code on Cy's page")
		ada.eval(`window.confirm = () => true; document.querySelector("form.end button").click()`)
		cy.waitUntil(`document.getElementById("connection-status").dataset.state === "ended"`, stepTimeout, "Cy's editor to stop")
		if got := cy.statusText(); got != "This interview has ended" {
			t.Errorf("Cy's status = %q", got)
		}
		if got := evalAs[string](cy, `document.querySelector("#editor .cm-content").contentEditable`); got != "false" {
			t.Errorf("Cy's editor is still editable (%q)", got)
		}
		ada.waitUntil(`document.getElementById("ended-title")?.textContent === "This interview has ended"`, stepTimeout, "Ada's ended page")
		if !strings.Contains(evalAs[string](ada, `document.querySelector(".ended-code")?.textContent ?? ""`), "return 42") {
			t.Errorf("Ada's ended page does not show the code")
		}
		ada.screenshot("roles-ended-interviewer-light")
		cy.navigate(pad)
		cy.waitUntil(`!!document.getElementById("ended-title")`, stepTimeout, "Cy's ended page")
		if strings.Contains(evalAs[string](cy, `document.body.innerHTML`), "return 42") {
			t.Errorf("Cy's ended page shows the code")
		}
		cy.screenshot("roles-ended-candidate-dark")
		ada.click(`header a[href$="/replay"]`)
		ada.waitUntil(`!!document.getElementById("replay-frame")`, stepTimeout, "the replay after the end")
	})

	// Without JavaScript, roles are plain pages and forms: the start form makes the
	// interviewer, the interviewer link is there to select, End is a form post.
	t.Run("WithoutJavaScript", func(t *testing.T) {
		tb := adaBrowser.open(t, "Ada without JavaScript")
		if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		tb.navigate(base + "/")
		tb.waitUntil(`document.readyState === "complete" && !!document.querySelector("form.start")`, stepTimeout, "the start page")
		tb.do(stepTimeout, chromedp.SetValue(chromedp.ID("start-name"), "Ada"))
		if _, err := chromedp.RunResponse(tb.ctx, chromedp.Click(`form.start button[type=submit]`)); err != nil {
			t.Fatal(err)
		}
		tb.waitUntil(`document.readyState === "complete" && !!document.getElementById("interviewer-url")`, stepTimeout, "the pad of the new interview")
		link := evalAs[string](tb, `document.getElementById("interviewer-url").value`)
		if !strings.Contains(link, "/interviewer/") {
			t.Errorf("the interviewer link without JavaScript = %q", link)
		}
		if _, err := chromedp.RunResponse(tb.ctx, chromedp.Click(`form.end button`)); err != nil {
			t.Fatal(err)
		}
		tb.waitUntil(`document.readyState === "complete" && !!document.getElementById("ended-title")`, stepTimeout, "the ended page")
		tb.screenshot("roles-ended-nojs")
	})
}
