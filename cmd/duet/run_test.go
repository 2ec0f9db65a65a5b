package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"
)

// startRun runs the real program on a free port of 127.0.0.1 with JSON logs and the
// extra args, until stop is called or the test ends. What it logs at warning level or
// above is shown if the test fails.
func startRun(t *testing.T, args ...string) (base string, stop func()) {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, logW)
		logW.Close()
	}()
	lines := bufio.NewScanner(logR)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
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
	var mu sync.Mutex
	var problems []string
	logged := make(chan struct{})
	go func() { // keep the logger from blocking; keep what deserves attention
		defer close(logged)
		for lines.Scan() {
			var rec struct{ Level string }
			if json.Unmarshal(lines.Bytes(), &rec) == nil && (rec.Level == "WARN" || rec.Level == "ERROR") {
				mu.Lock()
				problems = append(problems, lines.Text())
				mu.Unlock()
			}
		}
		io.Copy(io.Discard, logR)
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run() = %v after shutdown", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("run() did not return after shutdown")
		}
		<-logged
	})
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range problems {
				t.Logf("server %s: %s", base, p)
			}
		}
	})
	return base, stop
}
