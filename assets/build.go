// Package assets builds everything the browser fetches into static/dist: it bundles the
// islands and the stylesheet with esbuild's Go API, copies vendored scripts and Pyodide from
// node_modules, names files by content hash, precompresses them (.br, .gz) and writes the
// manifest that package static reads. It runs at build time only (cmd/buildassets is its
// only importer) and is never linked into the server.
package assets

import (
	"archive/zip"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/evanw/esbuild/pkg/api"
)

// ManifestName is the manifest's file name inside the output directory. Package static
// reads the same name; it maps logical names ("app.js", "pyodide/") to URL paths.
const ManifestName = "manifest.json"

// keepName is the placeholder that lets `//go:embed all:dist` compile on a fresh clone.
const keepName = ".keep"

// Entry is one esbuild entry point. Its outputs get the logical name Name plus the
// output's extension: {Name: "app", Source: "assets/app/main.ts"} gives "app.js".
type Entry struct {
	Name   string // logical base name, also the start of the hashed file name
	Source string // relative to Config.Root; the entry is skipped while the file does not exist
}

// Copy is a file copied verbatim (minus a trailing sourceMappingURL comment, since maps
// are not shipped) and given a content-hashed name: htmx.js → htmx-<HASH>.js.
type Copy struct {
	Name   string // logical name; its extension is kept
	Source string // relative to Config.Root
}

// DefaultEntries are the bundles of duet. Adding an island is one line; entries whose
// source does not exist yet are skipped, so the list can name islands before they exist.
func DefaultEntries() []Entry {
	return []Entry{
		{Name: "app", Source: "assets/app/main.ts"},                       // page glue, every page
		{Name: "app", Source: "assets/css/app.css"},                       // the one stylesheet → app.css
		{Name: "docs", Source: "assets/docs/main.ts"},                     // Swagger UI init on /docs
		{Name: "editor", Source: "assets/editor/main.ts"},                 // CodeMirror 6 + collab island
		{Name: "runner", Source: "assets/runner/main.ts"},                 // runner island, page side
		{Name: "runner-worker", Source: "assets/runner/worker.ts"},        // runner Web Worker (own entry: esbuild #312)
		{Name: "runner-js-worker", Source: "assets/runner/jsworker.ts"},   // JavaScript (and TypeScript) runner worker, one per run
		{Name: "runner-sql-worker", Source: "assets/runner/sqlworker.ts"}, // SQL runner worker: sql.js's glue, SQLite itself is sql-wasm.wasm
		{Name: "replay", Source: "assets/replay/main.ts"},                 // playback on the replay page
	}
}

// DefaultCopies are the vendored files served as they come from npm.
func DefaultCopies() []Copy {
	return []Copy{
		{Name: "favicon.svg", Source: "assets/favicon.svg"},
		{Name: "htmx.js", Source: "node_modules/htmx.org/dist/htmx.min.js"},
		{Name: "htmx-sse.js", Source: "node_modules/htmx-ext-sse/dist/sse.min.js"},
		{Name: "swagger-ui.js", Source: "node_modules/swagger-ui-dist/swagger-ui-bundle.js"},
		{Name: "swagger-ui.css", Source: "node_modules/swagger-ui-dist/swagger-ui.css"},
		// SQLite for the SQL runner, the build of sql.js that its browser glue (bundled
		// into runner-sql-worker.js) expects; the page compiles it once.
		{Name: "sql-wasm.wasm", Source: "node_modules/sql.js/dist/sql-wasm-browser.wasm"},
	}
}

// DefaultPyodideFiles are the files of the pyodide npm package that the browser fetches for
// stdlib-only code (found by watching what a prototype fetched). pyodide.js (UMD), the maps,
// the consoles and the .d.ts files are not needed at run time.
func DefaultPyodideFiles() []string {
	return []string{"pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"}
}

