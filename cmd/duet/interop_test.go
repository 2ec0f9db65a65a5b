package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"duet/bus/redisbus/redistest"
	"duet/store/postgres/pgtest"
)

// TestInterop runs assets/interop/interop.mjs against the real program: three real
// @codemirror/collab clients (the pinned @codemirror/state and @codemirror/collab of
// package.json) type concurrently, one reconnects with unconfirmed updates, and the
// program exits non-zero unless every client ends with the server's document and
// version. Node is required: a missing node fails the test, it does not
// skip it.
func TestInterop(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the interop test needs Node.js (node on PATH) and `make npm`: %v", err)
	}
	base := mustRunInteropServer(t)
	// A server that answers pulls a few hundred bytes at a time: every pull of the
	// clients that fell behind takes several answers marked "more".
	smallPulls := mustRunInteropServer(t, "-pull-bytes", "300")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []struct {
		seed int
		base string
	}{{1, base}, {2, base}, {3, smallPulls}} {
		seed := run.seed
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "assets/interop/interop.mjs",
				"--url", run.base, "--clients", "3", "--edits", "200", "--seed", fmt.Sprint(seed), "--timeout", "60")
			cmd.Dir = root
			start := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("node assets/interop/interop.mjs --url %s --seed %d (%v):\n%s", run.base, seed, time.Since(start).Round(time.Millisecond), out)
			if err != nil {
				t.Fatalf("interop.mjs failed: %v", err)
			}
			if !strings.Contains(string(out), "interop: ok") {
				t.Fatalf("interop.mjs exited 0 without reporting success")
			}
		})
	}
}

// mustRunInteropServer starts the real program with an in-memory store and its
// default limits (but for args), and returns its base URL; it stops when the test
// ends.
func mustRunInteropServer(t *testing.T, args ...string) string {
	t.Helper()
	base, _ := startRun(t, append([]string{"-store", "memory"}, args...)...)
	return base
}

// TestInteropCluster runs the interop program's real @codemirror/collab clients
// spread over two duet processes sharing one PostgreSQL database and one Redis: they
// type concurrently, reconnect to the other process with unconfirmed updates, and
// every client and both processes must end with the same document, each update
// stored once.
func TestInteropCluster(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the interop test needs Node.js (node on PATH) and `make npm`: %v", err)
	}
	db, rs := pgtest.NewDatabase(t), redistest.Start(t)
	args := []string{"-store", "postgres", "-database-url", db, "-bus", "redis", "-redis-url", rs.URL}
	a, _ := startRun(t, args...)
	b, _ := startRun(t, args...)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []int{1, 2} {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		cmd := exec.CommandContext(ctx, node, "assets/interop/interop.mjs",
			"--url", a+","+b, "--clients", "4", "--edits", "150", "--seed", fmt.Sprint(seed), "--timeout", "60")
		cmd.Dir = root
		start := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("node assets/interop/interop.mjs --url %s,%s --seed %d (%v):\n%s", a, b, seed, time.Since(start).Round(time.Millisecond), out)
		if err != nil {
			t.Fatalf("interop.mjs failed: %v", err)
		}
		if !strings.Contains(string(out), "interop: ok") {
			t.Fatalf("interop.mjs exited 0 without reporting success")
		}
	}
}
