package static_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"

	"duet/static"
)

// Fixture contents. The JS and wasm are long and repetitive enough that the compressed
// variants differ from the originals, so a wrong choice of variant shows in the bytes.
var (
	appJS    = []byte(strings.Repeat("console.log('duet');\n", 200))
	appCSS   = []byte(strings.Repeat("body{margin:0}\n", 100))
	wasm     = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte{0, 1, 2, 3}, 4096)...)
	stdlib   = []byte("PK\x03\x04 not really a zip, served as it is")
	identity = []byte(strings.Repeat("only raw\n", 50)) // compressible file kept raw too
)

const fixtureManifest = `{
  "app.js": "/static/app-AAAA1111.js",
  "app.css": "/static/app-BBBB2222.css",
  "raw.js": "/static/raw-CCCC3333.js",
  "pyodide/": "/static/pyodide/1.2.3/",
  "pyodide/pyodide.asm.wasm": "/static/pyodide/1.2.3/pyodide.asm.wasm"
}`

func mustBrotli(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 5)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newTestDist is a dist directory laid out as cmd/buildassets writes it: compressible
// files as .br + .gz only, others as they are, plus files that must never be served.
func newTestDist(t *testing.T) *static.Dist {
	t.Helper()
	fsys := fstest.MapFS{
		"manifest.json":                     {Data: []byte(fixtureManifest)},
		".keep":                             {Data: nil},
		"app-AAAA1111.js.br":                {Data: mustBrotli(t, appJS)},
		"app-AAAA1111.js.gz":                {Data: mustGzip(t, appJS)},
		"app-BBBB2222.css.br":               {Data: mustBrotli(t, appCSS)},
		"app-BBBB2222.css.gz":               {Data: mustGzip(t, appCSS)},
		"raw-CCCC3333.js":                   {Data: identity},
		"raw-CCCC3333.js.gz":                {Data: mustGzip(t, identity)},
		"pyodide/1.2.3/pyodide.asm.wasm.br": {Data: mustBrotli(t, wasm)},
		"pyodide/1.2.3/pyodide.asm.wasm.gz": {Data: mustGzip(t, wasm)},
		"pyodide/1.2.3/python_stdlib.zip":   {Data: stdlib},
		"old-ZZZZ9999.js.gz":                {Data: mustGzip(t, []byte("stale"))},
		"secret.txt":                        {Data: []byte("not in the manifest")},
		"pyodide/0.9.0/pyodide.asm.wasm.gz": {Data: mustGzip(t, []byte("other version"))},
	}
	d, err := static.New(fsys)
	if err != nil {
		t.Fatalf("New(fixture) error = %v", err)
	}
	return d
}

func decode(t *testing.T, encoding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return body
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s body: %v", encoding, err)
	}
	return b
}

const cacheForever = "public, max-age=31536000, immutable"

