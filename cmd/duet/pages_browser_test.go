package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestBrowserPages opens every page of duet (start, API reference, error, join, pad,
// replay) in light and dark, at desktop and phone width, and saves a screenshot of
// each into testout/ for people to look at. It fails when a page reports a script
// error or a CSP violation, when its top bar lacks the wordmark leading home, or
// when anything in the top bar sticks out of the viewport.
func TestBrowserPages(t *testing.T) {
	exe := mustChromium(t, "app.css", "editor.js", "replay.js", "docs.js")
	base, _ := startRun(t, "-store", "memory")
	id, token := createSession(t, base)
	typeProgram(t, base, id) // something to show on the join page and to replay

	b, err := startBrowser(t, exe, "viewer", false)
	if err != nil {
		t.Fatal(err)
	}
	type variant struct {
		name  string
		dark  bool
		phone bool
	}
	var tabs []*tab
	var variants []variant
	for _, v := range []variant{{"desktop-light", false, false}, {"desktop-dark", true, false}, {"phone-light", false, true}, {"phone-dark", true, true}} {
		tb := b.open(t, "viewer "+v.name)
		tb.setDark(v.dark)
		if v.phone {
			tb.emulatePhone(390, 844)
		}
		tabs, variants = append(tabs, tb), append(variants, v)
	}

	pages := []struct {
		name, path string
		ready      string // true once the page is fully there
		setup      func(tb *tab) string
	}{
		{name: "home", path: "/", ready: `!!document.querySelector("form.start")`},
		{name: "docs", path: "/docs", ready: `!!document.querySelector("#swagger-ui .info")`},
		{name: "error", path: "/s/" + uuid.NewString(), ready: `!!document.querySelector(".error-page h1")`},
		// The profile has no name yet: the pad asks for one.
		{name: "join", path: "/s/" + id, ready: `!!document.getElementById("join-name")`},
		// The replay is for interviewers: the profile opens the interviewer link first.
		{name: "replay", setup: func(tb *tab) string {
			tb.navigate(base + "/s/" + id + "/interviewer/" + token)
			return base + "/s/" + id + "/replay"
		}, ready: `!!document.getElementById("replay-frame") && !!window.htmx`},
		// Started from the form, so this profile is the owner (an End button in the bar).
		{name: "pad", setup: func(tb *tab) string {
			tb.navigate(base + "/")
			return evalAs[string](tb, `fetch("/s", {method: "POST", body: new URLSearchParams({language: "python", name: "Ada"})}).then(r => r.url)`)
		}, ready: `document.getElementById("connection-status")?.dataset.state === "live" && document.getElementById("output")?.dataset.ready === "true"`},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			u := base + p.path
			if p.setup != nil {
				tabs[0].t = t
				u = p.setup(tabs[0])
			}
			for i, tb := range tabs {
				tb.t = t
				tb.navigate(u)
				tb.waitUntil(`document.readyState === "complete" && `+p.ready, stepTimeout, "the "+p.name+" page")
				tb.screenshot(fmt.Sprintf("page-%s-%s", p.name, variants[i].name))
				if n := evalAs[int](tb, `document.querySelectorAll("header.topbar a.brand[href='/']").length`); n != 1 {
					t.Errorf("%s, %s: %d top bars with the wordmark leading home, want 1", p.name, variants[i].name, n)
				}
				out := evalAs[[]string](tb, `(() => {
					const bar = document.querySelector("header.topbar"), width = document.documentElement.clientWidth;
					return [bar, ...bar.querySelectorAll("*")].filter((e) => {
						const r = e.getBoundingClientRect();
						return r.width > 0 && (r.left < -0.5 || r.right > width + 0.5);
					}).map((e) => e.outerHTML.slice(0, 80));
				})()`)
				if len(out) > 0 {
					t.Errorf("%s, %s: the top bar sticks out of the viewport:\n%s", p.name, variants[i].name, strings.Join(out, "\n"))
				}
				// The interviewer's controls after the share link (Interviewer link,
				// Replay, End interview) take one row, on a phone too: the editor
				// keeps the room.
				if p.name != "pad" {
					continue
				}
				rows := evalAs[int](tb, `new Set([...document.querySelectorAll(
					"header.topbar > .button, header.topbar > .interviewer-link > summary, header.topbar > .end .button")]
					.map((e) => Math.round(e.getBoundingClientRect().top))).size`)
				if rows != 1 {
					t.Errorf("%s, %s: the interviewer's controls take %d rows of the top bar, want 1", p.name, variants[i].name, rows)
				}
			}
		})
	}
	for _, tb := range tabs {
		tb.t = t
	}
}
