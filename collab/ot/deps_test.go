package ot

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goList runs the go command's list with args and returns its output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to check the package graph: %v", err)
	}
	out, err := exec.Command(gobin, append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// TestEngineImportsOnlyTheStandardLibrary keeps the engine pure: it must build, be
// fuzzed and be reused with no dependency, and never reach for the hub or a store.
// ottest too, and it may not import even the engine, so that the engine's own
// tests can use it.
func TestEngineImportsOnlyTheStandardLibrary(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"duet/collab/ot", "duet/collab/ot/ottest"} {
		got := goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
		if want := []string{pkg}; !slices.Equal(got, want) {
			t.Errorf("%s depends on %v outside the standard library, want none", pkg, slices.DeleteFunc(got, func(p string) bool { return p == pkg }))
		}
	}
}

// TestLoadGeneratorUsesTheEngineOnly: cmd/duetload is a client of duet's protocol;
// it may share the engine with the server, never the server itself.
func TestLoadGeneratorUsesTheEngineOnly(t *testing.T) {
	t.Parallel()
	for _, p := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "duet/cmd/duetload") {
		if !strings.HasPrefix(p, "duet/") {
			continue // a third-party module (websocket, uuid)
		}
		if p != "duet/cmd/duetload" && p != "duet/collab/ot" && p != "duet/cmd/duetload/internal/procstats" {
			t.Errorf("duet/cmd/duetload depends on %s; want the engine (duet/collab/ot) only", p)
		}
	}
}

// TestOttestOnlyInTests: the generator of random change sets is for tests; no
// program or library of duet may import it.
func TestOttestOnlyInTests(t *testing.T) {
	t.Parallel()
	lines := goList(t, "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "duet/...")
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, ":")
		if slices.Contains(strings.Split(imports, ","), "duet/collab/ot/ottest") {
			t.Errorf("%s imports duet/collab/ot/ottest outside its tests", pkg)
		}
	}
}
