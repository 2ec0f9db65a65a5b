package assets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"duet/assets"
)

// styleMod is the line of style-mod (CodeMirror's CSS-in-JS) that the build patches,
// in a file shaped like the package's.
const styleMod = `export class StyleModule { static mount(root) { new StyleSet(root) } }
class StyleSet {
  constructor(root) {
    let doc = root.ownerDocument || root, win = doc.defaultView
    if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {
      this.sheet = new win.CSSStyleSheet
    } else {
      this.styleTag = doc.createElement("style")
    }
  }
}
`

// splitRoot is a repository whose island loads a module with import() and uses
// style-mod: the two things the editor needs from the build.
func splitRoot(t *testing.T, styleModSource string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{
		"package.json":                            `{"private":true}`,
		"assets/editor/main.ts":                   "import { StyleModule } from 'style-mod';\nimport { shared } from './shared';\nStyleModule.mount(document);\nexport const later = () => import('./lazy').then((m) => m.grammar + shared);\n",
		"assets/editor/shared.ts":                 "export const shared = 'shared by the entry and the lazy module " + lorem + "';\n",
		"assets/editor/lazy.ts":                   "import { shared } from './shared';\nexport const grammar = 'a big grammar, loaded when used ' + shared;\n",
		"node_modules/style-mod/package.json":     `{"name":"style-mod","type":"module","exports":{"import":"./src/style-mod.js"}}`,
		"node_modules/style-mod/src/style-mod.js": styleModSource,
	} {
		mustWrite(t, filepath.Join(root, name), data)
	}
	return root
}

func splitConfig(t *testing.T, root string) assets.Config {
	return assets.Config{
		Root:          root,
		OutDir:        "out",
		Entries:       []assets.Entry{{Name: "editor", Source: "assets/editor/main.ts"}},
		BrotliQuality: 1,
		KeepIdentity:  true,
		Logf:          t.Logf,
	}
}

// TestBuildSplitsDynamicImports: a module loaded with import() gets a chunk of its own
// (named by its hash in the manifest, the entry keeps its name), and code it shares
// with the entry is not bundled twice.
func TestBuildSplitsDynamicImports(t *testing.T) {
	t.Parallel()
	root := splitRoot(t, styleMod)
	res := mustBuild(t, splitConfig(t, root))
	var entry, lazy string
	for name, url := range res.Manifest {
		body := readOut(t, root, url)
		switch {
		case name == "editor.js":
			entry = body
		case strings.HasPrefix(name, "chunk-") && strings.Contains(body, "a big grammar"):
			lazy = body
		case !strings.HasPrefix(name, "chunk-"):
			t.Errorf("manifest name %q: want editor.js and chunk-*.js only", name)
		}
	}
	if entry == "" || lazy == "" {
		t.Fatalf("manifest %v: want editor.js and the chunk of the lazy module", res.Manifest)
	}
	if strings.Contains(entry, "a big grammar") {
		t.Errorf("editor.js holds the lazy module; it should load it with import()")
	}
	copies := 0
	for _, url := range res.Manifest {
		copies += strings.Count(readOut(t, root, url), "shared by the entry")
	}
	if copies != 1 {
		t.Errorf("the shared module is in %d outputs, want 1", copies)
	}
}

// TestBuildPatchesStyleMod: style-mod mounts CSS as a constructed stylesheet in
// documents too (a <style> element breaks under the pages' CSP), and a style-mod
// that no longer has the patched line fails the build.
func TestBuildPatchesStyleMod(t *testing.T) {
	t.Parallel()
	root := splitRoot(t, styleMod)
	res := mustBuild(t, splitConfig(t, root))
	var all string
	for _, url := range res.Manifest {
		all += readOut(t, root, url)
	}
	if strings.Contains(all, "!root.head") || !strings.Contains(all, "adoptedStyleSheets") {
		t.Errorf("bundle still takes the <style> path in documents:\n%s", all)
	}

	changed := splitRoot(t, strings.Replace(styleMod, "!root.head && ", "", 1))
	_, err := assets.Build(t.Context(), splitConfig(t, changed))
	if err == nil || !strings.Contains(err.Error(), "esbuild") {
		t.Errorf("Build() with a changed style-mod: error = %v, want the build to fail", err)
	}
}

// readOut reads an output by its URL (the identity copy, KeepIdentity is on).
func readOut(t *testing.T, root, url string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "out", strings.TrimPrefix(url, "/static/")))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
