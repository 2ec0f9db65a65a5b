// Package static serves the files the browser fetches (esbuild bundles, the stylesheet,
// vendored htmx and Swagger UI, Pyodide), embedded from dist/ as cmd/buildassets left
// it, and maps logical asset names to their content-hashed URLs.
//
// It keeps no state of its own: New(Embedded()) builds a Dist, which cmd/duet makes
// once and hands to the handlers, both to serve /static/ and to name the URLs pages
// link to.
//
// dist/ is build output (`make assets`), not committed; only dist/.keep is, so the embed
// pattern compiles on a fresh clone. Without a build New reports ErrNotBuilt, and this
// package's tests fail with a message saying to run `make assets`.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var embedded embed.FS

// Prefix is the URL path the files are served under. Every URL from URL starts with it,
// and the handler expects request paths that still carry it.
const Prefix = "/static/"

// manifestName is written by package assets (assets.ManifestName): a JSON object from
// logical names ("app.js", "pyodide/") to URL paths under Prefix.
const manifestName = "manifest.json"

// ErrNotBuilt means the embedded dist/ has no manifest: the assets were not built
// before the binary was compiled.
var ErrNotBuilt = errors.New("static assets not built: run `make assets` (go run ./cmd/buildassets), then rebuild")

// immutable is the caching of every file served: names carry a content hash, or sit in
// Pyodide's versioned directory, so a URL never changes meaning.
const immutable = "public, max-age=31536000, immutable"

// Dist is a built asset directory: the manifest's names and an http.Handler serving the
// files it lists. It is safe for concurrent use. The zero Dist has no files: every
// name is missing and every request 404s, which is what a binary built without its
// assets can still serve.
type Dist struct {
	fsys  fs.FS
	urls  map[string]string   // logical name → URL path
	files map[string]variants // path under fsys → which encodings exist
	etags sync.Map            // stored file (+ "|identity" when decompressed) → quoted ETag
}

// variants tells which files exist for a served path p: p itself, p.br, p.gz.
type variants struct{ raw, br, gz bool }

var _ http.Handler = (*Dist)(nil)

// New reads the manifest of fsys (a directory as cmd/buildassets writes it) and indexes
// the files it may serve: each file URL of the manifest and everything below a directory
// URL (a logical name ending in "/", such as "pyodide/"). Nothing else is served: not the
// manifest, not the placeholder, not the .br/.gz files by their own names, not
// directory listings. It fails with ErrNotBuilt when fsys has no manifest, and when the
// manifest names a file that fsys cannot serve.
func New(fsys fs.FS) (*Dist, error) {
	raw, err := fs.ReadFile(fsys, manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotBuilt
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", manifestName, err)
	}
	d := &Dist{fsys: fsys, files: map[string]variants{}}
	if err := json.Unmarshal(raw, &d.urls); err != nil {
		return nil, fmt.Errorf("parse %s: %w", manifestName, err)
	}
	wantFiles := map[string]string{} // path → logical name
	var dirs []string
	for name, u := range d.urls {
		rel, ok := strings.CutPrefix(u, Prefix)
		if !ok || !fs.ValidPath(strings.TrimSuffix(rel, "/")) || strings.HasSuffix(name, "/") != strings.HasSuffix(rel, "/") {
			return nil, fmt.Errorf("%s: %q → %q is not a path under %s", manifestName, name, u, Prefix)
		}
		if strings.HasSuffix(rel, "/") {
			dirs = append(dirs, rel)
		} else {
			wantFiles[rel] = name
		}
	}
	err = fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		base, v := p, variants{raw: true}
		if b, ok := strings.CutSuffix(p, ".br"); ok {
			base, v = b, variants{br: true}
		} else if b, ok := strings.CutSuffix(p, ".gz"); ok {
			base, v = b, variants{gz: true}
		}
		_, listed := wantFiles[base]
		if !listed && !slices.ContainsFunc(dirs, func(dir string) bool { return strings.HasPrefix(base, dir) }) {
			return nil
		}
		have := d.files[base]
		d.files[base] = variants{raw: have.raw || v.raw, br: have.br || v.br, gz: have.gz || v.gz}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index files: %w", err)
	}
	for rel, name := range wantFiles {
		if v := d.files[rel]; !v.raw && !v.gz {
			return nil, fmt.Errorf("%s names %s → %s%s, but there is no such file (or .gz of it): rebuild the assets", manifestName, name, Prefix, rel)
		}
	}
	for rel, v := range d.files {
		if !v.raw && !v.gz {
			return nil, fmt.Errorf("%s%s has only a .br variant; clients without brotli could not get it", Prefix, rel)
		}
	}
	return d, nil
}

