package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"duet/cmd/duetload/internal/procstats"
)

// server is the duet under load.
type server struct {
	base        string   // http://host:port
	metricsBase string   // http://127.0.0.1:{metrics-port}, when the command was given one
	pid         int      // 0: unknown (an external server without -pid)
	also        []string // more processes serving the same sessions (external servers only)
	alsoPIDs    []int
	own         bool   // a loadserver: serves procstats.Path
	kind        string // "loadserver", "command", "external"
	cmd         string // the command line, for the report
	stop        func()
	logTail     func() string // the end of the server's output, for errors
}

// startServer starts the server the flags ask for, or describes the external one.
func startServer(ctx context.Context, cfg config, stderr io.Writer) (*server, error) {
	switch {
	case cfg.url != "":
		return &server{base: cfg.url, pid: cfg.pid, also: cfg.alsoURLs, alsoPIDs: cfg.alsoPIDs, kind: "external", stop: func() {}, logTail: func() string { return "" }}, nil
	case cfg.serverCmd != "":
		return startCommand(cfg.serverCmd)
	}
	return startLoadserver(ctx, cfg, stderr)
}

// startLoadserver builds (unless -server names it) and starts cmd/duetload/loadserver.
func startLoadserver(ctx context.Context, cfg config, stderr io.Writer) (*server, error) {
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
			return nil, fmt.Errorf("build the server (run duetload inside duet's module, or give -server, -server-cmd or -url): %w", err)
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
		waitOrKill(cmd, 15*time.Second)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		stop()
		return nil, fmt.Errorf("the server did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	return &server{base: "http://" + addr, pid: cmd.Process.Pid, own: true, kind: "loadserver", cmd: exe,
		stop: stop, logTail: func() string { return "" }}, nil
}

// startCommand runs a server command line with sh (exec'd, so that the process
// measured is the server itself) and waits until it accepts connections.
func startCommand(line string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{kind: "command", base: "http://127.0.0.1:" + strconv.Itoa(port)}
	line = strings.ReplaceAll(line, "{port}", strconv.Itoa(port))
	if strings.Contains(line, "{metrics-port}") {
		mport, err := freePort()
		if err != nil {
			return nil, err
		}
		line = strings.ReplaceAll(line, "{metrics-port}", strconv.Itoa(mport))
		s.metricsBase = "http://127.0.0.1:" + strconv.Itoa(mport)
	}
	s.cmd = line
	log := &tailBuffer{max: 64 << 10}
	cmd := exec.Command("sh", "-c", "exec "+line)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", line, err)
	}
	s.pid = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	s.logTail = log.String
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("the server exited before listening: %s\n%s", line, log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the server did not listen within 30 s: %s\n%s", line, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitOrKill(cmd *exec.Cmd, grace time.Duration) {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.Clone(t.b))
}

// usage is what the server has used so far: CPU time and resident memory, from
// /proc; zero when its process is unknown.
type usage struct {
	cpu time.Duration
	rss uint64
}

func (s *server) usage() usage {
	if s.pid <= 0 {
		return usage{}
	}
	var u usage
	for _, p := range append([]int{s.pid}, s.alsoPIDs...) {
		pid := strconv.Itoa(p)
		cpu, _ := procstats.ProcCPU(pid)
		rss, _ := procstats.RSS(pid)
		u.cpu += cpu
		u.rss += rss
	}
	return u
}

// wsBase is the WebSocket base URL for the i-th client of a session: the clients of
// a session are spread over every process.
func (s *server) wsBase(i int) string {
	bases := append([]string{s.base}, s.also...)
	return "ws" + strings.TrimPrefix(bases[i%len(bases)], "http")
}

// runtimeStats reads a loadserver's Go runtime figures (after collecting garbage,
// with gc); other servers give none.
func (s *server) runtimeStats(ctx context.Context, gc bool) (procstats.Stats, bool) {
	var st procstats.Stats
	if !s.own {
		return st, false
	}
	u := s.base + procstats.Path
	if gc {
		u += "?gc=1"
	}
	return st, getJSON(ctx, u, &st) == nil
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

// profile fetches a CPU profile of the server over d into path.
func (s *server) profile(ctx context.Context, d time.Duration, path string) error {
	if s.metricsBase == "" {
		return errors.New("the server has no {metrics-port}")
	}
	u := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.metricsBase, int(d.Round(time.Second)/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: GET %s: %s", u, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	return f.Close()
}

// createSessions creates n sessions, a few at a time.
func createSessions(ctx context.Context, base string, n int) ([]string, error) {
	ids := make([]string, n)
	err := parallel(ctx, n, 16, func(i int) error {
		id, err := createSession(ctx, base)
		ids[i] = id
		return err
	})
	return ids, err
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
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return "", fmt.Errorf("create session: %s %s (per-address limits must be off: -sessions-per-minute 0)", res.Status, msg)
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return body.ID, nil
}

// machine is a reading of the whole machine's CPU and of this process's.
type machine struct {
	at   time.Time
	cpu  procstats.MachineCPU
	self time.Duration
}

func readMachine() machine {
	m := machine{at: time.Now(), self: procstats.CPU()}
	m.cpu, _ = procstats.ReadMachineCPU()
	return m
}

// waitQuiet waits up to d for the machine's busy cores to fall to at most cores,
// and returns how busy it was at the end (measured over a second).
func waitQuiet(ctx context.Context, d time.Duration, cores float64) float64 {
	deadline := time.Now().Add(d)
	for {
		a := readMachine()
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(time.Second):
		}
		busy := busyCores(a, readMachine())
		if busy <= cores || time.Now().After(deadline) {
			return busy
		}
	}
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
