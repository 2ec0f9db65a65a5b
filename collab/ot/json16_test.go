package ot

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestDecodeJSONString16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		want     []uint16
		wantSize int // bytes consumed
		wantErr  bool
	}{
		{name: "empty", in: `""`, want: nil, wantSize: 2},
		{name: "ascii", in: `"abc" tail`, want: []uint16{'a', 'b', 'c'}, wantSize: 5},
		{name: "short escapes", in: `"\"\\\/\b\f\n\r\t"`, want: []uint16{'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'}, wantSize: 18},
		{name: "CJK is one unit", in: `"中"`, want: []uint16{0x4e2d}, wantSize: 5},
		{name: "emoji is a surrogate pair", in: `"😀"`, want: []uint16{0xd83d, 0xde00}, wantSize: 6},
		{name: "escaped pair", in: `"\ud83d\ude00"`, want: []uint16{0xd83d, 0xde00}, wantSize: 14},
		{name: "lone high surrogate kept", in: `"\ud83d"`, want: []uint16{0xd83d}, wantSize: 8},
		{name: "lone low surrogate kept", in: `"a\uDE00b"`, want: []uint16{'a', 0xde00, 'b'}, wantSize: 10},
		{name: "reversed pair kept", in: `"\ude00\ud83d"`, want: []uint16{0xde00, 0xd83d}, wantSize: 14},
		{name: "unterminated", in: `"abc`, wantErr: true},
		{name: "raw newline", in: "\"a\nb\"", wantErr: true},
		{name: "bad escape", in: `"\x"`, wantErr: true},
		{name: "short unicode escape", in: `"\u12"`, wantErr: true},
		{name: "bad hex", in: `"\u12g4"`, wantErr: true},
		{name: "invalid UTF-8", in: "\"\xff\"", wantErr: true},
		{name: "UTF-8 encoded surrogate", in: "\"\xed\xa0\xbd\"", wantErr: true},
		{name: "no quote", in: `abc`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, size, err := decodeJSONString16(nil, []byte(tt.in))
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("decodeJSONString16(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, errJSONString) {
					t.Errorf("error %v does not wrap errJSONString", err)
				}
				return
			}
			if !slices.Equal(got, tt.want) || size != tt.wantSize {
				t.Errorf("decodeJSONString16(%q) = %x, %d; want %x, %d", tt.in, got, size, tt.want, tt.wantSize)
			}
		})
	}
}

func TestAppendJSONString16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []uint16
		want string
	}{
		{name: "empty", in: nil, want: `""`},
		{name: "ascii", in: utf16.Encode([]rune("a b")), want: `"a b"`},
		{name: "escapes", in: utf16.Encode([]rune("\"\\\n\r\t\b\f\x00\x1f")), want: `"\"\\\n\r\t\b\f\u0000\u001f"`},
		{name: "html-safe", in: utf16.Encode([]rune("<a&b>")), want: `"\u003ca\u0026b\u003e"`},
		{name: "line separators", in: []uint16{0x2028, 0x2029}, want: `"\u2028\u2029"`},
		{name: "pair as UTF-8", in: []uint16{0xd83d, 0xde00}, want: `"😀"`},
		{name: "lone high", in: []uint16{'a', 0xd83d}, want: `"a\ud83d"`},
		{name: "lone high before ascii", in: []uint16{0xd83d, 'a'}, want: `"\ud83da"`},
		{name: "two highs then low", in: []uint16{0xd83d, 0xd83d, 0xde00}, want: `"\ud83d😀"`},
		{name: "lone low", in: []uint16{0xde00}, want: `"\ude00"`},
		{name: "CJK and accents", in: utf16.Encode([]rune("中é")), want: `"中é"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(appendJSONString16(nil, tt.in))
			if got != tt.want {
				t.Errorf("appendJSONString16(%x) = %s, want %s", tt.in, got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("appendJSONString16(%x) = %s, not valid JSON", tt.in, got)
			}
			back, _, err := decodeJSONString16(nil, []byte(got))
			if err != nil || !slices.Equal(back, tt.in) && len(tt.in) > 0 {
				t.Errorf("decode(%s) = %x, %v; want %x", got, back, err, tt.in)
			}
		})
	}
}

// FuzzJSON16 checks both directions: any units survive encode+decode, and any
// string literal the decoder accepts is accepted by encoding/json, decodes to
// the same text up to lone surrogates, and survives decode+encode+decode.
func FuzzJSON16(f *testing.F) {
	for _, s := range []string{`""`, `"a\ud83d"`, `"😀\ude00"`, `"\u2028<&>"`, "\"\xe4\xb8\xad\"", `"\\\"\/"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Direction 1: data as UTF-16 units.
		units := make([]uint16, len(data)/2)
		for i := range units {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		}
		enc := appendJSONString16(nil, units)
		if !json.Valid(enc) {
			t.Fatalf("appendJSONString16(%x) = %s, not valid JSON", units, enc)
		}
		back, size, err := decodeJSONString16(nil, enc)
		if err != nil || size != len(enc) || !slices.Equal(back, units) && len(units) > 0 {
			t.Fatalf("decode(encode(%x)) = %x, %d, %v", units, back, size, err)
		}
		var viaStd string
		if err := json.Unmarshal(enc, &viaStd); err != nil || viaStd != string(utf16.Decode(units)) {
			t.Fatalf("encoding/json reads %s as %q, %v; want %q", enc, viaStd, err, string(utf16.Decode(units)))
		}
		// The rope must encode the same, whatever its leaves.
		if got := TextFromUTF16(units).AppendJSON(nil); string(got) != string(enc) {
			t.Fatalf("Text.AppendJSON = %s, want %s", got, enc)
		}

		// Direction 2: data as a JSON string literal.
		dec, size, err := decodeJSONString16(nil, data)
		if err != nil {
			return
		}
		lit := data[:size]
		var std string
		if err := json.Unmarshal(lit, &std); err != nil {
			t.Fatalf("decoder accepted %q, encoding/json refuses it: %v", lit, err)
		}
		if got := string(utf16.Decode(dec)); got != std {
			t.Fatalf("decode(%q) = %q, encoding/json says %q", lit, got, std)
		}
		again, _, err := decodeJSONString16(nil, appendJSONString16(nil, dec))
		if err != nil || !slices.Equal(again, dec) && len(dec) > 0 {
			t.Fatalf("decode(encode(decode(%q))) = %x, %v; want %x", lit, again, err, dec)
		}
	})
}

