package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"duet/collab"
	"duet/handlers"
	"duet/store"
)

// statsPath is where a duetload server (-serve) reports its memory and counters.
// ?gc=1 collects garbage first, so that heap figures count live memory only.
const statsPath = "/debug/duetload"

// serverStats is what a server process costs at one moment.
type serverStats struct {
	HeapInuse  uint64        `json:"heapInuse"`  // bytes in in-use heap spans
	HeapAlloc  uint64        `json:"heapAlloc"`  // bytes of live (and not yet swept) objects
	StackInuse uint64        `json:"stackInuse"` // bytes of goroutine stacks
	Sys        uint64        `json:"sys"`        // bytes obtained from the OS by the runtime
	RSS        uint64        `json:"rss"`        // resident set size, from /proc/self/status
	Goroutines int           `json:"goroutines"` //
	NumGC      uint32        `json:"numGC"`      //
	CPU        time.Duration `json:"cpu"`        // user + system time of the process so far
	Hub        collab.Stats  `json:"hub"`        //
}

// serve runs duet's server as cmd/duet wires it (in-memory store, default limits) on
// addr, plus statsPath. It prints "listening ADDR" on out once it accepts
// connections, and returns when ctx ends or, if parent is not nil, when parent reaches
// its end: the parent process closed our stdin, or died.
func serve(ctx context.Context, addr string, out io.Writer, parent io.Reader) error {
	st := store.NewMemory()
	defer st.Close()
	hub := collab.NewHub(collab.HubConfig{Store: st})
	h, err := handlers.New(handlers.Config{Sessions: hub, Sockets: hub})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("gc") {
			runtime.GC()
			runtime.GC() // the second one frees what the first one's finalizers released
		}
		s := readStats()
		s.Hub = hub.Stats()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	})
	mux.Handle("/", h)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(out, "listening %s\n", ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if parent != nil {
		go func() {
			io.Copy(io.Discard, parent)
			cancel()
		}()
	}
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	hub.Shutdown(shutdownCtx)
	return srv.Shutdown(shutdownCtx)
}

// readStats reads this process's memory, goroutines and CPU time.
func readStats() serverStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s := serverStats{
		HeapInuse: m.HeapInuse, HeapAlloc: m.HeapAlloc, StackInuse: m.StackInuse, Sys: m.Sys,
		Goroutines: runtime.NumGoroutine(), NumGC: m.NumGC, CPU: processCPU(),
	}
	s.RSS, _ = vmRSS("self")
	return s
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS reads the resident set size of a process ("self" or a pid) from /proc.
func vmRSS(pid string) (uint64, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			fields := bytes.Fields(rest) // "123456 kB"
			if len(fields) == 2 && string(fields[1]) == "kB" {
				kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
}
