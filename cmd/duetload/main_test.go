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

// TestLoad runs a small typing load, then an idle one, against a server started
// in-process by loadserver, and checks that the report is complete, every delivery
// arrived and every session converged. (In one process,
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

	cfg := config{sessions: 3, perSession: 3, period: 50 * time.Millisecond, jitter: 0.25,
		warmup: 200 * time.Millisecond, duration: time.Second, drain: 500 * time.Millisecond,
		seed: 1, sources: 2, connectConcurrency: 4}
	srv := &server{base: "http://" + addr, pid: os.Getpid(), own: true, kind: "in-process", stop: func() {}}
	var out strings.Builder
	res, err := load(ctx, cfg, srv, &out)
	if err != nil {
		t.Fatalf("load() error = %v; report:\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())
	for _, want := range []string{"delivery latency", "p99", "per client", "goroutines", "converged 3/3", "lost: 0 of"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report does not mention %q", want)
		}
	}
	switch {
	case !res.OK || res.Converged != 3 || res.Lost != 0:
		t.Errorf("result ok=%v converged=%d lost=%d, want ok, 3 and 0", res.OK, res.Converged, res.Lost)
	case res.Latency == nil || res.Latency.Samples != res.Expected || res.Expected == 0:
		t.Errorf("latency samples %v, expected deliveries %d: want one sample per expected delivery", res.Latency, res.Expected)
	case res.DeliveredPerS <= 0 || res.ServerCPUPer1k <= 0 || res.ServerRSSMiB.End <= 0 || res.Wire.PerDelivery <= 0:
		t.Errorf("deliveries/s %v, CPU per 1,000 %v, RSS %v MiB, bytes per delivery %v: want all positive",
			res.DeliveredPerS, res.ServerCPUPer1k, res.ServerRSSMiB.End, res.Wire.PerDelivery)
	}

	// Idle mode on the same server.
	cfg.idle, cfg.hold = 12, 300*time.Millisecond
	out.Reset()
	res, err = idle(ctx, cfg, srv, &out)
	if err != nil {
		t.Fatalf("idle() error = %v; report:\n%s", err, out.String())
	}
	if res.Connect.Connected != 12 || res.Params.Sessions != 4 || !res.OK {
		t.Errorf("idle: connected %d in %d sessions, ok=%v; want 12 in 4, ok", res.Connect.Connected, res.Params.Sessions, res.OK)
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
