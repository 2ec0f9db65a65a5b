package collab

import (
	"encoding/json"
	"testing"
)

// TestAppendJSONString holds the fast path of appendJSONString to what
// encoding/json writes, for strings that take it and strings that do not.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "abc", "Guest 12", "xY0-_~!#$%'()*+,./:;=?@[]^`{|}", "a\"b", `back\slash`,
		"<script>", "a&b", "tab\there", "nl\n", "\x00", "\x1f", "\x7f", "é", "日本",
		"\u2028", "\u2029", "\xff\xfe", "emoji 😀", " ",
	} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want x%s", s, got, want)
		}
	}
}
