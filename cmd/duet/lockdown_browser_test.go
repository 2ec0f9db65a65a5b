package main

import (
	"strings"
	"testing"
)

// networkAPIs are the globals through which a worker's code could reach the
// network (or another context that can): assets/runner/lockdown.ts must take every
// one away from the runners' workers.
var networkAPIs = []string{
	"fetch", "XMLHttpRequest", "WebSocket", "WebSocketStream", "WebTransport", "EventSource", "FontFace", "fonts",
	"Worker", "SharedWorker", "importScripts", "indexedDB", "caches", "BroadcastChannel", "cookieStore",
}

// TestRunnerLockdown runs a JavaScript program in the runner of a real pad, in
// headless Chromium, that looks for every network API and tries to open a
// WebSocketStream back to duet: it must find none and open nothing.
func TestRunnerLockdown(t *testing.T) {
	exe := mustChromium(t, "runner.js", "runner-js-worker.js")
	t.Parallel()
	base, _ := startRun(t, "-store", "memory")
	b, err := startBrowser(t, exe, "Ada", false)
	if err != nil {
		t.Fatal(err)
	}
	tab := openRunnerTab(t, b, "Ada")
	tab.navigate(base + "/")
	pad := evalAs[string](tab, `fetch("/s", {method: "POST", body: new URLSearchParams({language: "javascript", name: "Ada"})}).then(r => r.url)`)
	tab.navigate(pad)
	tab.waitPad()
	// The page itself has WebSocketStream: what the worker lacks was taken away.
	if !evalAs[bool](tab, `typeof WebSocketStream === "function"`) {
		t.Fatalf("this Chromium has no WebSocketStream: the test would prove nothing")
	}

	names := `["` + strings.Join(networkAPIs, `", "`) + `"]`
	tab.setCode(`const found = ` + names + `.filter((n) => {
  for (let o = globalThis; o; o = Object.getPrototypeOf(o)) {
    if (Object.getOwnPropertyDescriptor(o, n)?.value !== undefined || Object.getOwnPropertyDescriptor(o, n)?.get) return true;
  }
  return false;
});
if (navigator.storageBuckets !== undefined) found.push("navigator.storageBuckets");
console.log("reachable:", JSON.stringify(found));
let opened = "no";
try {
  const ws = new WebSocketStream(location.origin.replace(/^http/, "ws") + "/ws/00000000-0000-4000-8000-000000000000");
  opened = "constructed";
  await ws.opened;
  opened = "opened";
} catch (e) {
  opened = opened === "no" ? "no: " + e.name : opened;
}
console.log("WebSocketStream:", opened);
`)
	tab.click("#run-button")
	tab.waitStatus("ok", stepTimeout)
	out := tab.lastOutput()
	if !strings.Contains(out, "reachable: []\n") {
		t.Errorf("the program can reach network APIs:\n%s", out)
	}
	if !strings.Contains(out, "WebSocketStream: no: ") {
		t.Errorf("the program could make a WebSocketStream:\n%s", out)
	}
}
