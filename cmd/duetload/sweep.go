package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// The standard sweep of make bench: duet beside its peers at 1,000 clients (the
// peers harness drives both, with real @codemirror/collab and Yjs clients), then
// duet alone with this load generator up to 10,000 typing clients and 20,000 idle
// connections, permessage-deflate on and off, what metrics cost, a CPU profile,
// and the Go benchmarks. It writes its tables into BENCHMARKS.md between
// sweepBegin and sweepEnd, leaving the rest of the file (the discussion) alone.
const (
	sweepBegin = "<!-- sweep:begin (written by make bench; edit outside these marks) -->"
	sweepEnd   = "<!-- sweep:end -->"
)

type sweepConfig struct {
	duet, peers, out, work string
	quick                  bool
	quietWait              time.Duration
	quietCores             float64
	skipPeers, skipGo      bool
}

// plan is the sizes of a sweep.
type plan struct {
	window, warmup, drain  time.Duration
	peerRooms, peerClients int      // the side-by-side configuration
	typing                 [][2]int // {clients, per session}
	idle                   int
	deflateSessions        int // sessions of 4 typing, per compression mode
	deflateIdle            int
	benchtime              string
}

func sweepPlan(quick bool) plan {
	if quick {
		return plan{window: 5 * time.Second, warmup: 2 * time.Second, drain: 3 * time.Second, peerRooms: 50, peerClients: 4,
			typing: [][2]int{{1000, 4}, {1000, 16}}, idle: 2000, deflateSessions: 50, deflateIdle: 1000, benchtime: "200x"}
	}
	return plan{window: 20 * time.Second, warmup: 5 * time.Second, drain: 5 * time.Second, peerRooms: 250, peerClients: 4,
		typing: [][2]int{{2000, 4}, {2000, 16}, {5000, 4}, {5000, 16}, {10000, 4}, {10000, 16}},
		idle:   20000, deflateSessions: 250, deflateIdle: 5000, benchtime: "2000x"}
}

