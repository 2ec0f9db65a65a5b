// Command duetload measures duet's live-editing hub under load: the fan-out latency of
// updates (from a client's push to each other client's receipt) and what a connection
// costs the server in memory and goroutines, for many clients in many sessions.
//
//	go run ./cmd/duetload -sessions 50 -clients-per-session 4 -duration 30s -rate 2
//
// By default it starts duet's server (wired as cmd/duet wires it: in-memory store,
// default limits) in a child process, cmd/duetload/loadserver, so that the server's
// memory is measured apart from the load generator's; the child reports its Go
// runtime figures on /debug/duetload. duetload builds the child with the go command
// unless -server names a built one. With -url it loads an external server instead,
// and reads that server's resident memory from /proc when -pid is given. duetload
// itself depends on duet's engine (collab/ot) only, never on the server it measures.
//
// Each client is a raw WebSocket client of duet's protocol (docs/protocol.md) that
// keeps its own document: it
// makes small edits at random places at -rate edits per second (Poisson arrivals),
// pushes its unconfirmed updates with one push in flight, and applies what it
// receives one update at a time, as the editor island does. At the end every
// session's clients must hold the same document at the server's version.
package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"duet/cmd/duetload/internal/procstats"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "duetload:", err)
		os.Exit(1)
	}
}