func TestHandler(t *testing.T) {
	t.Parallel()
	d := newTestDist(t)
	tests := []struct {
		name           string
		method, target string
		accept         string            // Accept-Encoding
		header         map[string]string // other request headers
		wantStatus     int
		wantType       string // Content-Type
		wantEncoding   string // Content-Encoding
		wantCache      string // Cache-Control
		wantBody       []byte // after decoding Content-Encoding; nil: not checked (errors)
	}{
		{name: "js br", method: "GET", target: "/static/app-AAAA1111.js", accept: "gzip, deflate, br, zstd",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "br", wantCache: cacheForever, wantBody: appJS},
		{name: "js gzip", method: "GET", target: "/static/app-AAAA1111.js", accept: "gzip, deflate",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantCache: cacheForever, wantBody: appJS},
		{name: "js identity from gz", method: "GET", target: "/static/app-AAAA1111.js", accept: "",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "", wantCache: cacheForever, wantBody: appJS},
		{name: "br refused by q=0", method: "GET", target: "/static/app-AAAA1111.js", accept: "br;q=0, gzip",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantCache: cacheForever, wantBody: appJS},
		{name: "both refused", method: "GET", target: "/static/app-AAAA1111.js", accept: "br;q=0, gzip;q=0",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "", wantCache: cacheForever, wantBody: appJS},
		{name: "higher q wins", method: "GET", target: "/static/app-AAAA1111.js", accept: "br;q=0.5, gzip;q=0.8",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantCache: cacheForever, wantBody: appJS},
		{name: "wildcard", method: "GET", target: "/static/app-AAAA1111.js", accept: "*",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "br", wantCache: cacheForever, wantBody: appJS},
		{name: "wildcard q=0 keeps listed gzip", method: "GET", target: "/static/app-AAAA1111.js", accept: "GZIP, *;q=0",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantCache: cacheForever, wantBody: appJS},
		{name: "identity only", method: "GET", target: "/static/app-AAAA1111.js", accept: "identity",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "", wantCache: cacheForever, wantBody: appJS},
		{name: "bad q is refusal", method: "GET", target: "/static/app-AAAA1111.js", accept: "br;q=x, gzip",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantCache: cacheForever, wantBody: appJS},
		{name: "css br", method: "GET", target: "/static/app-BBBB2222.css", accept: "br",
			wantStatus: 200, wantType: "text/css; charset=utf-8", wantEncoding: "br", wantCache: cacheForever, wantBody: appCSS},
		{name: "raw file served as is", method: "GET", target: "/static/raw-CCCC3333.js", accept: "",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "", wantCache: cacheForever, wantBody: identity},
		{name: "raw file, gzip variant", method: "GET", target: "/static/raw-CCCC3333.js", accept: "br, gzip",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "gzip", wantCache: cacheForever, wantBody: identity},
		{name: "wasm br keeps application/wasm", method: "GET", target: "/static/pyodide/1.2.3/pyodide.asm.wasm", accept: "gzip, deflate, br",
			wantStatus: 200, wantType: "application/wasm", wantEncoding: "br", wantCache: cacheForever, wantBody: wasm},
		{name: "wasm identity", method: "GET", target: "/static/pyodide/1.2.3/pyodide.asm.wasm", accept: "",
			wantStatus: 200, wantType: "application/wasm", wantEncoding: "", wantCache: cacheForever, wantBody: wasm},
		{name: "file in versioned dir, not compressed", method: "GET", target: "/static/pyodide/1.2.3/python_stdlib.zip", accept: "br, gzip",
			wantStatus: 200, wantType: "application/zip", wantEncoding: "", wantCache: cacheForever, wantBody: stdlib},
		{name: "range of decompressed identity", method: "GET", target: "/static/pyodide/1.2.3/pyodide.asm.wasm", accept: "",
			header:     map[string]string{"Range": "bytes=4-11"},
			wantStatus: 206, wantType: "application/wasm", wantEncoding: "", wantCache: cacheForever, wantBody: wasm[4:12]},
		{name: "range backwards then forwards", method: "GET", target: "/static/app-AAAA1111.js", accept: "",
			header:     map[string]string{"Range": "bytes=-5"},
			wantStatus: 206, wantType: "text/javascript; charset=utf-8", wantEncoding: "", wantCache: cacheForever, wantBody: appJS[len(appJS)-5:]},
		{name: "range not satisfiable", method: "GET", target: "/static/app-AAAA1111.js", accept: "br",
			header: map[string]string{"Range": "bytes=99999-"}, wantStatus: 416},
		{name: "HEAD", method: "HEAD", target: "/static/app-AAAA1111.js", accept: "br",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantEncoding: "br", wantCache: cacheForever, wantBody: []byte{}},
		{name: "unknown file", method: "GET", target: "/static/app-FFFF0000.js", accept: "br", wantStatus: 404},
		{name: "br file by its own name", method: "GET", target: "/static/app-AAAA1111.js.br", accept: "br", wantStatus: 404},
		{name: "gz file by its own name", method: "GET", target: "/static/app-AAAA1111.js.gz", accept: "gzip", wantStatus: 404},
		{name: "manifest", method: "GET", target: "/static/manifest.json", wantStatus: 404},
		{name: "placeholder", method: "GET", target: "/static/.keep", wantStatus: 404},
		{name: "file not in manifest", method: "GET", target: "/static/secret.txt", wantStatus: 404},
		{name: "stale build output", method: "GET", target: "/static/old-ZZZZ9999.js", accept: "gzip", wantStatus: 404},
		{name: "other pyodide version", method: "GET", target: "/static/pyodide/0.9.0/pyodide.asm.wasm", accept: "gzip", wantStatus: 404},
		{name: "directory listing", method: "GET", target: "/static/pyodide/1.2.3/", wantStatus: 404},
		{name: "root", method: "GET", target: "/static/", wantStatus: 404},
		{name: "dot segments", method: "GET", target: "/static/pyodide/1.2.3/x/../python_stdlib.zip", wantStatus: 404},
		{name: "prefix stripped", method: "GET", target: "/app-AAAA1111.js", accept: "br", wantStatus: 404},
		{name: "missing asset URL", method: "GET", target: static.Prefix + "missing/editor.js", wantStatus: 404},
		{name: "POST", method: "POST", target: "/static/app-AAAA1111.js", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: status = %d, want %d", tt.method, tt.target, res.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus >= 300 {
				if got := res.Header.Get("Cache-Control"); got == cacheForever {
					t.Errorf("error response Cache-Control = %q, want no immutable caching", got)
				}
				if got := res.Header.Get("Content-Encoding"); got != "" {
					t.Errorf("error response Content-Encoding = %q, want none", got)
				}
				return
			}
			for _, h := range []struct{ key, want string }{
				{"Content-Type", tt.wantType},
				{"Content-Encoding", tt.wantEncoding},
				{"Cache-Control", tt.wantCache},
				{"Vary", "Accept-Encoding"},
				{"Cross-Origin-Resource-Policy", "same-origin"},
				{"X-Content-Type-Options", "nosniff"},
			} {
				if got := res.Header.Get(h.key); got != h.want {
					t.Errorf("%s = %q, want %q", h.key, got, h.want)
				}
			}
			if got := res.Header.Get("ETag"); !strings.HasPrefix(got, `"`) || !strings.HasSuffix(got, `"`) || len(got) < 10 {
				t.Errorf("ETag = %q, want a quoted strong tag", got)
			}
			body := rec.Body.Bytes()
			if tt.wantStatus == 200 {
				want := strconv.Itoa(len(body))
				if tt.method == "HEAD" {
					get := httptest.NewRequest("GET", tt.target, nil)
					get.Header.Set("Accept-Encoding", tt.accept)
					grec := httptest.NewRecorder()
					d.ServeHTTP(grec, get)
					want = strconv.Itoa(grec.Body.Len())
				}
				if got := res.Header.Get("Content-Length"); got != want {
					t.Errorf("Content-Length = %q, want %s", got, want)
				}
			}
			if tt.wantStatus == 206 || tt.method == "HEAD" {
				if !bytes.Equal(body, tt.wantBody) {
					t.Errorf("body = %q, want %q", body, tt.wantBody)
				}
				return
			}
			if got := decode(t, tt.wantEncoding, body); !bytes.Equal(got, tt.wantBody) {
				t.Errorf("decoded body: %d bytes, want the %d original bytes", len(got), len(tt.wantBody))
			}
		})
	}
}

