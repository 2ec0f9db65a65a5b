package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"duet/cmd/duetload/internal/loadserver"
)

// TestLoad runs a small load against a server started in-process by loadserver, and
// checks that the report is complete and every session converged. (In one process,
// the per-connection figures count the clients too; duetload itself runs the server
// in a child process.)
func TestLoad(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r, w := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- loadserver.Serve(ctx, "127.0.0.1:0", w, nil)
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("serve printed %q, %v; want \"listening ADDR\"", line, err)
	}
	go io.Copy(io.Discard, r)

	cfg := config{sessions: 3, perSession: 3, duration: time.Second, rate: 20, seed: 1}
	srv := &server{base: "http://" + addr, pid: os.Getpid(), own: true, kind: "in-process", stop: func() {}}
	var out strings.Builder
	if err := load(ctx, cfg, srv, &out); err != nil {
		t.Fatalf("load() error = %v; report:\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())
	for _, want := range []string{"fan-out latency", "p99", "per connection", "goroutines", "sessions converged: 3/3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not mention %q", want)
		}
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve() = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("serve() did not return after cancel")
	}
}