type config struct {
	url        string
	pid        int
	sessions   int
	perSession int
	duration   time.Duration
	rate       float64
	seed       uint64
	serverBin  string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("duetload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.url, "url", "", "base URL of a running duet, e.g. http://127.0.0.1:8080 (default: start one in a child process)")
	fs.IntVar(&c.pid, "pid", 0, "with -url: the server's process id, to read its resident memory from /proc")
	fs.IntVar(&c.sessions, "sessions", 50, "sessions")
	fs.IntVar(&c.perSession, "clients-per-session", 4, "clients in each session")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long the clients type")
	fs.Float64Var(&c.rate, "rate", 2, "edits per second per client")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the random edits")
	fs.StringVar(&c.serverBin, "server", "", "the loadserver binary to start (default: build duet/cmd/duetload/loadserver with the go command)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.sessions < 1 || c.perSession < 2:
		return c, errors.New("want at least 1 session and 2 clients per session")
	case c.rate <= 0 || c.duration <= 0:
		return c, errors.New("-rate and -duration must be positive")
	case c.url != "" && !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://"):
		return c, fmt.Errorf("-url %q: want http(s)://host:port", c.url)
	}
	c.url = strings.TrimSuffix(c.url, "/")
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	return load(ctx, cfg, srv, stdout)
}

// server is the duet under load.
type server struct {
	base string
	pid  int
	own  bool   // serves procstats.Path: reports its runtime figures
	kind string // "child process", "external"
	stop func()
}

// startServer starts the child server, or describes the external one.
func startServer(ctx context.Context, cfg config, stderr io.Writer) (*server, error) {
	if cfg.url != "" {
		return &server{base: cfg.url, pid: cfg.pid, kind: "external", stop: func() {}}, nil
	}
	exe := cfg.serverBin
	if exe == "" {
		dir, err := os.MkdirTemp("", "duetload-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir) // the child keeps running from its open file
		exe = filepath.Join(dir, "loadserver")
		build := exec.CommandContext(ctx, "go", "build", "-o", exe, "duet/cmd/duetload/loadserver")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build the server (run duetload inside duet's module, or give -server or -url): %w", err)
		}
	}
	cmd := exec.Command(exe, "-addr", "127.0.0.1:0")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe() // closing it stops the child
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	stop := func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		stop()
		return nil, fmt.Errorf("the server did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	return &server{base: "http://" + addr, pid: cmd.Process.Pid, own: true, kind: "child process", stop: stop}, nil
}

// stats reads the server's figures; gc collects garbage first. An external server
// only gives its resident memory (with -pid).
func (s *server) stats(ctx context.Context, gc bool) (procstats.Stats, error) {
	if !s.own {
		var st procstats.Stats
		if s.pid > 0 {
			var err error
			if st.RSS, err = procstats.RSS(strconv.Itoa(s.pid)); err != nil {
				return st, err
			}
		}
		return st, nil
	}
	u := s.base + procstats.Path
	if gc {
		u += "?gc=1"
	}
	var st procstats.Stats
	return st, getJSON(ctx, u, &st)
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func createSession(ctx context.Context, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sessions", strings.NewReader(`{"language":"python"}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	defer res.Body.Close()
	var body struct{ ID string }
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create session: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return body.ID, nil
}

// load runs the whole measurement and prints the report.
func load(ctx context.Context, cfg config, srv *server, out io.Writer) error {
	n := cfg.sessions * cfg.perSession
	fmt.Fprintf(out, "duetload: %d sessions × %d clients = %d connections, %.3g edits/s per client for %v, server %s (pid %d, %s)\n",
		cfg.sessions, cfg.perSession, n, cfg.rate, cfg.duration, srv.base, srv.pid, srv.kind)
	fmt.Fprintf(out, "machine: %d CPUs, GOMAXPROCS %d, %s, load average %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadavg())

	sessions := make([]string, cfg.sessions)
	for i := range sessions {
		id, err := createSession(ctx, srv.base)
		if err != nil {
			return err
		}
		sessions[i] = id
	}
	idle, err := srv.stats(ctx, true)
	if err != nil {
		return fmt.Errorf("server stats: %w", err)
	}

	// Connect everyone, a few at a time, and start reading at once.
	wsBase := "ws" + strings.TrimPrefix(srv.base, "http")
	clients := make([]*client, n)
	connectStart := time.Now()
	var dialErr error
	var dmu sync.Mutex
	var dialing sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		dialing.Go(func() {
			defer func() { <-sem }()
			c, err := dialClient(ctx, wsBase, sessions[i/cfg.perSession], i, uuid.NewString())
			dmu.Lock()
			defer dmu.Unlock()
			if err != nil {
				dialErr = cmp.Or(dialErr, err)
				return
			}
			clients[i] = c
		})
	}
	dialing.Wait()
	if dialErr != nil {
		for _, c := range clients {
			if c != nil {
				c.conn.CloseNow()
			}
		}
		return dialErr
	}
	connectTime := time.Since(connectStart)
	byID := make(map[string]*client, n)
	for _, c := range clients {
		byID[c.clientID] = c
	}
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	var reading sync.WaitGroup
	for _, c := range clients {
		reading.Go(func() { c.read(readCtx, byID) })
	}
	time.Sleep(300 * time.Millisecond) // let the user_joined messages go out
	connected, err := srv.stats(ctx, true)
	if err != nil {
		return fmt.Errorf("server stats: %w", err)
	}

	// Type.
	before, _ := srv.stats(ctx, false)
	selfBefore := procstats.CPU()
	loadBefore := loadavg()
	typeCtx, stopTyping := context.WithTimeout(ctx, cfg.duration)
	start := time.Now()
	var typing sync.WaitGroup
	for _, c := range clients {
		typing.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(c.index)))
			for {
				wait := time.Duration(rng.ExpFloat64() / cfg.rate * float64(time.Second))
				select {
				case <-typeCtx.Done():
					return
				case <-time.After(wait):
				}
				if err := c.edit(rng); err != nil {
					c.fail(err)
					return
				}
				if msg := c.pushMessage(); msg != nil {
					c.send(ctx, msg)
				}
			}
		})
	}
	typing.Wait()
	stopTyping()
	typed := time.Since(start)
	after, _ := srv.stats(ctx, false)
	selfAfter := procstats.CPU()
	loadAfter := loadavg()

	// Quiesce: everything confirmed.
	deadline := time.Now().Add(30 * time.Second)
	for !allSettled(clients) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the last broadcasts reach everyone
	loaded, err := srv.stats(ctx, true)
	if err != nil {
		return fmt.Errorf("server stats: %w", err)
	}

	var problems []string
	for _, c := range clients {
		if err := c.failed(); err != nil {
			problems = append(problems, err.Error())
		} else if !c.settled() {
			problems = append(problems, fmt.Sprintf("client %d: updates still unconfirmed after 30 s", c.index))
		}
	}
	converged := 0
	for s := range cfg.sessions {
		group := clients[s*cfg.perSession : (s+1)*cfg.perSession]
		var info struct{ Version int }
		if err := getJSON(ctx, srv.base+"/sessions/"+sessions[s], &info); err != nil {
			return err
		}
		ok := true
		v0, t0 := group[0].snapshot()
		for _, c := range group {
			if v, t := c.snapshot(); v != info.Version || t != t0 {
				ok = false
				problems = append(problems, fmt.Sprintf("session %d: client %d at version %d (%d units) differs from client %d at %d, server at %d",
					s, c.index, v, len(t), group[0].index, v0, info.Version))
			}
		}
		if ok {
			converged++
		}
	}

	stopReading()
	for _, c := range clients {
		c.conn.Close(1000, "done")
	}
	reading.Wait()
	time.Sleep(500 * time.Millisecond) // the server notices the closes
	closed, err := srv.stats(ctx, true)
	if err != nil {
		return fmt.Errorf("server stats: %w", err)
	}

	// Report.
	var fanout, typing2, confirm []time.Duration
	edits, pushes := 0, 0
	for _, c := range clients {
		fanout = append(fanout, c.fanout...)
		typing2 = append(typing2, c.typing...)
		confirm = append(confirm, c.confirm...)
		c.mu.Lock()
		edits += c.edits
		pushes += c.pushes
		c.mu.Unlock()
	}
	fmt.Fprintf(out, "connect: %d clients in %v (%.0f/s)\n", n, connectTime.Round(time.Millisecond), float64(n)/connectTime.Seconds())
	fmt.Fprintf(out, "load: %d edits in %d pushes over %v (%.0f edits/s), %d deliveries to other clients; load average %s → %s\n",
		edits, pushes, typed.Round(time.Millisecond), float64(edits)/typed.Seconds(), len(fanout), loadBefore, loadAfter)
	fmt.Fprintf(out, "fan-out latency, push → each other client's receipt: %s\n", percentiles(fanout))
	fmt.Fprintf(out, "keystroke → each other client's receipt (adds waiting for the push in flight): %s\n", percentiles(typing2))
	fmt.Fprintf(out, "confirmation, push → the sender's own update back: %s\n", percentiles(confirm))
	selfCPU := selfAfter - selfBefore
	fmt.Fprintf(out, "CPU while typing: load generator %.0f%% of one core", 100*selfCPU.Seconds()/typed.Seconds())
	if srv.own {
		fmt.Fprintf(out, ", server %.0f%% of one core", 100*(after.CPU-before.CPU).Seconds()/typed.Seconds())
	}
	fmt.Fprintln(out)
	if srv.own || srv.pid > 0 {
		fmt.Fprintf(out, "server memory (after GC):\n")
		fmt.Fprintf(out, "  %-22s %s\n", "sessions created:", memLine(idle))
		fmt.Fprintf(out, "  %-22s %s\n", fmt.Sprintf("%d connected:", n), memLine(connected))
		fmt.Fprintf(out, "  %-22s %s\n", "after the load:", memLine(loaded))
		fmt.Fprintf(out, "  %-22s %s\n", "all closed:", memLine(closed))
		per := func(a, b uint64) string { return fmt.Sprintf("%.1f KiB", (float64(b)-float64(a))/float64(n)/1024) }
		fmt.Fprintf(out, "  per connection (connected − created): RSS %s", per(idle.RSS, connected.RSS))
		if srv.own {
			fmt.Fprintf(out, ", heap in use %s, stacks %s, runtime sys %s, goroutines %.2f",
				per(idle.HeapInuse, connected.HeapInuse), per(idle.StackInuse, connected.StackInuse), per(idle.Sys, connected.Sys),
				float64(connected.Goroutines-idle.Goroutines)/float64(n))
		}
		fmt.Fprintln(out)
		if srv.own {
			h := loaded.Hub
			fmt.Fprintf(out, "server counters: %d rooms, %d messages handled, %d updates accepted, refused %v\n", h.Rooms, h.Messages, h.UpdatesAccepted, h.RefusedByCode)
		}
	}
	fmt.Fprintf(out, "sessions converged: %d/%d\n", converged, cfg.sessions)
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 20)] {
			fmt.Fprintln(out, "  problem:", p)
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	return nil
}

func allSettled(clients []*client) bool {
	for _, c := range clients {
		if c.failed() != nil {
			return true // nothing more will come
		}
		if !c.settled() {
			return false
		}
	}
	return true
}

// percentiles summarises latencies: nearest-rank p50, p90, p99, p99.9 and max.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	slices.Sort(ds)
	p := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return ds[max(i, 0)]
	}
	r := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%d samples)",
		r(p(0.5)), r(p(0.9)), r(p(0.99)), r(p(0.999)), r(ds[len(ds)-1]), len(ds))
}

func memLine(s procstats.Stats) string {
	mib := func(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	line := "RSS " + mib(s.RSS)
	if s.Sys > 0 {
		line += fmt.Sprintf(", heap in use %s, stacks %s, runtime sys %s, %d goroutines", mib(s.HeapInuse), mib(s.StackInuse), mib(s.Sys), s.Goroutines)
	}
	return line
}

// loadavg is the machine's 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
