// Command duetload measures duet's live-editing hub under load: how long an edit
// takes to reach the other clients of its session, how many deliveries a second the
// server sustains and at what CPU cost, and what a connection costs in memory,
// typing or idle. It is the Go half of duet's benchmark (make bench, BENCHMARKS.md);
// the peers harness in ../shared/bench/peers is the Node half.
//
//	duetload -sessions 250 -clients-per-session 4 -period 200ms -duration 20s
//	duetload -idle 20000 -server-cmd 'bin/duet -addr 127.0.0.1:{port} -store memory'
//	duetload sweep -duet bin/duet -peers bin/bench/peers -out BENCHMARKS.md
//
// The server under load is, by default, cmd/duetload/loadserver (duet's wiring over
// the memory store) in a child process, built with the go command unless -server
// names a built one; -server-cmd starts any command instead ({port} and
// {metrics-port} are replaced by free ports), and -url measures a running server
// (with -pid, its CPU and memory too). The server's CPU time and resident memory come
// from /proc, so the load generator's own are never counted as the server's.
// duetload itself depends on duet's engine (collab/ot) only, never on the server it
// measures.
//
// Each typing client is a raw WebSocket client of duet's protocol (docs/protocol.md)
// that keeps its own document, as the editor island does with @codemirror/collab: it
// makes a small edit every -period (±-jitter), pushes its unconfirmed updates with
// one push in flight, applies what it receives one update at a time, and pulls when
// it sees a gap. Edits made during the measured window (after -warmup) are followed
// to every other client of the session: the latency of a delivery runs from the
// keystroke to the other client's receipt, as the peers harness measures it; a
// delivery that has not arrived -drain after typing stopped is lost. At the end every
// session's clients must hold the same document at the server's version.
//
// The result is one JSON line on standard output (and appended to -out), and a
// readable summary on standard error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "sweep" {
		err = sweep(ctx, os.Args[2:], os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "duetload:", err)
		os.Exit(1)
	}
}

