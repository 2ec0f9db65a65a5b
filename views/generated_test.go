package views_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedIsCurrent fails when a .templ file was changed without regenerating its
// committed Go code (run `make generate`). It generates a copy of the templates in a
// temporary folder and compares.
func TestGeneratedIsCurrent(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templ files found (err = %v)", err)
	}
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("go", "tool", "templ", "generate", "-path", dir).CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, f := range files {
		gen := f[:len(f)-len(".templ")] + "_templ.go"
		want, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil {
			t.Fatalf("templ generated no %s: %v", gen, err)
		}
		committed, err := os.ReadFile(gen)
		if err != nil {
			t.Errorf("%s has no generated %s: run make generate", f, gen)
			continue
		}
		if !bytes.Equal(want, committed) {
			t.Errorf("%s is stale: run make generate and commit it", gen)
		}
	}
}
