package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunArgs(t *testing.T) {
	t.Parallel()
	notOurs := t.TempDir()
	for _, name := range []string{"go.mod", "package.json"} {
		if err := os.WriteFile(filepath.Join(notOurs, name), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"help", []string{"-h"}, flag.ErrHelp.Error()},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"stray argument", []string{"static/dist"}, "unexpected arguments"},
		{"brotli quality too high", []string{"-brotli", "12"}, "want 1 to 11"},
		{"large brotli quality zero", []string{"-brotli-large", "-1"}, "want 1 to 11"},
		{"output dir that is not ours", []string{"-root", notOurs, "-out", "."}, "refusing to build into"},
		{"not the repository root", []string{"-root", t.TempDir()}, "has no package.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			err := run(t.Context(), tt.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if tt.name == "help" && (!errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-watch")) {
				t.Errorf("run(-h): err %v, usage %q; want flag.ErrHelp and the flags", err, stderr.String())
			}
		})
	}
}
