package assets_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"duet/assets"
	"duet/static"
)

// lorem makes fixture files long enough that compressing them pays.
var lorem = strings.Repeat("lorem ipsum dolor ", 20)

// newTestRoot lays out a small repository: two entry points, one vendored file and a
// fake pyodide package with a deflated zip, so a build takes milliseconds.
func newTestRoot(t *testing.T) (root string, stdlib map[string]string) {
	t.Helper()
	root = t.TempDir()
	stdlib = map[string]string{
		"json/__init__.py": strings.Repeat("import re\n", 200),
		"re/__init__.py":   strings.Repeat("import sys\n", 300),
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, name := range []string{"json/__init__.py", "re/__init__.py"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2020, 1, 2, 3, 4, 6, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, stdlib[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"assets/app/main.ts":                     "import { greet } from './greet';\ndocument.title = greet('duet');\n",
		"assets/app/greet.ts":                    "export const greet = (who: string): string => `hello ${who} " + lorem + "`;\n",
		"assets/css/app.css":                     "body { margin: 0; color: #123456; }\n" + strings.Repeat("main > p + p { margin-block: 1rem 2rem; }\n", 20),
		"node_modules/v/dist/v.min.js":           "window.v='" + lorem + "';\n//# sourceMappingURL=v.min.js.map\n",
		"node_modules/v/dist/tiny.js":            "x\n",
		"node_modules/pyodide/package.json":      `{"name":"pyodide","version":"1.2.3"}`,
		"package.json":                           `{"private":true}`,
		"node_modules/pyodide/pyodide.mjs":       "export const loadPyodide = () => '" + lorem + "';\n//# sourceMappingURL=pyodide.mjs.map",
		"node_modules/pyodide/pyodide.asm.wasm":  "\x00asm\x01\x00\x00\x00" + strings.Repeat("\x00\x01", 2000),
		"node_modules/pyodide/python_stdlib.zip": zbuf.String(),
	}
	for name, data := range files {
		mustWrite(t, filepath.Join(root, name), data)
	}
	return root, stdlib
}

func mustWrite(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testConfig(t *testing.T, root string) assets.Config {
	return assets.Config{
		Root:   root,
		OutDir: "out",
		Entries: []assets.Entry{
			{Name: "app", Source: "assets/app/main.ts"},
			{Name: "app", Source: "assets/css/app.css"},
			{Name: "editor", Source: "assets/editor/main.ts"}, // does not exist: skipped
		},
		Copies: []assets.Copy{
			{Name: "v.js", Source: "node_modules/v/dist/v.min.js"},
			{Name: "tiny.js", Source: "node_modules/v/dist/tiny.js"}, // compressing does not shrink it
		},
		Pyodide:            "node_modules/pyodide",
		PyodideFiles:       []string{"pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip"},
		RepackStdlib:       true,
		BrotliQuality:      5,
		LargeBrotliQuality: 4,
		LargeFile:          1 << 20,
		Logf:               t.Logf,
	}
}

func mustBuild(t *testing.T, cfg assets.Config) *assets.Result {
	t.Helper()
	res, err := assets.Build(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	return res
}

func mustGunzip(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func mustUnbrotli(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(brotli.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// listFiles returns every file under dir, relative and slash-separated, sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestBuild(t *testing.T) {
	t.Parallel()
	root, stdlib := newTestRoot(t)
	cfg := testConfig(t, root)
	out := filepath.Join(root, "out")
	res := mustBuild(t, cfg)

	hashed := map[string]*regexp.Regexp{
		"app.js":  regexp.MustCompile(`^/static/app-[A-Z2-7]{8}\.js$`),
		"app.css": regexp.MustCompile(`^/static/app-[A-Z2-7]{8}\.css$`),
		"v.js":    regexp.MustCompile(`^/static/v-[A-Z2-7]{8}\.js$`),
		"tiny.js": regexp.MustCompile(`^/static/tiny-[A-Z2-7]{8}\.js$`),
	}
	wantManifest := map[string]string{
		"pyodide/":                  "/static/pyodide/1.2.3/",
		"pyodide/pyodide.mjs":       "/static/pyodide/1.2.3/pyodide.mjs",
		"pyodide/pyodide.asm.wasm":  "/static/pyodide/1.2.3/pyodide.asm.wasm",
		"pyodide/python_stdlib.zip": "/static/pyodide/1.2.3/python_stdlib.zip",
	}
	for name, re := range hashed {
		if !re.MatchString(res.Manifest[name]) {
			t.Errorf("Manifest[%q] = %q, want match of %s", name, res.Manifest[name], re)
		}
		wantManifest[name] = res.Manifest[name]
	}
	if !mapsEqual(res.Manifest, wantManifest) {
		t.Errorf("Manifest = %v, want %v", res.Manifest, wantManifest)
	}
	var onDisk map[string]string
	raw, err := os.ReadFile(filepath.Join(out, assets.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &onDisk); err != nil || !mapsEqual(onDisk, res.Manifest) {
		t.Errorf("manifest.json = %s (err %v), want %v", raw, err, res.Manifest)
	}

	// Compressible files exist only as .br + .gz that decode to the same bytes.
	rel := func(name string) string { return strings.TrimPrefix(res.Manifest[name], "/static/") }
	var wantFiles []string
	for _, name := range []string{"app.js", "app.css", "v.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip"} {
		wantFiles = append(wantFiles, rel(name)+".br", rel(name)+".gz")
	}
	wantFiles = append(wantFiles, "manifest.json", rel("tiny.js"))
	slices.Sort(wantFiles)
	if got := listFiles(t, out); !slices.Equal(got, wantFiles) {
		t.Errorf("files in out = %q, want %q", got, wantFiles)
	}
	content := map[string][]byte{}
	for _, name := range []string{"app.js", "app.css", "v.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip"} {
		p := filepath.Join(out, filepath.FromSlash(rel(name)))
		gz, br := mustGunzip(t, p+".gz"), mustUnbrotli(t, p+".br")
		if !bytes.Equal(gz, br) {
			t.Errorf("%s: .gz and .br decode to different bytes", name)
		}
		content[name] = gz
	}
	for name, want := range map[string]string{
		"app.js":              "document.title=",          // bundled the import
		"app.js ":             "hello ${",                 // (same file)
		"app.css":             "#123456",                  // minified but present
		"v.js":                "window.v='lorem ipsum",    // copied
		"pyodide/pyodide.mjs": "export const loadPyodide", // copied
	} {
		name = strings.TrimSpace(name)
		if !strings.Contains(string(content[name]), want) {
			t.Errorf("%s = %q, want it to contain %q", name, content[name], want)
		}
		if strings.Contains(string(content[name]), "sourceMappingURL") {
			t.Errorf("%s = %q, want no sourceMappingURL", name, content[name])
		}
	}

	// python_stdlib.zip was repacked STORED with the same contents.
	zr, err := zip.NewReader(bytes.NewReader(content["pyodide/python_stdlib.zip"]), int64(len(content["pyodide/python_stdlib.zip"])))
	if err != nil {
		t.Fatalf("repacked zip: %v", err)
	}
	if len(zr.File) != len(stdlib) {
		t.Errorf("repacked zip has %d files, want %d", len(zr.File), len(stdlib))
	}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("repacked %s: method %d, want Store", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != stdlib[f.Name] {
			t.Errorf("repacked %s: %d bytes, err %v; want the %d original bytes", f.Name, len(b), err, len(stdlib[f.Name]))
		}
	}

	// Package static can serve it: the two sides agree on the layout.
	d, err := static.New(os.DirFS(out))
	if err != nil {
		t.Fatalf("static.New(out) error = %v", err)
	}
	for _, name := range []string{"app.js", "pyodide/pyodide.asm.wasm"} {
		req := httptest.NewRequest("GET", d.URL(name), nil)
		req.Header.Set("Accept-Encoding", "br")
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "br" {
			t.Errorf("GET %s: %d, Content-Encoding %q; want 200, br", d.URL(name), rec.Code, rec.Header().Get("Content-Encoding"))
		}
	}

	var compressed int
	for _, f := range res.Files {
		if f.Compressed {
			compressed++
		}
	}
	if compressed != 6 || len(res.Files) != 7 {
		t.Errorf("first build: %d files, %d compressed; want 7, 6", len(res.Files), compressed)
	}

	// A second build with stale outputs around: nothing is recompressed, the stale
	// files and the directory of an old Pyodide version are gone.
	mustWrite(t, filepath.Join(out, "app-OLDOLDOL.js.br"), "old")
	mustWrite(t, filepath.Join(out, "pyodide", "0.0.1", "pyodide.mjs.gz"), "old")
	mustWrite(t, filepath.Join(out, ".tmp-123"), "interrupted")
	res2 := mustBuild(t, cfg)
	for _, f := range res2.Files {
		if f.Compressed {
			t.Errorf("second build recompressed %s, want it up to date", f.Path)
		}
	}
	if got := listFiles(t, out); !slices.Equal(got, wantFiles) {
		t.Errorf("after second build: files = %q, want %q", got, wantFiles)
	}
	if _, err := os.Stat(filepath.Join(out, "pyodide", "0.0.1")); !os.IsNotExist(err) {
		t.Errorf("old pyodide directory: Stat error = %v, want not exist", err)
	}

	// Editing a source gives a new hash; only that file is compressed again and the
	// old one is removed.
	mustWrite(t, filepath.Join(root, "assets/app/greet.ts"), "export const greet = (who: string): string => `hi ${who} "+lorem+"`;\n")
	res3 := mustBuild(t, cfg)
	if res3.Manifest["app.js"] == res.Manifest["app.js"] {
		t.Errorf("after an edit: app.js URL unchanged (%s)", res3.Manifest["app.js"])
	}
	for _, f := range res3.Files {
		if want := "/static/"+f.Path == res3.Manifest["app.js"]; f.Compressed != want {
			t.Errorf("third build: %s compressed = %v, want %v", f.Path, f.Compressed, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, rel("app.js")+".gz")); !os.IsNotExist(err) {
		t.Errorf("old app.js: Stat error = %v, want not exist", err)
	}
}

func TestBuildKeepIdentity(t *testing.T) {
	t.Parallel()
	root, _ := newTestRoot(t)
	cfg := testConfig(t, root)
	cfg.KeepIdentity, cfg.RepackStdlib = true, false
	res := mustBuild(t, cfg)
	out := filepath.Join(root, "out")
	for _, name := range []string{"app.js", "pyodide/pyodide.asm.wasm"} {
		p := filepath.Join(out, strings.TrimPrefix(res.Manifest[name], "/static/"))
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("identity copy of %s: %v", name, err)
		}
		if gz := mustGunzip(t, p+".gz"); !bytes.Equal(raw, gz) {
			t.Errorf("%s: identity and .gz differ", name)
		}
	}
	// Not repacked, a zip is not compressible: it is written as it is, alone.
	zipPath := filepath.Join(out, "pyodide", "1.2.3", "python_stdlib.zip")
	orig, _ := os.ReadFile(filepath.Join(root, "node_modules/pyodide/python_stdlib.zip"))
	if got, err := os.ReadFile(zipPath); err != nil || !bytes.Equal(got, orig) {
		t.Errorf("python_stdlib.zip: %d bytes, err %v; want the original %d bytes", len(got), err, len(orig))
	}
	if _, err := os.Stat(zipPath + ".gz"); !os.IsNotExist(err) {
		t.Errorf("python_stdlib.zip.gz: Stat error = %v, want not exist", err)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string, cfg *assets.Config)
		wantErr string
	}{
		{"syntax error", func(t *testing.T, root string, cfg *assets.Config) {
			mustWrite(t, filepath.Join(root, "assets/app/main.ts"), "export const = ;\n")
		}, "esbuild: 1 error(s)"},
		{"output dir not ours", func(t *testing.T, root string, cfg *assets.Config) {
			mustWrite(t, filepath.Join(root, "out", "go.mod"), "module x\n")
		}, "refusing to build into"},
		{"duplicate logical name", func(t *testing.T, root string, cfg *assets.Config) {
			mustWrite(t, filepath.Join(root, "assets/app/other.ts"), "console.log(1)\n")
			cfg.Entries = append(cfg.Entries, assets.Entry{Name: "v", Source: "assets/app/other.ts"})
		}, "logical name v.js used by"},
		{"missing vendored file", func(t *testing.T, root string, cfg *assets.Config) {
			cfg.Copies = append(cfg.Copies, assets.Copy{Name: "gone.js", Source: "node_modules/gone.js"})
		}, "run npm ci"},
		{"bad pyodide version", func(t *testing.T, root string, cfg *assets.Config) {
			mustWrite(t, filepath.Join(root, "node_modules/pyodide/package.json"), `{"version":"../x"}`)
		}, "unusable version"},
		{"not the repository root", func(t *testing.T, root string, cfg *assets.Config) {
			os.Remove(filepath.Join(root, "package.json"))
		}, "has no package.json"},
		{"bad prefix", func(t *testing.T, root string, cfg *assets.Config) {
			cfg.URLPrefix = "static"
		}, "must start and end with /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root, _ := newTestRoot(t)
			cfg := testConfig(t, root)
			tt.setup(t, root, &cfg)
			_, err := assets.Build(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestWatch edits a source while Watch runs and waits for the manifest to follow.
func TestWatch(t *testing.T) {
	t.Parallel()
	root, _ := newTestRoot(t)
	cfg := testConfig(t, root)
	manifest := filepath.Join(root, "out", assets.ManifestName)
	appURL := func() string {
		raw, err := os.ReadFile(manifest)
		if err != nil {
			return ""
		}
		var m map[string]string
		json.Unmarshal(raw, &m)
		return m["app.js"]
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- assets.Watch(ctx, cfg) }()
	waitFor("the first build", func() bool { return appURL() != "" })
	first := appURL()
	mustWrite(t, filepath.Join(root, "assets/app/greet.ts"), "export const greet = (who: string): string => `bye ${who}`;\n")
	waitFor("a rebuild after the edit", func() bool { u := appURL(); return u != "" && u != first })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch() = %v, want nil after cancel", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
