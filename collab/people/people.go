// Package people gives the people of a session what others see of them: a display
// name that is safe to show, and a color. The live hub, the replay and the pages all
// use it, so that a person looks the same everywhere.
package people

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameRunes is how long a display name may be, in Unicode code points.
const MaxNameRunes = 40

// SanitizeName makes a display name safe to show: control and format characters
// (which can reorder or hide text) dropped, white space trimmed, cut to
// MaxNameRunes code points. It may return "" (the hub then names the person
// "Guest N").
func SanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxNameRunes {
		s = string([]rune(s)[:MaxNameRunes])
	}
	return strings.TrimSpace(s)
}

// palette is the colors given to people: distinct, and readable as a cursor and as
// a name tag on light and dark themes.
var palette = [...]string{
	"#e06c75", "#4f8fe6", "#3fa66a", "#b26ad8", "#d99a2b", "#2aa6a6",
	"#e5793d", "#d9559a", "#7b7fe8", "#8aa23a", "#c75b5b", "#3b9fd1",
}

// Color returns the color of the palette that the fewest people have, the earliest
// in the palette on a tie; used counts the people of each color. Handing out colors
// one by one this way, each person gets one nobody counted has until the palette
// runs out, and then the palette is reused in order.
func Color(used map[string]int) string {
	best := palette[0]
	for _, c := range palette {
		if used[c] < used[best] {
			best = c
		}
		if used[best] == 0 {
			break
		}
	}
	return best
}
