package assets_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestStylesheetsClose: every block of our stylesheets is closed where it should be.
// CSS closes an unclosed block at the end of the file without a word (esbuild too),
// so a missing "}" after a media query silently puts every rule below it under that
// query: on a desktop, none of them applies.
func TestStylesheetsClose(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("css", "*.css"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no stylesheets in css/ (%v)", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if msg := unclosedBlock(string(src)); msg != "" {
			t.Errorf("%s: %s", f, msg)
		}
	}
}

// unclosedBlock says where a stylesheet's braces do not pair up (comments and strings
// skipped), or "" when they do.
func unclosedBlock(css string) string {
	var open []int // lines of the blocks open at this point
	line := 1
	for i := 0; i < len(css); i++ {
		switch c := css[i]; {
		case c == '\n':
			line++
		case c == '/' && i+1 < len(css) && css[i+1] == '*':
			for i += 2; i+1 < len(css) && !(css[i] == '*' && css[i+1] == '/'); i++ {
				if css[i] == '\n' {
					line++
				}
			}
			i++
		case c == '"' || c == '\'':
			for i++; i < len(css) && css[i] != c; i++ {
				if css[i] == '\\' {
					i++
				}
			}
		case c == '{':
			open = append(open, line)
		case c == '}':
			if len(open) == 0 {
				return fmt.Sprintf("a } on line %d closes nothing", line)
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return fmt.Sprintf("the block opened on line %d is never closed", open[len(open)-1])
	}
	return ""
}

func TestUnclosedBlock(t *testing.T) {
	for _, tt := range []struct{ css, want string }{
		{"a { color: red }\n@media (x) {\n  b { c: d }\n}\n", ""},
		{"a { content: \"}\" }\n/* { */\nb { c: '{' }\n", ""},
		{"@media (x) {\n  b { c: d }\n\nc { e: f }\n", "the block opened on line 1 is never closed"},
		{"a { b: c }\n}\n", "a } on line 2 closes nothing"},
	} {
		if got := unclosedBlock(tt.css); got != tt.want {
			t.Errorf("unclosedBlock(%q) = %q, want %q", tt.css, got, tt.want)
		}
	}
}
