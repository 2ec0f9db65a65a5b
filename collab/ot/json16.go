package ot

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON strings travel between CodeMirror and the server as sequences of UTF-16
// code units, and those sequences may hold unpaired surrogates (a change can
// cut an emoji in half). encoding/json decodes "\ud83d" to U+FFFD and cannot
// encode one at all, which keeps the length but silently changes the text.
// This file converts JSON string literals to and from UTF-16 units directly,
// so no code unit is ever lost.

// errJSONString is wrapped by every string-decoding error.
var errJSONString = errors.New("invalid JSON string")

const hexDigits = "0123456789abcdef"

func isHighSurrogate(u uint16) bool { return u >= 0xd800 && u < 0xdc00 }
func isLowSurrogate(u uint16) bool  { return u >= 0xdc00 && u < 0xe000 }

// json16Writer appends UTF-16 units to a JSON string literal being built. It
// is a small state machine rather than a function over one slice because a
// rope hands its text over leaf by leaf, and a surrogate pair may straddle
// two leaves.
type json16Writer struct {
	dst []byte
	hi  uint16 // a high surrogate waiting for its low half; 0 when none
}

func (w *json16Writer) write(units []uint16) {
	dst := w.dst
	for _, u := range units {
		if w.hi != 0 {
			if isLowSurrogate(u) {
				dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(w.hi), rune(u)))
				w.hi = 0
				continue
			}
			dst = appendUnitEscape(dst, w.hi)
			w.hi = 0
		}
		switch {
		case u < utf8.RuneSelf:
			dst = appendASCII(dst, byte(u))
		case isHighSurrogate(u):
			w.hi = u
		case isLowSurrogate(u):
			dst = appendUnitEscape(dst, u)
		case u == 0x2028 || u == 0x2029:
			// Valid JSON, but JavaScript before ES2019 treats these as line
			// terminators inside a <script>; encoding/json escapes them too.
			dst = appendUnitEscape(dst, u)
		default:
			dst = utf8.AppendRune(dst, rune(u))
		}
	}
	w.dst = dst
}

// flush writes a pending unpaired high surrogate.
func (w *json16Writer) flush() {
	if w.hi != 0 {
		w.dst = appendUnitEscape(w.dst, w.hi)
		w.hi = 0
	}
}

// appendASCII appends one ASCII character, escaped the way encoding/json does
// it, so the output is also safe to embed in HTML (<, > and & are escaped).
func appendASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '<', '>', '&':
		return appendUnitEscape(dst, uint16(c))
	}
	if c < 0x20 {
		return appendUnitEscape(dst, uint16(c))
	}
	return append(dst, c)
}

func appendUnitEscape(dst []byte, u uint16) []byte {
	return append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
}

// appendJSONString16 appends units as a JSON string literal. Paired surrogates
// become UTF-8, unpaired ones \udxxx escapes, so the output is valid UTF-8 and
// valid JSON whatever the units are.
func appendJSONString16(dst []byte, units []uint16) []byte {
	w := json16Writer{dst: append(dst, '"')}
	w.write(units)
	w.flush()
	return append(w.dst, '"')
}

// decodeJSONString16 decodes the JSON string literal at the start of data,
// appending its UTF-16 units to dst. It returns the extended dst and the
// number of bytes the literal took. \uXXXX escapes become exactly the unit
// they name, so an unpaired surrogate survives. Raw bytes must be valid UTF-8:
// unlike encoding/json, which replaces bad bytes with U+FFFD, this refuses
// them, because a silent replacement is exactly what the caller wants to avoid.
func decodeJSONString16(dst []uint16, data []byte) ([]uint16, int, error) {
	if len(data) == 0 || data[0] != '"' {
		return dst, 0, fmt.Errorf("%w: does not start with a quote", errJSONString)
	}
	i := 1
	for {
		// Copy a run of plain ASCII at once; it is by far the common case.
		start := i
		for i < len(data) {
			c := data[i]
			if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				break
			}
			i++
		}
		for _, c := range data[start:i] {
			dst = append(dst, uint16(c))
		}
		if i >= len(data) {
			return dst, i, fmt.Errorf("%w: unterminated", errJSONString)
		}
		c := data[i]
		switch {
		case c == '"':
			return dst, i + 1, nil
		case c < 0x20:
			return dst, i, fmt.Errorf("%w: control character %#02x at byte %d", errJSONString, c, i)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				return dst, i, fmt.Errorf("%w: invalid UTF-8 at byte %d", errJSONString, i)
			}
			dst = utf16.AppendRune(dst, r)
			i += size
		default: // backslash
			if i+1 >= len(data) {
				return dst, i, fmt.Errorf("%w: unterminated escape", errJSONString)
			}
			e := data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				dst = append(dst, uint16(e))
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				if i+4 > len(data) {
					return dst, i, fmt.Errorf("%w: short \\u escape at byte %d", errJSONString, i-2)
				}
				var u uint16
				for _, h := range data[i : i+4] {
					var d byte
					switch {
					case h >= '0' && h <= '9':
						d = h - '0'
					case h >= 'a' && h <= 'f':
						d = h - 'a' + 10
					case h >= 'A' && h <= 'F':
						d = h - 'A' + 10
					default:
						return dst, i, fmt.Errorf("%w: bad \\u escape at byte %d", errJSONString, i-2)
					}
					u = u<<4 | uint16(d)
				}
				dst = append(dst, u)
				i += 4
			default:
				return dst, i, fmt.Errorf("%w: unknown escape \\%c at byte %d", errJSONString, e, i-2)
			}
		}
	}
}

// isJSONSpace reports the four white-space bytes JSON allows between tokens.
func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipJSONSpace returns the index of the first non-space byte at or after i.
func skipJSONSpace(data []byte, i int) int {
	for i < len(data) && isJSONSpace(data[i]) {
		i++
	}
	return i
}
