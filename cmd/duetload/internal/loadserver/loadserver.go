// Package loadserver is the duet that duetload measures: the server wired as cmd/duet
// wires it (in-memory store, default limits), plus its own figures on procstats.Path.
// It is apart from the load generator so that duetload itself depends on the engine
// only.
package loadserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"time"

	"duet/cmd/duetload/internal/procstats"
	"duet/collab"
	"duet/handlers"
	"duet/store"
)

// Serve runs the server on addr. It prints "listening ADDR" on out once it accepts
// connections, and returns when ctx ends or, if parent is not nil, when parent
// reaches its end: the parent process closed our stdin, or died.
func Serve(ctx context.Context, addr string, out io.Writer, parent io.Reader) error {
	st := store.NewMemory()
	defer st.Close()
	hub := collab.NewHub(collab.HubConfig{Store: st})
	h, err := handlers.New(handlers.Config{Sessions: hub, Sockets: hub})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+procstats.Path, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("gc") {
			runtime.GC()
			runtime.GC() // the second one frees what the first one's finalizers released
		}
		s := procstats.Read()
		s.Hub = procstats.HubStats(hub.Stats())
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
