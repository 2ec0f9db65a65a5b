package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInterop runs assets/interop/interop.mjs against the real program: three real
// @codemirror/collab clients (the pinned @codemirror/state and @codemirror/collab of
// package.json) type concurrently, one reconnects with unconfirmed updates, and the
// program exits non-zero unless every client ends with the server's document and
// version (issue 4). Node is required: a missing node fails the test, it does not
// skip it.
func TestInterop(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the interop test needs Node.js (node on PATH) and `make npm`: %v", err)
	}
	base := mustRunInteropServer(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []int{1, 2} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "assets/interop/interop.mjs",
				"--url", base, "--clients", "3", "--edits", "200", "--seed", fmt.Sprint(seed), "--timeout", "60")
			cmd.Dir = root
			start := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("node assets/interop/interop.mjs --url %s --seed %d (%v):\n%s", base, seed, time.Since(start).Round(time.Millisecond), out)
			if err != nil {
				t.Fatalf("interop.mjs failed: %v", err)
			}
			if !strings.Contains(string(out), "interop: ok") {
				t.Fatalf("interop.mjs exited 0 without reporting success")
			}
		})
	}
}

// mustRunInteropServer starts run() on a free port of 127.0.0.1 with its default
// limits and returns its base URL. The server shuts down when the test ends; what it
// logged at warning level or above is shown then.
func mustRunInteropServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-format", "json", "-store", "memory"}, func(string) string { return "" }, logW)
		logW.Close()
	}()
	lines := bufio.NewScanner(logR)
	lines.Buffer(nil, 1<<20)
	base := ""
	for base == "" && lines.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "listening" {
			base = "http://" + rec.Addr
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("duet never logged its address; run error = %v", <-done)
	}
	var warnings []string
	logged := make(chan struct{})
	go func() { // keep the logger from blocking; keep what deserves attention
		defer close(logged)
		for lines.Scan() {
			var rec struct{ Level string }
			if json.Unmarshal(lines.Bytes(), &rec) == nil && (rec.Level == "WARN" || rec.Level == "ERROR") {
				warnings = append(warnings, lines.Text())
			}
		}
		io.Copy(io.Discard, logR)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run() after shutdown = %v, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("run() did not return after shutdown")
		}
		<-logged
		for _, w := range warnings {
			t.Logf("server: %s", w)
		}
	})
	return base
}
