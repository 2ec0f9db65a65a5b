package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

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

// saveScreenshot saves the page in ctx into testout/ (gitignored) at the repository
// root, for people to look at.
func saveScreenshot(t *testing.T, ctx context.Context, timeout time.Duration, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("..", "..", "testout")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
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