// canonicalJSON re-encodes a JSON value in a canonical form (object keys
// sorted, numbers in shortest form, strings as appendJSONString16 writes
// them), keeping every UTF-16 unit of its strings. encoding/json cannot be
// used for this: it turns lone surrogates into U+FFFD.
func canonicalJSON(data []byte) (string, error) {
	p := &json16Canon{data: data}
	var b strings.Builder
	if err := p.value(&b); err != nil {
		return "", err
	}
	if p.i = skipJSONSpace(p.data, p.i); p.i != len(p.data) {
		return "", fmt.Errorf("data after the value at byte %d", p.i)
	}
	return b.String(), nil
}

type json16Canon struct {
	data []byte
	i    int
}

func (p *json16Canon) value(b *strings.Builder) error {
	p.i = skipJSONSpace(p.data, p.i)
	if p.i == len(p.data) {
		return errors.New("unexpected end")
	}
	switch c := p.data[p.i]; {
	case c == '"':
		units, n, err := decodeJSONString16(nil, p.data[p.i:])
		if err != nil {
			return err
		}
		p.i += n
		b.Write(appendJSONString16(nil, units))
	case c == '[':
		p.i++
		b.WriteByte('[')
		for k := 0; ; k++ {
			if p.i = skipJSONSpace(p.data, p.i); p.i < len(p.data) && p.data[p.i] == ']' && k == 0 {
				p.i++
				break
			}
			if k > 0 {
				b.WriteByte(',')
			}
			if err := p.value(b); err != nil {
				return err
			}
			if done, err := p.sep(']'); err != nil || done {
				b.WriteByte(']')
				return err
			}
		}
		b.WriteByte(']')
	case c == '{':
		p.i++
		fields := map[string]string{}
		for k := 0; ; k++ {
			if p.i = skipJSONSpace(p.data, p.i); p.i < len(p.data) && p.data[p.i] == '}' && k == 0 {
				p.i++
				break
			}
			var key strings.Builder
			if err := p.value(&key); err != nil {
				return err
			}
			if p.i = skipJSONSpace(p.data, p.i); p.i == len(p.data) || p.data[p.i] != ':' {
				return fmt.Errorf("want ':' at byte %d", p.i)
			}
			p.i++
			var val strings.Builder
			if err := p.value(&val); err != nil {
				return err
			}
			fields[key.String()] = val.String()
			if done, err := p.sep('}'); err != nil {
				return err
			} else if done {
				break
			}
		}
		keys := slices.Sorted(maps.Keys(fields))
		b.WriteByte('{')
		for k, key := range keys {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(key + ":" + fields[key])
		}
		b.WriteByte('}')
	default:
		start := p.i
		for p.i < len(p.data) && strings.IndexByte("+-.0123456789eEtrufalsn", p.data[p.i]) >= 0 {
			p.i++
		}
		tok := string(p.data[start:p.i])
		switch tok {
		case "true", "false", "null":
			b.WriteString(tok)
		default:
			f, err := strconv.ParseFloat(tok, 64)
			if err != nil || !json.Valid([]byte(tok)) {
				return fmt.Errorf("bad token %q at byte %d", tok, start)
			}
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return nil
}

// sep consumes ',' (not done) or the closing byte (done).
func (p *json16Canon) sep(closing byte) (bool, error) {
	p.i = skipJSONSpace(p.data, p.i)
	if p.i == len(p.data) {
		return false, errors.New("unexpected end")
	}
	switch p.data[p.i] {
	case ',':
		p.i++
		return false, nil
	case closing:
		p.i++
		return true, nil
	}
	return false, fmt.Errorf("unexpected %q at byte %d", p.data[p.i], p.i)
}

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b      string
		wantEqual bool
	}{
		{a: `[1, [2, "x"]]`, b: `[1,[2,"x"]]`, wantEqual: true},
		{a: `{"b":1,"a":[]}`, b: `{ "a" : [ ], "b" : 1.0 }`, wantEqual: true},
		{a: `["\ud83d"]`, b: `["\ufffd"]`, wantEqual: false},
		{a: `["\ud83d\ude00"]`, b: `["😀"]`, wantEqual: true},
		{a: `["\u003c"]`, b: `["<"]`, wantEqual: true},
		{a: `[[1]]`, b: `[[1],[]]`, wantEqual: false},
		{a: `[null,true]`, b: `[null,false]`, wantEqual: false},
	}
	for _, tt := range tests {
		a, err := canonicalJSON([]byte(tt.a))
		if err != nil {
			t.Fatalf("canonicalJSON(%s): %v", tt.a, err)
		}
		b, err := canonicalJSON([]byte(tt.b))
		if err != nil {
			t.Fatalf("canonicalJSON(%s): %v", tt.b, err)
		}
		if got := a == b; got != tt.wantEqual {
			t.Errorf("canonicalJSON(%s) == canonicalJSON(%s): %v (%s vs %s), want %v", tt.a, tt.b, got, a, b, tt.wantEqual)
		}
	}
}