func sweep(ctx context.Context, args []string, stderr io.Writer) error {
	var c sweepConfig
	fs := flag.NewFlagSet("duetload sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.duet, "duet", "bin/duet", "the duet binary to measure")
	fs.StringVar(&c.peers, "peers", "bin/bench/peers", "the peers harness, set up (npm run setup)")
	fs.StringVar(&c.out, "out", "BENCHMARKS.md", "the file whose sweep section is rewritten")
	fs.StringVar(&c.work, "work", "bin/bench/work", "folder for data, profiles and the raw JSON lines")
	fs.BoolVar(&c.quick, "quick", false, "a short sweep with small sizes, to check that everything runs")
	fs.DurationVar(&c.quietWait, "quiet-wait", 30*time.Second, "before each run, wait up to this long for other work on the machine to fall under -quiet-cores")
	fs.Float64Var(&c.quietCores, "quiet-cores", 0.4, "cores other work may use for the machine to count as quiet")
	fs.BoolVar(&c.skipPeers, "skip-peers", false, "leave out the peers harness (no Node)")
	fs.BoolVar(&c.skipGo, "skip-go-bench", false, "leave out the Go benchmarks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	for _, p := range []*string{&c.duet, &c.peers, &c.work} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if _, err := os.Stat(c.duet); err != nil {
		return fmt.Errorf("no duet binary: %w (make build)", err)
	}
	if err := os.MkdirAll(c.work, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pl := sweepPlan(c.quick)
	if most := maxConnections(); pl.idle > most {
		// One process may not hold more sockets than its hard limit of open files,
		// which only root with CAP_SYS_RESOURCE can raise; the server and duetload
		// each need one per connection and a few more.
		fmt.Fprintf(stderr, "sweep: the hard limit of open files allows %d idle connections, not %d\n", most, pl.idle)
		pl.idle = most
	}
	s := &sweeper{cfg: c, plan: pl, self: self, log: stderr, started: time.Now(),
		raw: filepath.Join(c.work, "runs-"+time.Now().UTC().Format("20060102-150405")+".jsonl")}
	s.run(ctx)
	md := s.markdown()
	if err := writeSection(c.out, md); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sweep: wrote %s in %v (raw results in %s)\n", c.out, time.Since(s.started).Round(time.Second), s.raw)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// sweeper runs the sweep and keeps what each part gave.
type sweeper struct {
	cfg     sweepConfig
	plan    plan
	self    string
	log     io.Writer
	started time.Time
	raw     string // the JSON lines of every run

	peers   []peerRun
	typing  []*result
	idle    []*result
	deflate []deflateRun
	metrics []*result // without, with
	profile string    // pprof -top of duet at 1,000 clients
	goBench string
	notes   []string // runs that failed, and why
}

type peerRun struct {
	name string
	res  peerResult
	err  string
}

// peerResult is what the tables take of the peers harness's JSON line (its README
// defines the fields).
type peerResult struct {
	OK            bool    `json:"ok"`
	Error         string  `json:"error"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	Latency       struct {
		P50, P95, P99, Max float64
	} `json:"latency_ms"`
	Lost       int     `json:"lost_deliveries"`
	Expected   int     `json:"expected_deliveries"`
	CPUPer1k   float64 `json:"server_cpu_ms_per_1k_delivered"`
	CPUUtil    float64 `json:"server_cpu_util"`
	RSSPer     float64 `json:"server_rss_kib_per_client"`
	RSSDelta   float64 `json:"server_rss_delta_kib_per_client"`
	OtherCores float64 `json:"other_cpu_cores"`
	Loadgen    struct {
		CPU []float64 `json:"cpu_util_per_proc"`
	} `json:"loadgen"`
	Versions map[string]any `json:"versions"`
}

type deflateRun struct {
	mode         string
	typing, idle *result
}

func (s *sweeper) logf(format string, a ...any) {
	fmt.Fprintf(s.log, "sweep [%v] %s\n", time.Since(s.started).Round(time.Second), fmt.Sprintf(format, a...))
}

// duetCmd is the command line of a duet for the sweep, with its own data folder and
// the per-address limits off (every client comes from this machine).
func (s *sweeper) duetCmd(name string, extra ...string) string {
	dir := filepath.Join(s.cfg.work, "data-"+name)
	os.RemoveAll(dir)
	args := append([]string{s.cfg.duet, "-addr", "127.0.0.1:{port}", "-data-dir", dir, "-log-level", "warn",
		"-sessions-per-minute", "0", "-socket-opens-per-minute", "0", "-max-sockets-per-address", "0", "-max-event-streams-per-address", "0"}, extra...)
	return strings.Join(args, " ")
}

func (s *sweeper) run(ctx context.Context) {
	p := s.plan
	secs := func(d time.Duration) string { return fmt.Sprint(int(d.Seconds())) }
	if !s.cfg.skipPeers {
		for _, t := range []struct{ name, target, cmd string }{
			{"duet (SQLite, default)", "ours", s.duetCmd("peers-sqlite")},
			{"duet (-store memory)", "ours", s.duetCmd("peers-memory", "-store", "memory")},
			{"y-websocket", "ywebsocket", ""},
			{"Hocuspocus", "hocuspocus", ""},
		} {
			if ctx.Err() != nil {
				return
			}
			args := []string{"run.mjs", "--target", t.target, "--rooms", fmt.Sprint(p.peerRooms), "--clients", fmt.Sprint(p.peerClients),
				"--period", "200", "--seconds", secs(p.window), "--warmup", secs(p.warmup), "--drain", secs(p.drain), "--label", t.name}
			if t.cmd != "" {
				args = append(args, "--server-cmd", t.cmd)
			}
			s.quiet(ctx)
			s.logf("peers harness: %s, %d clients", t.name, p.peerRooms*p.peerClients)
			r := peerRun{name: t.name}
			line, err := s.command(ctx, s.cfg.peers, "node", args...)
			if err == nil || len(line) > 0 {
				if jerr := json.Unmarshal(line, &r.res); jerr != nil && err == nil {
					err = jerr
				}
			}
			if err != nil {
				r.err = err.Error()
				s.notes = append(s.notes, fmt.Sprintf("peers run %s: %v", t.name, err))
			}
			s.peers = append(s.peers, r)
		}
	}
	load := func(name string, args ...string) *result {
		if ctx.Err() != nil {
			return nil
		}
		args = append(args, "-quiet-wait", s.cfg.quietWait.String(), "-quiet-cores", fmt.Sprint(s.cfg.quietCores), "-label", name)
		s.logf("duetload: %s", name)
		line, err := s.command(ctx, "", s.self, args...)
		var r result
		if len(line) > 0 && json.Unmarshal(line, &r) == nil {
			if err != nil && r.Error == "" {
				r.Error = err.Error()
			}
			return &r
		}
		s.notes = append(s.notes, fmt.Sprintf("duetload %s: %v", name, err))
		return nil
	}
	typingArgs := func(clients, per int) []string {
		return []string{"-sessions", fmt.Sprint(clients / per), "-clients-per-session", fmt.Sprint(per),
			"-period", "200ms", "-warmup", p.warmup.String(), "-duration", p.window.String(), "-drain", p.drain.String()}
	}

	// The profile first, at the side-by-side size, while the machine is freshest.
	prof := filepath.Join(s.cfg.work, "duet-1000.pprof")
	n := p.peerRooms * p.peerClients
	if r := load(fmt.Sprintf("profile, %d clients", n), append(typingArgs(n, p.peerClients),
		"-server-cmd", s.duetCmd("profile", "-metrics-addr", "127.0.0.1:{metrics-port}", "-pprof"), "-cpuprofile", prof)...); r != nil {
		s.profile = s.pprofTop(ctx, prof, r)
	}

	for _, t := range p.typing {
		if r := load(fmt.Sprintf("%d typing, %d per session", t[0], t[1]), append(typingArgs(t[0], t[1]),
			"-server-cmd", s.duetCmd(fmt.Sprintf("typing-%d-%d", t[0], t[1])))...); r != nil {
			s.typing = append(s.typing, r)
		}
	}
	if r := load(fmt.Sprintf("%d idle", p.idle), "-idle", fmt.Sprint(p.idle), "-clients-per-session", "4", "-hold", "10s",
		"-server-cmd", s.duetCmd("idle")); r != nil {
		s.idle = append(s.idle, r)
	}

	for _, mode := range []string{"off", "context-takeover", "no-context-takeover"} {
		d := deflateRun{mode: mode}
		d.typing = load("deflate "+mode+", typing", append(typingArgs(p.deflateSessions*4, 4), "-deflate",
			"-server-cmd", s.duetCmd("deflate", "-store", "memory", "-ws-compression", mode))...)
		d.idle = load("deflate "+mode+", idle", "-idle", fmt.Sprint(p.deflateIdle), "-clients-per-session", "4", "-hold", "5s", "-deflate",
			"-server-cmd", s.duetCmd("deflate-idle", "-store", "memory", "-ws-compression", mode))
		s.deflate = append(s.deflate, d)
	}

	for _, on := range []bool{false, true} {
		var extra []string
		name := "metrics off"
		if on {
			extra, name = []string{"-metrics-addr", "127.0.0.1:{metrics-port}"}, "metrics on"
		}
		s.metrics = append(s.metrics, load(name, append(typingArgs(n, 4), "-server-cmd", s.duetCmd("metrics", extra...))...))
	}

	if !s.cfg.skipGo && ctx.Err() == nil {
		s.goBench = s.goBenchmarks(ctx)
	}
}

// quiet waits for the machine to calm down before a peers run (duetload waits by
// itself).
func (s *sweeper) quiet(ctx context.Context) {
	if busy := waitQuiet(ctx, s.cfg.quietWait, s.cfg.quietCores); busy > s.cfg.quietCores {
		s.logf("the machine is busy: %.2f cores before the run", busy)
	}
}

// command runs a program whose last line on standard output is a JSON object, and
// returns that line; the raw line is kept too. Its standard error goes to the log.
func (s *sweeper) command(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stderr = s.log
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.Output()
	var line []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 && b[0] == '{' {
			line = bytes.Clone(b)
		}
	}
	if len(line) > 0 {
		if f, ferr := os.OpenFile(s.raw, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); ferr == nil {
			f.Write(append(line, '\n'))
			f.Close()
		}
	}
	if err != nil {
		return line, fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("%s printed no JSON line", filepath.Base(name))
	}
	return line, nil
}

// pprofTop summarises a CPU profile with go tool pprof.
func (s *sweeper) pprofTop(ctx context.Context, prof string, r *result) string {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", prof).CombinedOutput()
	if err != nil {
		s.notes = append(s.notes, fmt.Sprintf("pprof: %v: %s", err, out))
		return ""
	}
	cum, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=40", prof).CombinedOutput()
	if err != nil {
		s.notes = append(s.notes, fmt.Sprintf("pprof: %v: %s", err, cum))
		return ""
	}
	return fmt.Sprintf("Run: %s (server %.2f cores, %.1f ms per 1,000 deliveries, p99 %.1f ms).\n\n```\n%s```\n\nBy cumulative time:\n\n```\n%s```\n",
		r.Label, r.ServerCPUUtil, r.ServerCPUPer1k, r.Latency.orZero().P99, skipHeader(out), skipHeader(cum))
}

func (q *quantiles) orZero() quantiles {
	if q == nil {
		return quantiles{}
	}
	return *q
}

// skipHeader drops pprof's lines about the file and build.
func skipHeader(out []byte) string {
	var b strings.Builder
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		if line != "" {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// goBenchmarks runs the Go benchmarks the issue tracks: fan-out over real sockets,
// the stores' append paths, and what the metrics observer costs per call.
func (s *sweeper) goBenchmarks(ctx context.Context) string {
	var b strings.Builder
	for _, bench := range []struct{ pkg, pattern, benchtime string }{
		{"./collab/", "BenchmarkFanout", s.plan.benchtime},
		{"./metrics/", "BenchmarkObserver", ""},
		{"./store/sqlite/", "BenchmarkAppend$", ""},
		{"./store/postgres/", "BenchmarkAppendCapacity", ""},
	} {
		if ctx.Err() != nil {
			break
		}
		s.logf("go test -bench %s %s", bench.pattern, bench.pkg)
		args := []string{"test", "-run", "^$", "-bench", bench.pattern, "-count", "1"}
		if bench.benchtime != "" {
			args = append(args, "-benchtime", bench.benchtime)
		}
		cmd := exec.CommandContext(ctx, "go", append(args, bench.pkg)...)
		out, err := cmd.CombinedOutput()
		for line := range strings.SplitSeq(string(out), "\n") {
			if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "--- SKIP") || strings.Contains(line, "skip") {
				b.WriteString(strings.TrimRight(line, " ") + "\n")
			}
		}
		if err != nil {
			fmt.Fprintf(&b, "(%s %s: %v)\n", bench.pkg, bench.pattern, err)
		}
	}
	return b.String()
}

// writeSection puts md between the sweep marks of path, creating the file (with
// marks) when it does not exist.
func writeSection(path, md string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		old = []byte("# Benchmarks\n\n" + sweepBegin + "\n" + sweepEnd + "\n")
	} else if err != nil {
		return err
	}
	text := string(old)
	i, j := strings.Index(text, sweepBegin), strings.Index(text, sweepEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q section", path, sweepBegin, sweepEnd)
	}
	text = text[:i+len(sweepBegin)] + "\n" + md + text[j:]
	return os.WriteFile(path, []byte(text), 0o644)
}

// markdown renders what the sweep measured.
func (s *sweeper) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p := s.plan
	kind := "standard"
	if s.cfg.quick {
		kind = "quick (BENCH=quick: small sizes, short windows; not comparable with the standard sweep)"
	}
	w("\n## The sweep\n\n")
	w("| | |\n|---|---|\n")
	w("| sweep | %s |\n", kind)
	w("| date | %s |\n", s.started.UTC().Format("2006-01-02 15:04 MST"))
	w("| commit | %s |\n", gitCommit())
	w("| machine | %s |\n", machineLine())
	w("| Go, Node | %s, %s |\n", runtime.Version(), nodeVersion())
	w("| took | %v |\n", time.Since(s.started).Round(time.Second))
	w("| conditions | every run: an edit every 200 ms per client (±25 %%), %v warm-up, %v measured, %v drain; before each run, up to %v waiting for other work to fall under %.1f cores (what remained is in the \"other cores\" column: the machine is shared) |\n\n",
		p.warmup, p.window, p.drain, s.cfg.quietWait, s.cfg.quietCores)

	if len(s.peers) > 0 {
		w("### Side by side: %d clients (%d sessions × %d), the peers harness\n\n", p.peerRooms*p.peerClients, p.peerRooms, p.peerClients)
		w("Real `@codemirror/collab` clients for duet, real Yjs clients for the peers (`node run.mjs`, ../shared/bench/peers). Latency is per delivery, keystroke → other client, load generator included.\n\n")
		w("| server | CPU ms per 1,000 deliveries | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | lost | server cores | RSS KiB/client (above idle) | load generator cores | other cores |\n")
		w("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range s.peers {
			if r.err != "" && r.res.DeliveredPerS == 0 {
				w("| %s | failed: %s |||||||||||\n", r.name, cell(r.err+" "+r.res.Error))
				continue
			}
			x := r.res
			w("| %s | **%.1f** | %.0f | %.1f | %.1f | %.1f | %.1f | %d of %d | %.2f | %.1f (%.1f) | %s | %.2f |\n",
				r.name, x.CPUPer1k, x.DeliveredPerS, x.Latency.P50, x.Latency.P95, x.Latency.P99, x.Latency.Max, x.Lost, x.Expected,
				x.CPUUtil, x.RSSPer, x.RSSDelta, floats(x.Loadgen.CPU), x.OtherCores)
		}
		w("\n")
	}

	if len(s.typing) > 0 {
		w("### duet alone: typing clients, the Go load generator (`duetload`), default store (SQLite, `-sync full`)\n\n")
		w("| clients | per session | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | lost | CPU ms per 1,000 deliveries | server cores | RSS KiB/client (above idle) | load generator cores | other cores | converged |\n")
		w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range s.typing {
			q := r.Latency.orZero()
			w("| %d | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %d of %d | **%.1f** | %.2f | %.1f (%.1f) | %.2f | %.2f | %d/%d%s |\n",
				r.Params.Clients, r.Params.PerSession, r.DeliveredPerS, q.P50, q.P95, q.P99, q.Max, r.Lost, r.Expected,
				r.ServerCPUPer1k, r.ServerCPUUtil, r.RSSKiBPerClient, r.RSSDeltaKiBPerClient, r.LoadgenCPUUtil, r.OtherCPUCores,
				r.Converged, r.Sessions, errCell(r))
		}
		w("\n")
	}
	if len(s.idle) > 0 {
		w("### Idle connections (default store, sessions of 4)\n\n")
		if p.idle < 20000 && !s.cfg.quick {
			w("This machine's hard limit of open files (%d, which only CAP_SYS_RESOURCE may raise) bounds a process to fewer than 20,000 sockets: the sweep held %d.\n\n", p.idle+200, p.idle)
		}
		w("| connections | RSS before, MiB | RSS connected, MiB | KiB per connection (above sessions alone) | server CPU while idle | connect time |\n|---|---|---|---|---|---|\n")
		for _, r := range s.idle {
			w("| %d | %.1f | %.1f | **%.1f** | %.3f cores | %.1f s%s |\n", r.Connect.Connected, r.ServerRSSMiB.Idle, r.ServerRSSMiB.End,
				r.RSSDeltaKiBPerClient, r.ServerCPUUtil, r.Connect.Seconds, errCell(r))
		}
		w("\n")
	}
	if len(s.deflate) > 0 {
		w("### permessage-deflate (`-ws-compression`), `-store memory`, clients offering it as browsers do\n\n")
		w("| mode | negotiated | typing: CPU ms per 1,000 deliveries | p99 ms | bytes on the wire per delivery | per session-minute | idle: KiB per connection |\n|---|---|---|---|---|---|---|\n")
		for _, d := range s.deflate {
			t, i := d.typing, d.idle
			if t == nil {
				t = &result{}
			}
			if i == nil {
				i = &result{}
			}
			w("| %s | %s | %.1f | %.1f | %.0f | %.0f | %.1f |\n", d.mode, cell(t.Server.Extensions), t.ServerCPUPer1k, t.Latency.orZero().P99,
				t.Wire.PerDelivery, t.Wire.PerSessionMinute, i.RSSDeltaKiBPerClient)
		}
		w("\n")
	}
	if len(s.metrics) == 2 && s.metrics[0] != nil && s.metrics[1] != nil {
		w("### What /metrics costs (default store, %d clients)\n\n", p.peerRooms*p.peerClients)
		w("| | CPU ms per 1,000 deliveries | server cores | p99 ms | other cores |\n|---|---|---|---|---|\n")
		for i, r := range s.metrics {
			w("| %s | %.1f | %.2f | %.1f | %.2f |\n", []string{"without -metrics-addr", "with -metrics-addr"}[i], r.ServerCPUPer1k, r.ServerCPUUtil, r.Latency.orZero().P99, r.OtherCPUCores)
		}
		w("\n")
	}
	if s.profile != "" {
		w("### CPU profile of duet at %d clients (default store)\n\n%s\n", p.peerRooms*p.peerClients, s.profile)
	}
	if s.goBench != "" {
		w("### Go benchmarks\n\n```\n%s```\n\n", s.goBench)
	}
	if len(s.notes) > 0 {
		w("### What went wrong\n\n")
		for _, n := range s.notes {
			w("- %s\n", cell(n))
		}
		w("\n")
	}
	return b.String()
}

func errCell(r *result) string {
	if r.Error == "" {
		return ""
	}
	return " (" + cell(r.Error) + ")"
}

// cell makes s fit a table cell: one line, no pipes, not too long.
func cell(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", "/")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " + ")
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "no node"
	}
	return "Node " + strings.TrimSpace(string(out))
}

// machineLine describes the CPU, cores, memory and kernel.
func machineLine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(line); len(f) >= 2 {
			var kb float64
			fmt.Sscan(f[1], &kb)
			mem = fmt.Sprintf(", %.0f GiB RAM", kb/(1<<20))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores%s%s", model, runtime.NumCPU(), mem, kernel)
}

// maxConnections is how many connections one process can hold: its hard limit of
// open files, less some for everything else, unless it may raise that limit.
func maxConnections() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1 << 20
	}
	raised := syscall.Rlimit{Cur: lim.Cur, Max: lim.Max + 1}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
		return 1 << 20 // the limit can be raised: raiseFileLimit will
	}
	return int(lim.Max) - 200
}
