package people

import (
	"strings"
	"testing"
)

func TestSanitizeName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Ada", "Ada"},
		{"trimmed", "  Ada Lovelace \t\n", "Ada Lovelace"},
		{"control characters dropped", "A\x00d\x1ba\x7f", "Ada"},
		{"format characters dropped", "Ada\u202eevil\u200b", "Adaevil"},
		{"invalid UTF-8 dropped", "Ad\xffa", "Ada"},
		{"empty", " \u200e ", ""},
		{"cut to 40 code points", strings.Repeat("é", 45), strings.Repeat("é", 40)},
		{"trimmed after the cut", strings.Repeat("a", 39) + "  b", strings.Repeat("a", 39)},
		{"emoji count as one", strings.Repeat("😀", 41), strings.Repeat("😀", 40)},
	}
	for _, tt := range tests {
		if got := SanitizeName(tt.in); got != tt.want {
			t.Errorf("%s: SanitizeName(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestColor hands colors out one by one: distinct until the palette runs out,
// then the palette again in order; and the least used when people have left.
func TestColor(t *testing.T) {
	t.Parallel()
	used := map[string]int{}
	var got []string
	for range 2 * len(palette) {
		c := Color(used)
		used[c]++
		got = append(got, c)
	}
	for i, c := range got {
		if want := palette[i%len(palette)]; c != want {
			t.Errorf("color %d = %s, want %s", i, c, want)
		}
	}
	// Only the third and fifth colors are free: the earlier of the two.
	used = map[string]int{}
	for i, c := range palette {
		if i != 2 && i != 4 {
			used[c] = 1
		}
	}
	if got := Color(used); got != palette[2] {
		t.Errorf("Color(all but 2 and 4 taken) = %s, want %s", got, palette[2])
	}
	if got := Color(nil); got != palette[0] {
		t.Errorf("Color(nobody) = %s, want %s", got, palette[0])
	}
}