type config struct {
	url, serverCmd, serverBin string
	pid                       int
	alsoURLs                  []string // more processes serving the same sessions
	alsoPIDs                  []int    // their process ids
	sessions, perSession      int
	idle                      int           // idle mode: connections to hold; 0 types
	hold                      time.Duration // idle mode: how long they are held before measuring
	period                    time.Duration
	jitter                    float64
	warmup, duration, drain   time.Duration
	seed                      uint64
	deflate                   bool
	sources                   int
	connectConcurrency        int
	quietWait                 time.Duration
	quietCores                float64
	cpuProfile                string
	out                       string
	label                     string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("duetload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.url, "url", "", "base URL of a running duet, e.g. http://127.0.0.1:8080 (default: start one)")
	fs.IntVar(&c.pid, "pid", 0, "with -url: the server's process id, to read its CPU time and resident memory from /proc")
	alsoURL := fs.String("also-url", "", "with -url: comma-separated base URLs of more duet processes serving the same sessions (-bus redis); each session's clients are spread over all of them")
	alsoPID := fs.String("also-pid", "", "with -also-url: their process ids, comma-separated; the CPU time and memory reported are the sum over every process")
	fs.StringVar(&c.serverCmd, "server-cmd", "", `shell command that starts the server, with {port} (and optionally {metrics-port}) for free ports, e.g. "bin/duet -addr 127.0.0.1:{port}"`)
	fs.StringVar(&c.serverBin, "server", "", "the loadserver binary to start when neither -url nor -server-cmd is given (default: build duet/cmd/duetload/loadserver)")
	fs.IntVar(&c.sessions, "sessions", 50, "sessions typing")
	fs.IntVar(&c.perSession, "clients-per-session", 4, "clients in each session")
	fs.IntVar(&c.idle, "idle", 0, "idle mode: hold this many connections (in sessions of -clients-per-session) and measure the server's memory per connection")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "idle mode: how long the connections are held before the server is measured")
	fs.DurationVar(&c.period, "period", 200*time.Millisecond, "mean time between two edits of one client")
	fs.Float64Var(&c.jitter, "jitter", 0.25, "each gap between edits is period × U(1−jitter, 1+jitter)")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "typing before the measured window")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "the measured window")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "after typing stops, how long deliveries may still arrive before they count as lost")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random edits and timings")
	fs.BoolVar(&c.deflate, "deflate", false, "offer permessage-deflate, as browsers do (the server decides)")
	fs.IntVar(&c.sources, "sources", 0, "client source addresses 127.0.0.1…127.0.0.n, for more connections than one address has ephemeral ports (default: one per 20,000 connections, at least 2)")
	fs.IntVar(&c.connectConcurrency, "connect-concurrency", 64, "connections being opened at once")
	fs.DurationVar(&c.quietWait, "quiet-wait", 0, "before measuring, wait up to this long for other work on the machine to fall under -quiet-cores")
	fs.Float64Var(&c.quietCores, "quiet-cores", 0.4, "cores other work may use for the machine to count as quiet")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the server over the measured window to this file (the server must serve /debug/pprof/ on {metrics-port}, e.g. duet -metrics-addr 127.0.0.1:{metrics-port} -pprof)")
	fs.StringVar(&c.out, "out", "", "also append the JSON line to this file")
	fs.StringVar(&c.label, "label", "", "a label copied into the JSON line")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.idle < 0:
		return c, errors.New("-idle must not be negative")
	case c.idle == 0 && (c.sessions < 1 || c.perSession < 2):
		return c, errors.New("want at least 1 session and 2 clients per session")
	case c.idle > 0 && c.perSession < 1:
		return c, errors.New("want at least 1 client per session")
	case c.period <= 0 || c.duration <= 0 || c.warmup < 0 || c.drain < 0:
		return c, errors.New("-period and -duration must be positive, -warmup and -drain not negative")
	case c.jitter < 0 || c.jitter >= 1:
		return c, errors.New("-jitter must be in [0, 1)")
	case c.url != "" && !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://"):
		return c, fmt.Errorf("-url %q: want http(s)://host:port", c.url)
	case c.url != "" && c.serverCmd != "":
		return c, errors.New("give -url or -server-cmd, not both")
	case c.serverCmd != "" && !strings.Contains(c.serverCmd, "{port}"):
		return c, errors.New("-server-cmd must contain {port}")
	case c.cpuProfile != "" && !strings.Contains(c.serverCmd, "{metrics-port}"):
		return c, errors.New("-cpuprofile needs a -server-cmd that serves the profiler on {metrics-port}")
	case c.connectConcurrency < 1:
		return c, errors.New("-connect-concurrency must be at least 1")
	}
	c.url = strings.TrimSuffix(c.url, "/")
	for u := range strings.SplitSeq(*alsoURL, ",") {
		if u = strings.TrimSuffix(strings.TrimSpace(u), "/"); u == "" {
			continue
		}
		if c.url == "" || (!strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://")) {
			return c, fmt.Errorf("-also-url %q: want http(s)://host:port, with -url", u)
		}
		c.alsoURLs = append(c.alsoURLs, u)
	}
	for p := range strings.SplitSeq(*alsoPID, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || len(c.alsoURLs) == 0 {
			return c, fmt.Errorf("-also-pid %q: want process ids, with -also-url", p)
		}
		c.alsoPIDs = append(c.alsoPIDs, n)
	}
	if c.sources <= 0 {
		c.sources = max(2, (c.connections()+19_999)/20_000)
	}
	return c, nil
}

// connections is how many connections the run opens.
func (c config) connections() int {
	if c.idle > 0 {
		return c.idle
	}
	return c.sessions * c.perSession
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := raiseFileLimit(cfg.connections()); err != nil {
		return err
	}
	srv, err := startServer(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	var res *result
	if cfg.idle > 0 {
		res, err = idle(ctx, cfg, srv, stderr)
	} else {
		res, err = load(ctx, cfg, srv, stderr)
	}
	if res == nil {
		return err
	}
	if err != nil {
		res.Error = err.Error()
	}
	line, jerr := json.Marshal(res)
	if jerr != nil {
		return jerr
	}
	fmt.Fprintf(stdout, "%s\n", line)
	if cfg.out != "" {
		f, ferr := os.OpenFile(cfg.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if ferr != nil {
			return ferr
		}
		defer f.Close()
		if _, ferr := fmt.Fprintf(f, "%s\n", line); ferr != nil {
			return ferr
		}
	}
	return err
}

// raiseFileLimit lifts this process's limit on open files to what n connections
// need, the hard limit too when allowed (as root): a server started as a child
// inherits it, and needs as many.
func raiseFileLimit(n int) error {
	want, need := uint64(n)+1024, uint64(n)+64 // room for files, pipes and HTTP connections
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open files limit: %w", err)
	}
	if lim.Cur >= want {
		return nil
	}
	raised := syscall.Rlimit{Cur: max(want, lim.Cur), Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		raised = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil || lim.Max < need {
			return fmt.Errorf("%d connections need %d open files, and the limit is %d (hard %d): raise it (ulimit -n) or run as root", n, need, lim.Cur, lim.Max)
		}
	}
	return nil
}
