// Package people gives the people of a session what others see of them: a display
// name that is safe to show, and a color. The live hub, the replay and the pages all
// use it, so that a person looks the same everywhere.
package people

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PublicIDLength is the length of a public participant id: 22 base64url characters,
// 132 bits of a SHA-256.
const PublicIDLength = 22

// PublicID is the id that others see of the participant who proves itself with
// secret in a session: every message, the REST users list, the event stream, the
// store and the replay carry it, never the secret. It is a hash of both, so it
// cannot be used to connect as that participant (only the secret can), and the same
// secret gives unrelated ids in different sessions, so nobody can follow a person
// from one session to another by their id.
func PublicID(sessionID, secret string) string {
	h := sha256.New()
	h.Write([]byte("duet participant\x00"))
	h.Write([]byte(sessionID))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:PublicIDLength]
}

// MaxNameRunes is how long a display name may be, in Unicode code points.
const MaxNameRunes = 40

// SanitizeName makes a display name safe to show: control and format characters
// (which can reorder or hide text) and letters that render as nothing dropped,
// white space trimmed, cut to MaxNameRunes code points. A name left without
// anything visible is "": the hub then names the person "Guest N", so nobody can
// join as a blank that looks like no one.
func SanitizeName(s string) string {
	var b strings.Builder
	afterVisible := false // the last kept rune shows: a variation selector may follow it
	for _, r := range strings.ToValidUTF8(s, "") {
		switch {
		case invisible(r):
			continue
		case unicode.Is(unicode.Variation_Selector, r):
			// It changes how the rune before it looks (an emoji's colour form);
			// alone, it shows nothing.
			if !afterVisible {
				continue
			}
		default:
			afterVisible = !unicode.IsSpace(r)
		}
		b.WriteRune(r)
	}
	s = strings.TrimSpace(b.String())
	if utf8.RuneCountInString(s) > MaxNameRunes {
		s = string([]rune(s)[:MaxNameRunes])
	}
	s = strings.TrimSpace(s)
	if strings.IndexFunc(s, shows) < 0 {
		return ""
	}
	return s
}

// invisible tells the runes a name never keeps: control and format characters
// (zero-width spaces and joiners, direction marks, tags), line and paragraph
// separators, noncharacters, and the letters that fonts draw as blank space:
// Unicode's other default-ignorable code points (the Hangul fillers U+115F, U+1160,
// U+3164 and U+FFA0, the combining grapheme joiner, Khmer inherent vowels, and the
// unassigned ranges kept for more of them), the Braille blank and the musical null
// notehead.
func invisible(r rune) bool {
	switch r {
	case utf8.RuneError, '⠀', '𝅙':
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Noncharacter_Code_Point)
}

// shows tells the runes that draw something by themselves: letters, digits,
// punctuation, symbols and private-use characters. A name of only spaces and
// combining marks shows nothing (or marks floating over nothing).
func shows(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S, unicode.Co)
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
