package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// TestAlsoFlags: more processes serving the same sessions are named with -also-url
// and -also-pid, beside -url; anything else is refused with a message naming it.
func TestAlsoFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantURLs []string
		wantPIDs []int
		wantErr  string
	}{
		{name: "none", args: []string{"-url", "http://a:1"}},
		{name: "two more", args: []string{"-url", "http://a:1", "-also-url", "http://b:2/, http://c:3", "-pid", "7", "-also-pid", "8,9"},
			wantURLs: []string{"http://b:2", "http://c:3"}, wantPIDs: []int{8, 9}},
		{name: "without -url", args: []string{"-also-url", "http://b:2"}, wantErr: "-also-url"},
		{name: "not a URL", args: []string{"-url", "http://a:1", "-also-url", "b:2"}, wantErr: `-also-url "b:2"`},
		{name: "pid not a number", args: []string{"-url", "http://a:1", "-also-url", "http://b:2", "-also-pid", "x"}, wantErr: `-also-pid "x"`},
		{name: "pid not positive", args: []string{"-url", "http://a:1", "-also-url", "http://b:2", "-also-pid", "0"}, wantErr: `-also-pid "0"`},
		{name: "pid without -also-url", args: []string{"-url", "http://a:1", "-also-pid", "8"}, wantErr: `-also-pid "8"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags() error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.alsoURLs, tt.wantURLs) || !slices.Equal(c.alsoPIDs, tt.wantPIDs) {
				t.Errorf("also = %v %v, want %v %v", c.alsoURLs, c.alsoPIDs, tt.wantURLs, tt.wantPIDs)
			}
		})
	}
}