// Config says what to build and where. Start from DefaultConfig: Build fills only a zero
// Root, OutDir, URLPrefix and brotli setting with the defaults; the lists are used as
// given (nil builds nothing of that kind).
type Config struct {
	Root      string  // repository root: package.json, node_modules and assets/ live here
	OutDir    string  // output directory, relative to Root unless absolute
	URLPrefix string  // where the output directory is served, "/static/"
	Entries   []Entry // esbuild entry points
	Copies    []Copy  // vendored files
	Pyodide   string  // the pyodide npm package directory, relative to Root; "" skips Pyodide

	PyodideFiles []string // files of Pyodide copied into pyodide/<version>/

	// RepackStdlib rewrites python_stdlib.zip with STORED (uncompressed) entries, so
	// that brotli and gzip can compress across files: 2.55 MB → 1.79 MB brotli, 2.22 MB
	// gzip. The browser holds about 7 MB more in memory. Pyodide loads either.
	RepackStdlib bool

	BrotliQuality      int   // brotli quality of files smaller than LargeFile (0–11)
	LargeBrotliQuality int   // brotli quality of files of LargeFile bytes or more
	LargeFile          int64 // see LargeBrotliQuality

	// KeepIdentity also writes the uncompressed copy of every compressible file. Package
	// static does not need it: it decompresses the .gz for the rare client that accepts
	// neither br nor gzip, so leaving it out keeps the server binary small.
	KeepIdentity bool

	// Force recompresses files whose .br and .gz are already up to date.
	Force bool

	Logf func(format string, args ...any) // progress; nil is silent
}

// DefaultConfig is the build of `make assets`, run from the repository root.
func DefaultConfig() Config {
	return Config{
		Root:         ".",
		OutDir:       filepath.Join("static", "dist"),
		URLPrefix:    "/static/",
		Entries:      DefaultEntries(),
		Copies:       DefaultCopies(),
		Pyodide:      filepath.Join("node_modules", "pyodide"),
		PyodideFiles: DefaultPyodideFiles(),
		RepackStdlib: true,
		// Quality 11 costs about 2.3 s per MB in pure Go; quality 9 for the 9.6 MB wasm
		// takes 2 s instead of 24 s (q10) or 38 s (q11), for 11 % more bytes (3.11 MB
		// against 2.79 MB and 2.74 MB). Measured on the project's 2-core machine.
		BrotliQuality:      11,
		LargeBrotliQuality: 9,
		LargeFile:          4 << 20,
	}
}

