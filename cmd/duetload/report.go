package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"duet/cmd/duetload/internal/procstats"
)

// result is the JSON line of one run. Latencies are in milliseconds, memory in
// KiB or MiB as named, CPU in seconds or cores.
type result struct {
	Date    string `json:"date"`
	Label   string `json:"label,omitempty"`
	Mode    string `json:"mode"` // "typing" or "idle"
	Machine struct {
		CPUs    int    `json:"cpus"`
		Go      string `json:"go"`
		Loadavg string `json:"loadavg_before"`
	} `json:"machine"`
	Server struct {
		Kind       string `json:"kind"`
		Cmd        string `json:"cmd,omitempty"`
		Extensions string `json:"ws_extensions"` // negotiated by the server, e.g. permessage-deflate
	} `json:"server"`
	Params struct {
		Sessions      int     `json:"sessions"`
		PerSession    int     `json:"clients_per_session"`
		Clients       int     `json:"clients"`
		PeriodMS      float64 `json:"period_ms,omitempty"`
		Jitter        float64 `json:"jitter,omitempty"`
		WarmupS       float64 `json:"warmup_s,omitempty"`
		WindowS       float64 `json:"window_s,omitempty"`
		DrainS        float64 `json:"drain_s,omitempty"`
		HoldS         float64 `json:"hold_s,omitempty"`
		Seed          uint64  `json:"seed"`
		DeflateOffer  bool    `json:"deflate_offered"`
		SourceAddrs   int     `json:"source_addrs"`
		QuietCoresMax float64 `json:"quiet_cores_wanted"`
	} `json:"params"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Connect struct {
		Connected int     `json:"connected"`
		Seconds   float64 `json:"seconds"`
	} `json:"connect"`

	EditsPerS     float64 `json:"edits_per_s,omitempty"`
	DeliveredPerS float64 `json:"delivered_per_s,omitempty"`
	// Latency of a delivery: keystroke → another client's receipt (as the peers
	// harness measures it); Fanout: push → another client's receipt; Confirm: push →
	// the sender's own update back.
	Latency  *quantiles `json:"latency_ms,omitempty"`
	Fanout   *quantiles `json:"fanout_ms,omitempty"`
	Confirm  *quantiles `json:"confirm_ms,omitempty"`
	TimerLag *quantiles `json:"timer_lag_ms,omitempty"` // how late edits were made: the load generator's own lag
	Expected int        `json:"expected_deliveries"`
	Lost     int        `json:"lost_deliveries"`

	ServerCPUS        float64 `json:"server_cpu_s"`
	ServerCPUUtil     float64 `json:"server_cpu_util"`                          // cores
	ServerCPUPer1k    float64 `json:"server_cpu_ms_per_1k_delivered,omitempty"` // typing
	ServerCPUPer1kIdl float64 `json:"server_cpu_ms_per_s_per_1k_idle,omitempty"`
	ServerRSSMiB      struct {
		Idle      float64 `json:"idle"`      // sessions created, nobody connected
		Connected float64 `json:"connected"` // everyone connected
		End       float64 `json:"end"`       // end of the window (typing) or of the hold (idle)
	} `json:"server_rss_mib"`
	RSSKiBPerClient      float64 `json:"server_rss_kib_per_client"`       // end / clients
	RSSDeltaKiBPerClient float64 `json:"server_rss_delta_kib_per_client"` // (end − idle) / clients
	Goroutines           float64 `json:"server_goroutines_per_client,omitempty"`
	LoadgenCPUUtil       float64 `json:"loadgen_cpu_util"` // cores
	MachineBusyPct       float64 `json:"machine_cpu_busy_pct"`
	OtherCPUCores        float64 `json:"other_cpu_cores"` // cores used by neither the server nor duetload
	QuietBefore          float64 `json:"busy_cores_before"`
	Wire                 struct {
		Bytes            int64   `json:"bytes"` // both ways, in the window (idle: during the hold)
		PerDelivery      float64 `json:"bytes_per_delivery,omitempty"`
		PerSessionMinute float64 `json:"bytes_per_session_minute,omitempty"`
	} `json:"wire"`
	Sessions   int      `json:"sessions"`
	Converged  int      `json:"sessions_converged"`
	Disconnect int      `json:"disconnects"`
	Problems   []string `json:"problems,omitempty"`
}

type quantiles struct {
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
	Samples int     `json:"samples"`
}

// summarize sorts ds and returns its nearest-rank quantiles, or nil for none.
func summarize(ds []time.Duration) *quantiles {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	p := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return ms(ds[max(i, 0)])
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return &quantiles{P50: p(0.5), P95: p(0.95), P99: p(0.99), Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds))), Samples: len(ds)}
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*100) / 100
}

func (q *quantiles) String() string {
	if q == nil {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2f  p95 %.2f  p99 %.2f  max %.2f ms  (%d samples)", q.P50, q.P95, q.P99, q.Max, q.Samples)
}

func newResult(cfg config, srv *server, mode string) *result {
	r := &result{Date: time.Now().UTC().Format(time.RFC3339), Label: cfg.label, Mode: mode}
	r.Machine.CPUs, r.Machine.Go, r.Machine.Loadavg = runtime.NumCPU(), runtime.Version(), loadavg()
	r.Server.Kind, r.Server.Cmd = srv.kind, srv.cmd
	p := &r.Params
	p.PerSession, p.Clients, p.Seed = cfg.perSession, cfg.connections(), cfg.seed
	p.DeflateOffer, p.SourceAddrs, p.QuietCoresMax = cfg.deflate, cfg.sources, cfg.quietCores
	if mode == "typing" {
		p.Sessions = cfg.sessions
		p.PeriodMS, p.Jitter = float64(cfg.period)/float64(time.Millisecond), cfg.jitter
		p.WarmupS, p.WindowS, p.DrainS = cfg.warmup.Seconds(), cfg.duration.Seconds(), cfg.drain.Seconds()
	} else {
		p.Sessions = (cfg.idle + cfg.perSession - 1) / cfg.perSession
		p.HoldS = cfg.hold.Seconds()
	}
	return r
}

// connected records how the connection phase went, and turns its error into the run's.
func (r *result) connected(count, of int, start time.Time, d *dialer, err error) error {
	r.Connect.Connected = count
	r.Connect.Seconds = round2(time.Since(start).Seconds())
	if ext := d.extensions.Load(); ext != nil {
		r.Server.Extensions = *ext
	}
	if err != nil {
		return fmt.Errorf("connect: %w (%d of %d connected)", err, count, of)
	}
	return nil
}

// cpuShare fills the CPU figures of a measured interval: the server's, duetload's,
// and the rest of the machine's.
func (r *result) cpuShare(a, b machine, ua, ub usage) {
	secs := b.at.Sub(a.at).Seconds()
	r.ServerCPUS = round2((ub.cpu - ua.cpu).Seconds())
	r.ServerCPUUtil = round2((ub.cpu - ua.cpu).Seconds() / secs)
	r.LoadgenCPUUtil = round2((b.self - a.self).Seconds() / secs)
	busy := busyCores(a, b)
	r.MachineBusyPct = round2(100 * busy / float64(numCPU()))
	r.OtherCPUCores = round2(busy - r.ServerCPUUtil - r.LoadgenCPUUtil)
}

// printSummary writes the result for people.
func (r *result) printSummary(w io.Writer) {
	p := r.Params
	mib := func(b float64) string { return fmt.Sprintf("%.1f MiB", b) }
	fmt.Fprintf(w, "duetload %s: %d clients (%d sessions × %d), server %s %s\n", r.Mode, p.Clients, p.Sessions, p.PerSession, r.Server.Kind, r.Server.Cmd)
	fmt.Fprintf(w, "  machine: %d CPUs, %s, load average %s, busy cores before %.2f; negotiated extensions %q\n",
		r.Machine.CPUs, r.Machine.Go, r.Machine.Loadavg, r.QuietBefore, r.Server.Extensions)
	fmt.Fprintf(w, "  connected %d in %.1f s\n", r.Connect.Connected, r.Connect.Seconds)
	if r.Mode == "typing" {
		fmt.Fprintf(w, "  typing: an edit every %.0f ms ± %.0f%% per client, %.0f s window: %.0f edits/s, %.0f deliveries/s\n",
			p.PeriodMS, 100*p.Jitter, p.WindowS, r.EditsPerS, r.DeliveredPerS)
		fmt.Fprintf(w, "  delivery latency, keystroke → other client: %s\n", r.Latency)
		fmt.Fprintf(w, "  fan-out latency, push → other client:        %s\n", r.Fanout)
		fmt.Fprintf(w, "  confirmation, push → own update back:        %s\n", r.Confirm)
		fmt.Fprintf(w, "  load generator timer lag:                    %s\n", r.TimerLag)
		fmt.Fprintf(w, "  lost: %d of %d deliveries; sessions converged %d/%d; disconnects %d\n", r.Lost, r.Expected, r.Converged, r.Sessions, r.Disconnect)
		fmt.Fprintf(w, "  server CPU: %.2f cores, %.1f ms per 1,000 deliveries\n", r.ServerCPUUtil, r.ServerCPUPer1k)
	} else {
		fmt.Fprintf(w, "  idle for %.0f s: server CPU %.2f cores (%.2f ms per second per 1,000 connections)\n", p.HoldS, r.ServerCPUUtil, r.ServerCPUPer1kIdl)
	}
	fmt.Fprintf(w, "  server RSS: idle %s, connected %s, end %s: %.1f KiB per client (%.1f KiB above idle)",
		mib(r.ServerRSSMiB.Idle), mib(r.ServerRSSMiB.Connected), mib(r.ServerRSSMiB.End), r.RSSKiBPerClient, r.RSSDeltaKiBPerClient)
	if r.Goroutines > 0 {
		fmt.Fprintf(w, ", %.2f goroutines per client", r.Goroutines)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  CPU: load generator %.2f cores, other work %.2f cores, machine %.0f%% busy\n", r.LoadgenCPUUtil, r.OtherCPUCores, r.MachineBusyPct)
	fmt.Fprintf(w, "  wire: %d bytes", r.Wire.Bytes)
	if r.Wire.PerDelivery > 0 {
		fmt.Fprintf(w, ", %.0f per delivery, %.0f per session-minute", r.Wire.PerDelivery, r.Wire.PerSessionMinute)
	}
	fmt.Fprintln(w)
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  problem:", p)
	}
	if r.Error != "" {
		fmt.Fprintln(w, "  error:", r.Error)
	}
}

// parallel runs f(0) … f(n−1), at most width at once, and returns the first error.
// It stops starting new calls once one failed or ctx ended.
func parallel(ctx context.Context, n, width int, f func(i int) error) error {
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func numCPU() int { return runtime.NumCPU() }

func busyCores(a, b machine) float64 { return procstats.BusyCores(a.cpu, b.cpu, numCPU()) }

// firstProblems keeps the first few problems of a run.
func firstProblems(ps []string) []string {
	return ps[:min(len(ps), 10)]
}
