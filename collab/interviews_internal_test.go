package collab

import (
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ lit, want string }{
		{`""`, ""},
		{`"def f():\n    return 1\n"`, "def f():\n    return 1"},
		{`"\n\n  \nx = 1\n\n\ny = 2\nz\nw\nv"`, "x = 1\ny = 2\nz\nw"},
		{`"print('😀')\nx`, "print('😀')\nx"}, // cut: no closing quote
		{`"abc\n`, "abc"},                // cut after a backslash
		{`"abc\u00`, "abc"},              // cut inside an escape
		{`"\ud83d lone"`, "\ufffd lone"}, // a lone surrogate
		{`"` + strings.Repeat("é", 100) + `"`, strings.Repeat("é", 79) + "…"},
		{``, ""},
		{`not json`, ""},
	} {
		if got := excerpt([]byte(tt.lit)); got != tt.want {
			t.Errorf("excerpt(%q) = %q, want %q", tt.lit, got, tt.want)
		}
	}
}