// TestHandlerETag checks conditional requests, and that each encoding has its own tag
// (a cache must not answer a gzip client with a br body).
func TestHandlerETag(t *testing.T) {
	t.Parallel()
	d := newTestDist(t)
	get := func(accept, ifNoneMatch string) *http.Response {
		req := httptest.NewRequest("GET", "/static/app-AAAA1111.js", nil)
		req.Header.Set("Accept-Encoding", accept)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		return rec.Result()
	}
	tags := map[string]string{}
	for _, accept := range []string{"br", "gzip", "identity"} {
		tag := get(accept, "").Header.Get("ETag")
		for other, otherTag := range tags {
			if tag == otherTag {
				t.Errorf("ETag of %s = ETag of %s = %s, want distinct", accept, other, tag)
			}
		}
		tags[accept] = tag
		if got := get(accept, tag).StatusCode; got != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: status = %d, want 304", accept, tag, got)
		}
	}
	if got := get("gzip", tags["br"]).StatusCode; got != http.StatusOK {
		t.Errorf("gzip with the br ETag: status = %d, want 200", got)
	}
}

func TestDistNames(t *testing.T) {
	t.Parallel()
	d := newTestDist(t)
	tests := []struct {
		name    string
		wantURL string
		wantOK  bool
	}{
		{"app.js", "/static/app-AAAA1111.js", true},
		{"app.css", "/static/app-BBBB2222.css", true},
		{"pyodide/", "/static/pyodide/1.2.3/", true},
		{"editor.js", "/static/missing/editor.js", false},
		{"", "/static/missing/", false},
	}
	for _, tt := range tests {
		if got, ok := d.Lookup(tt.name); ok != tt.wantOK || (ok && got != tt.wantURL) {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.wantURL, tt.wantOK)
		}
		if got := d.URL(tt.name); got != tt.wantURL {
			t.Errorf("URL(%q) = %q, want %q", tt.name, got, tt.wantURL)
		}
	}
	want := []string{"app.css", "app.js", "pyodide/", "pyodide/pyodide.asm.wasm", "raw.js"}
	if got := d.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

