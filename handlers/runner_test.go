package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRunnerPanelReferencesBuiltAssets: the files the runner island starts its
// workers from, and SQLite's wasm, are given to it in data attributes of the output
// panel; each one is served.
func TestRunnerPanelReferencesBuiltAssets(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, _ := srv.mustCreate(t, "sql")
	res := srv.do(t, "GET", "/s/"+id, http.Header{"Cookie": {"duet_name=Ada"}}, "")
	panel := mustDoc(t, res.body).Find("#output[data-island=runner]")
	if panel.Length() != 1 {
		t.Fatalf("the pad has %d runner panels, want 1", panel.Length())
	}
	if got := panel.AttrOr("data-language", ""); got != "sql" {
		t.Errorf("runner panel data-language = %q, want sql", got)
	}
	if _, hidden := panel.Find("[data-runner-sql]").Attr("hidden"); hidden {
		t.Error("the SQL options are hidden in a SQL session")
	}
	for _, attr := range []string{"data-worker-url", "data-js-worker-url", "data-sql-worker-url", "data-sql-wasm-url", "data-pyodide-url"} {
		u := panel.AttrOr(attr, "")
		if strings.HasSuffix(u, "/") { // Pyodide's directory: its loader is in it
			u += "pyodide.mjs"
		}
		if !strings.HasPrefix(u, "/static/") {
			t.Errorf("%s = %q, want a /static/ asset", attr, u)
			continue
		}
		if got := srv.do(t, "GET", u, nil, ""); got.status != 200 || len(got.body) == 0 {
			t.Errorf("%s = %s, which answers %d: were the assets built (make assets)?", attr, u, got.status)
		}
	}
}
