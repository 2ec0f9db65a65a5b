package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// idle holds cfg.idle connections that say nothing, in sessions of
// cfg.perSession, and measures what they cost the server: resident memory per
// connection, and CPU while nothing happens (keepalive pings).
func idle(ctx context.Context, cfg config, srv *server, summary io.Writer) (*result, error) {
	res := newResult(cfg, srv, "idle")
	n := cfg.idle
	if cfg.quietWait > 0 {
		res.QuietBefore = round2(waitQuiet(ctx, cfg.quietWait, cfg.quietCores))
	}
	sessions, err := createSessions(ctx, srv.base, res.Params.Sessions)
	if err != nil {
		return res, err
	}
	time.Sleep(time.Second)
	before := srv.usage()
	beforeRuntime, _ := srv.runtimeStats(ctx, true)

	d := newDialer(cfg.sources, cfg.deflate)
	wsBase := "ws" + strings.TrimPrefix(srv.base, "http")
	conns := make([]*websocket.Conn, n)
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	var reading sync.WaitGroup
	var lostMu sync.Mutex
	lost := 0
	start := time.Now()
	err = parallel(ctx, n, cfg.connectConcurrency, func(i int) error {
		conn, _, err := d.dialSession(ctx, wsBase, sessions[i/cfg.perSession], i, uuid.NewString())
		if err != nil {
			return err
		}
		conns[i] = conn
		reading.Go(func() { // reading answers the server's pings
			for {
				if _, _, err := conn.Read(readCtx); err != nil {
					if readCtx.Err() == nil {
						lostMu.Lock()
						lost++
						lostMu.Unlock()
					}
					return
				}
			}
		})
		return nil
	})
	defer func() {
		stopReading()
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
		reading.Wait()
	}()
	if err := res.connected(n-countNil(conns), n, start, d, err); err != nil {
		return res, err
	}
	time.Sleep(time.Second) // the user_joined messages go out
	connected := srv.usage()
	m0, u0, w0 := readMachine(), connected, d.wire()
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(cfg.hold):
	}
	m1, u1, w1 := readMachine(), srv.usage(), d.wire()
	afterRuntime, _ := srv.runtimeStats(ctx, false)

	res.cpuShare(m0, m1, u0, u1)
	res.ServerCPUPer1kIdl = round2((u1.cpu - u0.cpu).Seconds() * 1000 / m1.at.Sub(m0.at).Seconds() / (float64(n) / 1000))
	res.Wire.Bytes = w1 - w0
	res.memory(before, connected, u1, n)
	if afterRuntime.Goroutines > 0 {
		res.Goroutines = round2(float64(afterRuntime.Goroutines-beforeRuntime.Goroutines) / float64(n))
	}
	res.Sessions, res.Converged = len(sessions), len(sessions)
	lostMu.Lock()
	res.Disconnect = lost
	lostMu.Unlock()
	res.OK = res.Disconnect == 0
	res.printSummary(summary)
	if res.Disconnect > 0 {
		return res, errors.New("idle connections were closed by the server")
	}
	return res, nil
}