func (c *Config) setDefaults() {
	d := DefaultConfig()
	if c.Root == "" {
		c.Root = d.Root
	}
	if c.OutDir == "" {
		c.OutDir = d.OutDir
	}
	if c.URLPrefix == "" {
		c.URLPrefix = d.URLPrefix
	}
	if c.BrotliQuality == 0 {
		c.BrotliQuality = d.BrotliQuality
	}
	if c.LargeBrotliQuality == 0 {
		c.LargeBrotliQuality = d.LargeBrotliQuality
	}
	if c.LargeFile == 0 {
		c.LargeFile = d.LargeFile
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Result describes a finished build.
type Result struct {
	Manifest map[string]string // logical name → URL path, as written to ManifestName
	Files    []File            // every file served, largest first
	Bundle   time.Duration     // esbuild
	Copy     time.Duration     // reading vendored files and Pyodide (and repacking the zip)
	Compress time.Duration     // writing, precompressing, cleaning up
}

// File is one served file and what the build wrote for it.
type File struct {
	Path       string        // relative to the output directory, slash-separated
	Raw        int64         // uncompressed size
	Br, Gz     int64         // sizes of the .br and .gz variants; 0 when not compressible
	Compressed bool          // whether this build compressed it (false: up to date)
	Took       time.Duration // time spent compressing it
}

// output is a file to write: its path under the output directory and its bytes.
type output struct {
	rel     string // slash-separated, relative to the output directory
	logical string // manifest key; "" for none
	data    []byte
	pack    bool // write .br and .gz (instead of the file itself, unless KeepIdentity)
}

// builder holds a resolved Config: absolute paths and the vendored outputs, which are
// read once even in watch mode.
type builder struct {
	cfg    Config
	root   string
	out    string
	copies []output
	copyT  time.Duration
	dirs   map[string]string // extra manifest entries for directories ("pyodide/" → URL)
	mu     sync.Mutex        // serialises finish in watch mode
}

func newBuilder(cfg Config) (*builder, error) {
	cfg.setDefaults()
	if !strings.HasPrefix(cfg.URLPrefix, "/") || !strings.HasSuffix(cfg.URLPrefix, "/") {
		return nil, fmt.Errorf("url prefix %q must start and end with /", cfg.URLPrefix)
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("resolve root: %w", err)
	}
	out := cfg.OutDir
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if _, err := os.Stat(filepath.Join(root, "package.json")); err != nil {
		return nil, fmt.Errorf("%s has no package.json: run from the repository root or pass -root", root)
	}
	if err := checkOutDir(out); err != nil {
		return nil, err
	}
	b := &builder{cfg: cfg, root: root, out: out, dirs: map[string]string{}}
	start := time.Now()
	if err := b.readCopies(); err != nil {
		return nil, err
	}
	if err := b.readPyodide(); err != nil {
		return nil, err
	}
	b.copyT = time.Since(start)
	return b, nil
}

// Build bundles, copies and precompresses everything into cfg.OutDir, writes the
// manifest, and removes the outputs of earlier builds that this one no longer produced.
// Files whose .br and .gz are already up to date are not compressed again (names are
// content hashes, and the versioned Pyodide files are checked byte for byte).
func Build(ctx context.Context, cfg Config) (*Result, error) {
	b, err := newBuilder(cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res := api.Build(b.options())
	bundleT := time.Since(start)
	b.logMessages(res.Warnings, api.WarningMessage)
	if len(res.Errors) > 0 {
		b.logMessages(res.Errors, api.ErrorMessage)
		return nil, fmt.Errorf("esbuild: %d error(s), first: %s", len(res.Errors), res.Errors[0].Text)
	}
	r, err := b.finish(ctx, &res)
	if err != nil {
		return nil, err
	}
	r.Bundle = bundleT
	return r, nil
}

// Watch builds once, then rebuilds the bundles whenever one of their sources changes,
// until ctx is done. Build errors are logged, not returned, so a typo does not end the
// session; the previous output stays in place. Vendored files are read once: after
// `npm ci`, restart it.
func Watch(ctx context.Context, cfg Config) error {
	b, err := newBuilder(cfg)
	if err != nil {
		return err
	}
	opts := b.options()
	opts.Plugins = append(opts.Plugins, api.Plugin{
		Name: "duet-dist",
		Setup: func(pb api.PluginBuild) {
			var start time.Time
			pb.OnStart(func() (api.OnStartResult, error) {
				start = time.Now()
				return api.OnStartResult{}, nil
			})
			pb.OnEnd(func(res *api.BuildResult) (api.OnEndResult, error) {
				b.logMessages(res.Warnings, api.WarningMessage)
				if len(res.Errors) > 0 {
					b.logMessages(res.Errors, api.ErrorMessage)
					b.cfg.Logf("build failed; keeping the previous output")
					return api.OnEndResult{}, nil
				}
				r, err := b.finish(ctx, res)
				if err != nil {
					b.cfg.Logf("write output: %v", err)
					return api.OnEndResult{}, nil
				}
				b.cfg.Logf("built %d files in %v", len(r.Files), time.Since(start).Round(time.Millisecond))
				return api.OnEndResult{}, nil
			})
		},
	})
	bc, cerr := api.Context(opts)
	if cerr != nil {
		return fmt.Errorf("esbuild context: %w", cerr)
	}
	defer bc.Dispose()
	bc.Rebuild()
	if err := bc.Watch(api.WatchOptions{}); err != nil {
		return fmt.Errorf("esbuild watch: %w", err)
	}
	b.cfg.Logf("watching %s for changes", b.root)
	<-ctx.Done()
	return nil
}

// options are the esbuild options shared by Build and Watch. Write is false: finish
// writes the files itself, so that it can precompress them and keep the manifest
// and the cleanup in step with what was written.
//
// Splitting lets an island load code on demand with import() (the editor's grammars
// and Vim keys, the runner's TypeScript compiler and example database) while sharing one copy of the modules both sides use: CodeMirror breaks
// when @codemirror/state is loaded twice. Code shared by entries or dynamic imports
// goes into chunk-[hash].js files that the entries import.
func (b *builder) options() api.BuildOptions {
	var eps []api.EntryPoint
	for _, e := range b.cfg.Entries {
		if _, err := os.Stat(filepath.Join(b.root, e.Source)); err != nil {
			b.cfg.Logf("skip entry %s: %s does not exist yet", e.Name, e.Source)
			continue
		}
		eps = append(eps, api.EntryPoint{InputPath: filepath.ToSlash(e.Source), OutputPath: e.Name})
	}
	return api.BuildOptions{
		AbsWorkingDir:       b.root,
		EntryPointsAdvanced: eps,
		Bundle:              true,
		Splitting:           true,
		Format:              api.FormatESModule,
		Platform:            api.PlatformBrowser,
		Target:              api.ES2022,
		MinifyWhitespace:    true,
		MinifyIdentifiers:   true,
		MinifySyntax:        true,
		LegalComments:       api.LegalCommentsNone,
		Charset:             api.CharsetUTF8,
		Metafile:            true,
		Write:               false,
		Outdir:              b.out,
		EntryNames:          "[name]-[hash]",
		ChunkNames:          "chunk-[hash]",
		AssetNames:          "[name]-[hash]",
		PublicPath:          strings.TrimSuffix(b.cfg.URLPrefix, "/"),
		Loader: map[string]api.Loader{
			".sql": api.LoaderText, // the SQL runner's example database, a string in its chunk
			".svg": api.LoaderFile, ".png": api.LoaderFile, ".woff2": api.LoaderFile, ".woff": api.LoaderFile,
		},
		LogLevel: api.LogLevelSilent, // messages are formatted by logMessages
		Plugins:  []api.Plugin{constructedStyleSheets},
	}
}

// styleModSource is the file of the style-mod package (CodeMirror's CSS-in-JS) that
// esbuild bundles, and styleModDocumentTest the condition in it patched below.
var (
	styleModSource       = regexp.MustCompile(`[\\/]node_modules[\\/]style-mod[\\/]src[\\/]style-mod\.js$`)
	styleModDocumentTest = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {"
)

// constructedStyleSheets makes CodeMirror's styles work under duet's Content Security
// Policy (style-src 'self', no 'unsafe-inline'). style-mod mounts the editor's CSS in a
// <style> element when the root is a document, which that policy blocks, and uses a
// constructed stylesheet (document.adoptedStyleSheets, which CSP does not restrict)
// only in shadow roots. The patch takes the constructed sheet in documents too. Adopted
// sheets come after the page's stylesheets in the cascade, so assets/css/editor.css
// overrides CodeMirror's rules with one more class of specificity. A style-mod release
// that changes the line fails the build here, instead of shipping an unstyled editor.
var constructedStyleSheets = api.Plugin{
	Name: "duet-constructed-stylesheets",
	Setup: func(pb api.PluginBuild) {
		pb.OnLoad(api.OnLoadOptions{Filter: styleModSource.String()}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
			src, err := os.ReadFile(args.Path)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			if !bytes.Contains(src, []byte(styleModDocumentTest)) {
				return api.OnLoadResult{}, fmt.Errorf("style-mod changed: %q not found; check how it mounts styles before updating it", styleModDocumentTest)
			}
			patched := strings.Replace(string(src), styleModDocumentTest, "if (root.adoptedStyleSheets && win.CSSStyleSheet) {", 1)
			return api.OnLoadResult{Contents: &patched, Loader: api.LoaderJS, ResolveDir: filepath.Dir(args.Path)}, nil
		})
	},
}

func (b *builder) logMessages(msgs []api.Message, kind api.MessageKind) {
	for _, m := range api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: kind}) {
		b.cfg.Logf("%s", strings.TrimRight(m, "\n"))
	}
}

// bundleOutputs turns esbuild's in-memory result into outputs with logical names taken
// from the metafile: an output made for an entry point is named after the entry, anything
// else (a shared chunk, the chunk of a module loaded with import(), a font imported by
// the CSS) by its own hashed file name.
func (b *builder) bundleOutputs(res *api.BuildResult) ([]output, error) {
	var meta struct {
		Outputs map[string]struct {
			EntryPoint string `json:"entryPoint"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(res.Metafile), &meta); err != nil {
		return nil, fmt.Errorf("parse esbuild metafile: %w", err)
	}
	names := map[string]string{} // entry source → entry name
	for _, e := range b.cfg.Entries {
		names[filepath.ToSlash(e.Source)] = e.Name
	}
	var outs []output
	for _, f := range res.OutputFiles {
		rel, err := filepath.Rel(b.out, f.Path)
		if err != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("esbuild wrote %s outside %s", f.Path, b.out)
		}
		rel = filepath.ToSlash(rel)
		metaKey, err := filepath.Rel(b.root, f.Path)
		if err != nil {
			return nil, err
		}
		logical := path.Base(rel)
		// esbuild also gives the chunk of a dynamic import() the imported module as its
		// entryPoint; only our entries get logical names.
		if name, ok := names[meta.Outputs[filepath.ToSlash(metaKey)].EntryPoint]; ok {
			logical = name + path.Ext(rel)
		}
		outs = append(outs, output{rel: rel, logical: logical, data: f.Contents, pack: compressible(rel)})
	}
	return outs, nil
}

var sourceMapComment = regexp.MustCompile(`\n?(?://# sourceMappingURL=[^\n]*|/\*# sourceMappingURL=[^\n]*?\*/)\s*$`)

// readCopies reads the vendored files and names them by content hash.
func (b *builder) readCopies() error {
	for _, c := range b.cfg.Copies {
		data, err := os.ReadFile(filepath.Join(b.root, c.Source))
		if err != nil {
			return fmt.Errorf("read vendored %s: %w (run npm ci)", c.Name, err)
		}
		data = stripSourceMap(c.Name, data)
		ext := path.Ext(c.Name)
		rel := strings.TrimSuffix(c.Name, ext) + "-" + contentHash(data) + ext
		b.copies = append(b.copies, output{rel: rel, logical: c.Name, data: data, pack: compressible(rel)})
	}
	return nil
}

// stripSourceMap drops a trailing sourceMappingURL comment from JavaScript and CSS: the
// maps are not shipped, and a renamed file would point at the wrong one anyway.
func stripSourceMap(name string, data []byte) []byte {
	switch path.Ext(name) {
	case ".js", ".mjs", ".css":
		tail := max(0, len(data)-1024) // the comment is on the last line; skip scanning megabytes
		if loc := sourceMapComment.FindIndex(data[tail:]); loc != nil {
			return append(data[:tail+loc[0]:tail+loc[0]], '\n')
		}
	}
	return data
}

// contentHash is 8 characters of base32 SHA-256, the same shape as esbuild's [hash].
func contentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return base32.StdEncoding.EncodeToString(sum[:])[:8]
}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]*$`)

// readPyodide reads the Pyodide files into pyodide/<version>/. Their names cannot carry
// a hash: Pyodide loads its siblings relative to indexURL. The version in the directory
// makes immutable caching safe.
func (b *builder) readPyodide() error {
	if b.cfg.Pyodide == "" || len(b.cfg.PyodideFiles) == 0 {
		return nil
	}
	dir := filepath.Join(b.root, b.cfg.Pyodide)
	pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return fmt.Errorf("read pyodide version: %w (run npm ci)", err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(pkg, &meta); err != nil {
		return fmt.Errorf("parse %s: %w", filepath.Join(dir, "package.json"), err)
	}
	if !versionRE.MatchString(meta.Version) {
		return fmt.Errorf("pyodide package.json: unusable version %q", meta.Version)
	}
	base := "pyodide/" + meta.Version + "/"
	for _, name := range b.cfg.PyodideFiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("read pyodide file: %w (run npm ci)", err)
		}
		pack := compressible(name)
		if name == "python_stdlib.zip" && b.cfg.RepackStdlib {
			if data, err = storeZip(data); err != nil {
				return fmt.Errorf("repack %s: %w", name, err)
			}
			pack = true
		}
		b.copies = append(b.copies, output{rel: base + name, logical: "pyodide/" + name, data: stripSourceMap(name, data), pack: pack})
	}
	b.dirs["pyodide/"] = b.cfg.URLPrefix + base
	return nil
}

// storeZip rewrites a zip archive with every entry STORED, keeping names, order, times
// and attributes. The result is deterministic for a given input.
func storeZip(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		fh := f.FileHeader
		fh.Method = zip.Store
		fh.Flags &^= 0x8 // no data descriptor: sizes and CRC are known up front
		fh.CompressedSize64 = fh.UncompressedSize64
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			return nil, err
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(w, rc) // Open verifies the CRC at EOF
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// finish writes one build's outputs, then the manifest, then removes stale files. The
// order keeps the directory usable if it is interrupted: the old manifest still names
// files that exist.
func (b *builder) finish(ctx context.Context, res *api.BuildResult) (*Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	outs, err := b.bundleOutputs(res)
	if err != nil {
		return nil, err
	}
	outs = append(outs, b.copies...)

	manifest := map[string]string{}
	seen := map[string]bool{}
	for _, o := range outs {
		if seen[o.rel] {
			return nil, fmt.Errorf("two outputs named %s", o.rel)
		}
		seen[o.rel] = true
		if o.logical == "" {
			continue
		}
		if prev, dup := manifest[o.logical]; dup {
			return nil, fmt.Errorf("logical name %s used by %s and %s", o.logical, prev, o.rel)
		}
		manifest[o.logical] = b.cfg.URLPrefix + o.rel
	}
	for k, v := range b.dirs {
		manifest[k] = v
	}

	start := time.Now()
	files, keep, err := b.writeAll(ctx, outs)
	if err != nil {
		return nil, err
	}
	mj, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(b.out, ManifestName), append(mj, '\n')); err != nil {
		return nil, err
	}
	if err := removeStale(b.out, keep); err != nil {
		return nil, err
	}
	return &Result{Manifest: manifest, Files: files, Copy: b.copyT, Compress: time.Since(start)}, nil
}

// writeAll writes every output on GOMAXPROCS workers, largest first (the wasm dominates),
// and returns what it wrote plus the set of paths to keep.
func (b *builder) writeAll(ctx context.Context, outs []output) ([]File, map[string]bool, error) {
	slices.SortFunc(outs, func(x, y output) int { return len(y.data) - len(x.data) })
	files := make([]File, len(outs))
	written := make([][]string, len(outs))
	var (
		wg    sync.WaitGroup
		next  = make(chan int)
		errMu sync.Mutex
		first error
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				f, paths, err := b.write(outs[i])
				if err != nil {
					errMu.Lock()
					first = cmp.Or(first, err)
					errMu.Unlock()
				}
				files[i], written[i] = f, paths
			}
		})
	}
	for i := range outs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	keep := map[string]bool{}
	for _, ps := range written {
		for _, p := range ps {
			keep[p] = true
		}
	}
	return files, keep, first
}

// compressible reports whether precompressing a file pays. Zip archives (unless
// repacked), images and fonts are compressed already.
func compressible(rel string) bool {
	switch path.Ext(rel) {
	case ".js", ".mjs", ".css", ".wasm", ".json", ".map", ".svg", ".html", ".txt", ".xml", ".ico", ".ttf", ".otf":
		return true
	}
	return false
}

// write writes one output and returns the paths it wrote (relative to the output
// directory): the .br and .gz variants of a compressible file (and the file itself only
// with KeepIdentity), else the file itself, as also when compressing does not shrink it.
//
// The .gz is written last and is the commit mark: when it exists and decompresses to
// exactly these bytes, the .br beside it was written from the same bytes (it is removed
// before a new .br is written), so both are reused.
func (b *builder) write(o output) (File, []string, error) {
	f := File{Path: o.rel, Raw: int64(len(o.data))}
	dst := filepath.Join(b.out, filepath.FromSlash(o.rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return f, nil, err
	}
	identity := []string{o.rel}
	if !o.pack || b.cfg.KeepIdentity {
		if err := writeIfChanged(dst, o.data); err != nil {
			return f, nil, err
		}
	}
	if !o.pack {
		return f, identity, nil
	}
	paths := []string{o.rel + ".br", o.rel + ".gz"}
	if b.cfg.KeepIdentity {
		paths = append(paths, o.rel)
	}
	br, gz := dst+".br", dst+".gz"
	if !b.cfg.Force && gzipHolds(gz, o.data) {
		if st, err := os.Stat(br); err == nil {
			f.Br = st.Size()
			st, err = os.Stat(gz)
			if err == nil {
				f.Gz = st.Size()
				return f, paths, nil
			}
		}
	}
	start := time.Now()
	if err := os.Remove(gz); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return f, nil, err
	}
	q := b.cfg.BrotliQuality
	if int64(len(o.data)) >= b.cfg.LargeFile {
		q = b.cfg.LargeBrotliQuality
	}
	brData, err := brotliBytes(o.data, q)
	if err != nil {
		return f, nil, fmt.Errorf("brotli %s: %w", o.rel, err)
	}
	gzData, err := gzipBytes(o.data)
	if err != nil {
		return f, nil, fmt.Errorf("gzip %s: %w", o.rel, err)
	}
	if len(brData) >= len(o.data) && len(gzData) >= len(o.data) {
		b.cfg.Logf("%s: %d bytes, compressing does not shrink it", o.rel, len(o.data))
		return f, identity, writeIfChanged(dst, o.data)
	}
	if err := writeFileAtomic(br, brData); err != nil {
		return f, nil, err
	}
	if err := writeFileAtomic(gz, gzData); err != nil {
		return f, nil, err
	}
	f.Br, f.Gz, f.Compressed, f.Took = int64(len(brData)), int64(len(gzData)), true, time.Since(start)
	b.cfg.Logf("compressed %s: %d → br %d, gz %d in %v", o.rel, len(o.data), len(brData), len(gzData), f.Took.Round(time.Millisecond))
	return f, paths, nil
}

func brotliBytes(data []byte, quality int) ([]byte, error) {
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: quality})
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipBytes compresses at the best level with an empty header (no name, no time), so
// the result depends on the data only.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipHolds reports whether the gzip file at name decompresses to exactly want.
func gzipHolds(name string, want []byte) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	got, err := io.ReadAll(io.LimitReader(zr, int64(len(want))+1))
	return err == nil && bytes.Equal(got, want)
}

func writeIfChanged(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeFileAtomic(name, data)
}

// writeFileAtomic writes through a temporary file and a rename, so a reader (or an
// interrupted build) never sees half a file.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// checkOutDir refuses to build into a directory that is neither empty nor an earlier
// output (holding the manifest or the placeholder): the stale-file cleanup deletes
// everything it did not write, so a mistyped -out must not point it at the repository.
func checkOutDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	for _, e := range ents {
		if e.Name() == ManifestName || e.Name() == keepName {
			return nil
		}
	}
	return fmt.Errorf("refusing to build into %s: it is not empty and has no %s or %s (wrong -out?)", dir, ManifestName, keepName)
}

// removeStale deletes every file under dir that this build did not write (old hashes,
// old Pyodide versions, leftover temporary files), except the manifest and the
// placeholder, then the directories left empty.
func removeStale(dir string, keep map[string]bool) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." {
				dirs = append(dirs, p)
			}
			return nil
		}
		if keep[rel] || rel == ManifestName || rel == keepName {
			return nil
		}
		return os.Remove(p)
	})
	if err != nil {
		return fmt.Errorf("remove stale outputs: %w", err)
	}
	for _, d := range slices.Backward(dirs) { // children before parents
		if ents, err := os.ReadDir(d); err == nil && len(ents) == 0 {
			if err := os.Remove(d); err != nil {
				return fmt.Errorf("remove stale outputs: %w", err)
			}
		}
	}
	return nil
}