// TestZeroDist checks what a binary built without its assets serves: pages still
// render (every asset URL is a "missing" one) and every file request is a 404.
func TestZeroDist(t *testing.T) {
	t.Parallel()
	var d static.Dist
	if got, ok := d.Lookup("app.js"); ok {
		t.Errorf("Lookup(app.js) = %q, true; want false", got)
	}
	if got, want := d.URL("app.js"), static.Prefix+"missing/app.js"; got != want {
		t.Errorf("URL(app.js) = %q, want %q", got, want)
	}
	if got := d.Names(); len(got) != 0 {
		t.Errorf("Names() = %q, want none", got)
	}
	for _, target := range []string{"/static/app-AAAA1111.js", static.Prefix + "missing/app.js", "/static/"} {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status = %d, want 404", target, rec.Code)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	gz := mustGzip(t, []byte("x"))
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		wantErr string // substring; ErrNotBuilt is checked with errors.Is
	}{
		{name: "no manifest", fsys: fstest.MapFS{".keep": {}}, wantErr: "make assets"},
		{name: "bad json", fsys: fstest.MapFS{"manifest.json": {Data: []byte("{")}}, wantErr: "parse manifest.json"},
		{name: "url outside prefix", fsys: fstest.MapFS{"manifest.json": {Data: []byte(`{"a.js":"/a.js"}`)}}, wantErr: "not a path under /static/"},
		{name: "dot segments", fsys: fstest.MapFS{"manifest.json": {Data: []byte(`{"a.js":"/static/x/../a.js"}`)}}, wantErr: "not a path under"},
		{name: "dir name without slash", fsys: fstest.MapFS{"manifest.json": {Data: []byte(`{"py":"/static/py/"}`)}}, wantErr: "not a path under"},
		{name: "listed file missing", fsys: fstest.MapFS{"manifest.json": {Data: []byte(`{"a.js":"/static/a-1.js"}`)}}, wantErr: "no such file"},
		{name: "only br", fsys: fstest.MapFS{
			"manifest.json": {Data: []byte(`{"a.js":"/static/a-1.js"}`)},
			"a-1.js.br":     {Data: []byte("x")},
		}, wantErr: "no such file"},
		{name: "only br in a dir", fsys: fstest.MapFS{
			"manifest.json": {Data: []byte(`{"p/":"/static/p/1/"}`)},
			"p/1/a.js.br":   {Data: []byte("x")},
			"p/1/b.js.gz":   {Data: gz},
		}, wantErr: "only a .br"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := static.New(tt.fsys)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() = %v, %v; want error containing %q", d, err, tt.wantErr)
			}
			if got, want := errors.Is(err, static.ErrNotBuilt), tt.name == "no manifest"; got != want {
				t.Errorf("errors.Is(%v, ErrNotBuilt) = %v, want %v", err, got, want)
			}
		})
	}
}

// TestEmbedded checks the real build embedded in this binary: every manifest entry
// resolves and is served in every encoding with the same bytes. It fails (on purpose)
// when the assets were not built, since the pages would then reference files that 404.
func TestEmbedded(t *testing.T) {
	d, err := static.New(static.Embedded())
	if err != nil {
		t.Fatalf("static.New(static.Embedded()) error = %v\n(static/dist is embedded when the test binary is compiled; `make test` builds it first)", err)
	}
	names := d.Names()
	for _, want := range []string{"app.js", "app.css", "docs.js", "htmx.js", "htmx-sse.js", "swagger-ui.js", "swagger-ui.css",
		"pyodide/", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json"} {
		if _, ok := d.Lookup(want); !ok {
			t.Errorf("Lookup(%q): not in the manifest (names: %q)", want, names)
		}
	}
	for _, name := range names {
		u := d.URL(name)
		if strings.HasSuffix(name, "/") {
			if !strings.HasPrefix(u, static.Prefix) || !strings.HasSuffix(u, "/") {
				t.Errorf("URL(%q) = %q, want a directory under %s", name, u, static.Prefix)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			var first []byte
			for _, enc := range []string{"br", "gzip", ""} {
				req := httptest.NewRequest("GET", u, nil)
				req.Header.Set("Accept-Encoding", enc)
				rec := httptest.NewRecorder()
				d.ServeHTTP(rec, req)
				res := rec.Result()
				if res.StatusCode != 200 {
					t.Fatalf("GET %s (Accept-Encoding %q): status %d", u, enc, res.StatusCode)
				}
				if got := res.Header.Get("Cache-Control"); got != cacheForever {
					t.Errorf("GET %s: Cache-Control = %q, want %q", u, got, cacheForever)
				}
				if got := res.Header.Get("Content-Type"); got == "" || got == "application/octet-stream" {
					t.Errorf("GET %s: Content-Type = %q, want a real type", u, got)
				}
				body := decode(t, res.Header.Get("Content-Encoding"), rec.Body.Bytes())
				if len(body) == 0 {
					t.Errorf("GET %s (%q): empty body", u, enc)
				}
				if first == nil {
					first = body
				} else if !bytes.Equal(body, first) {
					t.Errorf("GET %s: Accept-Encoding %q gives %d bytes, br gave %d different ones", u, enc, len(body), len(first))
				}
			}
			if strings.HasSuffix(name, ".wasm") && !bytes.HasPrefix(first, []byte("\x00asm")) {
				t.Errorf("%s: body does not start with the wasm magic", name)
			}
		})
	}
}