// Lookup returns the URL path of a logical asset name ("app.js", "htmx.js",
// "pyodide/"), and whether the manifest has it.
func (d *Dist) Lookup(name string) (string, bool) {
	u, ok := d.urls[name]
	return u, ok
}

// URL returns the URL path of a logical asset name. An unknown name gives a path under
// Prefix + "missing/" that 404s, so a page still renders; tests use Lookup or Names to
// fail loudly instead.
func (d *Dist) URL(name string) string {
	if u, ok := d.urls[name]; ok {
		return u
	}
	return Prefix + "missing/" + name
}

// Names returns the manifest's logical names, sorted.
func (d *Dist) Names() []string {
	names := make([]string, 0, len(d.urls))
	for n := range d.urls {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ServeHTTP serves GET and HEAD of the indexed files. The request path must still carry
// Prefix: mount it at /static/ without http.StripPrefix. It chooses the .br variant if
// the client accepts br, else .gz if it accepts gzip, else the file itself or, when
// only compressed variants were built, the .gz decompressed on the fly. A compressed
// variant goes out with Content-Encoding and the original Content-Type, which
// WebAssembly.instantiateStreaming requires (application/wasm). http.ServeContent
// handles Range, HEAD and If-None-Match; each variant has its own ETag.
//
// Do not put a compressing middleware in front of it: it would compress again.
func (d *Dist) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, Prefix)
	v, found := d.files[rel]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	if !slices.Contains(h.Values("Vary"), "Accept-Encoding") {
		h.Add("Vary", "Accept-Encoding")
	}
	stored, encoding, inflate := rel, "", false
	switch negotiate(r.Header.Get("Accept-Encoding"), v.br, v.gz) {
	case "br":
		stored, encoding = rel+".br", "br"
	case "gzip":
		stored, encoding = rel+".gz", "gzip"
	default:
		if !v.raw {
			stored, inflate = rel+".gz", true
		}
	}
	f, err := d.fsys.Open(stored)
	if err != nil {
		http.Error(w, "static: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	content, err := readSeeker(f)
	if err == nil && inflate {
		content, err = newGunzipSeeker(content)
	}
	var etag string
	if err == nil {
		etag, err = d.etag(stored, inflate)
	}
	if err != nil {
		http.Error(w, "static: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", contentType(rel))
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	h.Set("Cache-Control", immutable)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", etag)
	if encoding != "" {
		// ServeContent leaves out Content-Length when Content-Encoding is set (it cannot
		// know whether a middleware will compress); here the stored bytes are the body.
		size, err := content.Seek(0, io.SeekEnd)
		if err == nil {
			_, err = content.Seek(0, io.SeekStart)
		}
		if err != nil {
			http.Error(w, "static: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w = lengthWriter{w, size}
	}
	http.ServeContent(w, r, "", time.Time{}, content)
}

// lengthWriter sets Content-Length on a full (200) response; partial ones go chunked.
type lengthWriter struct {
	http.ResponseWriter
	size int64
}

func (w lengthWriter) WriteHeader(code int) {
	if code == http.StatusOK && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.FormatInt(w.size, 10))
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w lengthWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// negotiate picks "br", "gzip" or "" (identity) for an Accept-Encoding header, among
// the variants that exist. The highest q-value wins, br before gzip on a tie; a coding
// with q=0, or not listed and not covered by "*", is not acceptable.
func negotiate(header string, haveBr, haveGz bool) string {
	if header == "" || (!haveBr && !haveGz) {
		return ""
	}
	qBr, qGz, qAny := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, val, ok := strings.Cut(p, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				var err error
				if q, err = strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil || q < 0 || q > 1 {
					q = 0
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "br":
			qBr = q
		case "gzip", "x-gzip":
			qGz = max(qGz, q)
		case "*":
			qAny = q
		}
	}
	if qBr < 0 {
		qBr = qAny
	}
	if qGz < 0 {
		qGz = qAny
	}
	best, bestQ := "", 0.0
	if haveBr && qBr > bestQ {
		best, bestQ = "br", qBr
	}
	if haveGz && qGz > bestQ {
		best = "gzip"
	}
	return best
}

// contentType is fixed for the types that matter rather than left to mime's system
// tables, which differ between machines (.js has been text/plain on some).
func contentType(name string) string {
	ext := path.Ext(name)
	switch ext {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".wasm":
		return "application/wasm"
	case ".json", ".map":
		return "application/json"
	case ".zip":
		return "application/zip"
	case ".svg":
		return "image/svg+xml"
	case ".html":
		return "text/html; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".png":
		return "image/png"
	case ".woff2":
		return "font/woff2"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// etag returns the quoted ETag of a stored file, hashing it on first use.
func (d *Dist) etag(stored string, inflate bool) (string, error) {
	key := stored
	if inflate {
		key += "|identity"
	}
	if t, ok := d.etags.Load(key); ok {
		return t.(string), nil
	}
	f, err := d.fsys.Open(stored)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	t := hex.EncodeToString(sum.Sum(nil)[:12])
	if inflate {
		t += "-identity"
	}
	t = `"` + t + `"`
	d.etags.Store(key, t)
	return t, nil
}

// readSeeker returns f itself when it can seek (embed.FS and fstest.MapFS files can),
// else its bytes in memory.
func readSeeker(f fs.File) (io.ReadSeeker, error) {
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// gunzipSeeker presents a gzip file as its uncompressed content to http.ServeContent,
// which needs the size (Seek to the end: the gzip trailer's ISIZE, exact below 4 GiB)
// and the start of each range. It decompresses as it reads: a forward seek skips
// output, a backward seek starts over. Only clients that accept neither br nor gzip
// get here, so the identity copies need not be embedded.
type gunzipSeeker struct {
	src  io.ReadSeeker
	zr   *gzip.Reader
	size int64 // uncompressed size
	pos  int64 // offset of zr's next byte
	want int64 // offset the next Read starts at
}

func newGunzipSeeker(src io.ReadSeeker) (*gunzipSeeker, error) {
	if _, err := src.Seek(-4, io.SeekEnd); err != nil {
		return nil, fmt.Errorf("gzip trailer: %w", err)
	}
	var isize [4]byte
	if _, err := io.ReadFull(src, isize[:]); err != nil {
		return nil, fmt.Errorf("gzip trailer: %w", err)
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, err
	}
	return &gunzipSeeker{src: src, zr: zr, size: int64(binary.LittleEndian.Uint32(isize[:]))}, nil
}

func (g *gunzipSeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.want
	case io.SeekEnd:
		offset += g.size
	default:
		return 0, errors.New("gunzip seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("gunzip seek: negative position")
	}
	g.want = offset
	return offset, nil
}

func (g *gunzipSeeker) Read(p []byte) (int, error) {
	if g.want < g.pos {
		if _, err := g.src.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		if err := g.zr.Reset(g.src); err != nil {
			return 0, err
		}
		g.pos = 0
	}
	if g.want > g.pos {
		n, err := io.CopyN(io.Discard, g.zr, g.want-g.pos)
		g.pos += n
		if err != nil {
			return 0, err
		}
	}
	n, err := g.zr.Read(p)
	g.pos += int64(n)
	g.want = g.pos
	return n, err
}

// Embedded returns the asset directory compiled into the binary: dist/ as
// cmd/buildassets left it when the binary was built. Pass it to New.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "dist")
	if err != nil {
		panic(err) // fs.Sub fails only on an invalid name, and "dist" is valid
	}
	return sub
}
