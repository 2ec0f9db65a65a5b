package people

import (
	"crypto/sha256"
	"encoding/base64"
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
		{"emoji keep their variation selector", "Ada \u2764\ufe0f", "Ada \u2764\ufe0f"},
		// Names made only of what renders as nothing: each must become "Guest N".
		{"Hangul filler U+3164", "\u3164", ""},
		{"Hangul choseong filler U+115F", "\u115f\u115f", ""},
		{"Hangul jungseong filler U+1160", "\u1160", ""},
		{"halfwidth Hangul filler U+FFA0", "\uffa0", ""},
		{"Braille pattern blank U+2800", "\u2800\u2800\u2800", ""},
		{"zero-width space, joiner and non-joiner", "\u200b\u200c\u200d\u2060\ufeff", ""},
		{"combining grapheme joiner and Khmer inherent vowels", "\u034f\u17b4\u17b5", ""},
		{"Mongolian vowel separator", "\u180e", ""},
		{"soft hyphen and Arabic letter mark", "\u00ad\u061c", ""},
		{"tag characters", "\U000e0001\U000e0041\U000e007f", ""},
		{"musical null notehead and invisible formatting", "\U0001d159\U0001d173\U0001d17a", ""},
		{"line and paragraph separators", "\u2028\u2029", ""},
		{"reserved default-ignorable code points", "\u2065\ufff0\U000e0fff", ""},
		{"noncharacters", "\ufdd0\uffff", ""},
		{"variation selectors alone", "\ufe0f\U000e0100\u180b", ""},
		{"wide spaces", "\u3000\u2003\u00a0", ""},
		{"combining marks over nothing", "\u0300\u0301", ""},
		{"all of them at once", "\u3164 \u2800\u115f\u200b\ufe0f\u3000", ""},
		{"fillers dropped around a real name", "\u3164Ada\u2800 \uffa0", "Ada"},
		{"a variation selector after a space is dropped", "Ada \ufe0fB", "Ada B"},
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

// TestPublicID pins the derivation (documented in docs/protocol.md, so that another
// implementation can compute it) and checks that it depends on the session and the
// secret, and on nothing else.
func TestPublicID(t *testing.T) {
	t.Parallel()
	const session, secret = "3f2a1b9c-0000-4000-8000-000000000001", "0d6e4079-e2f3-4b3b-9a3c-3c1c1d5f7a10"
	sum := sha256.Sum256([]byte("duet participant\x00" + session + "\x00" + secret))
	want := base64.RawURLEncoding.EncodeToString(sum[:])[:22]
	tests := []struct {
		name, session, secret string
		same                  bool // the same id as PublicID(session, secret)
	}{
		{"itself", session, secret, true},
		{"another session", "3f2a1b9c-0000-4000-8000-000000000002", secret, false},
		{"another secret", session, "0d6e4079-e2f3-4b3b-9a3c-3c1c1d5f7a11", false},
		{"the boundary between the two moved", session + "\x000d6e", "4079-e2f3-4b3b-9a3c-3c1c1d5f7a10", false},
	}
	for _, tt := range tests {
		got := PublicID(tt.session, tt.secret)
		if len(got) != PublicIDLength || strings.Trim(got, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("%s: PublicID() = %q, want %d base64url characters", tt.name, got, PublicIDLength)
		}
		if (got == want) != tt.same {
			t.Errorf("%s: PublicID() = %q; the id of (session, secret) is %q, same = %v", tt.name, got, want, tt.same)
		}
		if strings.Contains(got, tt.secret) || strings.Contains(tt.secret, got) {
			t.Errorf("%s: PublicID() = %q shows the secret %q", tt.name, got, tt.secret)
		}
	}
}
