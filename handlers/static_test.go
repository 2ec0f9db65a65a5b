package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"duet/handlers"
	"duet/static"
)

// TestStaticIsWhatTheConfigGives serves a small build of its own: the pages link to
// its URLs, /static/ serves its files, and its JavaScript runner worker gets the
// worker's own Content Security Policy. Without a build, pages still render, with
// links that 404.
func TestStaticIsWhatTheConfigGives(t *testing.T) {
	t.Parallel()
	fake, err := static.New(fstest.MapFS{
		"manifest.json":            {Data: []byte(`{"app.css": "/static/app-TEST.css", "runner-js-worker.js": "/static/runner-js-worker-TEST.js"}`)},
		"app-TEST.css":             {Data: []byte("body { color: red }")},
		"runner-js-worker-TEST.js": {Data: []byte("onmessage = () => {}")},
	})
	if err != nil {
		t.Fatalf("static.New(fake build) error = %v", err)
	}
	tests := []struct {
		name       string
		assets     handlers.Assets
		wantCSS    string // the page's stylesheet link
		wantStatus int    // of GET wantCSS
		wantBody   string // of GET wantCSS, when 200
	}{
		{"given build", fake, "/static/app-TEST.css", http.StatusOK, "body { color: red }"},
		{"no build", nil, "/static/missing/app.css", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(c *handlers.Config) { c.Static = tt.assets })
			res := srv.do(t, "GET", "/", nil, "")
			if res.status != http.StatusOK {
				t.Fatalf("GET / = %d, want 200", res.status)
			}
			if got := mustDoc(t, res.body).Find(`link[rel="stylesheet"]`).AttrOr("href", ""); got != tt.wantCSS {
				t.Errorf("stylesheet link = %q, want %q", got, tt.wantCSS)
			}
			css := srv.do(t, "GET", tt.wantCSS, nil, "")
			if css.status != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d", tt.wantCSS, css.status, tt.wantStatus)
			}
			if css.status == http.StatusOK && string(css.body) != tt.wantBody {
				t.Errorf("GET %s body = %q, want %q", tt.wantCSS, css.body, tt.wantBody)
			}
		})
	}

	// The worker's policy lets it eval the user's program, and goes to its URL only.
	srv := newTestServer(t, func(c *handlers.Config) { c.Static = fake })
	worker := srv.do(t, "GET", "/static/runner-js-worker-TEST.js", nil, "")
	if worker.status != http.StatusOK {
		t.Fatalf("GET the worker = %d, want 200", worker.status)
	}
	if csp := worker.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' 'unsafe-eval'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the worker's CSP = %q, want the worker policy", csp)
	}
	if csp := srv.do(t, "GET", "/static/app-TEST.css", nil, "").header.Get("Content-Security-Policy"); strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("the stylesheet's CSP = %q, want the page policy", csp)
	}
}
