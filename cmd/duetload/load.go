package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// load runs a typing measurement. The result is nil only when nothing could be
// measured; with an error it still says how far the run went.
func load(ctx context.Context, cfg config, srv *server, summary io.Writer) (*result, error) {
	res := newResult(cfg, srv, "typing")
	n := cfg.sessions * cfg.perSession
	if cfg.quietWait > 0 {
		res.QuietBefore = round2(waitQuiet(ctx, cfg.quietWait, cfg.quietCores))
	}
	sessions, err := createSessions(ctx, srv.base, cfg.sessions)
	if err != nil {
		return res, err
	}
	time.Sleep(300 * time.Millisecond)
	idleUsage := srv.usage()
	idleRuntime, _ := srv.runtimeStats(ctx, true)

	// Connect everyone, a few at a time.
	d := newDialer(cfg.sources, cfg.deflate)
	clients := make([]*client, n)
	connectStart := time.Now()
	err = parallel(ctx, n, cfg.connectConcurrency, func(i int) error {
		c, err := dialClient(ctx, d, srv.wsBase(i%cfg.perSession), sessions[i/cfg.perSession], i, uuid.NewString())
		clients[i] = c
		return err
	})
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.conn.CloseNow()
			}
		}
	}()
	if err := res.connected(n-countNil(clients), n, connectStart, d, err); err != nil {
		return res, err
	}

	// The schedule, then the readers.
	now := time.Now()
	s := &schedule{start: now.Add(time.Second)}
	s.window = s.start.Add(cfg.warmup)
	s.stop = s.window.Add(cfg.duration)
	s.end = s.stop.Add(cfg.drain)
	byID := make(map[string]*client, n)
	for _, c := range clients {
		c.sched = s
		byID[c.clientID] = c
	}
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	var reading sync.WaitGroup
	for _, c := range clients {
		reading.Go(func() { c.read(readCtx, byID) })
	}
	time.Sleep(500 * time.Millisecond) // the user_joined messages go out
	connected := srv.usage()
	connectedRuntime, _ := srv.runtimeStats(ctx, false)

	// Type: from start to stop, an edit every period ± jitter, the first one at a
	// random moment of the first period. A late timer makes its edit late rather
	// than catching up, so an overloaded load generator offers less, never bursts.
	var lagMu sync.Mutex
	var lags []time.Duration
	var typing sync.WaitGroup
	for _, c := range clients {
		typing.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(c.index)))
			next := s.start.Add(time.Duration(rng.Float64() * float64(cfg.period)))
			timer := time.NewTimer(time.Until(next))
			defer timer.Stop()
			var mine []time.Duration
			defer func() {
				lagMu.Lock()
				lags = append(lags, mine...)
				lagMu.Unlock()
			}()
			for {
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
				now := time.Now()
				if !now.Before(s.stop) {
					return
				}
				if !now.Before(s.window) {
					mine = append(mine, now.Sub(next))
				}
				if err := c.edit(rng); err != nil {
					c.fail(err)
					return
				}
				if msg := c.pushMessage(); msg != nil {
					c.send(ctx, msg)
				}
				gap := time.Duration(float64(cfg.period) * (1 - cfg.jitter + 2*cfg.jitter*rng.Float64()))
				next = next.Add(gap)
				if next.Before(now) {
					next = now // late: no catching up
				}
				timer.Reset(time.Until(next))
			}
		})
	}
	time.Sleep(time.Until(s.window))
	profiled := make(chan error, 1)
	if cfg.cpuProfile != "" {
		go func() { profiled <- srv.profile(ctx, cfg.duration, cfg.cpuProfile) }()
	} else {
		profiled <- nil
	}
	m0, u0, w0 := readMachine(), srv.usage(), d.wire()
	time.Sleep(time.Until(s.stop))
	m1, u1, w1 := readMachine(), srv.usage(), d.wire()
	typing.Wait()
	time.Sleep(time.Until(s.end))
	if err := <-profiled; err != nil {
		res.Problems = append(res.Problems, err.Error())
	}

	// Quiesce: everything confirmed, then every session's clients agree with the
	// server.
	deadline := time.Now().Add(30 * time.Second)
	for !allSettled(clients) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the last broadcasts reach everyone
	var problems []string
	for _, c := range clients {
		if err := c.failed(); err != nil {
			problems = append(problems, err.Error())
			res.Disconnect++
		} else if !c.settled() {
			problems = append(problems, fmt.Sprintf("client %d: updates still unconfirmed 30 s after typing stopped", c.index))
		}
	}
	res.Sessions = cfg.sessions
	for i := range cfg.sessions {
		group := clients[i*cfg.perSession : (i+1)*cfg.perSession]
		var info struct{ Version int }
		if err := getJSON(ctx, srv.base+"/sessions/"+sessions[i], &info); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		ok := true
		v0, t0 := group[0].snapshot()
		for _, c := range group {
			if v, t := c.snapshot(); v != info.Version || t != t0 {
				ok = false
				problems = append(problems, fmt.Sprintf("session %d: client %d at version %d (%d bytes) differs from client %d at %d, server at %d",
					i, c.index, v, len(t), group[0].index, v0, info.Version))
			}
		}
		if ok {
			res.Converged++
		}
	}
	stopReading()
	for _, c := range clients {
		c.conn.Close(1000, "done")
	}
	reading.Wait()

	// Figures.
	var latency, fanout, confirm []time.Duration
	delivered, edits := 0, 0
	for _, c := range clients {
		latency = append(latency, c.typing...)
		fanout = append(fanout, c.fanout...)
		confirm = append(confirm, c.confirm...)
		delivered += c.inWindow
		typed := c.typedIn(s.window, s.stop)
		edits += typed
		res.Expected += typed * (cfg.perSession - 1)
	}
	window := m1.at.Sub(m0.at).Seconds()
	res.Latency, res.Fanout, res.Confirm, res.TimerLag = summarize(latency), summarize(fanout), summarize(confirm), summarize(lags)
	res.Lost = res.Expected - len(latency)
	res.EditsPerS = round2(float64(edits) / window)
	res.DeliveredPerS = round2(float64(delivered) / window)
	res.cpuShare(m0, m1, u0, u1)
	if delivered > 0 {
		res.ServerCPUPer1k = round2((u1.cpu - u0.cpu).Seconds() * 1000 * 1000 / float64(delivered))
		res.Wire.PerDelivery = round2(float64(w1-w0) / float64(delivered))
	}
	res.Wire.Bytes = w1 - w0
	res.Wire.PerSessionMinute = round2(float64(w1-w0) / float64(cfg.sessions) / (window / 60))
	res.memory(idleUsage, connected, u1, n)
	if connectedRuntime.Goroutines > 0 {
		res.Goroutines = round2(float64(connectedRuntime.Goroutines-idleRuntime.Goroutines) / float64(n))
	}
	res.Problems = firstProblems(problems)
	res.OK = len(problems) == 0 && res.Lost == 0 && res.Converged == cfg.sessions
	res.printSummary(summary)
	if len(problems) > 0 {
		return res, fmt.Errorf("%d problems, the first: %s", len(problems), problems[0])
	}
	return res, nil
}

// memory fills the resident memory figures.
func (r *result) memory(idle, connected, end usage, clients int) {
	mib := func(b uint64) float64 { return round2(float64(b) / (1 << 20)) }
	r.ServerRSSMiB.Idle, r.ServerRSSMiB.Connected, r.ServerRSSMiB.End = mib(idle.rss), mib(connected.rss), mib(end.rss)
	if end.rss > 0 {
		r.RSSKiBPerClient = round2(float64(end.rss) / 1024 / float64(clients))
		r.RSSDeltaKiBPerClient = round2((float64(end.rss) - float64(idle.rss)) / 1024 / float64(clients))
	}
}

func allSettled(clients []*client) bool {
	for _, c := range clients {
		if c.failed() != nil {
			continue // nothing more will come
		}
		if !c.settled() {
			return false
		}
	}
	return true
}

// countNil counts the nil elements of s: the connections that were not made.
func countNil[T any](s []*T) int {
	n := 0
	for _, p := range s {
		if p == nil {
			n++
		}
	}
	return n
}
