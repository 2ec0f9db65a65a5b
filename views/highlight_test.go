package views

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

var update = flag.Bool("update", false, "rewrite assets/css/highlight.css")

// TestHighlightCSS fails when assets/css/highlight.css is not what HighlightCSS
// writes; -update rewrites it.
func TestHighlightCSS(t *testing.T) {
	want, err := HighlightCSS()
	if err != nil {
		t.Fatalf("HighlightCSS() error = %v", err)
	}
	path := filepath.Join("..", "assets", "css", "highlight.css")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./views -run TestHighlightCSS -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./views -run TestHighlightCSS -update", path)
	}
	for _, s := range []string{".chroma .k {", "@media not (prefers-color-scheme: dark) {", "@media (prefers-color-scheme: dark) {", ".chroma .ln {"} {
		if !bytes.Contains(want, []byte(s)) {
			t.Errorf("HighlightCSS() has no %q", s)
		}
	}
	if bytes.Contains(want, []byte("<")) {
		t.Errorf("HighlightCSS() holds markup")
	}
}

// codeText is the text a reader sees in highlighted HTML: the <code> element's text
// without the line numbers.
func codeText(t *testing.T, html string) string {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	code := doc.Find("pre.chroma > code")
	if code.Length() != 1 {
		t.Fatalf("no pre.chroma > code in %.200s", html)
	}
	code.Find(".ln").Remove()
	return code.Text()
}

// TestHighlightedKeepsText renders code of both languages, and plain text, and reads
// back exactly the code: hostile markup escaped, every character in place, no line
// added, no style attribute.
func TestHighlightedKeepsText(t *testing.T) {
	t.Parallel()
	pieces := []string{"def f(x):\n", "    return x * 2  # <b>\n", `s = "</code></pre><script>alert(1)</script>"`, "\n",
		"const a = `${b}` // 😀 中文\n", "\t", "'\"&amp;", "\r", "\r\n", "\ufffd", "/* unterminated", "'''", "x = 1\n", "\n\n"}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "\n", "x", "a\n", "print('hi')", strings.Repeat("x = 1\n", maxHighlightBytes/6+1)}
	for range 200 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, lang := range []string{"python", "javascript", "typescript", "sql", "cobol"} {
		for _, code := range cases {
			var buf bytes.Buffer
			if err := writeHighlighted(&buf, code, lang, [2]int{}); err != nil {
				t.Fatalf("writeHighlighted(%s) error = %v", lang, err)
			}
			html := buf.String()
			want := strings.ReplaceAll(code, "\r", "\u240d") // which an HTML parser would read as "\n"
			if got := codeText(t, html); got != want {
				t.Fatalf("%s: text of the highlighted HTML = %q, want %q", lang, got, want)
			}
			if strings.Contains(html, "style=") || strings.Contains(html, "<script") {
				t.Fatalf("%s: highlighted HTML has a style attribute or a script: %.300s", lang, html)
			}
		}
	}
	var buf bytes.Buffer
	if err := writeHighlighted(&buf, "def f():\n    return 1\n", "python", [2]int{2, 2}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<span class="k">def</span>`, `<span class="ln">1</span>`, `<span class="line">`,
		`<span class="line hl"><span class="ln">2</span>`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("highlighted Python has no %s: %s", want, buf.String())
		}
	}
}
