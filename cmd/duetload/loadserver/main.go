// Command loadserver is the duet that duetload starts and measures (see
// cmd/duetload): cmd/duet's wiring over an in-memory store, with its memory,
// goroutines and counters on /debug/duetload. It stops when its standard input
// closes, so it never outlives the duetload that started it.
//
//	loadserver -addr 127.0.0.1:0
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"duet/cmd/duetload/internal/loadserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadserver.Serve(ctx, *addr, os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "loadserver:", err)
		os.Exit(1)
	}
}
